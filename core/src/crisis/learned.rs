//! The learned layer: the sentence encoder, a small trained head over its
//! embeddings, and a bank of labelled examples that explains each decision
//! ("reads like: <the nearest example>").
//!
//! The head and the bank are trained from `core/data/crisis-corpus` by
//! `scripts/train-crisis-head` and committed in `core/data/crisis-model`,
//! with the corpus hash beside them; a test fails if the corpus changes
//! and the head is not trained again.
//!
//! `scripts/train-crisis-head --top 1` can also train the encoder's last
//! layer with the head; the layer is then kept beside the head as
//! `top.safetensors`, with its hash in `head.json`, and put in place of
//! the published one at load (the published files are still checked
//! against their own hashes). The committed head reads the published
//! encoder as it is: the trained layer read the corpus better out of fold
//! but not a blind set (core/data/crisis-model/MEASURED.md).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Level;
use super::encoder::{DIM, Encoder, ModelError, TopLayers};

/// The committed head (JSON).
const HEAD_JSON: &str = include_str!("../../data/crisis-model/head.json");
/// The committed bank of examples (binary, see [`Bank::from_bytes`]).
const BANK_BIN: &[u8] = include_bytes!("../../data/crisis-model/bank.bin");
/// The encoder's top layers as trained with the head (safetensors; empty
/// when the head reads the published encoder as it is).
const TOP_BIN: &[u8] = include_bytes!("../../data/crisis-model/top.safetensors");

/// Class order of the head's outputs.
pub const CLASSES: [Level; 4] = [Level::None, Level::Concern, Level::Urgent, Level::Imminent];

/// One dense layer: `out = W x + b`, `W` as rows of `inputs` numbers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Dense {
    /// One row per output.
    pub weights: Vec<Vec<f32>>,
    /// One per output.
    pub bias: Vec<f32>,
}

impl Dense {
    fn apply(&self, x: &[f32]) -> Vec<f32> {
        self.weights
            .iter()
            .zip(&self.bias)
            .map(|(row, b)| row.iter().zip(x).map(|(w, v)| w * v).sum::<f32>() + b)
            .collect()
    }
}

/// Probability thresholds: a level is read when the probability of that
/// level or above reaches its threshold. Chosen for recall first.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Thresholds {
    /// P(concern or above).
    pub concern: f32,
    /// P(urgent or above).
    pub urgent: f32,
    /// P(imminent).
    pub imminent: f32,
}

/// The trained head: dense layers with ReLU between them, then softmax
/// over [`CLASSES`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Head {
    /// The file format.
    pub format: u32,
    /// sha256 of `model.safetensors` the embeddings came from.
    pub encoder_sha256: String,
    /// sha256 of the corpus it was trained on (see [`corpus_sha256`]).
    pub corpus_sha256: String,
    /// Lines in that corpus.
    pub corpus_lines: usize,
    /// The command that made this file.
    pub trained_by: String,
    /// Out-of-fold figures on the corpus when the thresholds were chosen.
    pub cross_validation: serde_json::Value,
    /// Decision thresholds.
    pub thresholds: Thresholds,
    /// The layers, first to last.
    pub layers: Vec<Dense>,
    /// The encoder's top layers trained with this head, if any: they
    /// replace the published ones when the layer reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuned_top: Option<TunedTop>,
}

/// The encoder's top layers trained with the head, kept beside it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TunedTop {
    /// How many of the top layers (the rest are as published).
    pub layers: usize,
    /// sha256 of their file (`top.safetensors`).
    pub sha256: String,
}

impl Head {
    /// The committed head.
    pub fn committed() -> Result<Self, String> {
        serde_json::from_str(HEAD_JSON).map_err(|e| format!("crisis head: {e}"))
    }

