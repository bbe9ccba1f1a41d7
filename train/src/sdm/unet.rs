//! The denoiser: a U-Net that predicts the noise of a noisy echo frame given the timestep and
//! the label map (Wang et al., "Semantic image synthesis via diffusion models", 2022).
//!
//! ```text
//! x_t ─ conv ─ [ResBlock × r (+attn)] ─ down ─ … ─ middle: SpadeRes, attn, SpadeRes
//!                     │ skip                              │
//!   ε̂ ─ conv ─ GN ─ [SpadeRes × r (+attn)] ─ up ─ … ◄─────┘   (skip concatenated per level)
//! ```
//!
//! - The **encoder** sees the noisy image only (group norm, SiLU, 3×3 conv; the timestep
//!   embedding added between the two convolutions), as in SDM.
//! - The **label map** enters the middle and decoder through spatially-adaptive group
//!   normalisation: `GN(x)·(1 + γ(m)) + β(m)`, with γ, β from 3×3 convolutions over the one-hot
//!   map resized (nearest) to the block's resolution (SPADE, Park et al., 2019).
//! - Self-attention at the levels listed in `attention`; the last convolution of every residual
//!   branch and the output convolution start at zero, so the network starts as the identity on
//!   its skip paths.
//!
//! Sizes go from [`UnetConfig::tiny`] (CPU tests) through [`UnetConfig::small`] (CPU runs on
//! CAMUS at 112²) to [`UnetConfig::large`] (GPU, 224², SDM's widths scaled to our data).

use super::labels::CLASSES;
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor, nn, nn::Module};

/// Shape of the denoiser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnetConfig {
    /// Image side, pixels (square; divisible by 2^(levels − 1)).
    pub size: usize,
    /// Channels at the first level.
    pub base: usize,
    /// Channel multiplier per level.
    pub mults: Vec<usize>,
    /// Residual blocks per level.
    pub res_blocks: usize,
    /// Levels (0-based) with self-attention; the middle always has it.
    pub attention: Vec<usize>,
    /// Attention heads.
    pub heads: usize,
    /// Hidden channels of the SPADE convolutions.
    pub spade_hidden: usize,
    /// Dropout in residual blocks.
    pub dropout: f64,
}

impl UnetConfig {
    /// For tests: 64², 16 channels, three levels, attention at 16².
    pub fn tiny() -> Self {
        Self {
            size: 64,
            base: 16,
            mults: vec![1, 2, 2],
            res_blocks: 1,
            attention: vec![2],
            heads: 2,
            spade_hidden: 16,
            dropout: 0.0,
        }
    }

    /// For CPU runs: 112², 16 channels, four levels (112, 56, 28, 14; 16-32-64-64 channels),
    /// attention at 14². Narrow because the SPADE convolutions at 112² dominate the cost: with
    /// 32 channels a batch of 16 took over 5 s a step on two cores.
    pub fn small() -> Self {
        Self {
            size: 112,
            base: 16,
            mults: vec![1, 2, 4, 4],
            res_blocks: 1,
            attention: vec![3],
            heads: 4,
            spade_hidden: 16,
            dropout: 0.0,
        }
    }

    /// For GPU runs: 224², 64 channels, five levels, two blocks each, attention at 28² and 14².
    pub fn large() -> Self {
        Self {
            size: 224,
            base: 64,
            mults: vec![1, 1, 2, 3, 4],
            res_blocks: 2,
            attention: vec![3, 4],
            heads: 4,
            spade_hidden: 64,
            dropout: 0.1,
        }
    }

    /// A preset by name: `tiny`, `small` or `large`.
    pub fn preset(name: &str) -> Result<Self, String> {
        match name {
            "tiny" => Ok(Self::tiny()),
            "small" => Ok(Self::small()),
            "large" => Ok(Self::large()),
            other => Err(format!("unknown SDM size {other:?}: tiny, small or large")),
        }
    }

