//! Between-session exercises ("homework"): templates tied to IPT
//! techniques (`core/content/homework.toml`, embedded), and the words the
//! `homework` command uses. Skipping is always fine and never counted
//! against anyone; reflections are the member's own.

use std::sync::OnceLock;

use serde::Deserialize;

use crate::model::{Homework, HomeworkStatus};

/// Longest exercise title kept, in characters.
pub const MAX_TITLE: usize = 200;
/// Longest note or reflection kept, in characters.
pub const MAX_NOTE: usize = 1000;

/// One exercise template.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    /// Stable id (`homework take <id>`).
    pub id: String,
    /// Short title.
    pub title: String,
    /// The IPT technique (or card id) it practises.
    pub technique: String,
    /// What to do, in a few numbered steps.
    pub steps: String,
    /// Suggested days to do it in.
    pub days: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    template: Vec<Template>,
}

/// Every template, in file order (checked by tests and `content lint`).
pub fn templates() -> &'static [Template] {
    static TEMPLATES: OnceLock<Vec<Template>> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        toml::from_str::<File>(include_str!("../content/homework.toml"))
            .expect("core/content/homework.toml is valid (checked by tests)")
            .template
    })
}

/// A template by id (case and spacing forgiven).
pub fn template(id: &str) -> Option<&'static Template> {
    let id = id.trim().to_lowercase().replace(' ', "-");
    templates().iter().find(|t| t.id == id)
}

/// Problems with the templates. Empty when all is well.
pub fn lint() -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for t in templates() {
        if !seen.insert(t.id.as_str()) {
            problems.push(format!("{}: id used twice", t.id));
        }
        if t.title.chars().count() > 60 || t.title.trim().is_empty() {
            problems.push(format!("{}: title must be 1 to 60 characters", t.id));
        }
        if t.steps.chars().count() > 400 || t.steps.trim().is_empty() {
            problems.push(format!("{}: steps must be 1 to 400 characters", t.id));
        }
        if !(1..=14).contains(&t.days) {
            problems.push(format!("{}: days must be 1 to 14", t.id));
        }
    }
    problems
}

/// An exercise from a template, due after its suggested days.
pub fn from_template(
    t: &Template,
    member: crate::ids::MemberId,
    group: Option<crate::ids::GroupId>,
    assigned_by: Option<String>,
    now: crate::clock::Timestamp,
) -> crate::model::NewHomework {
    crate::model::NewHomework {
        member_id: member,
        group_id: group,
        template: Some(t.id.clone()),
        title: t.title.clone(),
        details: Some(t.steps.clone()),
        due_at: Some(now + chrono::Duration::days(t.days)),
        assigned_by,
    }
}

/// The answer for a template id that does not exist.
pub fn unknown(id: &str, p: &str) -> String {
    format!(
        "I don't have an exercise called \"{}\". {p}homework templates lists them.",
        id.chars().take(40).collect::<String>()
    )
}

/// `"3 some words"` → `(Some(3), "some words")`; `#3` works too.
pub fn id_and_words(rest: &str) -> (Option<i64>, &str) {
    let (id, words) = rest
        .split_once(char::is_whitespace)
        .map_or((rest, ""), |(i, w)| (i, w.trim()));
    (id.trim_start_matches('#').parse().ok(), words)
}

/// The template list, for `homework templates`.
pub fn template_list(p: &str) -> String {
    let mut out =
        String::from("Exercises you can take (each is a suggestion; a smaller step counts too):");
    for t in templates() {
        out.push_str(&format!("\n- {} - {} ({} days)", t.id, t.title, t.days));
    }
    out.push_str(&format!(
        "\n{p}homework show <id> shows the steps; {p}homework take <id> adds it to your list."
    ));
    out
}

/// One template's steps, for `homework show`.
pub fn show(t: &Template, p: &str) -> String {
    format!(
        "{} ({} days)\n{}\nIt practises: {p}learn {}\n{p}homework take {} adds it to your list.",
        t.title, t.days, t.steps, t.technique, t.id
    )
}

/// The member's list, for `homework` / `homework list`.
pub fn list(items: &[Homework], now: crate::clock::Timestamp, p: &str) -> String {
    let open: Vec<&Homework> = items
        .iter()
        .filter(|h| h.status == HomeworkStatus::Open)
        .collect();
    let settled = items.len() - open.len();
    if open.is_empty() {
        return format!(
            "You have no open exercises{}. {p}homework templates shows some to try, and \
             {p}homework add <what> adds your own.",
            if settled > 0 {
                format!(" ({settled} done or set aside before)")
            } else {
                String::new()
            }
        );
    }
    let mut out = String::from("Your exercises:");
    for h in open {
        let due = match h.due_at {
            Some(d) if d < now => " - its suggested date has passed; that's fine".to_owned(),
            Some(d) => format!(" - suggested by {}", d.format("%-d %b")),
            None => String::new(),
        };
        let from = h
            .assigned_by
            .as_ref()
            .map(|_| " (suggested by a moderator)")
            .unwrap_or_default();
        out.push_str(&format!("\n#{} {}{from}{due}", h.id, h.title));
    }
    out.push_str(&format!(
        "\n{p}homework done <id> [a line on how it went] marks one done; {p}homework skip <id> \
         sets one aside. Only you see your reflections."
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_valid_and_cover_the_promised_techniques() {
        assert_eq!(lint(), Vec::<String>::new());
        assert!(templates().len() >= 12, "{}", templates().len());
        for id in [
            "interpersonal-inventory",
            "communication-analysis",
            "role-play-plan",
            "social-activity",
            "check-expectations",
            "grief-memory",
            "old-role-new-role",
            "boundary-script",
            "emotion-log",
        ] {
            assert!(template(id).is_some(), "{id}");
        }
        assert_eq!(
            template(" Emotion Log ").map(|t| t.id.as_str()),
            Some("emotion-log")
        );
    }
}
