//! The outbox worker's own rules: failures back off and are recorded, a
//! permanent failure kills an ordinary message but never a crisis one, a
//! hung platform call times out and is retried under the same key, a batch
//! never outlives its lease, and the crisis lane is not held up by a slow
//! ordinary batch.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use ipt_bot::config::OutboxConfig;
use ipt_bot::runtime::Runtime;
use ipt_core::clock::{Clock, ManualClock, SystemClock};
use ipt_core::ids::Platform;
use ipt_core::outbox::{
    CriticalFirst, Delivery, DeliveryKind, DeliveryResult, DeliverySink, DeliveryState, Lane,
    NewDelivery, OutboxWorker, Payload, Target, WorkerConfig,
};
use ipt_core::store::Store;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

type Script = dyn Fn(&Delivery, usize) -> DeliveryResult + Send + Sync;

/// A platform whose answer to each call is scripted: `script(delivery, n)`
/// where `n` counts earlier calls with the same key.
struct ScriptedPlatform {
    script: Box<Script>,
    delay: Duration,
    slow_kind: Option<(DeliveryKind, Duration)>,
    calls: Mutex<Vec<(String, std::time::Instant)>>,
}

impl ScriptedPlatform {
    fn new(script: impl Fn(&Delivery, usize) -> DeliveryResult + Send + Sync + 'static) -> Self {
        Self {
            script: Box::new(script),
            delay: Duration::ZERO,
            slow_kind: None,
            calls: Mutex::new(Vec::new()),
        }
    }

    fn calls_for(&self, key: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k == key)
            .count()
    }
}

#[async_trait::async_trait]
impl DeliverySink for ScriptedPlatform {
    async fn deliver(&self, d: &Delivery) -> DeliveryResult {
        let n = {
            let mut calls = self.calls.lock().unwrap();
            let n = calls
                .iter()
                .filter(|(k, _)| *k == d.idempotency_key)
                .count();
            calls.push((d.idempotency_key.clone(), std::time::Instant::now()));
            n
        };
        let delay = match self.slow_kind {
            Some((kind, delay)) if kind == d.kind => delay,
            _ => self.delay,
        };
        tokio::time::sleep(delay).await;
        (self.script)(d, n)
    }
}

fn msg(key: &str, kind: DeliveryKind) -> NewDelivery {
    NewDelivery {
        kind,
        target: Target::member(Platform::Matrix, "@m:example.org"),
        payload: Payload {
            text: key.into(),
            ..Payload::default()
        },
        idempotency_key: key.into(),
        not_before: None,
        group: None,
        about: None,
    }
}

fn worker(
    store: &Arc<dyn Store>,
    sink: Arc<ScriptedPlatform>,
    clock: Arc<dyn Clock>,
    config: WorkerConfig,
) -> OutboxWorker {
    OutboxWorker::new(store.clone(), sink, clock, Arc::new(Notify::new()), config)
}

#[tokio::test]
async fn test_failed_delivery_is_rescheduled_with_backoff_and_its_error() {
    let (store, _dir) = ipt_tests::sqlite_store().await;
    let store: Arc<dyn Store> = Arc::new(store);
    let clock = Arc::new(ManualClock::new(Utc::now()));
    store
        .enqueue(&[msg("a", DeliveryKind::Reminder)], clock.now())
        .await
        .unwrap();
    let sink = Arc::new(ScriptedPlatform::new(|_, n| {
        if n == 0 {
            DeliveryResult::Retry {
                error: "502 from homeserver".into(),
                after: None,
            }
        } else {
            DeliveryResult::Delivered
        }
    }));
    let w = worker(
        &store,
        sink.clone(),
        clock.clone(),
        WorkerConfig::new(Platform::Matrix, Lane::Normal),
    );
    let report = w.pass(&CancellationToken::new()).await.unwrap();
    assert_eq!((report.claimed, report.delivered, report.failed), (1, 0, 1));
    let d = store.delivery("a").await.unwrap().unwrap();
    assert_eq!(d.state, DeliveryState::Queued);
    assert_eq!(d.last_error.as_deref(), Some("502 from homeserver"));
    let wait = d.available_at.unwrap() - clock.now();
    assert!(
        (1_000..=2_000).contains(&wait.num_milliseconds()),
        "first retry after 1-2 s, got {wait}"
    );
    assert_eq!(
        w.pass(&CancellationToken::new()).await.unwrap().claimed,
        0,
        "not before its time"
    );
    clock.advance(chrono::Duration::seconds(2));
    assert_eq!(
        w.pass(&CancellationToken::new()).await.unwrap().delivered,
        1
    );
    assert_eq!(sink.calls_for("a"), 2);
    assert!(
        store
            .delivery("a")
            .await
            .unwrap()
            .unwrap()
            .delivered_at
            .is_some()
    );
}

