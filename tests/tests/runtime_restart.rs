//! The runtime stopped in the middle of delivering, then started again:
//! every delivery reaches the platform's screen exactly once — none lost,
//! none doubled — because undelivered rows survive in the outbox and every
//! resend carries the same idempotency key. A graceful stop sends nothing
//! twice at all; a crash resends only what the dead process had claimed.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ipt_bot::config::OutboxConfig;
use ipt_bot::runtime::Runtime;
use ipt_core::clock::{Clock, ManualClock, SystemClock};
use ipt_core::ids::Platform;
use ipt_core::outbox::{DeliveryKind, NewDelivery, Payload, Target};
use ipt_core::store::{ConnectOptions, SqliteStore, Store};
use ipt_tests::{RecordingPlatform, eventually, tempdir::TempDir};

const N: usize = 20;

fn deliveries() -> Vec<NewDelivery> {
    (0..N)
        .map(|i| NewDelivery {
            kind: if i % 5 == 0 {
                DeliveryKind::CrisisAlert
            } else {
                DeliveryKind::CheckinPrompt
            },
            target: Target::member(Platform::Matrix, format!("@m{i}:example.org")),
            payload: Payload {
                text: format!("message {i}"),
                ..Payload::default()
            },
            idempotency_key: format!("key-{i}"),
            not_before: None,
        })
        .collect()
}

async fn open(dir: &TempDir) -> Arc<dyn Store> {
    let url = format!("sqlite://{}", dir.path().join("bot.db").display());
    let store = SqliteStore::connect(&url, &ConnectOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    Arc::new(store)
}

fn runtime(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    platform: Arc<RecordingPlatform>,
) -> Runtime {
    let outbox = OutboxConfig {
        lease: Duration::from_secs(60),
        batch_size: 8,
        ..OutboxConfig::default()
    };
    let mut rt = Runtime::new(store, clock, outbox);
    rt.add_sink(Platform::Matrix, platform);
    rt
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_graceful_stop_mid_delivery_then_restart_delivers_each_once() {
    let dir = TempDir::new();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = open(&dir).await;
    store.enqueue(&deliveries(), clock.now()).await.unwrap();

    let platform = Arc::new(RecordingPlatform::with_delay(Duration::from_millis(25)));
    let first = runtime(store.clone(), clock.clone(), platform.clone());
    let running = first.start();
    assert!(eventually(Duration::from_secs(10), || platform.calls().len() >= 5).await);
    running.stop().await;
    let sent_before_restart = platform.calls().len();
    assert!(
        sent_before_restart < N,
        "the stop must land mid-way (sent {sent_before_restart})"
    );
    // Graceful: the delivery in flight finished and was marked; the rest of
    // the batch was released, so nothing waits for a lease to run out.
    let pending = store.pending_deliveries().await.unwrap();
    assert_eq!(
        pending as usize,
        N - sent_before_restart,
        "each call was recorded as delivered"
    );
    store.close().await;

    let store = open(&dir).await;
    let second = runtime(store.clone(), clock.clone(), platform.clone());
    let running = second.start();
    assert!(eventually(Duration::from_secs(10), || platform.shown_count() == N).await);
    running.stop().await;

    let calls = platform.calls();
    assert_eq!(
        calls.len(),
        N,
        "graceful stop: no message was even sent twice"
    );
    assert!(platform.shown().values().all(|&n| n == 1));
    assert_eq!(store.pending_deliveries().await.unwrap(), 0);
    for i in 0..N {
        let d = store.delivery(&format!("key-{i}")).await.unwrap().unwrap();
        assert!(d.delivered_at.is_some(), "key-{i} not marked delivered");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_crash_after_platform_accepted_resends_same_key_and_shows_once() {
    let dir = TempDir::new();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let store = open(&dir).await;
    store.enqueue(&deliveries(), clock.now()).await.unwrap();

    // The platform shows key-7, but the process dies before hearing back.
    let platform = Arc::new(RecordingPlatform::with_delay(Duration::from_millis(2)));
    platform.hang_after_accepting("key-7");
    let first = runtime(store.clone(), clock.clone(), platform.clone());
    let running = first.start();
    assert!(
        eventually(Duration::from_secs(10), || platform
            .calls()
            .contains(&"key-7".to_owned()))
        .await
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    running.abort().await; // a crash: nothing finished, nothing released
    store.close().await;

    // Restart against the same platform. Rows claimed by the dead process
    // (key-0..7: its first batch, whose successes it had not yet recorded)
    // come back only when their lease runs out.
    let store = open(&dir).await;
    let second = runtime(store.clone(), clock.clone(), platform.clone());
    let running = second.start();
    assert!(eventually(Duration::from_secs(10), || platform.calls().len() >= N).await);
    let early: Vec<_> = platform.calls()[8..].to_vec();
    assert!(
        (0..8).all(|i| !early.contains(&format!("key-{i}"))),
        "leased rows are not resent before the lease runs out: {early:?}"
    );
    clock.advance(chrono::Duration::seconds(61));
    assert!(
        eventually(Duration::from_secs(10), || platform.calls().len() == N + 8).await,
        "the dead process's batch is resent after its lease: {:?}",
        platform.calls()
    );
    running.stop().await;

    let calls = platform.calls();
    assert_eq!(
        calls.iter().filter(|k| *k == "key-7").count(),
        2,
        "resent under the same key"
    );
    assert_eq!(platform.shown_count(), N, "every message shown");
    assert!(
        platform.shown().values().all(|&n| n == 1),
        "none shown twice"
    );
    assert_eq!(store.pending_deliveries().await.unwrap(), 0);
    let d = store.delivery("key-7").await.unwrap().unwrap();
    assert_eq!(d.attempts, 2);
    assert!(d.delivered_at.is_some());
}