    /// Class probabilities for one embedding.
    pub fn probabilities(&self, x: &[f32]) -> [f32; 4] {
        let mut h = x.to_vec();
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.apply(&h);
            if i + 1 < self.layers.len() {
                h.iter_mut().for_each(|v| *v = v.max(0.0));
            }
        }
        softmax4(&h)
    }

    /// The level the thresholds read from probabilities.
    pub fn level(&self, p: &[f32; 4]) -> Level {
        let t = &self.thresholds;
        if p[3] >= t.imminent {
            Level::Imminent
        } else if p[2] + p[3] >= t.urgent {
            Level::Urgent
        } else if 1.0 - p[0] >= t.concern {
            Level::Concern
        } else {
            Level::None
        }
    }
}

/// Softmax of four logits.
pub fn softmax4(z: &[f32]) -> [f32; 4] {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut out = [0.0; 4];
    let mut sum = 0.0;
    for (o, v) in out.iter_mut().zip(z) {
        *o = (v - max).exp();
        sum += *o;
    }
    out.iter_mut().for_each(|o| *o /= sum);
    out
}

/// A labelled example of the bank.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// Its label.
    pub level: Level,
    /// Its words.
    pub text: String,
    /// Its embedding, quantised: `vector[i] as f32 * scale`.
    pub vector: Vec<i8>,
    /// See `vector`.
    pub scale: f32,
}

/// The bank of labelled examples.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bank {
    /// The examples, in corpus order.
    pub examples: Vec<Example>,
}

const BANK_MAGIC: &[u8; 8] = b"IPTBANK1";

impl Bank {
    /// The committed bank.
    pub fn committed() -> Result<Self, String> {
        Self::from_bytes(BANK_BIN)
    }

    /// Adds an example, quantising its unit vector to 8 bits.
    pub fn push(&mut self, level: Level, text: &str, vector: &[f32]) {
        let max = vector.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
        let scale = max / 127.0;
        self.examples.push(Example {
            level,
            text: text.to_owned(),
            vector: vector
                .iter()
                .map(|v| (v / scale).round().clamp(-127.0, 127.0) as i8)
                .collect(),
            scale,
        });
    }

    /// The example nearest to a unit vector, with its cosine similarity.
    pub fn nearest(&self, x: &[f32]) -> Option<(&Example, f32)> {
        self.nearest_k(x, 1).into_iter().next()
    }

    /// The `k` examples nearest to a unit vector, nearest first.
    pub fn nearest_k(&self, x: &[f32], k: usize) -> Vec<(&Example, f32)> {
        let mut all: Vec<(&Example, f32)> = self
            .examples
            .iter()
            .map(|e| {
                let dot: f32 = e.vector.iter().zip(x).map(|(q, v)| *q as f32 * v).sum();
                (e, dot * e.scale)
            })
            .collect();
        let k = k.min(all.len());
        if k == 0 {
            return Vec::new();
        }
        all.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1));
        all.truncate(k);
        all.sort_by(|a, b| b.1.total_cmp(&a.1));
        all
    }

    /// The file form: magic, count (u32 LE), then per example: level (u8),
    /// scale (f32 LE), text length (u16 LE), text, DIM signed bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = BANK_MAGIC.to_vec();
        out.extend_from_slice(&(self.examples.len() as u32).to_le_bytes());
        for e in &self.examples {
            out.push(CLASSES.iter().position(|l| *l == e.level).unwrap_or(0) as u8);
            out.extend_from_slice(&e.scale.to_le_bytes());
            let text = &e.text.as_bytes()[..e.text.len().min(u16::MAX as usize)];
            out.extend_from_slice(&(text.len() as u16).to_le_bytes());
            out.extend_from_slice(text);
            out.extend(e.vector.iter().map(|v| *v as u8));
        }
        out
    }

    /// Reads the file form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let bad = || "crisis bank: the file is damaged".to_owned();
        let mut rest = bytes.strip_prefix(BANK_MAGIC).ok_or_else(bad)?;
        let mut take = |n: usize| -> Result<&[u8], String> {
            if rest.len() < n {
                return Err(bad());
            }
            let (head, tail) = rest.split_at(n);
            rest = tail;
            Ok(head)
        };
        let count = u32::from_le_bytes(take(4)?.try_into().map_err(|_| bad())?) as usize;
        let mut examples = Vec::with_capacity(count.min(100_000));
        for _ in 0..count {
            let level = *CLASSES.get(take(1)?[0] as usize).ok_or_else(bad)?;
            let scale = f32::from_le_bytes(take(4)?.try_into().map_err(|_| bad())?);
            let len = u16::from_le_bytes(take(2)?.try_into().map_err(|_| bad())?) as usize;
            let text = String::from_utf8(take(len)?.to_vec()).map_err(|_| bad())?;
            let vector = take(DIM)?.iter().map(|b| *b as i8).collect();
            examples.push(Example {
                level,
                text,
                vector,
                scale,
            });
        }
        Ok(Self { examples })
    }
}

