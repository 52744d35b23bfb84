//! The check-in conversation: `checkin` asks four short questions, one at
//! a time, in the member's private conversation with the bot. Mood (0 to
//! 10) is the only required answer; sleep, a moment of connection and a
//! note can each be skipped. One check-in per local day: answering again
//! the same day updates it.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::Timestamp;
use crate::ids::{GroupRef, MemberRef};

/// A check-in left unanswered this long is dropped.
pub const DRAFT_MINUTES: i64 = 30;
/// Longest answer kept for the connection question, in characters.
pub const MAX_CONNECTION: usize = 300;
/// Longest note kept, in characters.
pub const MAX_NOTE: usize = 1000;

/// Which question is waiting for an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Mood, 0 to 10 (required).
    Mood,
    /// Sleep, 0 to 10, or skip.
    Sleep,
    /// One moment of connection today, or skip.
    Connection,
    /// Anything else, or skip.
    Note,
}

/// A check-in being answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// The group the check-in was started from, if any.
    pub group: Option<GroupRef>,
    /// The question waiting.
    pub step: Step,
    /// Answers so far.
    pub mood: Option<i64>,
    /// Sleep, if given.
    pub sleep: Option<i64>,
    /// Connection, if given.
    pub connection: Option<String>,
    /// When the member last answered (drafts expire after [`DRAFT_MINUTES`]).
    pub touched: Timestamp,
}

/// Check-ins in progress, by member. In memory: an unfinished check-in is
/// simply asked again after a restart, and nothing is stored until the
/// member finishes.
#[derive(Debug, Default)]
pub struct Drafts(Mutex<HashMap<MemberRef, Draft>>);

impl Drafts {
    /// The member's live draft, if any (expired ones are dropped).
    pub fn get(&self, member: &MemberRef, now: Timestamp) -> Option<Draft> {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, d| now - d.touched < chrono::Duration::minutes(DRAFT_MINUTES));
        map.get(member).cloned()
    }

    /// Stores or replaces the member's draft.
    pub fn put(&self, member: MemberRef, draft: Draft) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(member, draft);
    }

    /// Drops the member's draft; whether there was one.
    pub fn remove(&self, member: &MemberRef) -> bool {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(member)
            .is_some()
    }
}

/// The question for a step.
pub fn question(step: Step, p: &str) -> String {
    match step {
        Step::Mood => format!(
            "How is your mood today, from 0 (very low) to 10 (very good)? Reply with a number. \
             Only you see your answers; {p}checkin cancel stops."
        ),
        Step::Sleep => {
            "How did you sleep, from 0 (very badly) to 10 (very well)? Or \"skip\".".into()
        }
        Step::Connection => "One moment of connection today, however small (a chat, a message, a \
             smile)? A few words, or \"skip\"."
            .into(),
        Step::Note => "Anything else you'd like to note for yourself? Or \"skip\".".into(),
    }
}

/// A 0 to 10 answer ("7", "7/10", "7 out of 10"), if that is what it is.
pub fn scale(answer: &str) -> Option<i64> {
    let first = answer
        .trim()
        .split(|c: char| c.is_whitespace() || c == '/')
        .next()?;
    first.parse::<i64>().ok().filter(|n| (0..=10).contains(n))
}

/// What the member sees when they stop a check-in.
pub const STOPPED: &str = "Check-in stopped; nothing was saved. That's completely fine.";

/// Whether the member asked to stop the check-in.
pub fn is_stop(answer: &str) -> bool {
    matches!(answer.trim().to_lowercase().as_str(), "cancel" | "stop")
}

/// Whether the member chose to skip a question.
pub fn is_skip(answer: &str) -> bool {
    matches!(
        answer.trim().to_lowercase().as_str(),
        "skip" | "no" | "none" | "nothing" | "-" | "pass" | "n/a"
    )
}

/// The days of check-ins a low-mood signal looks at.
pub const SIGNAL_DAYS: i64 = 14;

/// Why a member's check-ins (oldest first, today's last) should reach a
/// moderator, for members who opted in: a mood of 2 or less twice in a
/// row, or today's mood 4 or more below their average over the previous
/// [`SIGNAL_DAYS`] days (with at least three earlier answers to average).
pub fn low_mood_signal(
    checkins: &[crate::model::Checkin],
    today: chrono::NaiveDate,
) -> Option<String> {
    let (last, earlier) = checkins.split_last()?;
    if last.local_date != today {
        return None;
    }
    if last.mood <= 2 && earlier.last().is_some_and(|c| c.mood <= 2) {
        return Some("their mood has been 2 or lower twice in a row".into());
    }
    let window: Vec<i64> = earlier
        .iter()
        .filter(|c| c.local_date >= today - chrono::Duration::days(SIGNAL_DAYS))
        .map(|c| c.mood)
        .collect();
    if window.len() >= 3 {
        let average = window.iter().sum::<i64>() as f64 / window.len() as f64;
        if (last.mood as f64) <= average - 4.0 {
            return Some(format!(
                "their mood today ({}) is well below their recent average ({average:.1})",
                last.mood
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_answers_are_read_kindly() {
        assert_eq!(scale("7"), Some(7));
        assert_eq!(scale(" 7/10 "), Some(7));
        assert_eq!(scale("0 out of 10"), Some(0));
        assert_eq!(scale("11"), None);
        assert_eq!(scale("-1"), None);
        assert_eq!(scale("good"), None);
        assert_eq!(scale(""), None);
    }

    fn day(n: u32, mood: i64) -> crate::model::Checkin {
        crate::model::Checkin::answered(chrono::NaiveDate::from_ymd_opt(2026, 6, n).unwrap(), mood)
    }

    #[test]
    fn low_mood_signals_need_two_lows_or_a_big_drop() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 6, 10).unwrap();
        assert!(low_mood_signal(&[day(9, 2), day(10, 1)], today).is_some());
        assert!(
            low_mood_signal(&[day(9, 5), day(10, 1)], today).is_none(),
            "one low"
        );
        assert!(low_mood_signal(&[day(2, 8), day(5, 7), day(8, 8), day(10, 3)], today).is_some());
        assert!(
            low_mood_signal(&[day(5, 7), day(8, 8), day(10, 3)], today).is_none(),
            "too few to average"
        );
        assert!(low_mood_signal(&[day(2, 6), day(5, 6), day(8, 6), day(10, 3)], today).is_none());
        assert!(
            low_mood_signal(&[day(8, 1), day(9, 1)], today).is_none(),
            "not today"
        );
    }

    #[test]
    fn drafts_expire() {
        let drafts = Drafts::default();
        let m = MemberRef::new(crate::ids::Platform::Console, "you");
        let t0 = crate::clock::from_millis(0);
        drafts.put(
            m.clone(),
            Draft {
                group: None,
                step: Step::Mood,
                mood: None,
                sleep: None,
                connection: None,
                touched: t0,
            },
        );
        assert!(drafts.get(&m, t0 + chrono::Duration::minutes(29)).is_some());
        assert!(drafts.get(&m, t0 + chrono::Duration::minutes(31)).is_none());
    }
}
