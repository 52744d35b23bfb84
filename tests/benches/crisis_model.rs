//! Load harness for the learned crisis layer (real model files, release
//! build): `cargo bench -p ipt-tests --bench crisis_model`.
//!
//! - `assess` with the model, one typical ~100-character message at a
//!   time: the rules plus the model's reading, p50 and p99.
//! - The same through the [`Detector`]'s pool (a thread hand-off), as the
//!   engine calls it.
//! - `scan`'s path over a 100,000-line chat log: lines read in batches of
//!   128, as `ipt-bot scan` does, in messages per second.
//! - Resident memory with the model loaded.
//! - The ceiling the encoder's matrix products alone put on that path: the
//!   same windows, batched the same way, through only the six products of
//!   each of the six layers (every other step taken as free).
//!
//! Run by `cargo test --benches` (as `scripts/test` does) it reads a few
//! messages and 1,000 lines, to prove the harness works.

use std::time::{Duration, Instant};

use ipt_core::crisis::encoder::default_model_dir;
use ipt_core::crisis::learned::Learned;
use ipt_core::crisis::{Detector, assess, combine};

/// Typical group chat, about 100 characters each.
const TYPICAL: &[&str] = &[
    "Had a rough morning but went for a short walk with my sister, which helped a bit. Thanks all x",
    "Does anyone else find Sundays hard? I keep putting off calling my dad, we argued last week.",
    "Tried the communication analysis card today. Realised I never said what I actually needed.",
    "honestly i dont want to be here anymore, everyone would be better off without me around",
];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name}: n={} p50={:.2} ms p99={:.2} ms max={:.2} ms",
        samples.len(),
        percentile(&samples, 0.50).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A chat log of `n` varied lines (names, times, topics and lengths mixed
/// from a fixed seed), about one in 200 a crisis message.
fn chat_log(n: usize) -> Vec<String> {
    const WHO: &[&str] = &[
        "my sister",
        "my boss",
        "Sam",
        "my mum",
        "the kids",
        "my partner",
        "an old friend",
    ];
    const WHAT: &[&str] = &[
        "we argued about money again",
        "I finally called them back",
        "we went for coffee and it was nice",
        "they didn't reply to my message",
        "I felt left out at the party",
        "we talked about moving house",
        "it was quiet but ok",
    ];
    const TAIL: &[&str] = &[
        "",
        " anyone else?",
        " lol",
        " thanks for listening x",
        " not sure how I feel about it.",
        " the card on role disputes helped a bit.",
        " going to try the homework again tomorrow.",
    ];
    const CRISIS: &[&str] = &[
        "i cant do this anymore, ive decided tonight is the night",
        "everyone would be better off if i just wasnt here",
        "i keep thinking about hurting myself again",
    ];
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = |m: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % m as u64) as usize
    };
    (0..n)
        .map(|i| {
            if next(200) == 0 {
                return CRISIS[next(CRISIS.len())].to_owned();
            }
            format!(
                "{} at {}:{:02}, {}.{}",
                WHO[next(WHO.len())],
                next(12) + 1,
                next(60),
                WHAT[next(WHAT.len())],
                TAIL[next(TAIL.len())]
            ) + if i % 7 == 0 {
                " it's been a long week honestly and I'm tired of it all at work"
            } else {
                ""
            }
        })
        .collect()
}

