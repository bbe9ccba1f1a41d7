//! The two halves of CLIP the teachers are built on, with OpenAI CLIP's parameter names:
//!
//! - [`TextEncoder`]: token embedding over our vocabulary plus a start token, learned positions,
//!   a causal pre-norm transformer, `ln_final` and `text_projection`. It returns the word
//!   features `[B, 1+L, width]` (CRIS attends to them), their padding mask, and the sentence
//!   embedding `[B, embed]` taken at the last real token (CLIP takes it at the end token; our
//!   tokenizer has none, and with causal attention the last word has seen the whole prompt). The
//!   start token makes the empty prompt (P0) a sequence of one.
//! - [`VisionTransformer`]: CLIP's ViT (`visual.*`): patch convolution without bias, class
//!   token, positions learned on a `pos_grid²` grid and resized (bicubic) to the input's grid as
//!   CLIPSeg does, `ln_pre`, residual blocks; it returns the token activations after the asked
//!   blocks. `ln_post` and `proj` exist (CLIP weights load) but dense prediction does not use
//!   them.
//!
//! Grey frames are repeated to three channels and normalised with CLIP's RGB statistics, so the
//! patch convolution keeps CLIP's shape.

use super::layers::{ClipBlock, layer_norm};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor, nn, nn::Module};

/// CLIP's RGB mean and standard deviation (of 0–1 pixels).
pub const CLIP_MEAN: [f64; 3] = [0.481_454_66, 0.457_827_5, 0.408_210_73];
/// See [`CLIP_MEAN`].
pub const CLIP_STD: [f64; 3] = [0.268_629_54, 0.261_302_58, 0.275_777_11];

/// Grey frames `[B, 1, H, W]` with values 0–255 → CLIP-normalised RGB `[B, 3, H, W]`.
pub fn clip_rgb(frames: &Tensor) -> Tensor {
    let dev = frames.device();
    let x = frames.to_kind(Kind::Float) / 255.0;
    let x = x.expand([-1, 3, -1, -1], false);
    let mean = Tensor::from_slice(&CLIP_MEAN)
        .to_kind(Kind::Float)
        .to_device(dev)
        .view([1, 3, 1, 1]);
    let std = Tensor::from_slice(&CLIP_STD)
        .to_kind(Kind::Float)
        .to_device(dev)
        .view([1, 3, 1, 1]);
    (x - mean) / std
}

/// Shape of a CLIP text transformer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextConfig {
    /// Words in the vocabulary (the token table has one more row: the start token).
    pub vocab_size: usize,
    /// Positions (at least the tokenizer's length + 1).
    pub context: usize,
    /// Width.
    pub width: usize,
    /// Blocks.
    pub layers: usize,
    /// Attention heads.
    pub heads: usize,
    /// Width of the sentence embedding (`text_projection`).
    pub embed: usize,
}

/// What the text encoder returns.
#[derive(Debug)]
pub struct TextOutput {
    /// Word features after `ln_final`, `[B, 1+L, width]` (start token first).
    pub words: Tensor,
    /// True at padding positions, `[B, 1+L]`.
    pub padding: Tensor,
    /// Sentence embedding, `[B, embed]`.
    pub sentence: Tensor,
}

/// CLIP's text transformer over our vocabulary.
#[derive(Debug)]
pub struct TextEncoder {
    token_embedding: Tensor,
    positional_embedding: Tensor,
    blocks: Vec<ClipBlock>,
    ln_final: nn::LayerNorm,
    text_projection: Tensor,
    cfg: TextConfig,
}

impl TextEncoder {
    /// The encoder's variables under `p` (CLIP names: `token_embedding.weight`,
    /// `positional_embedding`, `transformer.resblocks.N.*`, `ln_final`, `text_projection`).
    pub fn new(p: &nn::Path<'_>, cfg: &TextConfig) -> Self {
        let (w, e) = (cfg.width as i64, cfg.embed as i64);
        let rows = cfg.vocab_size as i64 + 1;
        Self {
            token_embedding: (p / "token_embedding").var(
                "weight",
                &[rows, w],
                nn::Init::Randn {
                    mean: 0.0,
                    stdev: 0.02,
                },
            ),
            positional_embedding: p.var(
                "positional_embedding",
                &[cfg.context as i64, w],
                nn::Init::Randn {
                    mean: 0.0,
                    stdev: 0.01,
                },
            ),
            blocks: (0..cfg.layers)
                .map(|i| ClipBlock::new(p / "transformer" / "resblocks" / i, w, cfg.heads as i64))
                .collect(),
            ln_final: layer_norm(p / "ln_final", w),
            text_projection: p.var(
                "text_projection",
                &[w, e],
                nn::Init::Randn {
                    mean: 0.0,
                    stdev: (w as f64).powf(-0.5),
                },
            ),
            cfg: cfg.clone(),
        }
    }