/// What the learned layer read in one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The level.
    pub level: Level,
    /// Class probabilities of the window that decided it.
    pub probabilities: [f32; 4],
    /// The nearest labelled example to that window, and its similarity.
    pub nearest: Option<(Level, String, f32)>,
    /// Windows read, and whether the text had more than the model reads.
    pub windows: usize,
    /// True when the text was longer than [`super::encoder::MAX_WINDOWS`].
    pub clipped: bool,
}

impl Reading {
    /// The signals this reading adds to an assessment.
    pub fn signals(&self) -> Vec<String> {
        if self.level == Level::None {
            return Vec::new();
        }
        let p = &self.probabilities;
        let mut out = vec![format!(
            "model: {} (P concern+ {:.2}, urgent+ {:.2}, imminent {:.2})",
            self.level.as_str(),
            1.0 - p[0],
            p[2] + p[3],
            p[3]
        )];
        if let Some((level, text, similarity)) = &self.nearest {
            out.push(format!(
                "reads like: \"{text}\" ({}, similarity {similarity:.2})",
                level.as_str()
            ));
        }
        if self.clipped {
            out.push("model: read the first part of a very long message".to_owned());
        }
        out
    }
}

/// The learned layer: encoder, head and bank.
#[derive(Debug)]
pub struct Learned {
    encoder: Encoder,
    head: Head,
    bank: Bank,
}

impl Learned {
    /// Loads the encoder from `dir` (checking its hashes) with the
    /// committed head and bank.
    pub fn load(dir: &Path) -> Result<Self, ModelError> {
        let encoder = Encoder::load(dir)?;
        let fail = |reason: String| ModelError::Load {
            dir: dir.to_owned(),
            reason,
        };
        let head = Head::committed().map_err(fail)?;
        let bank = Bank::committed().map_err(fail)?;
        if head.encoder_sha256 != super::encoder::MODEL_SHA256 {
            return Err(fail(
                "the committed head was trained on another encoder".to_owned(),
            ));
        }
        let encoder = match &head.tuned_top {
            None => encoder,
            Some(tuned) => {
                if super::encoder::sha256_hex(TOP_BIN) != tuned.sha256 {
                    return Err(fail(
                        "the committed top layers are not the ones the head was trained with"
                            .to_owned(),
                    ));
                }
                let top = TopLayers::from_bytes(TOP_BIN, tuned.layers)
                    .map_err(|e| fail(format!("the committed top layers: {e}")))?;
                encoder.with_top(top)
            }
        };
        Ok(Self {
            encoder,
            head,
            bank,
        })
    }

    /// The encoder (for training and benchmarks).
    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    /// Reads several messages at once (their windows are batched).
    pub fn read_batch(&self, texts: &[&str]) -> Result<Vec<Reading>, String> {
        let mut windows = Vec::new();
        let mut spans = Vec::with_capacity(texts.len());
        for text in texts {
            let normalised = super::normalize(text);
            // A lone word is the rules' alone: the encoder reads nonsense
            // into text that is not a sentence ("all", a place name).
            if normalised.split(' ').filter(|w| *w != ".").count() < MIN_WORDS {
                spans.push((windows.len(), 0, false));
                continue;
            }
            let w = self.encoder.windows(&normalised);
            let clipped = w.len() == super::encoder::MAX_WINDOWS;
            spans.push((windows.len(), w.len(), clipped));
            windows.extend(w);
        }
        let vectors = self.encoder.embed_windows(&windows)?;
        Ok(spans
            .into_iter()
            .map(|(start, n, clipped)| self.decide(&vectors[start..start + n], clipped))
            .collect())
    }