#[tokio::test]
async fn test_permanent_failure_kills_an_ordinary_message_but_never_a_crisis_one() {
    let (store, _dir) = ipt_tests::sqlite_store().await;
    let store: Arc<dyn Store> = Arc::new(store);
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let group = store
        .upsert_group(
            &ipt_core::model::NewGroup {
                platform: Platform::Matrix,
                external_id: "!g:example.org".into(),
                moderator_channel: None,
                region: "GB".into(),
                timezone: "UTC".into(),
                checkin_cron: None,
                settings: ipt_core::model::GroupSettings::default(),
            },
            clock.now(),
        )
        .await
        .unwrap();
    let mut batch = [
        msg("ordinary", DeliveryKind::Notice),
        msg("crisis", DeliveryKind::CrisisSupport),
    ];
    for d in &mut batch {
        d.group = Some(group.id);
    }
    store.enqueue(&batch, clock.now()).await.unwrap();
    let sink = Arc::new(ScriptedPlatform::new(|_, _| DeliveryResult::Permanent {
        error: "user blocks DMs".into(),
    }));
    for lane in Lane::ALL {
        let w = worker(
            &store,
            sink.clone(),
            clock.clone(),
            WorkerConfig::new(Platform::Matrix, *lane),
        );
        w.pass(&CancellationToken::new()).await.unwrap();
    }
    assert_eq!(
        store.delivery("ordinary").await.unwrap().unwrap().state,
        DeliveryState::Dead
    );
    let crisis = store.delivery("crisis").await.unwrap().unwrap();
    assert_eq!(crisis.state, DeliveryState::Failing);
    assert!(
        crisis.available_at.is_some(),
        "still scheduled for another try"
    );
    let listed: Vec<_> = store
        .undeliverable(group.id, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.idempotency_key)
        .collect();
    assert_eq!(
        listed.len(),
        2,
        "both are listed for moderators: {listed:?}"
    );
}

#[tokio::test]
async fn test_hung_platform_call_times_out_and_is_retried_under_the_same_key() {
    let (store, _dir) = ipt_tests::sqlite_store().await;
    let store: Arc<dyn Store> = Arc::new(store);
    let clock = Arc::new(ManualClock::new(Utc::now()));
    store
        .enqueue(&[msg("a", DeliveryKind::CrisisAlert)], clock.now())
        .await
        .unwrap();
    let hung = Arc::new(AtomicUsize::new(0));
    let hung_in = hung.clone();
    let mut sink = ScriptedPlatform::new(move |_, _| {
        hung_in.fetch_add(1, Ordering::SeqCst);
        DeliveryResult::Delivered
    });
    sink.delay = Duration::from_millis(300);
    let sink = Arc::new(sink);
    let config = WorkerConfig {
        deliver_timeout: Duration::from_millis(100),
        ..WorkerConfig::new(Platform::Matrix, Lane::Critical)
    };
    let w = worker(&store, sink.clone(), clock.clone(), config);
    let report = w.pass(&CancellationToken::new()).await.unwrap();
    assert_eq!((report.delivered, report.failed), (0, 1));
    let d = store.delivery("a").await.unwrap().unwrap();
    assert!(
        d.last_error
            .unwrap()
            .contains("no answer from the platform")
    );
    assert_eq!(hung.load(Ordering::SeqCst), 0, "the call never finished");
    clock.advance(chrono::Duration::seconds(5));
    let config = WorkerConfig::new(Platform::Matrix, Lane::Critical);
    let w = worker(&store, sink.clone(), clock.clone(), config);
    assert_eq!(
        w.pass(&CancellationToken::new()).await.unwrap().delivered,
        1
    );
    assert_eq!(
        sink.calls_for("a"),
        2,
        "resent under the same idempotency key"
    );
}

