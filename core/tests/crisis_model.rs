//! The learned crisis layer on the real model files (`scripts/fetch-model`
//! puts them in place; `scripts/test` runs it first). Without the files
//! these tests print SKIPPED, and fail when CI is set.

use std::path::Path;
use std::sync::OnceLock;

use ipt_core::crisis::encoder::TopLayers;
use ipt_core::crisis::encoder::{Encoder, MAX_WINDOWS, default_model_dir};
use ipt_core::crisis::learned::train::{Settings, TuneSettings, fit, predict, top_vectors, tune};
use ipt_core::crisis::learned::{
    Bank, CLASSES, Head, Learned, corpus_files, corpus_lines, training_vectors, training_windows,
};
use ipt_core::crisis::{Detector, Level};

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The model, loaded once for this test binary; `None` (with a SKIPPED
/// line) when its files are not there outside CI.
fn model() -> Option<&'static Learned> {
    static MODEL: OnceLock<Option<Learned>> = OnceLock::new();
    let model = MODEL.get_or_init(|| match Learned::load(&default_model_dir()) {
        Ok(model) => Some(model),
        Err(error) if in_ci() => panic!("the crisis model is required in CI: {error}"),
        Err(error) => {
            println!("SKIPPED: crisis model test ({error})");
            None
        }
    });
    if model.is_none() {
        println!("SKIPPED: crisis model test (model files missing)");
    }
    model.as_ref()
}

/// The published encoder as it is (the learned layer may read with
/// trained top layers instead), loaded once; `None` where [`model`] is.
fn published() -> Option<&'static Encoder> {
    static PUBLISHED: OnceLock<Encoder> = OnceLock::new();
    model()?;
    Some(PUBLISHED.get_or_init(|| Encoder::load(&default_model_dir()).unwrap()))
}

#[derive(serde::Deserialize)]
struct Reference {
    entries: Vec<ReferenceEntry>,
}

#[derive(serde::Deserialize)]
struct ReferenceEntry {
    text: String,
    ids: Vec<u32>,
    embedding: Vec<f32>,
}

/// Our encoder against an independent implementation (numpy, float64,
/// with the `tokenizers` library), on texts with accents, punctuation, an
/// empty one and one longer than a window.
#[test]
fn the_encoder_matches_an_independent_implementation() {
    // The published encoder, as the reference has it.
    let Some(encoder) = published() else { return };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/encoder-reference.json");
    let reference: Reference =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(reference.entries.len(), 8);
    for entry in &reference.entries {
        let windows = encoder.windows(&entry.text);
        // The reference truncates to one window; ours reads on in more.
        assert_eq!(windows[0], entry.ids, "token ids of {:?}", entry.text);
        let ours = encoder.embed_windows(&windows[..1]).unwrap().remove(0);
        let cos: f32 = ours.iter().zip(&entry.embedding).map(|(a, b)| a * b).sum();
        let worst = ours
            .iter()
            .zip(&entry.embedding)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(
            cos > 0.99999 && worst < 1e-4,
            "{:?}: cosine {cos}, largest difference {worst}",
            entry.text
        );
    }
}

/// The learned layer reads with the top layers it was trained with: a
/// corpus line's vector, read now, is the one its bank entry was made
/// from (its nearest example is itself), and differs from the published
/// encoder's when the head has trained top layers.
#[test]
fn the_layer_reads_with_the_top_it_was_trained_with() {
    let Some(model) = model() else { return };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = corpus_files(&root.join("data/crisis-corpus")).unwrap();
    let lines = corpus_lines(&files).unwrap();
    let bank = Bank::committed().unwrap();
    let published = published().unwrap();
    let tuned = Head::committed().unwrap().tuned_top.is_some();
    for (_, text) in lines.iter().step_by(397) {
        let v = training_vectors(model.encoder(), &[text.as_str()])
            .unwrap()
            .remove(0);
        let (nearest, similarity) = bank.nearest(&v).unwrap();
        assert_eq!(&nearest.text, text);
        // The bank keeps its vectors in 8 bits.
        assert!(similarity > 0.999, "{text:?}: {similarity}");
        let plain = training_vectors(published, &[text.as_str()])
            .unwrap()
            .remove(0);
        let cos: f32 = v.iter().zip(&plain).map(|(a, b)| a * b).sum();
        assert_eq!(
            tuned,
            cos < 0.999,
            "{text:?}: cosine {cos} to the published encoder's"
        );
    }
}

