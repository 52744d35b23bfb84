//! Trains the learned crisis layer's head, the encoder's top layer with
//! it, and the bank from the corpus: `scripts/train-crisis-head` runs this
//! (release build) and writes
//! `core/data/crisis-model/{head.json,top.safetensors,bank.bin}`.
//!
//!   train_crisis_head [--model DIR] [--corpus DIR] [--out DIR] [--eval FILE.tsv]...
//!       [--top N] [--epochs N] [--encoder-rate R] [--head-rate R] [--cv-only]
//!
//! `--top 0` trains the head alone on the published encoder's vectors;
//! `--cv-only` prints the out-of-fold figures and writes nothing.
//!
//! `--eval` prints the learned layer's figures on other labelled files
//! (level<TAB>text), with the thresholds just chosen; it trains on nothing
//! but the corpus.

use std::path::PathBuf;
use std::time::Instant;

use ipt_core::crisis::Level;
use ipt_core::crisis::encoder::{Encoder, MODEL_SHA256, default_model_dir};
use ipt_core::crisis::learned::train::{
    Settings, Targets, TuneSettings, choose_thresholds, figures, fit, out_of_fold, predict,
    top_vectors, tune,
};
use ipt_core::crisis::learned::{
    Bank, Head, TunedTop, corpus_files, corpus_lines, corpus_sha256, training_vectors,
    training_windows,
};

const FOLDS: usize = 5;

fn main() -> Result<(), String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut model = default_model_dir();
    let mut corpus = root.join("data/crisis-corpus");
    let mut out = root.join("data/crisis-model");
    let mut evals = Vec::new();
    let mut dump: Option<PathBuf> = None;
    let mut tuning = TuneSettings::default();
    let mut cv_only = false;
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
            "--cv-only" => cv_only = true,
            "--top" | "--epochs" | "--encoder-rate" | "--head-rate" => {
                let v = value()?.to_string_lossy().into_owned();
                let bad = |_| format!("{arg}: not a number: {v}");
                match arg.as_str() {
                    "--top" => tuning.layers = v.parse().map_err(bad)?,
                    "--epochs" => tuning.epochs = v.parse().map_err(bad)?,
                    "--encoder-rate" => {
                        tuning.encoder_rate = v.parse().map_err(|_| format!("{arg}: {v}"))?
                    }
                    _ => tuning.head_rate = v.parse().map_err(|_| format!("{arg}: {v}"))?,
                }
            }
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
    let fail = |e: candle_core::Error| e.to_string();
    // Each line's states below the layers that are trained, computed once.
    let states = if tuning.layers > 0 {
        let windows = training_windows(&encoder, &texts);
        encoder
            .states_below_top(&windows, tuning.layers)
            .map_err(fail)?
    } else {
        Vec::new()
    };
    let oof = if tuning.layers == 0 {
        out_of_fold(&x, &y, FOLDS, &settings)
    } else {
        let mut p = vec![[0.0f32; 4]; x.len()];
        for fold in 0..FOLDS {
            let (train, held): (Vec<usize>, Vec<usize>) =
                (0..x.len()).partition(|i| i % FOLDS != fold);
            let tx: Vec<Vec<f32>> = train.iter().map(|&i| x[i].clone()).collect();
            let ty: Vec<Level> = train.iter().map(|&i| y[i]).collect();
            let ts: Vec<_> = train.iter().map(|&i| states[i].clone()).collect();
            let start = fit(&tx, &ty, &settings);
            let (top, _, head) = tune(&encoder, &ts, &ty, &start, &tuning).map_err(fail)?;
            let hs: Vec<_> = held.iter().map(|&i| states[i].clone()).collect();
            for (&i, v) in held.iter().zip(top_vectors(&top, &hs).map_err(fail)?) {
                p[i] = predict(&head, &v);
            }
            eprintln!("fold {fold} trained ({:.1?})", started.elapsed());
        }
        p
    };
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
        tuned_top: None,
    };
    let oof_levels: Vec<Level> = oof.iter().map(|p| probe.level(p)).collect();
    let cv = figures(&oof_levels, &y);
    eprintln!("out of fold ({FOLDS} folds, {tuning:?}): {cv:?}; thresholds {thresholds:?}");
    if cv_only {
        return Ok(());
    }

    let start = fit(&x, &y, &settings);
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let top_path = out.join("top.safetensors");
    let (layers, tuned_top, encoder, vectors) = if tuning.layers == 0 {
        std::fs::write(&top_path, b"").map_err(|e| e.to_string())?;
        (start, None, encoder, x)
    } else {
        let (top, vars, head) = tune(&encoder, &states, &y, &start, &tuning).map_err(fail)?;
        let vectors = top_vectors(&top, &states).map_err(fail)?;
        vars.save(&top_path).map_err(fail)?;
        let bytes = std::fs::read(&top_path).map_err(|e| e.to_string())?;
        let tuned = TunedTop {
            layers: tuning.layers,
            sha256: ipt_core::crisis::encoder::sha256_hex(&bytes),
        };
        (head, Some(tuned), encoder.with_top(top), vectors)
    };
    let head = Head {
        cross_validation: serde_json::json!({
            "folds": FOLDS,
            "settings": format!("{settings:?}"),
            "tuning": format!("{tuning:?}"),
            "targets": format!("{targets:?}"),
            "figures": cv,
        }),
        layers,
        tuned_top,
        ..probe
    };
    let mut bank = Bank::default();
    for ((level, text), v) in lines.iter().zip(&vectors) {
        bank.push(*level, text, v);
    }
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
