//! The bank of daily reflective prompts (`core/content/prompts.toml`,
//! embedded): one is posted to each group with its daily check-in, tagged
//! by IPT problem area and phase, and none repeats within 30 days.

use std::sync::OnceLock;

use serde::Deserialize;

use crate::ids::GroupId;
use crate::store::{Pick, Store};

/// Days within which a group never sees the same prompt twice.
pub const NO_REPEAT_DAYS: i64 = 30;

/// One reflective prompt.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prompt {
    /// Stable id.
    pub id: String,
    /// What is posted.
    pub text: String,
    /// IPT problem area: grief, role-disputes, role-transitions,
    /// interpersonal-deficits, or general.
    pub area: String,
    /// IPT phase: initial, middle, termination, or any.
    pub phase: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Bank {
    prompt: Vec<Prompt>,
}

/// The problem areas a prompt may carry.
pub const AREAS: &[&str] = &[
    "grief",
    "role-disputes",
    "role-transitions",
    "interpersonal-deficits",
    "general",
];
/// The phases a prompt may carry.
pub const PHASES: &[&str] = &["initial", "middle", "termination", "any"];

/// Every prompt, in file order. The file is checked by tests, so a broken
/// bank fails CI, not a morning post.
pub fn all() -> &'static [Prompt] {
    static BANK: OnceLock<Vec<Prompt>> = OnceLock::new();
    BANK.get_or_init(|| {
        toml::from_str::<Bank>(include_str!("../content/prompts.toml"))
            .expect("core/content/prompts.toml is valid (checked by tests)")
            .prompt
    })
}

/// Problems with the bank: ids, lengths, tags. Empty when all is well.
pub fn lint() -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for p in all() {
        if !seen.insert(p.id.as_str()) {
            problems.push(format!("{}: id used twice", p.id));
        }
        if p.text.chars().count() > 200 || p.text.trim().is_empty() {
            problems.push(format!("{}: text must be 1 to 200 characters", p.id));
        }
        if !AREAS.contains(&p.area.as_str()) {
            problems.push(format!("{}: unknown area \"{}\"", p.id, p.area));
        }
        if !PHASES.contains(&p.phase.as_str()) {
            problems.push(format!("{}: unknown phase \"{}\"", p.id, p.phase));
        }
    }
    problems
}

/// The group's prompt for `day`: the one already chosen that day (by any
/// process), or a fresh pick that the group has not seen in the last
/// [`NO_REPEAT_DAYS`] days, recorded so every process agrees.
pub async fn prompt_for(
    store: &dyn Store,
    group: GroupId,
    day: chrono::NaiveDate,
) -> crate::Result<&'static Prompt> {
    let bank = all();
    let since = day - chrono::Duration::days(NO_REPEAT_DAYS - 1);
    let history = store.daily_picks_since(group, Pick::Prompt, since).await?;
    let find = |id: &str| bank.iter().find(|p| p.id == id);
    if let Some(p) = history
        .iter()
        .find(|(d, _)| *d == day)
        .and_then(|(_, id)| find(id))
    {
        return Ok(p);
    }
    let seed = (group.0 as u64).wrapping_mul(1_000_003)
        ^ u64::from(chrono::Datelike::num_days_from_ce(&day).unsigned_abs());
    let fresh: Vec<&Prompt> = bank
        .iter()
        .filter(|p| !history.iter().any(|(_, id)| *id == p.id))
        .collect();
    // The bank holds more than 30 prompts, so there is always a fresh one.
    let pool = if fresh.is_empty() {
        bank.iter().collect()
    } else {
        fresh
    };
    let pick = pool[(seed % pool.len() as u64) as usize];
    let stored = store
        .set_daily_pick(group, Pick::Prompt, day, &pick.id)
        .await?;
    Ok(find(&stored).unwrap_or(pick))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bank_is_valid_and_big_enough() {
        assert_eq!(lint(), Vec::<String>::new());
        let bank = all();
        assert!(bank.len() >= 60, "{} prompts", bank.len());
        for area in [
            "grief",
            "role-disputes",
            "role-transitions",
            "interpersonal-deficits",
        ] {
            assert!(
                bank.iter().filter(|p| p.area == area).count() >= 10,
                "{area}"
            );
        }
    }
}
