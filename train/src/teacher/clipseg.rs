//! The CLIPSeg-like teacher (Lüddecke & Ecker, CVPR 2022; `CLIPDensePredT` with
//! `complex_trans_conv`, the "rd64-refined" model the seed paper finetunes).
//!
//! ```text
//! frame ─ CLIP ViT ─ tokens after blocks e₁ < e₂ < e₃ ─┐
//! prompt ─ CLIP text ─ sentence embedding ─ FiLM ─────┤
//!   a = reduce₃(act₃); a = film_mul(s)·a + film_add(s); a = block₁(a)
//!   a = reduce₂(act₂) + a; a = block₂(a); a = reduce₁(act₁) + a; a = block₃(a)
//!   drop the class token → g×g map → conv 3×3, ReLU, transposed conv ×patch/4, ReLU,
//!   transposed conv ×4 → logits at the input size
//! ```
//!
//! The decoder blocks are PyTorch `TransformerEncoderLayer`s (post-norm, ReLU, feed-forward
//! 2048) at `reduce_dim`. [`ClipSegConfig::paper`] is the seed's shape (ViT-B/16, CLIP text,
//! input 352); with CLIP's 49 408-token vocabulary and 77 positions it has CLIPSeg's 150.75 M
//! parameters. Our vocabulary makes the token table far smaller.

use super::TeacherError;
use super::clip::{Stem, TextConfig, TextEncoder, VisionTransformer, VitConfig, clip_rgb};
use super::layers::EncoderLayer;
use serde::{Deserialize, Serialize};
use tch::{Tensor, nn, nn::Module};

/// Initial bias of the output layer: the log-odds of a structure covering about 12 % of the
/// frame. Trained from scratch, a zero-bias head starts at probability 0.5 everywhere and
/// spends hundreds of steps pushing the background down before it separates anything (a
/// CLIP-initialised encoder hides this; a random one does not).
pub const PRIOR_LOGIT: f64 = -2.0;

/// Shape of a CLIPSeg-like teacher.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipSegConfig {
    /// Input side, pixels (a multiple of the patch).
    pub input: usize,
    /// Image encoder.
    pub vision: VitConfig,
    /// Text encoder.
    pub text: TextConfig,
    /// Blocks whose activations feed the decoder (0-based, ascending).
    pub extract: Vec<usize>,
    /// Decoder width.
    pub reduce_dim: usize,
    /// Decoder attention heads.
    pub decoder_heads: usize,
    /// Decoder feed-forward width.
    pub decoder_ff: usize,
    /// Dropout of the decoder blocks.
    pub dropout: f64,
}

impl ClipSegConfig {
    /// The seed's CLIPSeg: ViT-B/16 at 352², CLIP's text transformer, extract 3/6/9, reduce
    /// dim 64, 4 heads; `vocab_size` and `context` of the tokenizer in use (CLIP's are
    /// 49 408 and 77).
    pub fn paper(vocab_size: usize, context: usize) -> Self {
        Self {
            input: 352,
            vision: VitConfig {
                patch: 16,
                width: 768,
                layers: 12,
                heads: 12,
                pos_grid: 14,
                embed: 512,
                stem: Stem::Patch,
            },
            text: TextConfig {
                vocab_size,
                context,
                width: 512,
                layers: 12,
                heads: 8,
                embed: 512,
            },
            extract: vec![3, 6, 9],
            reduce_dim: 64,
            decoder_heads: 4,
            decoder_ff: 2048,
            dropout: 0.1,
        }
    }

    /// A reduced teacher that trains on two CPU cores: ViT 6 blocks of 128 at 224² (patch 16,
    /// behind a [`Stem::Conv`]: from scratch, the patch stem stalled below 10 dice on CAMUS
    /// after two epochs), text 4 blocks of 128, extract 1/3/5, reduce dim 64.
    pub fn small(vocab_size: usize, context: usize) -> Self {
        Self {
            input: 224,
            vision: VitConfig {
                patch: 16,
                width: 128,
                layers: 6,
                heads: 4,
                pos_grid: 14,
                embed: 128,
                stem: Stem::Conv,
            },
            text: TextConfig {
                vocab_size,
                context,
                width: 128,
                layers: 4,
                heads: 4,
                embed: 128,
            },
            extract: vec![1, 3, 5],
            reduce_dim: 64,
            decoder_heads: 4,
            decoder_ff: 256,
            dropout: 0.1,
        }
    }

    /// A tiny teacher for tests (64² input, patch 4, width 32). With patch 8 (an 8×8 grid) it
    /// barely learns the phantoms in a test's budget; a 16×16 grid does.
    pub fn tiny(vocab_size: usize, context: usize) -> Self {
        Self {
            input: 64,
            vision: VitConfig {
                patch: 4,
                width: 32,
                layers: 3,
                heads: 2,
                pos_grid: 16,
                embed: 32,
                stem: Stem::Patch,
            },
            text: TextConfig {
                vocab_size,
                context,
                width: 32,
                layers: 2,
                heads: 2,
                embed: 32,
            },
            extract: vec![0, 1, 2],
            reduce_dim: 16,
            decoder_heads: 2,
            decoder_ff: 64,
            dropout: 0.0,
        }
    }