#[tokio::test]
async fn test_batch_stops_sending_before_its_lease_runs_out() {
    let (store, _dir) = ipt_tests::sqlite_store().await;
    let store: Arc<dyn Store> = Arc::new(store);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let batch: Vec<_> = (0..10)
        .map(|i| msg(&format!("k{i}"), DeliveryKind::Notice))
        .collect();
    store.enqueue(&batch, clock.now()).await.unwrap();
    let mut sink = ScriptedPlatform::new(|_, _| DeliveryResult::Delivered);
    sink.delay = Duration::from_millis(150);
    let sink = Arc::new(sink);
    // Lease 6 s, call timeout 0.5 s: sending stops 0.5 s after the claim
    // (lease − timeout − 5 s margin), long before another worker could
    // retake the rows.
    let config = WorkerConfig {
        lease: Duration::from_secs(6),
        deliver_timeout: Duration::from_millis(500),
        batch: 10,
        ..WorkerConfig::new(Platform::Matrix, Lane::Normal)
    };
    assert_eq!(config.send_budget(), Duration::from_millis(500));
    let w = worker(&store, sink.clone(), clock.clone(), config);
    let report = w.pass(&CancellationToken::new()).await.unwrap();
    assert!(report.delivered >= 2 && report.delivered <= 5, "{report:?}");
    assert_eq!(report.released, 10 - report.delivered);
    assert_eq!(
        store.pending_deliveries().await.unwrap() as usize,
        report.released
    );
    let again = store
        .claim_deliveries(
            Platform::Matrix,
            Lane::Normal,
            clock.now(),
            10,
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(
        again.len(),
        report.released,
        "released rows are due at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_crisis_lane_is_not_held_up_by_a_slow_ordinary_batch() {
    let (store, _dir) = ipt_tests::sqlite_store().await;
    let store: Arc<dyn Store> = Arc::new(store);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let prompts: Vec<_> = (0..20)
        .map(|i| msg(&format!("prompt{i}"), DeliveryKind::CheckinPrompt))
        .collect();
    store.enqueue(&prompts, clock.now()).await.unwrap();
    let mut sink = ScriptedPlatform::new(|_, _| DeliveryResult::Delivered);
    sink.slow_kind = Some((DeliveryKind::CheckinPrompt, Duration::from_millis(100)));
    let sink = Arc::new(sink);
    let mut rt = Runtime::new(store.clone(), clock.clone(), OutboxConfig::default());
    rt.add_sink(Platform::Matrix, sink.clone());
    let running = rt.start();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let enqueued_at = std::time::Instant::now();
    store
        .enqueue(&[msg("alert", DeliveryKind::CrisisAlert)], clock.now())
        .await
        .unwrap();
    rt.wake().notify_waiters();
    assert!(
        ipt_tests::eventually(Duration::from_secs(5), || sink.calls_for("alert") == 1).await,
        "the alert is delivered"
    );
    let sent_at = sink
        .calls
        .lock()
        .unwrap()
        .iter()
        .find(|(k, _)| k == "alert")
        .unwrap()
        .1;
    let prompts_done = (0..20)
        .filter(|i| sink.calls_for(&format!("prompt{i}")) == 1)
        .count();
    running.stop().await;
    assert!(
        prompts_done < 20,
        "the ordinary batch was still going when the alert went out"
    );
    assert!(
        sent_at.duration_since(enqueued_at) < Duration::from_millis(1500),
        "the alert waited {:?}",
        sent_at.duration_since(enqueued_at)
    );
}

#[tokio::test]
async fn test_a_panicking_adapter_fails_the_attempt_but_not_the_worker() {
    let (store, _dir) = ipt_tests::sqlite_store().await;
    let store: Arc<dyn Store> = Arc::new(store);
    let clock = Arc::new(ManualClock::new(Utc::now()));
    store
        .enqueue(
            &[
                msg("boom", DeliveryKind::CrisisAlert),
                msg("fine", DeliveryKind::Escalation),
            ],
            clock.now(),
        )
        .await
        .unwrap();
    let sink = Arc::new(ScriptedPlatform::new(|d, n| {
        assert!(!(d.idempotency_key == "boom" && n == 0), "adapter bug");
        DeliveryResult::Delivered
    }));
    let w = worker(
        &store,
        sink.clone(),
        clock.clone(),
        WorkerConfig::new(Platform::Matrix, Lane::Critical),
    );
    let report = w.pass(&CancellationToken::new()).await.unwrap();
    assert_eq!(
        (report.delivered, report.failed),
        (1, 1),
        "the next delivery still went out"
    );
    let boom = store.delivery("boom").await.unwrap().unwrap();
    assert_eq!(
        boom.last_error.as_deref(),
        Some("the platform adapter crashed while sending")
    );
    clock.advance(chrono::Duration::seconds(5));
    assert_eq!(
        w.pass(&CancellationToken::new()).await.unwrap().delivered,
        1,
        "retried and delivered"
    );
}

/// A store holding an alert and its support, enqueued together.
async fn alert_and_support_enqueued()
-> (Arc<dyn Store>, ipt_tests::tempdir::TempDir, Arc<dyn Clock>) {
    let (store, dir) = ipt_tests::sqlite_store().await;
    let store: Arc<dyn Store> = Arc::new(store);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    store
        .enqueue(
            &[
                msg("alert", DeliveryKind::CrisisAlert),
                msg("support", DeliveryKind::CrisisSupport),
            ],
            clock.now(),
        )
        .await
        .unwrap();
    (store, dir, clock)
}

/// The support and critical lanes' workers, sharing one order that has
/// been told of the enqueue.
fn support_and_critical_lanes(
    store: &Arc<dyn Store>,
    sink: &Arc<ScriptedPlatform>,
    clock: &Arc<dyn Clock>,
) -> (OutboxWorker, OutboxWorker) {
    let order = Arc::new(CriticalFirst::default());
    order.enqueued();
    let lanes = lanes_of(store, sink, clock, &order);
    (
        lanes(Platform::Matrix, Lane::Support),
        lanes(Platform::Matrix, Lane::Critical),
    )
}

/// Workers of any platform and lane, sharing `order`.
fn lanes_of<'a>(
    store: &'a Arc<dyn Store>,
    sink: &'a Arc<ScriptedPlatform>,
    clock: &'a Arc<dyn Clock>,
    order: &'a Arc<CriticalFirst>,
) -> impl Fn(Platform, Lane) -> OutboxWorker + 'a {
    move |platform, lane| {
        worker(
            store,
            sink.clone(),
            clock.clone(),
            WorkerConfig::new(platform, lane),
        )
        .with_critical_first(order.clone())
    }
}

