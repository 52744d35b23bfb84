//! The labelled development set (`shared/testdata/crisis-dev.tsv`): every
//! imminent and urgent line must be urgent or above, every concern line at
//! least concern, and no `none` line may alert. The detector is also judged
//! on unseen messages, so it generalises from patterns; it never lists these
//! lines.

use ipt_core::crisis::{Level, assess};

fn dev_set() -> Vec<(Level, String)> {
    // The shared copy beside the project is the current one; the copy in
    // tests/data keeps CI working wherever the clone lands.
    let shared = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/testdata/crisis-dev.tsv"
    );
    let local = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/crisis-dev.tsv");
    let text = std::fs::read_to_string(shared)
        .or_else(|_| std::fs::read_to_string(local))
        .unwrap_or_else(|e| panic!("the development set is missing ({shared}, {local}): {e}"));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (label, message) = l.split_once('\t').expect("level<TAB>text");
            let level = match label {
                "imminent" => Level::Imminent,
                "urgent" => Level::Urgent,
                "concern" => Level::Concern,
                "none" => Level::None,
                other => panic!("unknown label {other}"),
            };
            (level, message.to_owned())
        })
        .collect()
}

#[test]
fn test_dev_set_every_crisis_line_alerts_at_its_floor_and_no_none_line_alerts() {
    let set = dev_set();
    assert!(set.len() >= 70, "{} lines", set.len());
    let mut failures = Vec::new();
    for (label, message) in &set {
        let got = assess(message);
        let floor = match label {
            Level::Imminent | Level::Urgent => Level::Urgent,
            other => *other,
        };
        let ok = if *label == Level::None {
            got.level == Level::None
        } else {
            got.level >= floor
        };
        if !ok {
            failures.push(format!(
                "{label:?} got {:?}: {message:?} {:?}",
                got.level, got.signals
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {}:\n{}",
        failures.len(),
        set.len(),
        failures.join("\n")
    );
}

#[test]
fn test_dev_set_exact_levels_are_mostly_right() {
    // Not a contract, a quality gauge: exact agreement with the labels.
    let set = dev_set();
    let exact = set
        .iter()
        .filter(|(label, m)| assess(m).level == *label)
        .count();
    assert!(
        exact * 100 >= set.len() * 90,
        "exact agreement {exact}/{}",
        set.len()
    );
}