    /// Checks the shape is buildable.
    pub fn validate(&self) -> Result<(), String> {
        let levels = self.mults.len();
        if levels == 0 || self.base == 0 || self.mults.contains(&0) || self.res_blocks == 0 {
            return Err("the U-Net needs a level, channels and a block per level".into());
        }
        let div = 1usize << (levels - 1);
        if self.size == 0 || !self.size.is_multiple_of(div) {
            return Err(format!(
                "size {} must be a multiple of {div} for {levels} levels",
                self.size
            ));
        }
        if self.attention.iter().any(|&l| l >= levels) {
            return Err(format!("attention levels {:?} ≥ {levels}", self.attention));
        }
        for m in &self.mults {
            if !(self.base * m).is_multiple_of(self.heads.max(1)) {
                return Err(format!(
                    "channels {} not divisible by {} heads",
                    self.base * m,
                    self.heads
                ));
            }
        }
        if self.heads == 0 || self.spade_hidden == 0 || !(0.0..1.0).contains(&self.dropout) {
            return Err("heads, spade_hidden ≥ 1 and dropout in [0, 1)".into());
        }
        Ok(())
    }

    fn channels(&self, level: usize) -> i64 {
        (self.base * self.mults[level]) as i64
    }
}

/// Groups of a group norm over `c` channels: 32 as in SDM, fewer for narrow layers (at least
/// four channels a group).
fn groups(c: i64) -> i64 {
    [32, 16, 8, 4, 2]
        .into_iter()
        .find(|g| c % g == 0 && c / g >= 4)
        .unwrap_or(1)
}

fn conv3(p: nn::Path<'_>, i: i64, o: i64, zero: bool) -> nn::Conv2D {
    let mut c = nn::ConvConfig {
        padding: 1,
        ..Default::default()
    };
    if zero {
        c.ws_init = nn::Init::Const(0.0);
    }
    nn::conv2d(p, i, o, 3, c)
}

fn conv1(p: nn::Path<'_>, i: i64, o: i64, zero: bool) -> nn::Conv2D {
    let mut c = nn::ConvConfig::default();
    if zero {
        c.ws_init = nn::Init::Const(0.0);
    }
    nn::conv2d(p, i, o, 1, c)
}

/// Sinusoidal embedding of timesteps `[B]` → `[B, dim]`.
pub fn timestep_embedding(t: &Tensor, dim: i64) -> Tensor {
    let half = dim / 2;
    let dev = t.device();
    let freqs =
        (Tensor::arange(half, (Kind::Float, dev)) * (-(10_000f64.ln()) / half as f64)).exp();
    let args = t.to_kind(Kind::Float).unsqueeze(1) * freqs.unsqueeze(0);
    Tensor::cat(&[args.cos(), args.sin()], 1)
}

/// Group norm without affine parameters, modulated by the label map.
#[derive(Debug)]
struct Spade {
    norm: nn::GroupNorm,
    shared: nn::Conv2D,
    gamma: nn::Conv2D,
    beta: nn::Conv2D,
}

impl Spade {
    fn new(p: nn::Path<'_>, c: i64, hidden: i64) -> Self {
        Self {
            norm: nn::group_norm(
                &p / "norm",
                groups(c),
                c,
                nn::GroupNormConfig {
                    affine: false,
                    ..Default::default()
                },
            ),
            shared: conv3(&p / "shared", CLASSES as i64, hidden, false),
            gamma: conv3(&p / "gamma", hidden, c, false),
            beta: conv3(&p / "beta", hidden, c, false),
        }
    }

    fn forward(&self, x: &Tensor, seg: &Tensor) -> Tensor {
        let (h, w) = (x.size()[2], x.size()[3]);
        let m = if seg.size()[2] == h && seg.size()[3] == w {
            seg.shallow_clone()
        } else {
            seg.upsample_nearest2d([h, w], None, None)
        };
        let a = self.shared.forward(&m).relu();
        self.norm.forward(x) * (self.gamma.forward(&a) + 1.0) + self.beta.forward(&a)
    }
}