/// The path a trained top layer takes to the bot: made trainable from the
/// published layer, saved, loaded again and put in place, it reads as the
/// published layer does, and so does reading from the states below it
/// (what training reads).
#[test]
fn a_top_layer_survives_its_file_and_reads_as_the_published_one() {
    let Some(published) = published() else { return };
    let texts = [
        "i cant see a way out of any of this",
        "see you all on thursday",
        "a longer message about a long week at work and the people in it, and the dog",
    ];
    let windows = training_windows(published, &texts);
    let plain = published.embed_windows(&windows).unwrap();
    let (_, vars) = published.trainable_top(1).unwrap();
    let path = std::env::temp_dir().join(format!("ipt-top-{}.safetensors", std::process::id()));
    vars.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let states = published.states_below_top(&windows, 1).unwrap();
    let from_states = top_vectors(&TopLayers::from_bytes(&bytes, 1).unwrap(), &states).unwrap();
    let swapped = Encoder::load(&default_model_dir())
        .unwrap()
        .with_top(TopLayers::from_bytes(&bytes, 1).unwrap())
        .embed_windows(&windows)
        .unwrap();
    for ((a, b), c) in plain.iter().zip(&from_states).zip(&swapped) {
        for ((x, y), z) in a.iter().zip(b).zip(c) {
            assert!((x - y).abs() < 1e-5 && (x - z).abs() < 1e-5, "{x} {y} {z}");
        }
    }
    assert!(TopLayers::from_bytes(b"not a model", 1).is_err());
}

/// Training the top layer with the head lowers the loss on what it is
/// trained on, and moves the layer.
#[test]
fn training_the_top_layer_learns() {
    let Some(published) = published() else { return };
    let lines = [
        (Level::Urgent, "i want to kill myself tonight"),
        (Level::Concern, "everyone would be better off without me"),
        (
            Level::Imminent,
            "i have the pills here and im taking them now",
        ),
        (Level::Urgent, "been cutting again, cant stop"),
        (
            Level::None,
            "my friend said she wants to die, how do i help her",
        ),
        (Level::None, "that film about suicide was so sad"),
        (Level::None, "see you all at thursday's meeting"),
        (Level::None, "years ago i was suicidal, now i am doing well"),
    ];
    let texts: Vec<&str> = lines.iter().map(|(_, t)| *t).collect();
    let y: Vec<Level> = lines.iter().map(|(l, _)| *l).collect();
    let windows = training_windows(published, &texts);
    let x = published.embed_windows(&windows).unwrap();
    let start = fit(
        &x,
        &y,
        &Settings {
            hidden: 16,
            epochs: 5,
            ..Settings::default()
        },
    );
    let states = published.states_below_top(&windows, 1).unwrap();
    let loss = |head: &[ipt_core::crisis::learned::Dense], vectors: &[Vec<f32>]| -> f32 {
        vectors
            .iter()
            .zip(&y)
            .map(|(v, l)| {
                let p = predict(head, v);
                let i = CLASSES.iter().position(|c| c == l).unwrap();
                -p[i].max(1e-9).ln()
            })
            .sum::<f32>()
    };
    let before = loss(&start, &x);
    let settings = TuneSettings {
        layers: 1,
        epochs: 6,
        encoder_rate: 1e-3,
        head_rate: 1e-2,
        ..TuneSettings::default()
    };
    let (top, _, head) = tune(published, &states, &y, &start, &settings).unwrap();
    let tuned = top_vectors(&top, &states).unwrap();
    let after = loss(&head, &tuned);
    assert!(after < before * 0.8, "loss {before} -> {after}");
    let moved: f32 = tuned
        .iter()
        .zip(&x)
        .map(|(a, b)| {
            a.iter()
                .zip(b)
                .map(|(p, q)| (p - q).abs())
                .fold(0f32, f32::max)
        })
        .fold(0f32, f32::max);
    assert!(moved > 1e-3, "the layer did not move: {moved}");
}

