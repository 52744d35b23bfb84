//! Card lookup benchmarks (criterion): `search` over the whole library
//! (target p50 ≤ 50 µs) and Discord autocomplete (target ≤ 1 ms).

use criterion::{Criterion, criterion_group, criterion_main};
use ipt_core::content::Library;

const QUERIES: &[&str] = &[
    "my mum passed away",
    "we keep fighting about money",
    "new job and i feel lost",
    "lonely since i moved",
    "how do i find a therapist near me",
    "i cant decide what to do",
];

fn search(c: &mut Criterion) {
    let library = Library::embedded();
    let mut i = 0;
    c.bench_function("content_search", |b| {
        b.iter(|| {
            i = (i + 1) % QUERIES.len();
            std::hint::black_box(library.search(QUERIES[i], 3))
        })
    });
    c.bench_function("content_search_with_typos", |b| {
        b.iter(|| std::hint::black_box(library.search("my greif after dad dyed", 3)))
    });
    for typed in ["r", "role", "greif"] {
        c.bench_function(&format!("content_autocomplete/{typed}"), |b| {
            b.iter(|| std::hint::black_box(library.autocomplete(typed)))
        });
    }
    c.bench_function("content_learn_lookup", |b| {
        b.iter(|| std::hint::black_box(library.lookup("interpersonal inventroy")))
    });
}

criterion_group!(benches, search);
criterion_main!(benches);
