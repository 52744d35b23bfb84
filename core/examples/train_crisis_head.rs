//! Trains the learned crisis layer's head and bank from the corpus:
//! `scripts/train-crisis-head` runs this (release build) and writes
//! `core/data/crisis-model/{head.json,bank.bin}`.
//!
//!   train_crisis_head [--model DIR] [--corpus DIR] [--out DIR] [--eval FILE.tsv]...
//!
//! `--eval` prints the learned layer's figures on other labelled files
//! (level<TAB>text), with the thresholds just chosen; it trains on nothing
//! but the corpus.

use std::path::PathBuf;
use std::time::Instant;

use ipt_core::crisis::Level;
use ipt_core::crisis::encoder::{Encoder, MODEL_SHA256, default_model_dir};
use ipt_core::crisis::learned::train::{
    Settings, Targets, choose_thresholds, figures, fit, out_of_fold, predict,
};
use ipt_core::crisis::learned::{
    Bank, Head, corpus_files, corpus_lines, corpus_sha256, training_vectors,
};

const FOLDS: usize = 5;

fn main() -> Result<(), String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut model = default_model_dir();
    let mut corpus = root.join("data/crisis-corpus");
    let mut out = root.join("data/crisis-model");
    let mut evals = Vec::new();
    let mut dump: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .map(PathBuf::from)
                .ok_or(format!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--model" => model = value()?,
            "--corpus" => corpus = value()?,
            "--out" => out = value()?,
            "--eval" => evals.push(value()?),
            "--dump" => dump = Some(value()?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let started = Instant::now();
    let encoder = Encoder::load(&model).map_err(|e| e.to_string())?;
    let files = corpus_files(&corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
    let lines = corpus_lines(&files)?;
    let texts: Vec<&str> = lines.iter().map(|(_, t)| t.as_str()).collect();
    let y: Vec<Level> = lines.iter().map(|(l, _)| *l).collect();
    let x = training_vectors(&encoder, &texts)?;
    eprintln!("embedded {} lines in {:.1?}", x.len(), started.elapsed());
    if let Some(dir) = &dump {
        // For exploring heads elsewhere: vectors (f32 LE) and labels.
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let mut sets = vec![("corpus".to_owned(), y, x)];
        for path in &evals {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let set = corpus_lines(&[(path.display().to_string(), text)])?;
            let t: Vec<&str> = set.iter().map(|(_, t)| t.as_str()).collect();
            let name = path
                .file_stem()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            sets.push((
                name,
                set.iter().map(|(l, _)| *l).collect(),
                training_vectors(&encoder, &t)?,
            ));
        }
        for (name, labels, vectors) in sets {
            let bytes: Vec<u8> = vectors
                .iter()
                .flatten()
                .flat_map(|v| v.to_le_bytes())
                .collect();
            std::fs::write(dir.join(format!("{name}.f32")), bytes).map_err(|e| e.to_string())?;
            let labels: String = labels.iter().map(|l| format!("{}\n", l.as_str())).collect();
            std::fs::write(dir.join(format!("{name}.labels")), labels)
                .map_err(|e| e.to_string())?;
        }
        eprintln!("dumped vectors to {}", dir.display());
        return Ok(());
    }

    let settings = Settings::default();
    let targets = Targets::default();
    let oof = out_of_fold(&x, &y, FOLDS, &settings);
    let thresholds = choose_thresholds(&oof, &y, &targets);
    let probe = Head {
        format: 1,
        encoder_sha256: MODEL_SHA256.to_owned(),
        corpus_sha256: corpus_sha256(&files),
        corpus_lines: lines.len(),
        trained_by: "scripts/train-crisis-head".to_owned(),
        cross_validation: serde_json::Value::Null,
        thresholds,
        layers: Vec::new(),
    };
    let oof_levels: Vec<Level> = oof.iter().map(|p| probe.level(p)).collect();
    let cv = figures(&oof_levels, &y);
    eprintln!("out of fold ({FOLDS} folds): {cv:?}; thresholds {thresholds:?}");

    let layers = fit(&x, &y, &settings);
    let head = Head {
        cross_validation: serde_json::json!({
            "folds": FOLDS,
            "settings": format!("{settings:?}"),
            "targets": format!("{targets:?}"),
            "figures": cv,
        }),
        layers,
        ..probe
    };
    let mut bank = Bank::default();
    for ((level, text), v) in lines.iter().zip(&x) {
        bank.push(*level, text, v);
    }
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let json = serde_json::to_string(&head).map_err(|e| e.to_string())?;
    std::fs::write(out.join("head.json"), json + "\n").map_err(|e| e.to_string())?;
    std::fs::write(out.join("bank.bin"), bank.to_bytes()).map_err(|e| e.to_string())?;
    eprintln!("wrote {} in {:.1?}", out.display(), started.elapsed());

    for path in evals {
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let set = corpus_lines(&[(path.display().to_string(), text)])?;
        let t: Vec<&str> = set.iter().map(|(_, t)| t.as_str()).collect();
        let v = training_vectors(&encoder, &t)?;
        let predicted: Vec<Level> = v
            .iter()
            .map(|v| head.level(&predict(&head.layers, v)))
            .collect();
        let labels: Vec<Level> = set.iter().map(|(l, _)| *l).collect();
        eprintln!(
            "{} ({} lines), learned layer alone: {:?}",
            path.display(),
            set.len(),
            figures(&predicted, &labels)
        );
    }
    Ok(())
}
