//! CLIP's modified ResNet as CRIS uses it (`visual.*` names of a CLIP RN50/RN101 state dict):
//! a three-convolution stem with average pooling, bottleneck stages whose strided blocks pool
//! (anti-aliased) instead of striding, and CRIS's spatial attention pool: multi-head
//! self-attention over the C5 positions (CLIP's `k/q/v/c_proj`, positions resized to the grid)
//! plus a residual `connect` (1×1 convolution + batch norm), then ReLU. Returns C3, C4 and the
//! pooled C5.

use super::layers::batch_norm2d;
use serde::{Deserialize, Serialize};
use tch::{Tensor, nn, nn::Module, nn::ModuleT};

/// Shape of a CLIP modified ResNet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResNetConfig {
    /// Bottleneck blocks per stage (RN50: 3, 4, 6, 3).
    pub layers: [usize; 4],
    /// Stem width (RN50: 64); stage k has `width·2^k` planes and 4× as many outputs.
    pub width: usize,
    /// Heads of the attention pool.
    pub heads: usize,
    /// Output width of the attention pool (CLIP's joint embedding: 1024 for RN50).
    pub embed: usize,
    /// Side of the grid the pool's positions are stored for (7 for CLIP at 224²).
    pub pos_grid: usize,
}

impl ResNetConfig {
    /// Channels of C3, C4 and the pooled C5.
    pub fn out_channels(&self) -> [usize; 3] {
        [self.width * 8, self.width * 16, self.embed]
    }
}

fn conv(p: nn::Path<'_>, i: i64, o: i64, k: i64) -> nn::Conv2D {
    nn::conv2d(
        p,
        i,
        o,
        k,
        nn::ConvConfig {
            padding: k / 2,
            bias: false,
            ..Default::default()
        },
    )
}

/// CLIP's `Bottleneck`.
#[derive(Debug)]
struct Bottleneck {
    conv1: nn::Conv2D,
    bn1: nn::BatchNorm,
    conv2: nn::Conv2D,
    bn2: nn::BatchNorm,
    conv3: nn::Conv2D,
    bn3: nn::BatchNorm,
    stride: i64,
    downsample: Option<(nn::Conv2D, nn::BatchNorm)>,
}

impl Bottleneck {
    fn new(p: nn::Path<'_>, inplanes: i64, planes: i64, stride: i64) -> Self {
        let out = planes * 4;
        let downsample = (stride > 1 || inplanes != out).then(|| {
            (
                conv(&p / "downsample" / "0", inplanes, out, 1),
                batch_norm2d(&p / "downsample" / "1", out),
            )
        });
        Self {
            conv1: conv(&p / "conv1", inplanes, planes, 1),
            bn1: batch_norm2d(&p / "bn1", planes),
            conv2: conv(&p / "conv2", planes, planes, 3),
            bn2: batch_norm2d(&p / "bn2", planes),
            conv3: conv(&p / "conv3", planes, out, 1),
            bn3: batch_norm2d(&p / "bn3", out),
            stride,
            downsample,
        }
    }

    fn pool(&self, x: Tensor) -> Tensor {
        if self.stride > 1 {
            x.avg_pool2d(
                [self.stride, self.stride],
                [self.stride, self.stride],
                [0, 0],
                false,
                true,
                None,
            )
        } else {
            x
        }
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let y = self.bn1.forward_t(&self.conv1.forward(x), train).relu();
        let y = self.bn2.forward_t(&self.conv2.forward(&y), train).relu();
        let y = self.pool(y);
        let y = self.bn3.forward_t(&self.conv3.forward(&y), train);
        let id = match &self.downsample {
            Some((c, bn)) => bn.forward_t(&c.forward(&self.pool(x.shallow_clone())), train),
            None => x.shallow_clone(),
        };
        (y + id).relu()
    }
}

/// CRIS's attention pool over the C5 positions.
#[derive(Debug)]
struct AttentionPool {
    positional_embedding: Tensor,
    q_proj: nn::Linear,
    k_proj: nn::Linear,
    v_proj: nn::Linear,
    c_proj: nn::Linear,
    connect: (nn::Conv2D, nn::BatchNorm),
    heads: i64,
    grid: i64,
}

