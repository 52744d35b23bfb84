//! How the scheduler logs skipped check-in times: a group's first start is
//! not a problem and is logged at info; a real miss (the bot was down at a
//! check-in time of a group that ran before) is a warning.
//!
//! In a test binary of its own, with one test: log capture goes through a
//! thread-local subscriber, and tracing caches per call site whether
//! anyone listens, so other tests hitting the same call sites on other
//! threads at the same moment could hide these lines.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ipt_core::clock::{Clock, ManualClock};
use ipt_core::model::GroupSettings;
use ipt_core::scheduler::{Scheduler, SchedulerConfig};
use ipt_core::store::Store;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Captures the scheduler's log lines, formatted as the console shows them.
#[derive(Clone, Default)]
struct Logs(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn take(&self) -> String {
        String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap()
    }
}

/// Regression: every first start of the console logged a WARN about a
/// check-in "skipped", which a new user reads as an error.
#[tokio::test]
async fn test_a_first_start_logs_earlier_checkin_times_at_info_and_real_misses_warn() {
    use tracing_subscriber::util::SubscriberInitExt;
    let logs = Logs::default();
    let writer = logs.clone();
    let _guard = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "ipt_core::scheduler=info",
        ))
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish()
        .set_default();

    let (store, _dir) = ipt_tests::sqlite_store().await;
    let store: Arc<dyn Store> = Arc::new(store);
    let clock = Arc::new(ManualClock::new(at("2026-06-01T12:00:00Z")));
    let group = ipt_tests::matrix_group("UTC", Some("0 0 9 * * *"), GroupSettings::default());
    store.upsert_group(&group, clock.now()).await.unwrap();
    let scheduler = || Scheduler::new(store.clone(), clock.clone(), SchedulerConfig::default());
    let t = scheduler().tick().await.unwrap();
    assert_eq!(t.skipped, 1, "today's 09:00 is past the catch-up window");
    let first = logs.take();
    assert!(
        first.contains(" INFO ") && first.contains("first start"),
        "{first}"
    );
    assert!(!first.contains("WARN"), "{first}");

    // The bot ran before, then was down over the next morning's run.
    clock.set(at("2026-06-02T12:00:00Z"));
    let t = scheduler().tick().await.unwrap();
    assert_eq!(t.skipped, 1);
    let missed = logs.take();
    assert!(
        missed.contains(" WARN ") && missed.contains("not running"),
        "{missed}"
    );
    assert_eq!(missed.lines().count(), 1, "{missed}");
}
