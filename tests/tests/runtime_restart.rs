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
use ipt_core::store::Store;
use ipt_tests::{RecordingPlatform, TestDb, eventually};

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
            group: None,
            about: None,
        })
        .collect()
}

/// Each scenario runs on SQLite and on Postgres.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = ipt_tests::TestDb::sqlite();
                    super::$name(&db).await;
                    db.remove().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = ipt_tests::TestDb::postgres().await else { return };
                    super::$name(&db).await;
                    db.remove().await;
                }
            )*
        }
    };
}

on_both_backends!(
    test_graceful_stop_mid_delivery_then_restart_delivers_each_once,
    test_crash_after_platform_accepted_resends_same_key_and_shows_once,
    test_two_runtimes_on_one_database_send_each_delivery_once,
    test_alert_survives_a_restart_between_detection_and_delivery,
    test_two_runtimes_send_each_scheduled_checkin_exactly_once,
);

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

async fn test_graceful_stop_mid_delivery_then_restart_delivers_each_once(db: &TestDb) {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = db.open().await;
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

    let store = db.open().await;
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
    assert_eq!(platform.shown_count(), N, "every message shown");
    assert_eq!(store.pending_deliveries().await.unwrap(), 0);
    for i in 0..N {
        let d = store.delivery(&format!("key-{i}")).await.unwrap().unwrap();
        assert!(d.delivered_at.is_some(), "key-{i} not marked delivered");
    }
}

/// Keys claimed by some worker but not recorded as delivered.
async fn leased_keys(store: &Arc<dyn Store>) -> Vec<String> {
    let mut keys = Vec::new();
    for i in 0..N {
        let key = format!("key-{i}");
        let d = store.delivery(&key).await.unwrap().unwrap();
        if d.delivered_at.is_none() && d.attempts > 0 {
            keys.push(key);
        }
    }
    keys
}

fn count(calls: &[String], key: &str) -> usize {
    calls.iter().filter(|k| *k == key).count()
}

async fn test_crash_after_platform_accepted_resends_same_key_and_shows_once(db: &TestDb) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let store = db.open().await;
    store.enqueue(&deliveries(), clock.now()).await.unwrap();

    // The platform takes key-7, but the process dies before hearing back.
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
    running.abort().await; // a crash: nothing finished, recorded or released
    let leased = leased_keys(&store).await;
    assert!(leased.contains(&"key-7".to_owned()), "{leased:?}");
    let calls_before = platform.calls();
    store.close().await;

    // Restart against the same platform. What the dead process held comes
    // back only when its lease runs out; everything else goes out at once.
    let store = db.open().await;
    let second = runtime(store.clone(), clock.clone(), platform.clone());
    let running = second.start();
    let free: Vec<String> = (0..N)
        .map(|i| format!("key-{i}"))
        .filter(|k| !leased.contains(k))
        .collect();
    assert!(
        eventually(Duration::from_secs(10), || {
            let calls = platform.calls();
            free.iter().all(|k| calls.contains(k))
        })
        .await,
        "rows the dead process did not hold go out at once"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let early = platform.calls()[calls_before.len()..].to_vec();
    assert!(
        leased.iter().all(|k| !early.contains(k)),
        "leased rows are not resent before the lease runs out: leased {leased:?}, sent {early:?}"
    );
    clock.advance(chrono::Duration::seconds(61));
    assert!(
        eventually(Duration::from_secs(10), || platform.shown_count() == N).await,
        "every message reaches the platform after the restart: {:?}",
        platform.calls()
    );
    running.stop().await;

    let calls = platform.calls();
    for i in 0..N {
        let key = format!("key-{i}");
        let n = count(&calls, &key);
        if leased.contains(&key) {
            assert!((1..=2).contains(&n), "{key} sent {n} times");
        } else {
            assert_eq!(
                n, 1,
                "{key} was not held by the dead process, so it is sent once"
            );
        }
    }
    assert_eq!(
        count(&calls, "key-7"),
        2,
        "the accepted-but-unrecorded message is resent under its key"
    );
    assert_eq!(store.pending_deliveries().await.unwrap(), 0);
    let d = store.delivery("key-7").await.unwrap().unwrap();
    assert_eq!(d.attempts, 2);
    assert!(d.delivered_at.is_some());
}

/// Two bot processes on one database (each its own pool and workers) share
/// the outbox: every delivery goes out exactly once, and both take part.
async fn test_two_runtimes_on_one_database_send_each_delivery_once(db: &TestDb) {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store_a = db.open().await;
    let store_b = db.open().await;
    let many: Vec<NewDelivery> = (0..200)
        .map(|i| NewDelivery {
            kind: if i % 10 == 0 {
                DeliveryKind::CrisisAlert
            } else {
                DeliveryKind::Reminder
            },
            target: Target::member(Platform::Matrix, format!("@m{i}:example.org")),
            payload: Payload {
                text: format!("message {i}"),
                ..Payload::default()
            },
            idempotency_key: format!("many-{i}"),
            not_before: None,
            group: None,
            about: None,
        })
        .collect();
    store_a.enqueue(&many, clock.now()).await.unwrap();
    let platform_a = Arc::new(RecordingPlatform::with_delay(Duration::from_millis(1)));
    let platform_b = Arc::new(RecordingPlatform::with_delay(Duration::from_millis(1)));
    let a = runtime(store_a.clone(), clock.clone(), platform_a.clone());
    let b = runtime(store_b.clone(), clock.clone(), platform_b.clone());
    let (running_a, running_b) = (a.start(), b.start());
    assert!(
        eventually(Duration::from_secs(20), || {
            platform_a.calls().len() + platform_b.calls().len() >= many.len()
        })
        .await
    );
    running_a.stop().await;
    running_b.stop().await;
    let mut all = platform_a.calls();
    all.extend(platform_b.calls());
    let total = all.len();
    all.sort();
    all.dedup();
    assert_eq!(total, many.len(), "no delivery was sent twice");
    assert_eq!(all.len(), many.len(), "every delivery was sent");
    assert!(
        !platform_a.calls().is_empty() && !platform_b.calls().is_empty(),
        "both processes took part"
    );
    assert_eq!(store_a.pending_deliveries().await.unwrap(), 0);
    store_a.close().await;
    store_b.close().await;
}