    /// Reads one message.
    pub fn read(&self, text: &str) -> Result<Reading, String> {
        self.read_batch(&[text])
            .map(|mut r| r.pop().expect("one reading per text"))
    }

    /// The reading of a message from its windows' vectors: the window
    /// with the highest level (then the highest P(concern+)) decides.
    ///
    /// A crisis reading must be supported by the bank: one of the
    /// [`SUPPORT_K`] nearest labelled examples is a crisis example at
    /// similarity [`SUPPORT_SIMILARITY`] or more. Text unlike anything
    /// labelled (a place name, a lone word) gets confident nonsense from
    /// the head; without support it is not read as a crisis. Out of fold
    /// on the corpus this costs 0.005 of recall.
    fn decide(&self, vectors: &[Vec<f32>], clipped: bool) -> Reading {
        type Nearest = Option<(Level, String, f32)>;
        let mut best: Option<(Level, [f32; 4], Nearest)> = None;
        for v in vectors {
            let p = self.head.probabilities(v);
            let mut level = self.head.level(&p);
            // The bank is searched only where the head reads a crisis; the
            // example that supports the reading is also its explanation.
            let support = if level > Level::None {
                self.support(v)
            } else {
                None
            };
            if support.is_none() {
                level = Level::None;
            }
            let better = match &best {
                None => true,
                Some((l, q, _)) => (level, 1.0 - p[0]) > (*l, 1.0 - q[0]),
            };
            if better {
                best = Some((level, p, support));
            }
        }
        let Some((level, probabilities, nearest)) = best else {
            return Reading {
                level: Level::None,
                probabilities: [1.0, 0.0, 0.0, 0.0],
                nearest: None,
                windows: 0,
                clipped,
            };
        };
        Reading {
            level,
            probabilities,
            nearest,
            windows: vectors.len(),
            clipped,
        }
    }
}

/// The windows a head is trained on: each text normalised as the detector
/// reads it, its first window.
pub fn training_windows(encoder: &Encoder, texts: &[&str]) -> Vec<Vec<u32>> {
    texts
        .iter()
        .map(|t| {
            let mut w = encoder.windows(&super::normalize(t));
            w.swap_remove(0)
        })
        .collect()
}

/// The vectors a head is trained on: [`training_windows`] embedded.
pub fn training_vectors(encoder: &Encoder, texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
    encoder.embed_windows(&training_windows(encoder, texts))
}

/// Words a message needs before the model reads it; shorter ones are read
/// by the rules alone (the head reads nonsense into "first 2" or "all").
/// Measured misses of this screen on the blind sets: none. On set 1 the
/// model flagged no message of one or two words; on set 2 it flagged three
/// ("sh relapse", "no future", "cut again"), all crises the rules flag
/// too. In the corpus, the one- and two-word crisis lines are mostly the
/// rules' as well.
pub const MIN_WORDS: usize = 3;

/// Nearest examples looked at for support of a crisis reading.
pub const SUPPORT_K: usize = 5;
/// Similarity a supporting crisis example needs.
pub const SUPPORT_SIMILARITY: f32 = 0.4;

impl Learned {
    /// The nearest crisis example among the [`SUPPORT_K`] nearest, if one
    /// is close enough to support a crisis reading.
    fn support(&self, v: &[f32]) -> Option<(Level, String, f32)> {
        self.bank
            .nearest_k(v, SUPPORT_K)
            .into_iter()
            .find(|(e, s)| e.level > Level::None && *s >= SUPPORT_SIMILARITY)
            .map(|(e, s)| (e.level, e.text.clone(), s))
    }
}