    /// Token ids `[B, L]` (0 = padding, words first) → word features, padding mask and sentence
    /// embedding. `L + 1` must not exceed the context.
    pub fn forward(&self, tokens: &Tensor) -> TextOutput {
        let dev = tokens.device();
        let b = tokens.size()[0];
        let start = Tensor::full([b, 1], self.cfg.vocab_size as i64, (Kind::Int64, dev));
        let ids = Tensor::cat(&[start, tokens.to_kind(Kind::Int64)], 1);
        let len = ids.size()[1];
        let mut x = Tensor::embedding(&self.token_embedding, &ids, -1, false, false)
            + self.positional_embedding.narrow(0, 0, len).unsqueeze(0);
        for blk in &self.blocks {
            x = blk.forward(&x, true);
        }
        let words = self.ln_final.forward(&x);
        let real = tokens
            .gt(0)
            .sum_dim_intlist(&[1i64][..], false, Kind::Int64);
        let pooled = words
            .gather(
                1,
                &real
                    .view([b, 1, 1])
                    .expand([b, 1, self.cfg.width as i64], false),
                false,
            )
            .squeeze_dim(1);
        let sentence = pooled.matmul(&self.text_projection);
        let padding = Tensor::cat(&[Tensor::zeros([b, 1], (Kind::Bool, dev)), tokens.eq(0)], 1);
        TextOutput {
            words,
            padding,
            sentence,
        }
    }
}

/// How pixels become tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stem {
    /// CLIP's: one `patch × patch` convolution of stride `patch` (`conv1`). Required to load
    /// CLIP weights.
    #[default]
    Patch,
    /// A convolutional stem (Xiao et al., "Early convolutions help transformers see better",
    /// NeurIPS 2021): log₂(patch) 3×3 stride-2 convolutions, each with group norm and ReLU,
    /// doubling channels up to the width, then `conv1` as a 1×1 projection. Same grid and
    /// nearly the same cost as the patch convolution, but a ViT trained from scratch on a
    /// few thousand echo frames learns with it where the patch stem stalls (the CPU presets
    /// have no CLIP weights to start from).
    Conv,
}

/// Shape of a CLIP vision transformer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VitConfig {
    /// Patch side, pixels.
    pub patch: usize,
    /// Patch embedding (absent in older run states: CLIP's patch convolution).
    #[serde(default)]
    pub stem: Stem,
    /// Width.
    pub width: usize,
    /// Blocks built (CLIP's 12 for ViT-B; dense prediction runs only up to the deepest
    /// extracted one).
    pub layers: usize,
    /// Attention heads.
    pub heads: usize,
    /// Side of the grid the positions are stored for (14 for CLIP at 224²).
    pub pos_grid: usize,
    /// Width of `proj` (CLIP's joint embedding).
    pub embed: usize,
}

/// CLIP's vision transformer.
#[derive(Debug)]
pub struct VisionTransformer {
    stem: Vec<StemStage>,
    conv1: nn::Conv2D,
    class_embedding: Tensor,
    positional_embedding: Tensor,
    ln_pre: nn::LayerNorm,
    blocks: Vec<ClipBlock>,
    cfg: VitConfig,
}

impl VitConfig {
    /// Output channels of the conv stem's stride-2 stages (empty for the patch stem).
    pub fn stem_channels(&self) -> Vec<usize> {
        match self.stem {
            Stem::Patch => Vec::new(),
            Stem::Conv => {
                let n = self.patch.trailing_zeros() as usize;
                (0..n).map(|i| (self.width >> (n - 1 - i)).max(8)).collect()
            }
        }
    }
}