fn main() {
    // Read as `ipt-bot` reads: with the encoder's thread settings.
    if let Some(error) = ipt_core::crisis::encoder::restart_with_thread_env() {
        panic!("could not restart the bench with the encoder's thread settings: {error}");
    }
    let quick = !std::env::args().any(|a| a == "--bench");
    let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    let before = rss_mib();
    let started = Instant::now();
    let model = match Learned::load(&default_model_dir()) {
        Ok(model) => model,
        Err(error) if !in_ci => {
            println!("SKIPPED: crisis model bench ({error})");
            return;
        }
        Err(error) => panic!("the crisis model is required in CI: {error}"),
    };
    println!(
        "model load (hashes checked): {:.2} s; resident memory {:.0} MiB -> {:.0} MiB",
        started.elapsed().as_secs_f64(),
        before,
        rss_mib()
    );

    // One message at a time, rules and model, as a quiet group sees it.
    let n = if quick { 8 } else { 500 };
    let mut samples = Vec::with_capacity(n);
    for i in 0..n + 10 {
        let text = TYPICAL[i % TYPICAL.len()];
        let t = Instant::now();
        let reading = model.read(text).expect("reading");
        std::hint::black_box(combine(assess(text), Some(&reading)));
        if i >= 10 {
            samples.push(t.elapsed());
        }
    }
    report("assess with the model, one ~100-char message", samples);

    // Through the detector's pool, as the engine calls it.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let detector = Detector::with_model(Learned::load(&default_model_dir()).expect("model"), 1);
    let pooled: Vec<Duration> = runtime.block_on(async {
        let mut samples = Vec::with_capacity(n);
        for i in 0..n + 10 {
            let text = TYPICAL[i % TYPICAL.len()];
            let t = Instant::now();
            std::hint::black_box(detector.assess(text).await);
            if i >= 10 {
                samples.push(t.elapsed());
            }
        }
        samples
    });
    report("Detector::assess through the pool, one message", pooled);

    // scan's path: batches of 128 lines.
    // IPT_BENCH_SCAN_LINES makes a shorter run, for comparing two builds.
    let scan_lines = std::env::var("IPT_BENCH_SCAN_LINES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(if quick { 1_000 } else { 100_000 });
    let lines = chat_log(scan_lines);
    let t = Instant::now();
    let mut flagged = 0usize;
    for batch in lines.chunks(128) {
        let texts: Vec<&str> = batch.iter().map(String::as_str).collect();
        let readings = model.read_batch(&texts).expect("reading");
        for (text, reading) in texts.iter().zip(&readings) {
            if combine(assess(text), Some(reading))
                .level
                .alert_level()
                .is_some()
            {
                flagged += 1;
            }
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "scan path: {} lines in {:.1} s = {:.0} messages/s ({} flagged); resident memory {:.0} MiB",
        lines.len(),
        secs,
        lines.len() as f64 / secs,
        flagged,
        rss_mib()
    );
    // The ceiling needs no 100,000 lines to be read off.
    products_ceiling(&model, &lines[..lines.len().min(10_000)]);
}

/// The encoder's linear layers, as (inputs, outputs): query, key, value,
/// attention output, then the feed-forward pair. They hold all but a few
/// percent of its arithmetic for chat-length windows (attention's own
/// products grow with the square of a window's length, and are left out).
const PRODUCTS: [(usize, usize); 6] = [
    (384, 384),
    (384, 384),
    (384, 384),
    (384, 384),
    (384, 1536),
    (1536, 384),
];
const LAYERS: usize = 6;

/// How fast `scan` could go if the encoder did nothing but its matrix
/// products: the same lines in batches of 128, their windows sorted by
/// length and read 32 at a time on candle's pool, as `embed_windows` does,
/// each batch put through the products of six layers with candle's
/// `matmul` (the call `Linear` makes). Printed with the rate the products
/// reach, in GFLOP/s, so the bound is a measurement of this machine and
/// not an estimate.
fn products_ceiling(model: &Learned, lines: &[String]) {
    use candle_core::{Device, Tensor};
    use rayon::prelude::*;

    let weights: Vec<Tensor> = PRODUCTS
        .iter()
        .map(|&(i, o)| Tensor::randn(0f32, 0.05, (o, i), &Device::Cpu).expect("weights"))
        .collect();
    let encoder = model.encoder();
    // One thread per core, as the encoder's own pool (the global one has
    // RAYON_NUM_THREADS, which `thread_env` sets to 1).
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cores)
        .build()
        .expect("a pool");
    let mut flops = 0f64;
    let t = Instant::now();
    for batch in lines.chunks(128) {
        let mut windows: Vec<Vec<u32>> = batch
            .iter()
            .flat_map(|line| encoder.windows(&ipt_core::crisis::normalize(line)))
            .collect();
        windows.sort_by_key(Vec::len);
        let done: Vec<f64> = pool.install(|| {
            windows
                .par_chunks(32)
                .with_max_len(1)
                .map(|chunk| {
                    // Padded to the chunk's longest window, as the encoder is.
                    let rows = chunk.len() * chunk.last().map_or(1, Vec::len);
                    let narrow =
                        Tensor::randn(0f32, 1.0, (rows, 384), &Device::Cpu).expect("input");
                    let wide = Tensor::randn(0f32, 1.0, (rows, 1536), &Device::Cpu).expect("input");
                    let mut work = 0f64;
                    for _ in 0..LAYERS {
                        for (w, &(i, o)) in weights.iter().zip(&PRODUCTS) {
                            let x = if i == 384 { &narrow } else { &wide };
                            std::hint::black_box(x.matmul(&w.t().expect("t")).expect("matmul"));
                            work += 2.0 * (rows * i * o) as f64;
                        }
                    }
                    work
                })
                .collect()
        });
        flops += done.iter().sum::<f64>();
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "matrix products alone, same windows: {:.1} s = {:.0} messages/s at most; {:.1} GFLOP/s",
        secs,
        lines.len() as f64 / secs,
        flops / secs / 1e9
    );
}
