//! ipt-core: the platform-free heart of ipt-bot.
//!
//! Nothing in this crate knows about Discord, Matrix or terminals. Adapters in
//! the `ipt-bot` crate turn platform events into [`engine::Event`]s and turn
//! [`engine::Reply`]s and outbox [`outbox::Delivery`]s back into platform calls.
//!
//! Anything that must not be lost (a crisis alert, a check-in prompt, a
//! reminder) is written to the outbox in the same database transaction as the
//! domain change that caused it; the [`outbox::OutboxWorker`] then delivers it
//! with at-least-once semantics and a platform-side idempotency key, which
//! together give exactly-once delivery as members and moderators see it.

pub mod alerts;
pub mod checkin;
pub mod clock;
pub mod content;
pub mod crisis;
pub mod engine;
pub mod error;
pub mod homework;
pub mod ids;
pub mod model;
pub mod mood;
pub mod outbox;
pub mod prompts;
pub mod region;
pub mod schedule;
pub mod scheduler;
pub mod store;
pub mod text;

pub use error::{Error, Result};