/// One stride-2 stage of the conv stem.
#[derive(Debug)]
struct StemStage {
    conv: nn::Conv2D,
    norm: nn::GroupNorm,
}

impl VisionTransformer {
    /// The variables under `p` (CLIP names: `conv1.weight`, `class_embedding`,
    /// `positional_embedding`, `ln_pre`, `transformer.resblocks.N.*`, `ln_post`, `proj`).
    pub fn new(p: &nn::Path<'_>, cfg: &VitConfig) -> Self {
        let w = cfg.width as i64;
        let scale = (w as f64).powf(-0.5);
        let randn = nn::Init::Randn {
            mean: 0.0,
            stdev: scale,
        };
        // Present for CLIP weight files; dense prediction does not use them.
        let _ln_post = layer_norm(p / "ln_post", w);
        let _proj = p.var("proj", &[w, cfg.embed as i64], randn);
        let mut stem = Vec::new();
        let mut inc = 3i64;
        for (i, &c) in cfg.stem_channels().iter().enumerate() {
            let c = c as i64;
            let sp = p / "stem" / i;
            stem.push(StemStage {
                conv: nn::conv2d(
                    &sp / "conv",
                    inc,
                    c,
                    3,
                    nn::ConvConfig {
                        stride: 2,
                        padding: 1,
                        bias: false,
                        ..Default::default()
                    },
                ),
                norm: nn::group_norm(
                    &sp / "norm",
                    if c % 8 == 0 { 8 } else { 1 },
                    c,
                    Default::default(),
                ),
            });
            inc = c;
        }
        // The patch convolution, or the conv stem's 1×1 projection.
        let k = if stem.is_empty() { cfg.patch as i64 } else { 1 };
        Self {
            stem,
            conv1: nn::conv2d(
                p / "conv1",
                inc,
                w,
                k,
                nn::ConvConfig {
                    stride: k,
                    bias: false,
                    ..Default::default()
                },
            ),
            class_embedding: p.var("class_embedding", &[w], randn),
            positional_embedding: p.var(
                "positional_embedding",
                &[(cfg.pos_grid * cfg.pos_grid + 1) as i64, w],
                randn,
            ),
            ln_pre: layer_norm(p / "ln_pre", w),
            blocks: (0..cfg.layers)
                .map(|i| ClipBlock::new(p / "transformer" / "resblocks" / i, w, cfg.heads as i64))
                .collect(),
            cfg: cfg.clone(),
        }
    }

    /// Positions for a `g × g` grid: the stored ones, resized bicubically when `g` differs.
    fn positions(&self, g: i64) -> Tensor {
        let s = self.cfg.pos_grid as i64;
        if g == s {
            return self.positional_embedding.shallow_clone();
        }
        let w = self.cfg.width as i64;
        let cls = self.positional_embedding.narrow(0, 0, 1);
        let grid = self
            .positional_embedding
            .narrow(0, 1, s * s)
            .view([1, s, s, w])
            .permute([0, 3, 1, 2]);
        let grid = grid.upsample_bicubic2d([g, g], false, None, None);
        let grid = grid.permute([0, 2, 3, 1]).reshape([g * g, w]);
        Tensor::cat(&[cls, grid], 0)
    }