/// A crisis message is assessed and the process dies before anything is
/// sent: after a restart, the member's support and the moderators' alert
/// each arrive exactly once.
async fn test_alert_survives_a_restart_between_detection_and_delivery(db: &TestDb) {
    use ipt_core::engine::{Event, Sender};
    use ipt_core::ids::{GroupRef, MemberRef};
    use ipt_core::model::{GroupSettings, NewGroup};
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let store = db.open().await;
    store
        .upsert_group(
            &NewGroup {
                platform: Platform::Matrix,
                external_id: "!g:example.org".into(),
                moderator_channel: Some("!mods:example.org".into()),
                region: "US".into(),
                timezone: "UTC".into(),
                checkin_cron: None,
                settings: GroupSettings::default(),
            },
            clock.now(),
        )
        .await
        .unwrap();
    let before_crash = runtime(
        store.clone(),
        clock.clone(),
        Arc::new(RecordingPlatform::default()),
    );
    // Detection happens; the process dies before any worker runs.
    before_crash
        .engine()
        .handle(Event::Message {
            group: GroupRef::new(Platform::Matrix, "!g:example.org"),
            sender: Sender {
                member: MemberRef::new(Platform::Matrix, "@m:example.org"),
                display_name: "M".into(),
                moderator: false,
            },
            text: "i am going to kill myself tonight".into(),
            link: None,
        })
        .await
        .unwrap();
    drop(before_crash);
    store.close().await;

    let store = db.open().await;
    let platform = Arc::new(RecordingPlatform::default());
    let after = runtime(store.clone(), clock.clone(), platform.clone());
    let running = after.start();
    assert!(eventually(Duration::from_secs(10), || platform.shown_count() == 2).await);
    tokio::time::sleep(Duration::from_millis(100)).await;
    running.stop().await;
    let calls = platform.calls();
    assert_eq!(calls.len(), 2, "each once: {calls:?}");
    assert!(
        calls.iter().any(|k| k.ends_with("-member"))
            && calls.iter().any(|k| k.ends_with("-moderators"))
    );
    assert_eq!(store.pending_deliveries().await.unwrap(), 0);
}

/// Two bot processes on one database, each with its own scheduler and
/// workers, both running when a check-in falls due: the group post and
/// every member's prompt reach the platform exactly once.
async fn test_two_runtimes_send_each_scheduled_checkin_exactly_once(db: &TestDb) {
    use ipt_core::ids::MemberRef;
    use ipt_core::model::{Consent, GroupSettings};
    let clock = Arc::new(ManualClock::new(
        chrono::DateTime::parse_from_rfc3339("2026-06-01T08:59:00Z")
            .unwrap()
            .with_timezone(&Utc),
    ));
    let store_a = db.open().await;
    let store_b = db.open().await;
    let group = ipt_tests::matrix_group("UTC", Some("0 0 9 * * *"), GroupSettings::default());
    let group = store_a.upsert_group(&group, clock.now()).await.unwrap();
    for i in 0..5 {
        let m = store_a
            .upsert_member(
                &MemberRef::new(Platform::Matrix, format!("@m{i}:example.org")),
                "M",
                clock.now(),
            )
            .await
            .unwrap();
        let yes = Consent {
            checkins: true,
            ..Consent::default()
        };
        store_a.set_member_consent(m.id, yes).await.unwrap();
        store_a
            .add_group_member(group.id, m.id, clock.now())
            .await
            .unwrap();
    }
    let platform_a = Arc::new(RecordingPlatform::default());
    let platform_b = Arc::new(RecordingPlatform::default());
    let a = runtime(store_a.clone(), clock.clone(), platform_a.clone());
    let b = runtime(store_b.clone(), clock.clone(), platform_b.clone());
    // Both schedulers have looked once before the time comes.
    a.scheduler().tick().await.unwrap();
    b.scheduler().tick().await.unwrap();
    let (running_a, running_b) = (a.start(), b.start());
    clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-06-01T09:00:05Z")
            .unwrap()
            .with_timezone(&Utc),
    );
    // Both schedulers race for the run; their own loops may be ticking too.
    let (x, y) = tokio::join!(a.scheduler().tick(), b.scheduler().tick());
    assert!(
        x.unwrap().sent + y.unwrap().sent <= 1,
        "never claimed twice"
    );
    a.wake().notify_waiters();
    b.wake().notify_waiters();
    assert!(
        eventually(Duration::from_secs(10), || {
            platform_a.calls().len() + platform_b.calls().len() >= 6
        })
        .await
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    running_a.stop().await;
    running_b.stop().await;
    let mut all = platform_a.calls();
    all.extend(platform_b.calls());
    assert_eq!(
        all.len(),
        6,
        "a group post and five prompts, each once: {all:?}"
    );
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 6);
    assert_eq!(store_a.pending_deliveries().await.unwrap(), 0);
    store_a.close().await;
    store_b.close().await;
}
