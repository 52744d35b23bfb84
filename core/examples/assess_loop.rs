//! Runs `assess` over ordinary chat in a loop, for profilers
//! (`perf record`, `valgrind --tool=callgrind`). Not a benchmark: the
//! figures come from `cargo bench -p ipt-tests --bench crisis`.

fn main() {
    let typical = [
        "Had a rough morning but went for a short walk with my sister, which helped a bit. Thanks all x",
        "Does anyone else find Sundays hard? I keep putting off calling my dad, we argued last week.",
        "Tried the communication analysis card today. Realised I never said what I actually needed.",
    ];
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    if std::env::args().nth(2).as_deref() == Some("long") {
        // A 1 MB log with a crisis line every 50 lines, read `rounds` times.
        let crisis = "honestly i dont want to live anymore, i've been thinking about how to end my life tonight";
        let text: String = (0..10_000)
            .map(|i| if i % 50 == 49 { crisis } else { typical[i % 3] })
            .collect::<Vec<_>>()
            .join(". ");
        for _ in 0..rounds {
            std::hint::black_box(ipt_core::crisis::assess(&text));
        }
        return;
    }
    let mut alerts = 0;
    for i in 0..rounds {
        if ipt_core::crisis::assess(typical[i % typical.len()]).level
            != ipt_core::crisis::Level::None
        {
            alerts += 1;
        }
    }
    println!("{rounds} messages, {alerts} alerts");
}
