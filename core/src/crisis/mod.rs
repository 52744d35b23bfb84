//! Crisis detection: [`assess`] reads a message and says how worried to be.
//!
//! Levels (see SAFETY-AND-CONTENT.md): `imminent` (intent with a plan,
//! means or time; goodbyes; an act in progress), `urgent` (active wish to
//! die or kill oneself; self-harm), `concern` (passive ideation,
//! hopelessness, feeling a burden), `none`.
//!
//! The text is first normalised ([`normalize`]) so disguised words are
//! seen plainly. Then phrase patterns find signals, and context rules set
//! aside the ones that are not about the writer now: negation ("I would
//! never…"), other people ("my friend wants to die"), helping someone else,
//! recovery told in the past tense, and talk about suicide as a topic
//! ("suicide prevention"). Everyday idioms ("this traffic is killing me",
//! "to die for") are simply not patterns. `signals` records every decision.
//!
//! Nothing here touches the network or the database, so detection cannot
//! fail open: it always returns an answer.

mod lexicon;
mod normalize;
pub mod resources;

use serde::Serialize;

use self::lexicon::Lexicon;
pub use self::normalize::{normalize, squeeze};
use crate::model::AlertLevel;

/// How serious a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Nothing to act on.
    None,
    /// Passive ideation, hopelessness, burden.
    Concern,
    /// Active ideation or self-harm.
    Urgent,
    /// Intent with plan, means or time; goodbyes; an act in progress.
    Imminent,
}

impl Level {
    /// The alert level to raise, if any.
    pub fn alert_level(self) -> Option<AlertLevel> {
        match self {
            Level::None => None,
            Level::Concern => Some(AlertLevel::Concern),
            Level::Urgent => Some(AlertLevel::Urgent),
            Level::Imminent => Some(AlertLevel::Imminent),
        }
    }

    /// The level's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::Concern => "concern",
            Level::Urgent => "urgent",
            Level::Imminent => "imminent",
        }
    }
}

/// The detector's answer: a level and the signals that led to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assessment {
    /// How serious.
    pub level: Level,
    /// Why: each signal found, and each one set aside with the reason.
    pub signals: Vec<String>,
}

/// Assesses one message.
pub fn assess(text: &str) -> Assessment {
    Lexicon::get().assess(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(text: &str) -> Level {
        assess(text).level
    }

    #[test]
    fn levels_from_plain_statements() {
        assert_eq!(level("I want to kill myself"), Level::Urgent);
        assert_eq!(level("I'm going to kill myself tonight"), Level::Imminent);
        assert_eq!(level("I feel like such a burden"), Level::Concern);
        assert_eq!(level("lovely weather today"), Level::None);
    }

    #[test]
    fn context_sets_signals_aside_and_says_why() {
        let a = assess("I would never kill myself");
        assert_eq!(a.level, Level::None);
        assert!(
            a.signals.iter().any(|s| s.starts_with("negated")),
            "{:?}",
            a.signals
        );
        let a = assess("my brother said he is suicidal");
        assert_eq!(a.level, Level::None);
        assert!(
            a.signals.iter().any(|s| s.starts_with("other person")),
            "{:?}",
            a.signals
        );
    }

    #[test]
    fn empty_and_odd_input_is_none() {
        for text in [
            "",
            "   ",
            "\u{200B}",
            "💀💀💀 lol",
            "1234567890",
            "....!!!???",
        ] {
            assert_eq!(level(text), Level::None, "{text:?}");
        }
    }
}
