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
//! Beside the rules runs a learned layer ([`learned`]): a sentence encoder
//! ([`encoder`], all-MiniLM-L6-v2) with a head trained on the project's
//! labelled corpus, which reads meaning rather than phrases. The
//! [`Detector`] runs both; the higher level wins, and each decision says
//! why (the rule that fired, or "reads like: <the nearest labelled
//! example>"). Detection reads English; in other languages the rules
//! know only a few plain phrases.
//!
//! Nothing here touches the network or the database, so detection cannot
//! fail open: the rules always return an answer, and the learned layer is
//! either loaded from verified files or, by explicit choice, off.

pub mod encoder;
pub mod learned;
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

/// Assesses one message with the rules alone (the [`Detector`] adds the
/// learned layer).
pub fn assess(text: &str) -> Assessment {
    Lexicon::get().assess(text)
}

/// The final assessment: the higher of the rules' level and the learned
/// layer's, with the signals of both.
pub fn combine(mut rules: Assessment, reading: Option<&learned::Reading>) -> Assessment {
    if let Some(reading) = reading {
        rules.level = rules.level.max(reading.level);
        rules.signals.extend(reading.signals());
    }
    rules
}

/// Texts longer than this (in bytes) are read by the rules on the blocking
/// pool, so a huge message never stalls the async reactor; shorter ones
/// take microseconds and are read in place.
const INLINE_RULES_BYTES: usize = 4096;

/// A message waiting for the learned layer.
struct Job {
    text: String,
    reply: tokio::sync::oneshot::Sender<Result<learned::Reading, String>>,
}

/// The detector the bot runs: the rules, and the learned layer on its own
/// worker threads (a bounded pool, off the async reactor). Messages wait
/// their turn in an unbounded queue: under a flood they queue, none is
/// dropped. Waiting messages are read together, in batches.
#[derive(Debug, Clone)]
pub struct Detector {
    jobs: Option<std::sync::mpsc::Sender<Job>>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").finish_non_exhaustive()
    }
}

/// What reads messages for the learned layer: [`learned::Learned`] in the
/// bot; tests of the pipeline around it may give their own.
pub trait Reader: Send + Sync + 'static {
    /// One reading per text, in order.
    fn read_batch(&self, texts: &[&str]) -> Result<Vec<learned::Reading>, String>;
}

impl Reader for learned::Learned {
    fn read_batch(&self, texts: &[&str]) -> Result<Vec<learned::Reading>, String> {
        learned::Learned::read_batch(self, texts)
    }
}

/// Messages the learned layer reads in one batch at most.
const MODEL_BATCH: usize = 16;

impl Detector {
    /// The rules alone: only when the configuration says `model = "off"`,
    /// and in tests of the rules.
    pub fn rules_only() -> Self {
        Self { jobs: None }
    }

    /// The rules and the learned layer, read by `workers` threads.
    pub fn with_model(model: impl Reader, workers: usize) -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        let model: std::sync::Arc<dyn Reader> = std::sync::Arc::new(model);
        for i in 0..workers.max(1) {
            let (rx, model) = (rx.clone(), model.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("crisis-model-{i}"))
                .spawn(move || model_worker(&rx, model.as_ref()));
            if let Err(error) = spawned {
                tracing::error!(%error, "could not start a crisis model thread");
            }
        }
        Self { jobs: Some(tx) }
    }

    /// Whether the learned layer is in use.
    pub fn model_in_use(&self) -> bool {
        self.jobs.is_some()
    }

    /// The rules' assessment.
    pub async fn rules(&self, text: &str) -> Assessment {
        if text.len() <= INLINE_RULES_BYTES {
            return assess(text);
        }
        let owned = text.to_owned();
        match tokio::task::spawn_blocking(move || assess(&owned)).await {
            Ok(assessment) => assessment,
            // The pool is shutting down: assess here rather than not at all.
            Err(_) => assess(text),
        }
    }

    /// The learned layer's reading, if it is in use. A failure of the
    /// model is logged and gives no reading; the rules still stand.
    pub async fn learned(&self, text: &str) -> Option<learned::Reading> {
        let jobs = self.jobs.as_ref()?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Job {
            text: text.to_owned(),
            reply,
        };
        if jobs.send(job).is_err() {
            tracing::error!(
                "the crisis model threads have stopped; this message was read by the rules alone"
            );
            return None;
        }
        match answer.await {
            Ok(Ok(reading)) => Some(reading),
            Ok(Err(error)) => {
                tracing::error!(%error, "the crisis model failed on a message; it was read by the rules alone");
                None
            }
            Err(_) => {
                tracing::error!(
                    "a crisis model thread stopped; this message was read by the rules alone"
                );
                None
            }
        }
    }

    /// Both layers: the higher level wins.
    pub async fn assess(&self, text: &str) -> Assessment {
        let rules = self.rules(text).await;
        let reading = self.learned(text).await;
        combine(rules, reading.as_ref())
    }
}

fn model_worker(jobs: &std::sync::Mutex<std::sync::mpsc::Receiver<Job>>, model: &dyn Reader) {
    loop {
        let batch = {
            let Ok(rx) = jobs.lock() else { return };
            let Ok(first) = rx.recv() else { return };
            let mut batch = vec![first];
            while batch.len() < MODEL_BATCH {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            batch
        };
        let texts: Vec<&str> = batch.iter().map(|j| j.text.as_str()).collect();
        match model.read_batch(&texts) {
            Ok(readings) => {
                for (job, reading) in batch.into_iter().zip(readings) {
                    let _ = job.reply.send(Ok(reading));
                }
            }
            Err(error) => {
                for job in batch {
                    let _ = job.reply.send(Err(error.clone()));
                }
            }
        }
    }
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
