//! The training corpus for the learned crisis layer (issue 12),
//! `core/data/crisis-corpus/*.tsv`: well formed, large enough in each
//! class, free of duplicates, and sharing no line with the labelled sets
//! the detector is measured on (a line in both would make those figures
//! a measure of memory).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

const LEVELS: [&str; 4] = ["none", "concern", "urgent", "imminent"];

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "tsv"))
        .collect();
    out.sort();
    out
}

/// `(file, line number, level, text)` for every labelled line.
fn lines(paths: &[PathBuf]) -> Vec<(String, usize, String, String)> {
    let mut out = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for (n, line) in text.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (level, words) = line.split_once('\t').unwrap_or(("", line));
            out.push((name.clone(), n + 1, level.to_owned(), words.to_owned()));
        }
    }
    out
}

fn key(text: &str) -> String {
    text.trim().to_lowercase()
}

fn corpus() -> Vec<(String, usize, String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/crisis-corpus");
    lines(&files(&dir))
}

#[test]
fn every_corpus_line_is_a_level_a_tab_and_one_message() {
    let bad: Vec<String> = corpus()
        .into_iter()
        .filter(|(_, _, level, text)| {
            !LEVELS.contains(&level.as_str()) || text.trim().is_empty() || text.contains('\t')
        })
        .map(|(file, n, _, _)| format!("{file}:{n}"))
        .collect();
    assert!(bad.is_empty(), "malformed lines: {bad:?}");
}

#[test]
fn the_corpus_has_enough_of_each_kind() {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for (_, _, level, _) in corpus() {
        *counts.entry(level).or_default() += 1;
    }
    let crisis: usize = ["concern", "urgent", "imminent"]
        .iter()
        .map(|l| counts.get(*l).copied().unwrap_or(0))
        .sum();
    assert!(crisis >= 1_500, "{counts:?}");
    assert!(
        counts.get("none").copied().unwrap_or(0) >= 2_500,
        "{counts:?}"
    );
    for level in ["concern", "urgent", "imminent"] {
        assert!(counts[level] >= 400, "too few {level}: {counts:?}");
    }
}

#[test]
fn no_corpus_line_is_repeated() {
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut repeats = Vec::new();
    for (file, n, _, text) in corpus() {
        if let Some(first) = seen.insert(key(&text), format!("{file}:{n}")) {
            repeats.push(format!("{first} and {file}:{n}"));
        }
    }
    assert!(repeats.is_empty(), "repeated lines: {repeats:?}");
}

#[test]
fn no_corpus_line_is_in_a_set_the_detector_is_measured_on() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut measured = files(&data);
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata/crisis-dev.tsv");
    if shared.exists() {
        measured.push(shared);
    }
    let measured: HashMap<String, String> = lines(&measured)
        .into_iter()
        .map(|(file, n, _, text)| (key(&text), format!("{file}:{n}")))
        .collect();
    let leaks: Vec<String> = corpus()
        .into_iter()
        .filter_map(|(file, n, _, text)| {
            measured
                .get(&key(&text))
                .map(|m| format!("{file}:{n} = {m}"))
        })
        .collect();
    assert!(
        leaks.is_empty(),
        "corpus lines found in measured sets: {leaks:?}"
    );
}