/// A norm: plain (encoder) or label-modulated (middle, decoder).
#[derive(Debug)]
enum Norm {
    Plain(nn::GroupNorm),
    Spade(Box<Spade>),
}

impl Norm {
    fn new(p: nn::Path<'_>, c: i64, spade: Option<i64>) -> Self {
        match spade {
            Some(hidden) => Self::Spade(Box::new(Spade::new(p, c, hidden))),
            None => Self::Plain(nn::group_norm(p, groups(c), c, Default::default())),
        }
    }

    fn forward(&self, x: &Tensor, seg: &Tensor) -> Tensor {
        match self {
            Self::Plain(n) => n.forward(x),
            Self::Spade(s) => s.forward(x, seg),
        }
    }
}

/// Residual block with the timestep embedding added between its convolutions.
#[derive(Debug)]
struct ResBlock {
    norm1: Norm,
    conv1: nn::Conv2D,
    emb: nn::Linear,
    norm2: Norm,
    conv2: nn::Conv2D,
    skip: Option<nn::Conv2D>,
    dropout: f64,
}

impl ResBlock {
    fn new(p: nn::Path<'_>, i: i64, o: i64, emb: i64, spade: Option<i64>, dropout: f64) -> Self {
        Self {
            norm1: Norm::new(&p / "norm1", i, spade),
            conv1: conv3(&p / "conv1", i, o, false),
            emb: nn::linear(&p / "emb", emb, o, Default::default()),
            norm2: Norm::new(&p / "norm2", o, spade),
            conv2: conv3(&p / "conv2", o, o, true),
            skip: (i != o).then(|| conv1(&p / "skip", i, o, false)),
            dropout,
        }
    }

    fn forward(&self, x: &Tensor, emb: &Tensor, seg: &Tensor, train: bool) -> Tensor {
        let h = self.conv1.forward(&self.norm1.forward(x, seg).silu());
        let h = h + self.emb.forward(&emb.silu()).unsqueeze(-1).unsqueeze(-1);
        let h = self
            .norm2
            .forward(&h, seg)
            .silu()
            .dropout(self.dropout, train);
        let h = self.conv2.forward(&h);
        match &self.skip {
            Some(s) => s.forward(x) + h,
            None => x + h,
        }
    }
}

/// Multi-head self-attention over the positions of a feature map.
#[derive(Debug)]
struct Attention {
    norm: nn::GroupNorm,
    qkv: nn::Conv2D,
    proj: nn::Conv2D,
    heads: i64,
}