    /// CLIP-normalised RGB `[B, 3, H, W]` (H = W, a multiple of the patch) → the tokens
    /// `[B, 1 + g², width]` after each block in `extract` (0-based, ascending), and the grid
    /// side `g`.
    pub fn forward(&self, rgb: &Tensor, extract: &[usize]) -> (Vec<Tensor>, i64) {
        let mut x = rgb.shallow_clone();
        for s in &self.stem {
            x = s.norm.forward(&s.conv.forward(&x)).relu();
        }
        let x = self.conv1.forward(&x);
        let (b, w, g) = (x.size()[0], x.size()[1], x.size()[2]);
        let x = x.flatten(2, 3).transpose(1, 2);
        let cls = self
            .class_embedding
            .view([1, 1, w])
            .expand([b, 1, w], false);
        let x = Tensor::cat(&[cls, x], 1) + self.positions(g).unsqueeze(0);
        let mut x = self.ln_pre.forward(&x);
        let mut out = Vec::with_capacity(extract.len());
        let last = extract.iter().copied().max().unwrap_or(0);
        for (i, blk) in self.blocks.iter().enumerate().take(last + 1) {
            x = blk.forward(&x, false);
            if extract.contains(&i) {
                out.push(x.shallow_clone());
            }
        }
        (out, g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn text() -> (nn::VarStore, TextEncoder) {
        let vs = nn::VarStore::new(Device::Cpu);
        let cfg = TextConfig {
            vocab_size: 20,
            context: 9,
            width: 16,
            layers: 2,
            heads: 2,
            embed: 12,
        };
        let t = TextEncoder::new(&vs.root(), &cfg);
        (vs, t)
    }

    #[test]
    fn sentence_embedding_ignores_padding_and_sees_every_word() {
        let (_vs, t) = text();
        let a = Tensor::from_slice(&[3i64, 5, 7, 0, 0, 0, 0, 0]).view([1, 8]);
        let out = t.forward(&a);
        assert_eq!(out.words.size(), vec![1, 9, 16]);
        assert_eq!(out.sentence.size(), vec![1, 12]);
        let pad: Vec<bool> = Vec::try_from(out.padding.view([9])).unwrap();
        assert_eq!(
            pad,
            [false, false, false, false, true, true, true, true, true]
        );
        // Changing the first word changes the sentence (the pooled token saw it).
        let b = Tensor::from_slice(&[4i64, 5, 7, 0, 0, 0, 0, 0]).view([1, 8]);
        assert!(
            !out.sentence
                .allclose(&t.forward(&b).sentence, 1e-4, 1e-4, false)
        );
        // The empty prompt is the start token alone, and is defined.
        let e = t.forward(&Tensor::zeros([1, 8], (Kind::Int64, Device::Cpu)));
        assert!(e.sentence.isfinite().all().int64_value(&[]) == 1);
    }

    #[test]
    fn vit_returns_the_asked_blocks_and_resizes_positions() {
        let vs = nn::VarStore::new(Device::Cpu);
        let cfg = VitConfig {
            patch: 8,
            width: 16,
            layers: 4,
            heads: 2,
            pos_grid: 2,
            embed: 8,
            stem: Stem::Patch,
        };
        let v = VisionTransformer::new(&vs.root(), &cfg);
        let frames = Tensor::rand([2, 1, 32, 32], (Kind::Float, Device::Cpu)) * 255.0;
        let (acts, g) = v.forward(&clip_rgb(&frames), &[0, 2]);
        assert_eq!(g, 4);
        assert_eq!(acts.len(), 2);
        assert_eq!(acts[1].size(), vec![2, 17, 16]);
        // The stored grid is used as is at its own size.
        assert_eq!(v.positions(2).size(), vec![5, 16]);
        assert!(v.positions(2).equal(&v.positional_embedding));
    }

    #[test]
    fn conv_stem_gives_the_patch_grid() {
        let vs = nn::VarStore::new(Device::Cpu);
        let cfg = VitConfig {
            patch: 8,
            width: 32,
            layers: 2,
            heads: 2,
            pos_grid: 4,
            embed: 8,
            stem: Stem::Conv,
        };
        assert_eq!(cfg.stem_channels(), vec![8, 16, 32]);
        let v = VisionTransformer::new(&vs.root(), &cfg);
        let frames = Tensor::rand([2, 1, 32, 32], (Kind::Float, Device::Cpu)) * 255.0;
        let (acts, g) = v.forward(&clip_rgb(&frames), &[1]);
        assert_eq!(g, 4);
        assert_eq!(acts[0].size(), vec![2, 17, 32]);
        let names: Vec<String> = vs.variables().into_keys().collect();
        assert!(names.iter().any(|n| n == "stem.2.conv.weight"), "{names:?}");
        let conv1 = &vs.variables()["conv1.weight"];
        assert_eq!(conv1.size(), vec![32, 32, 1, 1]);
        // A run state written before the stem existed reads as CLIP's patch stem.
        let old = r#"{"patch":16,"width":8,"layers":1,"heads":2,"pos_grid":14,"embed":8}"#;
        let c: VitConfig = serde_json::from_str(old).unwrap();
        assert_eq!(c.stem, Stem::Patch);
    }
}
