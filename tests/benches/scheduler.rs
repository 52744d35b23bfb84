//! Scheduler benchmarks (criterion).
//!
//! - `scheduler/due_runs_100k_groups`: one tick's computation of which of
//!   100,000 groups (many crons and zones) are due in a 20-second window.
//!   Target ≤ 100 ms.
//! - `scheduler/enqueue_10k_checkins_sqlite`: claiming one run and
//!   enqueueing its 10,000 private check-in prompts in one transaction on
//!   SQLite. Target ≤ 1 s.
//!
//! Run: `cargo bench -p ipt-tests --bench scheduler`.

use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use ipt_core::ids::{GroupId, Platform};
use ipt_core::model::{GroupSettings, NewGroup};
use ipt_core::outbox::{DeliveryKind, NewDelivery, Payload, Target};
use ipt_core::schedule::Schedule;
use ipt_core::scheduler::due_between;
use ipt_core::store::{RunKey, Store};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-06-01T09:00:10Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn due_runs(c: &mut Criterion) {
    let zones = [
        "UTC",
        "Europe/London",
        "Europe/Berlin",
        "America/New_York",
        "America/Los_Angeles",
        "Asia/Kolkata",
        "Australia/Sydney",
        "America/Sao_Paulo",
    ];
    let schedules: Vec<Schedule> = (0..100_000)
        .map(|i| {
            let cron = format!("0 {} {} * * *", i % 60, 6 + i % 6);
            Schedule::new(&cron, zones[i % zones.len()]).unwrap()
        })
        .collect();
    let (from, until) = (now() - Duration::seconds(20), now());
    c.bench_function("scheduler/due_runs_100k_groups", |b| {
        b.iter(|| {
            schedules
                .iter()
                .map(|s| due_between(s, from, until).len())
                .sum::<usize>()
        })
    });
}

fn enqueue(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (store, _dir) = rt.block_on(ipt_tests::sqlite_store());
    let group = rt
        .block_on(store.upsert_group(
            &NewGroup {
                platform: Platform::Matrix,
                external_id: "!g:example.org".into(),
                moderator_channel: None,
                region: "GB".into(),
                timezone: "UTC".into(),
                checkin_cron: Some("0 0 9 * * *".into()),
                settings: GroupSettings::default(),
            },
            now(),
        ))
        .unwrap();
    let mut run = 0i64;
    let mut group_c = c.benchmark_group("scheduler");
    group_c.sample_size(10);
    group_c.bench_function("enqueue_10k_checkins_sqlite", |b| {
        b.iter(|| {
            run += 1;
            let fire_at = now() + Duration::days(run);
            let deliveries: Vec<NewDelivery> = (0..10_000)
                .map(|m| NewDelivery {
                    kind: DeliveryKind::CheckinPrompt,
                    target: Target::member(Platform::Matrix, format!("@m{m}:example.org")),
                    payload: Payload {
                        text: "Time for today's check-in, if you'd like.".into(),
                        ..Payload::default()
                    },
                    idempotency_key: format!("checkin-{run}-member-{m}"),
                    not_before: None,
                    group: None,
                    about: None,
                })
                .collect();
            let key = RunKey {
                group: GroupId(group.id.0),
                kind: "checkin".into(),
                fire_at,
            };
            assert!(
                rt.block_on(store.claim_run(&key, false, &deliveries, now()))
                    .unwrap()
            );
        })
    });
    group_c.finish();
}

criterion_group!(scheduler, due_runs, enqueue);
criterion_main!(scheduler);