impl Attention {
    fn new(p: nn::Path<'_>, c: i64, heads: i64) -> Self {
        Self {
            norm: nn::group_norm(&p / "norm", groups(c), c, Default::default()),
            qkv: conv1(&p / "qkv", c, 3 * c, false),
            proj: conv1(&p / "proj", c, c, true),
            heads,
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let s = x.size();
        let (b, c, h, w) = (s[0], s[1], s[2], s[3]);
        let d = c / self.heads;
        let qkv = self
            .qkv
            .forward(&self.norm.forward(x))
            .reshape([b, 3, self.heads, d, h * w]);
        let (q, k, v) = (qkv.select(1, 0), qkv.select(1, 1), qkv.select(1, 2));
        let att = (q.transpose(-1, -2).matmul(&k) / (d as f64).sqrt()).softmax(-1, Kind::Float);
        let out = v.matmul(&att.transpose(-1, -2)).reshape([b, c, h, w]);
        x + self.proj.forward(&out)
    }
}

#[derive(Debug)]
struct Level {
    blocks: Vec<ResBlock>,
    attn: Vec<Attention>,
    /// Down-sampling (encoder) or up-sampling (decoder) convolution; none at the edge.
    resample: Option<nn::Conv2D>,
}

impl Level {
    /// The residual blocks (the first takes `first_in` channels) and attention of level `l`,
    /// `o` channels out; `spade` makes them label-modulated (decoder).
    fn blocks(
        lp: &nn::Path<'_>,
        cfg: &UnetConfig,
        l: usize,
        first_in: i64,
        spade: Option<i64>,
    ) -> (Vec<ResBlock>, Vec<Attention>) {
        let o = cfg.channels(l);
        let emb = 4 * cfg.base as i64;
        let blocks = (0..cfg.res_blocks)
            .map(|r| {
                let i = if r == 0 { first_in } else { o };
                ResBlock::new(lp / "res" / r, i, o, emb, spade, cfg.dropout)
            })
            .collect();
        let attn = if cfg.attention.contains(&l) {
            (0..cfg.res_blocks)
                .map(|r| Attention::new(lp / "attn" / r, o, cfg.heads as i64))
                .collect()
        } else {
            Vec::new()
        };
        (blocks, attn)
    }
}

/// The denoiser.
#[derive(Debug)]
pub struct Unet {
    time1: nn::Linear,
    time2: nn::Linear,
    conv_in: nn::Conv2D,
    down: Vec<Level>,
    mid1: ResBlock,
    mid_attn: Attention,
    mid2: ResBlock,
    up: Vec<Level>,
    out_norm: nn::GroupNorm,
    conv_out: nn::Conv2D,
    cfg: UnetConfig,
}

impl Unet {
    /// Build under `p`.
    pub fn new(p: &nn::Path<'_>, cfg: &UnetConfig) -> Result<Self, String> {
        cfg.validate()?;
        let base = cfg.base as i64;
        let emb = 4 * base;
        let levels = cfg.mults.len();
        let hidden = Some(cfg.spade_hidden as i64);
        let heads = cfg.heads as i64;
        let mut down = Vec::with_capacity(levels);
        let mut ch = base;
        for l in 0..levels {
            let o = cfg.channels(l);
            let lp = p / "down" / l;
            let (blocks, attn) = Level::blocks(&lp, cfg, l, ch, None);
            let resample = (l + 1 < levels).then(|| {
                nn::conv2d(
                    &lp / "down",
                    o,
                    o,
                    3,
                    nn::ConvConfig {
                        stride: 2,
                        padding: 1,
                        ..Default::default()
                    },
                )
            });
            down.push(Level {
                blocks,
                attn,
                resample,
            });
            ch = o;
        }
        let mid = p / "mid";
        let mut up = Vec::with_capacity(levels);
        for l in (0..levels).rev() {
            let o = cfg.channels(l);
            let lp = p / "up" / l;
            // The first block takes the concatenated skip of this level.
            let (blocks, attn) = Level::blocks(&lp, cfg, l, ch + o, hidden);
            let resample = (l > 0).then(|| conv3(&lp / "up", o, o, false));
            up.push(Level {
                blocks,
                attn,
                resample,
            });
            ch = o;
        }
        let top = cfg.channels(levels - 1);
        Ok(Self {
            time1: nn::linear(p / "time" / "0", base, emb, Default::default()),
            time2: nn::linear(p / "time" / "2", emb, emb, Default::default()),
            conv_in: conv3(p / "conv_in", 1, base, false),
            down,
            mid1: ResBlock::new(&mid / "res1", top, top, emb, hidden, cfg.dropout),
            mid_attn: Attention::new(&mid / "attn", top, heads),
            mid2: ResBlock::new(&mid / "res2", top, top, emb, hidden, cfg.dropout),
            up,
            out_norm: nn::group_norm(p / "out_norm", groups(base), base, Default::default()),
            conv_out: conv3(p / "conv_out", base, 1, true),
            cfg: cfg.clone(),
        })
    }

    /// The shape.
    pub fn config(&self) -> &UnetConfig {
        &self.cfg
    }