impl AttentionPool {
    fn new(p: nn::Path<'_>, grid: i64, dim: i64, heads: i64, out: i64) -> Self {
        Self {
            positional_embedding: p.var(
                "positional_embedding",
                &[grid * grid + 1, dim],
                nn::Init::Randn {
                    mean: 0.0,
                    stdev: (dim as f64).powf(-0.5),
                },
            ),
            q_proj: nn::linear(&p / "q_proj", dim, dim, Default::default()),
            k_proj: nn::linear(&p / "k_proj", dim, dim, Default::default()),
            v_proj: nn::linear(&p / "v_proj", dim, dim, Default::default()),
            c_proj: nn::linear(&p / "c_proj", dim, out, Default::default()),
            connect: (
                conv(&p / "connect" / "0", dim, out, 1),
                batch_norm2d(&p / "connect" / "1", out),
            ),
            heads,
            grid,
        }
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let res = self.connect.1.forward_t(&self.connect.0.forward(x), train);
        let s = x.size();
        let (b, c, h, w) = (s[0], s[1], s[2], s[3]);
        // Grid positions (the class position is CLIP's; the spatial pool does not use it).
        let g = self.grid;
        let mut pos = self
            .positional_embedding
            .narrow(0, 1, g * g)
            .view([1, g, g, c])
            .permute([0, 3, 1, 2]);
        if (h, w) != (g, g) {
            pos = pos.upsample_bicubic2d([h, w], false, None, None);
        }
        let t = (x + pos).flatten(2, 3).transpose(1, 2); // [B, HW, C]
        let dh = c / self.heads;
        let split = |y: Tensor| y.view([b, h * w, self.heads, dh]).transpose(1, 2);
        let q = split(self.q_proj.forward(&t));
        let k = split(self.k_proj.forward(&t));
        let v = split(self.v_proj.forward(&t));
        let y = Tensor::scaled_dot_product_attention::<Tensor>(
            &q, &k, &v, None, 0.0, false, None, false,
        );
        let y = self
            .c_proj
            .forward(&y.transpose(1, 2).contiguous().view([b, h * w, c]));
        let out = res.size()[1];
        let y = y.transpose(1, 2).reshape([b, out, h, w]);
        (y + res).relu()
    }
}

/// CLIP's modified ResNet with CRIS's attention pool.
#[derive(Debug)]
pub struct ModifiedResNet {
    stem: Vec<(nn::Conv2D, nn::BatchNorm)>,
    stages: Vec<Vec<Bottleneck>>,
    attnpool: AttentionPool,
}

impl ModifiedResNet {
    /// The variables under `p` (`conv1…3`, `bn1…3`, `layer1…4`, `attnpool`).
    pub fn new(p: &nn::Path<'_>, cfg: &ResNetConfig) -> Self {
        let w = cfg.width as i64;
        let stem = [(3, w / 2, 1), (w / 2, w / 2, 2), (w / 2, w, 3)]
            .into_iter()
            .map(|(i, o, n)| {
                let c = nn::conv2d(
                    p / format!("conv{n}"),
                    i,
                    o,
                    3,
                    nn::ConvConfig {
                        stride: if n == 1 { 2 } else { 1 },
                        padding: 1,
                        bias: false,
                        ..Default::default()
                    },
                );
                (c, batch_norm2d(p / format!("bn{n}"), o))
            })
            .collect();
        let mut inplanes = w;
        let stages = cfg
            .layers
            .iter()
            .enumerate()
            .map(|(k, &n)| {
                let planes = w << k;
                let stride = if k == 0 { 1 } else { 2 };
                (0..n)
                    .map(|j| {
                        let blk = Bottleneck::new(
                            p / format!("layer{}", k + 1) / j,
                            inplanes,
                            planes,
                            if j == 0 { stride } else { 1 },
                        );
                        inplanes = planes * 4;
                        blk
                    })
                    .collect()
            })
            .collect();
        let dim = w * 32;
        Self {
            stem,
            stages,
            attnpool: AttentionPool::new(
                p / "attnpool",
                cfg.pos_grid as i64,
                dim,
                cfg.heads as i64,
                cfg.embed as i64,
            ),
        }
    }

    /// CLIP-normalised RGB `[B, 3, H, W]` (H, W multiples of 32) → C3 `[B, 8w, H/8, W/8]`,
    /// C4 `[B, 16w, H/16, W/16]` and pooled C5 `[B, embed, H/32, W/32]`.
    pub fn forward_t(&self, rgb: &Tensor, train: bool) -> [Tensor; 3] {
        let mut x = rgb.shallow_clone();
        for (c, bn) in &self.stem {
            x = bn.forward_t(&c.forward(&x), train).relu();
        }
        x = x.avg_pool2d([2, 2], [2, 2], [0, 0], false, true, None);
        let mut outs = Vec::with_capacity(4);
        for stage in &self.stages {
            for blk in stage {
                x = blk.forward_t(&x, train);
            }
            outs.push(x.shallow_clone());
        }
        let c5 = self.attnpool.forward_t(&x, train);
        let c3 = outs
            .get(1)
            .map_or_else(|| x.shallow_clone(), Tensor::shallow_clone);
        let c4 = outs
            .get(2)
            .map_or_else(|| x.shallow_clone(), Tensor::shallow_clone);
        [c3, c4, c5]
    }
}