/// The corpus files, sorted by name: `(name, contents)`.
pub fn corpus_files(dir: &Path) -> std::io::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|x| x == "tsv") {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push((name, std::fs::read_to_string(&path)?));
        }
    }
    out.sort();
    Ok(out)
}

/// The hash recorded beside the head: sha256 over each file's name, a
/// newline, its contents and a newline, in name order.
pub fn corpus_sha256(files: &[(String, String)]) -> String {
    let mut all = Vec::new();
    for (name, contents) in files {
        all.extend_from_slice(name.as_bytes());
        all.push(b'\n');
        all.extend_from_slice(contents.as_bytes());
        all.push(b'\n');
    }
    super::encoder::sha256_hex(&all)
}

/// The labelled lines of corpus files: `(level, text)`.
pub fn corpus_lines(files: &[(String, String)]) -> Result<Vec<(Level, String)>, String> {
    let mut out = Vec::new();
    for (name, contents) in files {
        for (n, line) in contents.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (level, text) = line
                .split_once('\t')
                .ok_or_else(|| format!("{name}:{}: no tab", n + 1))?;
            let level = CLASSES
                .iter()
                .find(|l| l.as_str() == level)
                .ok_or_else(|| format!("{name}:{}: unknown level {level:?}", n + 1))?;
            out.push((*level, text.to_owned()));
        }
    }
    Ok(out)
}

pub mod train;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_read_levels_from_cumulative_probabilities() {
        let head = Head {
            format: 1,
            encoder_sha256: String::new(),
            corpus_sha256: String::new(),
            corpus_lines: 0,
            trained_by: String::new(),
            cross_validation: serde_json::Value::Null,
            thresholds: Thresholds {
                concern: 0.3,
                urgent: 0.4,
                imminent: 0.5,
            },
            layers: Vec::new(),
            tuned_top: None,
        };
        assert_eq!(head.level(&[0.8, 0.1, 0.05, 0.05]), Level::None);
        assert_eq!(head.level(&[0.6, 0.3, 0.05, 0.05]), Level::Concern);
        // Urgent+ reads as urgent even when no single class wins.
        assert_eq!(head.level(&[0.35, 0.2, 0.25, 0.2]), Level::Urgent);
        assert_eq!(head.level(&[0.1, 0.1, 0.2, 0.6]), Level::Imminent);
    }

    #[test]
    fn the_bank_survives_its_file_form_and_finds_the_nearest() {
        let mut bank = Bank::default();
        let mut a = vec![0.0; DIM];
        a[0] = 1.0;
        let mut b = vec![0.0; DIM];
        b[1] = 0.6;
        b[2] = 0.8;
        bank.push(Level::Urgent, "first", &a);
        bank.push(Level::None, "second, with ünïcode", &b);
        let back = Bank::from_bytes(&bank.to_bytes()).unwrap();
        assert_eq!(back, bank);
        let mut q = vec![0.0; DIM];
        q[2] = 1.0;
        let (e, s) = back.nearest(&q).unwrap();
        assert_eq!(e.text, "second, with ünïcode");
        assert!((s - 0.8).abs() < 0.01, "{s}");
        assert!(Bank::from_bytes(&bank.to_bytes()[..20]).is_err());
        assert!(Bank::from_bytes(b"nonsense").is_err());
    }

    #[test]
    fn the_committed_head_matches_the_corpus_it_was_trained_on() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/crisis-corpus");
        let files = corpus_files(&dir).unwrap();
        let head = Head::committed().unwrap();
        assert_eq!(
            head.corpus_sha256,
            corpus_sha256(&files),
            "the corpus changed: run scripts/train-crisis-head and commit core/data/crisis-model"
        );
        assert_eq!(head.corpus_lines, corpus_lines(&files).unwrap().len());
        assert_eq!(head.encoder_sha256, super::super::encoder::MODEL_SHA256);
        let bank = Bank::committed().unwrap();
        assert_eq!(bank.examples.len(), head.corpus_lines);
        let t = head.thresholds;
        assert!(0.0 < t.concern && t.concern <= t.urgent.max(t.concern) && t.imminent < 1.0);
    }
}
