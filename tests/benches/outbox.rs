//! Outbox benchmarks (criterion).
//!
//! - `outbox_cycle/sqlite`: the whole life of a delivery as the bot lives it:
//!   enqueue (one transaction per message, as a domain write makes it), claim
//!   in batches of 32, record the batch delivered. Target ≥ 5,000 deliveries/s.
//! - `claim_100_due_among_1m/{sqlite,postgres}`: claiming 100 due rows while
//!   1,000,000 more wait for later. Target ≤ 5 ms.
//!
//! Run: `cargo bench -p ipt-tests --bench outbox` (Postgres from
//! `IPT_TEST_POSTGRES_URL` or 127.0.0.1:5432, as the tests).

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipt_core::clock::from_millis;
use ipt_core::ids::Platform;
use ipt_core::outbox::{DeliveryKind, Lane, NewDelivery, Payload, Target};
use ipt_core::store::Store;

const NOW: i64 = 1_780_000_000_000;
const FAR_FUTURE: i64 = NOW + 365 * 86_400_000;
/// Rows waiting for later; `IPT_BENCH_PENDING` shrinks it for the quick
/// test-mode run in `scripts/test` (which only checks the benches still work).
fn pending() -> i64 {
    std::env::var("IPT_BENCH_PENDING")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn delivery(i: u64) -> NewDelivery {
    NewDelivery {
        kind: DeliveryKind::CheckinPrompt,
        target: Target::member(Platform::Matrix, format!("@m{}:example.org", i % 500)),
        payload: Payload {
            text: "How are you today? /checkin when you're ready.".into(),
            ..Payload::default()
        },
        idempotency_key: format!("bench-{i}"),
        not_before: None,
        group: None,
        about: None,
    }
}

fn outbox_cycle(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (store, _dir) = rt.block_on(ipt_tests::sqlite_store());
    let store: Arc<dyn Store> = Arc::new(store);
    let mut next = 0u64;
    let mut group = c.benchmark_group("outbox_cycle");
    const PER_ITER: u64 = 100;
    group.throughput(Throughput::Elements(PER_ITER));
    group.bench_function("sqlite", |b| {
        b.iter_custom(|iters| {
            // Run as a spawned task on the runtime's workers, as the outbox
            // worker and the adapters do, not on the bench thread.
            let store = store.clone();
            let first = next;
            next += iters * PER_ITER;
            rt.block_on(rt.spawn(async move {
                let start = Instant::now();
                let mut key = first;
                for _ in 0..iters {
                    let now = from_millis(NOW);
                    for _ in 0..PER_ITER {
                        store.enqueue(&[delivery(key)], now).await.unwrap();
                        key += 1;
                    }
                    let mut delivered = 0;
                    while delivered < PER_ITER {
                        let claims = store
                            .claim_deliveries(
                                Platform::Matrix,
                                Lane::Normal,
                                now,
                                32,
                                Duration::from_secs(60),
                            )
                            .await
                            .unwrap();
                        // As the worker does: one record for the batch's successes.
                        assert_eq!(
                            store.mark_delivered(&claims, now).await.unwrap(),
                            claims.len()
                        );
                        delivered += claims.len() as u64;
                    }
                }
                start.elapsed()
            }))
            .unwrap()
        });
    });
    group.finish();
}

/// Fills the outbox with `PENDING` rows due a year from now, plus 100 due now.
async fn fill_sqlite(store: &ipt_core::store::SqliteStore) {
    sqlx::query(
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < $1) \
         INSERT INTO deliveries (kind, platform, target_kind, target_id, payload, idempotency_key, \
         state, attempts, available_at, created_at, lane) \
         SELECT 'checkin_prompt', 'matrix', 'member', 'm' || x, '{\"text\":\"x\"}', 'later-' || x, \
         'queued', 0, $2 + x, $3, 'normal' FROM n",
    )
    .bind(pending())
    .bind(FAR_FUTURE)
    .bind(NOW)
    .execute(store.pool())
    .await
    .unwrap();
}

async fn fill_postgres(store: &ipt_core::store::PostgresStore) {
    sqlx::query(
        "INSERT INTO deliveries (kind, platform, target_kind, target_id, payload, idempotency_key, \
         state, attempts, available_at, created_at, lane) \
         SELECT 'checkin_prompt', 'matrix', 'member', 'm' || x, '{\"text\":\"x\"}', 'later-' || x, \
         'queued', 0, $2 + x, $3, 'normal' FROM generate_series(1, $1) AS x",
    )
    .bind(pending())
    .bind(FAR_FUTURE)
    .bind(NOW)
    .execute(store.pool())
    .await
    .unwrap();
    sqlx::query("ANALYZE deliveries")
        .execute(store.pool())
        .await
        .unwrap();
}

/// Times only the claim; between iterations the 100 claimed rows are made
/// due again (untimed) so every iteration sees the same table.
fn bench_claim(c: &mut Criterion, name: &str, rt: &tokio::runtime::Runtime, store: &dyn Store) {
    let due: Vec<_> = (0..100).map(delivery).collect();
    rt.block_on(store.enqueue(&due, from_millis(NOW))).unwrap();
    let mut group = c.benchmark_group("claim_100_due_among_1m");
    group.sample_size(50);
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let claims = store
                        .claim_deliveries(
                            Platform::Matrix,
                            Lane::Normal,
                            from_millis(NOW),
                            100,
                            Duration::from_secs(60),
                        )
                        .await
                        .unwrap();
                    total += start.elapsed();
                    assert_eq!(claims.len(), 100);
                    for claim in &claims {
                        store
                            .release_delivery(claim, from_millis(NOW))
                            .await
                            .unwrap();
                    }
                }
                total
            })
        });
    });
    group.finish();
}

fn claim_among_many(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (sqlite, _dir) = rt.block_on(ipt_tests::sqlite_store());
    rt.block_on(fill_sqlite(&sqlite));
    bench_claim(c, "sqlite", &rt, &sqlite);

    if let Some((pg, schema)) = rt.block_on(ipt_tests::postgres_store()) {
        rt.block_on(fill_postgres(&pg));
        bench_claim(c, "postgres", &rt, &pg);
        rt.block_on(pg.close());
        rt.block_on(schema.drop_now());
    }
}

criterion_group!(benches, outbox_cycle, claim_among_many);
criterion_main!(benches);
