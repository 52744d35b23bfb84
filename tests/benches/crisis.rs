//! Crisis detector benchmarks (criterion). Targets: `assess` median ≤ 1 µs
//! on a typical 100-character message; ≥ 100 MB/s on long text; time
//! linear in the length of text dense with crisis words (`assess_dense`:
//! 128 KiB takes about twice as long as 64 KiB, not four times); ordinary
//! messages through the engine cause no database write.
//!
//! `engine/ordinary_message` runs ordinary group messages through
//! [`Engine::handle`] with the database pool *closed*: any read or write
//! would fail the call, and the bench asserts every call succeeded and
//! wrote nothing. A command that writes fails on the same engine, which
//! shows the closed pool is really in the way.

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipt_core::clock::SystemClock;
use ipt_core::crisis::assess;
use ipt_core::engine::{Engine, Event, Sender};
use ipt_core::ids::{GroupRef, MemberRef, Platform};
use ipt_core::store::Store;

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
    // The same log with a crisis message every 50 lines: the detector then
    // reads all of it the full way and explains every signal.
    let mixed: String = TYPICAL
        .iter()
        .cycle()
        .take(10_000)
        .enumerate()
        .map(|(i, s)| {
            if i % 50 == 49 {
                format!("{CRISIS}. ")
            } else {
                format!("{s} ")
            }
        })
        .collect();
    group.throughput(Throughput::Bytes(mixed.len() as u64));
    group.bench_function("1MB_chat_log_with_crisis_lines", |b| {
        b.iter(|| std::hint::black_box(assess(&mixed)))
    });
    group.finish();
}

/// One line, no sentence break, made of `unit` repeated to `bytes`.
fn dense(unit: &str, bytes: usize) -> String {
    unit.repeat(bytes.div_ceil(unit.len()))
}

/// Our own phrases: crisis words with negations, other people, past
/// tense, recovery, laughter, helping, spelt-out letters and leet, so
/// every context rule has work to do. No punctuation: the whole text is
/// one sentence, the worst case for rules that look across a sentence.
const MIX: &[&str] = &[
    "i want to die",
    "im not suicidal",
    "my friend wants to kill herself",
    "i was hopeless years ago and therapy helped",
    "k i l l myself",
    "goodbye everyone tonight",
    "i feel like a burden haha",
    "how do i help someone who is suicidal",
    "i would never end it",
    "su1c1de",
    "i dont want to wake up",
    "nobody would miss me",
];

/// Text dense with crisis words at 16, 64 and 128 KiB: the median per size
/// shows whether time grows with the length or with its square.
fn dense_text(c: &mut Criterion) {
    let mixed = MIX.join(" ") + " ";
    let inputs = [
        ("repeated_phrase", "i want to die ".to_owned()),
        ("mixed_phrases", mixed),
        ("spelt_out_letters", "k i l l ".to_owned()),
    ];
    let mut group = c.benchmark_group("assess_dense");
    group.sample_size(10);
    for (name, unit) in &inputs {
        for kib in [16, 64, 128] {
            let text = dense(unit, kib * 1024);
            group.throughput(Throughput::Bytes(text.len() as u64));
            group.bench_function(format!("{name}/{kib}KiB"), |b| {
                b.iter(|| std::hint::black_box(assess(&text)))
            });
        }
    }
    group.finish();
}

fn engine(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (store, _dir) = rt.block_on(ipt_tests::sqlite_store());
    rt.block_on(store.pool().close());
    let store: Arc<dyn Store> = Arc::new(store);
    let engine = Engine::new(store, Arc::new(SystemClock));
    let event = |text: &str| Event::Message {
        group: GroupRef::new(Platform::Matrix, "!g:example.org"),
        sender: Sender {
            member: MemberRef::new(Platform::Matrix, "@m:example.org"),
            display_name: "M".into(),
            moderator: false,
        },
        text: text.into(),
        link: None,
    };
    // The closed pool is in the way of anything that touches the database.
    let write = Event::Command {
        group: None,
        sender: Sender {
            member: MemberRef::new(Platform::Matrix, "@m:example.org"),
            display_name: "M".into(),
            moderator: false,
        },
        name: "privacy".into(),
        args: "quiet on".into(),
        prefix: "!ipt ".into(),
    };
    assert!(
        rt.block_on(engine.handle(write)).is_err(),
        "a command that writes must fail on the closed database"
    );
    let mut i = 0;
    c.bench_function("engine/ordinary_message", |b| {
        b.iter(|| {
            i = (i + 1) % TYPICAL.len();
            let replies = rt
                .block_on(engine.handle(event(TYPICAL[i])))
                .expect("ordinary messages never touch the database");
            assert!(replies.is_empty());
        })
    });
}

criterion_group!(crisis, benches, dense_text, engine);
criterion_main!(crisis);
