//! Crisis detector benchmarks (criterion). Targets: `assess` median ≤ 1 µs
//! on a typical 100-character message; ≥ 100 MB/s on long text.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipt_core::crisis::assess;

/// Ordinary group chat, about 100 characters each.
const TYPICAL: &[&str] = &[
    "Had a rough morning but went for a short walk with my sister, which helped a bit. Thanks all x",
    "Does anyone else find Sundays hard? I keep putting off calling my dad, we argued last week.",
    "Tried the communication analysis card today. Realised I never said what I actually needed.",
];
const CRISIS: &str =
    "honestly i dont want to live anymore, i've been thinking about how to end my life tonight";

fn benches(c: &mut Criterion) {
    let mut i = 0;
    c.bench_function("assess/typical_100_chars", |b| {
        b.iter(|| {
            i = (i + 1) % TYPICAL.len();
            std::hint::black_box(assess(TYPICAL[i]))
        })
    });
    c.bench_function("assess/crisis_message", |b| {
        b.iter(|| std::hint::black_box(assess(CRISIS)))
    });
    let long: String = TYPICAL
        .iter()
        .cycle()
        .take(10_000)
        .map(|s| format!("{s} "))
        .collect();
    let mut group = c.benchmark_group("assess_long");
    group.throughput(Throughput::Bytes(long.len() as u64));
    group.sample_size(20);
    group.bench_function("1MB_chat_log", |b| {
        b.iter(|| std::hint::black_box(assess(&long)))
    });
    group.finish();
}

criterion_group!(crisis, benches);
criterion_main!(crisis);