    /// Checks the shape is buildable.
    pub fn validate(&self) -> Result<(), String> {
        let v = &self.vision;
        if v.patch < 4 || !v.patch.is_multiple_of(4) {
            return Err(format!("patch {} must be a multiple of 4", v.patch));
        }
        if v.stem == Stem::Conv && !v.patch.is_power_of_two() {
            return Err(format!(
                "a conv stem halves the side log2(patch) times: patch {} must be a power of two",
                v.patch
            ));
        }
        if self.input == 0 || !self.input.is_multiple_of(v.patch) {
            return Err(format!(
                "input {} must be a multiple of the patch {}",
                self.input, v.patch
            ));
        }
        if self.extract.is_empty()
            || self.extract.windows(2).any(|w| w[0] >= w[1])
            || self.extract.iter().any(|&e| e >= v.layers)
        {
            return Err(format!(
                "extract {:?} must be ascending block indices below {}",
                self.extract, v.layers
            ));
        }
        for (name, w, h) in [
            ("vision", v.width, v.heads),
            ("text", self.text.width, self.text.heads),
            ("decoder", self.reduce_dim, self.decoder_heads),
        ] {
            if h == 0 || w % h != 0 {
                return Err(format!("{name} width {w} is not a multiple of {h} heads"));
            }
        }
        if self.reduce_dim < 2 || !self.reduce_dim.is_multiple_of(2) {
            return Err(format!("reduce dim {} must be even", self.reduce_dim));
        }
        Ok(())
    }
}

/// The CLIPSeg-like teacher's modules.
#[derive(Debug)]
pub struct ClipSeg {
    vision: VisionTransformer,
    text: TextEncoder,
    reduces: Vec<nn::Linear>,
    film_mul: nn::Linear,
    film_add: nn::Linear,
    blocks: Vec<EncoderLayer>,
    head_conv: nn::Conv2D,
    head_up1: nn::ConvTranspose2D,
    head_up2: nn::ConvTranspose2D,
    cfg: ClipSegConfig,
}

impl ClipSeg {
    /// Build under `root`: `visual.*` and the text encoder's CLIP names at the top level (as in
    /// a CLIP state dict), the decoder under `decoder.*`.
    pub fn new(root: &nn::Path<'_>, cfg: &ClipSegConfig) -> Result<Self, String> {
        cfg.validate()?;
        let d = cfg.reduce_dim as i64;
        let vw = cfg.vision.width as i64;
        let tw = cfg.text.embed as i64;
        let dec = root / "decoder";
        // Two transposed convolutions restore the patch size: ×patch/4, then ×4 (CLIPSeg's
        // ×4, ×4 for patch 16).
        let k1 = (cfg.vision.patch / 4) as i64;
        let up = |p: nn::Path<'_>, i: i64, o: i64, k: i64| {
            nn::conv_transpose2d(
                p,
                i,
                o,
                k,
                nn::ConvTransposeConfig {
                    stride: k,
                    ..Default::default()
                },
            )
        };
        Ok(Self {
            vision: VisionTransformer::new(&(root / "visual"), &cfg.vision),
            text: TextEncoder::new(root, &cfg.text),
            reduces: (0..cfg.extract.len())
                .map(|i| nn::linear(&dec / "reduces" / i, vw, d, Default::default()))
                .collect(),
            film_mul: nn::linear(&dec / "film_mul", tw, d, Default::default()),
            film_add: nn::linear(&dec / "film_add", tw, d, Default::default()),
            blocks: (0..cfg.extract.len())
                .map(|i| {
                    EncoderLayer::new(
                        &dec / "blocks" / i,
                        d,
                        cfg.decoder_heads as i64,
                        cfg.decoder_ff as i64,
                        cfg.dropout,
                    )
                })
                .collect(),
            head_conv: nn::conv2d(
                &dec / "trans_conv" / "0",
                d,
                d,
                3,
                nn::ConvConfig {
                    padding: 1,
                    ..Default::default()
                },
            ),
            head_up1: up(&dec / "trans_conv" / "2", d, d / 2, k1),
            head_up2: nn::conv_transpose2d(
                &dec / "trans_conv" / "4",
                d / 2,
                1,
                4,
                nn::ConvTransposeConfig {
                    stride: 4,
                    bs_init: nn::Init::Const(PRIOR_LOGIT),
                    ..Default::default()
                },
            ),
            cfg: cfg.clone(),
        })
    }

    /// The shape.
    pub fn config(&self) -> &ClipSegConfig {
        &self.cfg
    }

    /// Frames `[B, 1, S, S]` (0–255, S = the input side) and token ids `[B, L]` → logits
    /// `[B, 1, S, S]`.
    pub fn forward_t(
        &self,
        frames: &Tensor,
        tokens: &Tensor,
        train: bool,
    ) -> Result<Tensor, TeacherError> {
        let sentence = self.text.forward(tokens).sentence;
        let (acts, g) = self.vision.forward(&clip_rgb(frames), &self.cfg.extract);
        let mut a: Option<Tensor> = None;
        for (i, ((act, reduce), blk)) in acts
            .iter()
            .rev()
            .zip(&self.reduces)
            .zip(&self.blocks)
            .enumerate()
        {
            let r = reduce.forward(act);
            let mut x = match a {
                Some(prev) => r + prev,
                None => r,
            };
            if i == 0 {
                x = self.film_mul.forward(&sentence).unsqueeze(1) * x
                    + self.film_add.forward(&sentence).unsqueeze(1);
            }
            a = Some(blk.forward_t(&x, train));
        }
        let a = a.ok_or_else(|| TeacherError::Config("no extracted block".into()))?;
        let b = a.size()[0];
        let d = self.cfg.reduce_dim as i64;
        // Drop the class token: [B, g², d] → [B, d, g, g].
        let map = a.narrow(1, 1, g * g).transpose(1, 2).reshape([b, d, g, g]);
        let x = self.head_conv.forward(&map).relu();
        let x = self.head_up1.forward(&x).relu();
        Ok(self.head_up2.forward(&x))
    }
}