    /// Noisy frames `[B, 1, S, S]` (in [−1, 1] scale), timesteps `[B]` and one-hot label maps
    /// `[B, CLASSES, S, S]` → predicted noise `[B, 1, S, S]`.
    pub fn forward_t(&self, x: &Tensor, t: &Tensor, seg: &Tensor, train: bool) -> Tensor {
        let emb = self.time2.forward(
            &self
                .time1
                .forward(&timestep_embedding(t, self.cfg.base as i64))
                .silu(),
        );
        let mut h = self.conv_in.forward(x);
        let mut skips = Vec::with_capacity(self.down.len());
        for lvl in &self.down {
            for (i, blk) in lvl.blocks.iter().enumerate() {
                h = blk.forward(&h, &emb, seg, train);
                if let Some(a) = lvl.attn.get(i) {
                    h = a.forward(&h);
                }
            }
            skips.push(h.shallow_clone());
            if let Some(d) = &lvl.resample {
                h = d.forward(&h);
            }
        }
        h = self.mid1.forward(&h, &emb, seg, train);
        h = self.mid_attn.forward(&h);
        h = self.mid2.forward(&h, &emb, seg, train);
        for lvl in &self.up {
            if let Some(skip) = skips.pop() {
                h = Tensor::cat(&[h, skip], 1);
            }
            for (i, blk) in lvl.blocks.iter().enumerate() {
                h = blk.forward(&h, &emb, seg, train);
                if let Some(a) = lvl.attn.get(i) {
                    h = a.forward(&h);
                }
            }
            if let Some(u) = &lvl.resample {
                let (hh, ww) = (h.size()[2], h.size()[3]);
                h = u.forward(&h.upsample_nearest2d([2 * hh, 2 * ww], None, None));
            }
        }
        self.conv_out.forward(&self.out_norm.forward(&h).silu())
    }
}

/// Label maps `[B, S, S]` (u8 classes) → one-hot `[B, CLASSES, S, S]` float.
pub fn one_hot(labels: &Tensor) -> Tensor {
    labels
        .to_kind(Kind::Int64)
        .one_hot(CLASSES as i64)
        .permute([0, 3, 1, 2])
        .to_kind(Kind::Float)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn unet_maps_noise_to_noise_shape_and_starts_at_zero() {
        let vs = nn::VarStore::new(Device::Cpu);
        let cfg = UnetConfig::tiny();
        let net = Unet::new(&vs.root(), &cfg).unwrap();
        let x = Tensor::randn([2, 1, 64, 64], (Kind::Float, Device::Cpu));
        let t = Tensor::from_slice(&[3i64, 900]);
        let labels = Tensor::randint(5, [2, 64, 64], (Kind::Uint8, Device::Cpu));
        let seg = one_hot(&labels);
        assert_eq!(seg.size(), vec![2, 5, 64, 64]);
        let out = net.forward_t(&x, &t, &seg, true);
        assert_eq!(out.size(), vec![2, 1, 64, 64]);
        // The output convolution starts at zero (its bias alone remains).
        assert!(out.abs().max().double_value(&[]) < 1.0);
        // Gradients reach the SPADE convolutions (the label map is used).
        let loss = (out - &x).square().mean(Kind::Float);
        loss.backward();
        let vars = vs.variables();
        let g = vars["up.0.res.0.norm1.shared.weight"].grad();
        assert!(g.defined());
        for bad in [
            UnetConfig {
                size: 66,
                ..UnetConfig::tiny()
            },
            UnetConfig {
                attention: vec![3],
                ..UnetConfig::tiny()
            },
            UnetConfig {
                mults: vec![],
                ..UnetConfig::tiny()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        assert!(UnetConfig::preset("huge").is_err());
        for p in ["tiny", "small", "large"] {
            UnetConfig::preset(p).unwrap().validate().unwrap();
        }
    }
}