/// Padding in a batch must not change a text's vector.
#[test]
fn batching_gives_the_same_vectors_as_one_at_a_time() {
    let Some(model) = model() else { return };
    let encoder = model.encoder();
    let texts = [
        "hi",
        "a much longer message about a long and tiring week at work",
        "ok then",
    ];
    let windows: Vec<Vec<u32>> = texts.iter().map(|t| encoder.windows(t).remove(0)).collect();
    let together = encoder.embed_windows(&windows).unwrap();
    for (w, v) in windows.iter().zip(&together) {
        let alone = encoder
            .embed_windows(std::slice::from_ref(w))
            .unwrap()
            .remove(0);
        let worst = alone
            .iter()
            .zip(v)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(worst < 1e-5, "{worst}");
    }
}

/// A long post is read in overlapping windows, so words deep inside it
/// are read, and a huge one is read up to the cap.
#[test]
fn long_posts_are_read_in_windows() {
    let Some(model) = model() else { return };
    let encoder = model.encoder();
    let filler = "we went to the shops and then walked home by the river. ".repeat(30);
    let windows = encoder.windows(&filler);
    assert!(windows.len() > 2, "{}", windows.len());
    assert!(windows.iter().all(|w| w.len() <= 128));
    let huge = "word ".repeat(100_000);
    assert_eq!(encoder.windows(&huge).len(), MAX_WINDOWS);
    let reading = model.read(&huge).unwrap();
    assert!(reading.clipped);
}

/// The learned layer flags plain first-person statements of each kind
/// and leaves everyday talk alone, and says why ("reads like").
#[test]
fn the_learned_layer_reads_and_explains() {
    let Some(model) = model() else { return };
    let flagged = model.read("i just want to stop existing").unwrap();
    assert!(flagged.level >= Level::Concern, "{flagged:?}");
    let signals = flagged.signals();
    assert!(
        signals.iter().any(|s| s.starts_with("reads like: \"")),
        "{signals:?}"
    );
    let calm = model
        .read("thanks everyone, see you at thursday's meeting")
        .unwrap();
    assert_eq!(calm.level, Level::None, "{calm:?}");
    assert!(calm.signals().is_empty());
    let filler = "we went to the shops and then walked home by the river. ".repeat(20);
    let buried = format!("{filler} i want to end my life. {filler}");
    let reading = model.read(&buried).unwrap();
    assert!(reading.level >= Level::Urgent, "{reading:?}");
    assert!(reading.windows > 2);
}

/// The detector's pool: a flood of messages at once all get an answer
/// (none dropped), and each is the higher of rules and model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_is_queued_and_every_message_is_read() {
    let Some(_) = model() else { return };
    let detector = Detector::with_model(Learned::load(&default_model_dir()).unwrap(), 1);
    assert!(detector.model_in_use());
    let mut tasks = Vec::new();
    for i in 0..300 {
        let d = detector.clone();
        tasks.push(tokio::spawn(async move {
            let text = if i % 50 == 0 {
                "I want to kill myself".to_owned()
            } else {
                format!("message number {i} about the weather")
            };
            (i, d.assess(&text).await, d.learned(&text).await.is_some())
        }));
    }
    let mut flagged = 0;
    for task in tasks {
        let (i, assessment, read) = task.await.unwrap();
        assert!(read, "message {i} was not read by the model");
        if assessment.level >= Level::Urgent {
            flagged += 1;
        }
    }
    assert_eq!(flagged, 6);
}

/// Text unlike anything labelled (settings, names, lone words) is not
/// read as a crisis: the head's confident nonsense there needs a labelled
/// crisis example nearby to count.
#[test]
fn settings_and_lone_words_are_not_read_as_a_crisis() {
    let Some(model) = model() else { return };
    for text in [
        "Asia/Kolkata",
        "all",
        "Europe/London",
        "America/New_York",
        "3",
        "on",
        "off",
        "templates",
        "export",
        "good night",
        "love it",
        "same here",
        "first 2",
        "second 0",
    ] {
        let reading = model.read(text).unwrap();
        assert_eq!(reading.level, Level::None, "{text}: {reading:?}");
    }
}