/// Sends a slow alert and its support, with the support lane's worker
/// first to the store (and, if `console_first`, the console's critical
/// lane finishing an empty pass before Matrix's starts), and checks the
/// support went out only after the alert's send returned.
async fn support_goes_out_after_the_slow_alert(console_first: bool) {
    let (store, _dir, clock) = alert_and_support_enqueued().await;
    let alert_takes = Duration::from_millis(300);
    let mut sink = ScriptedPlatform::new(|_, _| DeliveryResult::Delivered);
    sink.slow_kind = Some((DeliveryKind::CrisisAlert, alert_takes));
    let sink = Arc::new(sink);
    let order = Arc::new(CriticalFirst::default());
    order.enqueued();
    let lanes = lanes_of(&store, &sink, &clock, &order);
    let (support, critical) = (
        lanes(Platform::Matrix, Lane::Support),
        lanes(Platform::Matrix, Lane::Critical),
    );
    let support = tokio::spawn(async move { support.pass(&CancellationToken::new()).await });
    if console_first {
        // The console's critical lane has nothing to send and is done at once.
        let console = lanes(Platform::Console, Lane::Critical);
        let quiet = console.pass(&CancellationToken::new()).await.unwrap();
        assert_eq!(quiet.delivered, 0);
    }
    // The support worker is first to the store.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let report = critical.pass(&CancellationToken::new()).await.unwrap();
    assert_eq!(report.delivered, 1);
    assert_eq!(support.await.unwrap().unwrap().delivered, 1);
    let calls = sink.calls.lock().unwrap().clone();
    let at = |key: &str| calls.iter().find(|(k, _)| k == key).unwrap().1;
    assert!(
        at("support") >= at("alert") + alert_takes,
        "the support went out while the alert was still being sent: {calls:?}"
    );
}

/// The member's support gives way to the moderators' alert written with
/// it: even when the support lane's worker gets there first, the alert is
/// attempted before the support goes out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_support_gives_way_to_the_alert_enqueued_with_it() {
    support_goes_out_after_the_slow_alert(false).await;
}

/// Another platform's critical lane finishing its pass does not release
/// this platform's support: the console having nothing to alert says
/// nothing of Matrix's alert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_support_waits_for_its_own_platforms_alert() {
    support_goes_out_after_the_slow_alert(true).await;
}

/// Giving way is bounded: an alert send that hangs never holds the
/// member's support for long.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_support_goes_out_even_while_the_alert_send_hangs() {
    let (store, _dir, clock) = alert_and_support_enqueued().await;
    let mut sink = ScriptedPlatform::new(|_, _| DeliveryResult::Delivered);
    sink.slow_kind = Some((DeliveryKind::CrisisAlert, Duration::from_secs(3600)));
    let sink = Arc::new(sink);
    let (support, critical) = support_and_critical_lanes(&store, &sink, &clock);
    let hung = tokio::spawn(async move { critical.pass(&CancellationToken::new()).await });
    let report = tokio::time::timeout(
        Duration::from_secs(10),
        support.pass(&CancellationToken::new()),
    )
    .await
    .expect("the support waited for the hung alert")
    .unwrap();
    assert_eq!(report.delivered, 1);
    assert!(!hung.is_finished(), "the alert send is still hanging");
    hung.abort();
}
