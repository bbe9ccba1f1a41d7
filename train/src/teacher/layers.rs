//! Building blocks of the teachers, with PyTorch's and OpenAI CLIP's parameter names (so that a
//! user's converted safetensors file loads by name): multi-head attention
//! (`in_proj_weight`, `out_proj`), CLIP's pre-norm residual attention block (`ln_1`, `attn`,
//! `ln_2`, `mlp.c_fc`, `mlp.c_proj`, QuickGELU), PyTorch's post-norm `TransformerEncoderLayer`
//! (`self_attn`, `linear1`, `linear2`, `norm1`, `norm2`) and CRIS's `conv → batch norm → ReLU`
//! (`N.0`, `N.1`).

use tch::{Kind, Tensor, nn, nn::Module, nn::ModuleT};

/// A linear layer without bias (`weight` only), PyTorch layout `[out, in]`.
pub fn linear_no_bias(p: nn::Path<'_>, i: i64, o: i64) -> nn::Linear {
    nn::linear(
        p,
        i,
        o,
        nn::LinearConfig {
            bias: false,
            ..Default::default()
        },
    )
}

/// Layer norm over the last dimension (`weight`, `bias`), eps 1e-5.
pub fn layer_norm(p: nn::Path<'_>, d: i64) -> nn::LayerNorm {
    nn::layer_norm(p, vec![d], Default::default())
}

/// Batch norm as PyTorch initialises it (weight 1, bias 0).
pub fn batch_norm2d(p: nn::Path<'_>, c: i64) -> nn::BatchNorm {
    nn::batch_norm2d(
        p,
        c,
        nn::BatchNormConfig {
            ws_init: nn::Init::Const(1.0),
            ..Default::default()
        },
    )
}

/// Batch norm over features `[B, C]`, initialised as PyTorch does.
pub fn batch_norm1d(p: nn::Path<'_>, c: i64) -> nn::BatchNorm {
    nn::batch_norm1d(
        p,
        c,
        nn::BatchNormConfig {
            ws_init: nn::Init::Const(1.0),
            ..Default::default()
        },
    )
}

/// CLIP's activation: `x · σ(1.702 x)`.
pub fn quick_gelu(x: &Tensor) -> Tensor {
    x * (x * 1.702).sigmoid()
}

/// Multi-head attention as `torch.nn.MultiheadAttention` with equal query, key and value
/// widths: `in_proj_weight [3d, d]`, `in_proj_bias [3d]`, `out_proj.{weight,bias}`.
/// Batch-first tensors `[B, L, d]`.
#[derive(Debug)]
pub struct Attention {
    in_w: Tensor,
    in_b: Tensor,
    out: nn::Linear,
    heads: i64,
    dim: i64,
}

impl Attention {
    /// Width `dim` split over `heads` heads (`dim` a multiple of `heads`).
    pub fn new(p: nn::Path<'_>, dim: i64, heads: i64) -> Self {
        let bound = (6.0 / (dim + 3 * dim) as f64).sqrt();
        Self {
            in_w: p.var(
                "in_proj_weight",
                &[3 * dim, dim],
                nn::Init::Uniform {
                    lo: -bound,
                    up: bound,
                },
            ),
            in_b: p.zeros("in_proj_bias", &[3 * dim]),
            out: nn::linear(&p / "out_proj", dim, dim, Default::default()),
            heads,
            dim,
        }
    }

    fn split(&self, x: &Tensor) -> Tensor {
        let (b, l) = (x.size()[0], x.size()[1]);
        x.view([b, l, self.heads, self.dim / self.heads])
            .transpose(1, 2)
    }

    /// Attention of `q [B, Lq, d]` over `k`, `v` `[B, Lk, d]`. `key_padding` `[B, Lk]` (bool,
    /// true = ignore that key) masks padding; `causal` masks later positions (text encoders);
    /// `dropout` applies to the attention weights (pass 0 outside training).
    pub fn forward(
        &self,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        key_padding: Option<&Tensor>,
        causal: bool,
        dropout: f64,
    ) -> Tensor {
        let w = self.in_w.chunk(3, 0);
        let bias = self.in_b.chunk(3, 0);
        let q = self.split(&q.linear(&w[0], Some(&bias[0])));
        let k = self.split(&k.linear(&w[1], Some(&bias[1])));
        let v = self.split(&v.linear(&w[2], Some(&bias[2])));
        // SDPA's boolean mask keeps the true entries: [B, 1, 1, Lk].
        let mask = key_padding.map(|m| m.logical_not().unsqueeze(1).unsqueeze(1));
        let y =
            Tensor::scaled_dot_product_attention(&q, &k, &v, mask, dropout, causal, None, false);
        let (b, lq) = (y.size()[0], y.size()[2]);
        self.out
            .forward(&y.transpose(1, 2).contiguous().view([b, lq, self.dim]))
    }
}

/// CLIP's `ResidualAttentionBlock`: pre-norm self-attention and a 4× QuickGELU MLP.
#[derive(Debug)]
pub struct ClipBlock {
    ln_1: nn::LayerNorm,
    attn: Attention,
    ln_2: nn::LayerNorm,
    c_fc: nn::Linear,
    c_proj: nn::Linear,
}

impl ClipBlock {
    /// A block of width `dim` with `heads` heads.
    pub fn new(p: nn::Path<'_>, dim: i64, heads: i64) -> Self {
        Self {
            ln_1: layer_norm(&p / "ln_1", dim),
            attn: Attention::new(&p / "attn", dim, heads),
            ln_2: layer_norm(&p / "ln_2", dim),
            c_fc: nn::linear(&p / "mlp" / "c_fc", dim, 4 * dim, Default::default()),
            c_proj: nn::linear(&p / "mlp" / "c_proj", 4 * dim, dim, Default::default()),
        }
    }

    /// `x [B, L, d]`; `causal` for the text transformer.
    pub fn forward(&self, x: &Tensor, causal: bool) -> Tensor {
        let h = self.ln_1.forward(x);
        let x = x + self.attn.forward(&h, &h, &h, None, causal, 0.0);
        let h = quick_gelu(&self.c_fc.forward(&self.ln_2.forward(&x)));
        &x + self.c_proj.forward(&h)
    }
}

/// `torch.nn.TransformerEncoderLayer` (post-norm, ReLU, dropout): CLIPSeg's decoder blocks.
#[derive(Debug)]
pub struct EncoderLayer {
    self_attn: Attention,
    linear1: nn::Linear,
    linear2: nn::Linear,
    norm1: nn::LayerNorm,
    norm2: nn::LayerNorm,
    dropout: f64,
}

impl EncoderLayer {
    /// Width `dim`, `heads` heads, feed-forward width `ff`.
    pub fn new(p: nn::Path<'_>, dim: i64, heads: i64, ff: i64, dropout: f64) -> Self {
        Self {
            self_attn: Attention::new(&p / "self_attn", dim, heads),
            linear1: nn::linear(&p / "linear1", dim, ff, Default::default()),
            linear2: nn::linear(&p / "linear2", ff, dim, Default::default()),
            norm1: layer_norm(&p / "norm1", dim),
            norm2: layer_norm(&p / "norm2", dim),
            dropout,
        }
    }

    /// `x [B, L, d]`.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let a = self
            .self_attn
            .forward(x, x, x, None, false, if train { self.dropout } else { 0.0 })
            .dropout(self.dropout, train);
        let x = self.norm1.forward(&(x + a));
        let f = self
            .linear2
            .forward(&self.linear1.forward(&x).relu().dropout(self.dropout, train))
            .dropout(self.dropout, train);
        self.norm2.forward(&(x + f))
    }
}

/// CRIS's `conv_layer`: convolution without bias (`.0`), batch norm (`.1`), ReLU.
#[derive(Debug)]
pub struct ConvBnRelu {
    conv: nn::Conv2D,
    bn: nn::BatchNorm,
}

impl ConvBnRelu {
    /// `k × k` convolution from `i` to `o` channels with padding `k / 2`.
    pub fn new(p: nn::Path<'_>, i: i64, o: i64, k: i64) -> Self {
        Self {
            conv: nn::conv2d(
                &p / "0",
                i,
                o,
                k,
                nn::ConvConfig {
                    padding: k / 2,
                    bias: false,
                    ..Default::default()
                },
            ),
            bn: batch_norm2d(&p / "1", o),
        }
    }

    /// `x [B, i, H, W] → [B, o, H, W]`.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.bn.forward_t(&self.conv.forward(x), train).relu()
    }
}

/// Sinusoidal positions for a sequence: `[len, d]` (CRIS's `pos1d`).
pub fn sine_1d(d: i64, len: i64, device: tch::Device) -> Tensor {
    let pos = Tensor::arange(len, (Kind::Float, device)).unsqueeze(1);
    let div = (Tensor::arange_start_step(0, d, 2, (Kind::Float, device))
        * (-(10000f64.ln()) / d as f64))
        .exp();
    let arg = pos * div.unsqueeze(0);
    // Interleave sin (even channels) and cos (odd channels).
    Tensor::stack(&[arg.sin(), arg.cos()], 2).view([len, d])
}

/// Sinusoidal 2-D positions `[h·w, d]` (CRIS's `pos2d`): the first half of the channels encode
/// the column, the second half the row.
pub fn sine_2d(d: i64, h: i64, w: i64, device: tch::Device) -> Tensor {
    let half = d / 2;
    let col = sine_1d(half, w, device); // [w, half]
    let row = sine_1d(half, h, device); // [h, half]
    let col = col.unsqueeze(0).expand([h, w, half], false);
    let row = row.unsqueeze(1).expand([h, w, half], false);
    Tensor::cat(&[col, row], 2).view([h * w, d])
}

/// Total elements of the trainable variables of `vs` (what PyTorch's parameter count counts;
/// batch-norm running statistics are buffers and are not counted).
pub fn parameter_count(vs: &nn::VarStore) -> usize {
    vs.trainable_variables().iter().map(|t| t.numel()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn attention_matches_a_manual_computation() {
        let vs = nn::VarStore::new(Device::Cpu);
        let a = Attention::new(vs.root() / "a", 8, 2);
        let x = Tensor::randn([2, 5, 8], (Kind::Float, Device::Cpu));
        let y = a.forward(&x, &x, &x, None, false, 0.0);
        assert_eq!(y.size(), vec![2, 5, 8]);
        // Manual: per head softmax(q kᵀ / √dh) v.
        let w = a.in_w.chunk(3, 0);
        let b = a.in_b.chunk(3, 0);
        let q = x
            .linear(&w[0], Some(&b[0]))
            .view([2, 5, 2, 4])
            .transpose(1, 2);
        let k = x
            .linear(&w[1], Some(&b[1]))
            .view([2, 5, 2, 4])
            .transpose(1, 2);
        let v = x
            .linear(&w[2], Some(&b[2]))
            .view([2, 5, 2, 4])
            .transpose(1, 2);
        let att = (q.matmul(&k.transpose(2, 3)) / 2.0).softmax(-1, Kind::Float);
        let m = att.matmul(&v).transpose(1, 2).contiguous().view([2, 5, 8]);
        let expect = a.out.forward(&m);
        assert!(y.allclose(&expect, 1e-5, 1e-5, false));
    }

    #[test]
    fn padding_mask_hides_keys() {
        let vs = nn::VarStore::new(Device::Cpu);
        let a = Attention::new(vs.root() / "a", 8, 2);
        let q = Tensor::randn([1, 3, 8], (Kind::Float, Device::Cpu));
        let k = Tensor::randn([1, 4, 8], (Kind::Float, Device::Cpu));
        let pad = Tensor::from_slice(&[false, false, true, true]).view([1, 4]);
        let masked = a.forward(&q, &k, &k, Some(&pad), false, 0.0);
        // Changing the padded keys changes nothing.
        let k2 = Tensor::cat(&[k.narrow(1, 0, 2), k.narrow(1, 2, 2) * 7.0 + 3.0], 1);
        let masked2 = a.forward(&q, &k2, &k2, Some(&pad), false, 0.0);
        assert!(masked.allclose(&masked2, 1e-5, 1e-5, false));
        let open = a.forward(&q, &k2, &k2, None, false, 0.0);
        assert!(!masked.allclose(&open, 1e-3, 1e-3, false));
    }

    #[test]
    fn causal_attention_ignores_later_positions() {
        let vs = nn::VarStore::new(Device::Cpu);
        let blk = ClipBlock::new(vs.root() / "b", 8, 2);
        let x = Tensor::randn([1, 6, 8], (Kind::Float, Device::Cpu));
        let y = blk.forward(&x, true);
        let x2 = Tensor::cat(&[x.narrow(1, 0, 3), x.narrow(1, 3, 3) + 5.0], 1);
        let y2 = blk.forward(&x2, true);
        assert!(
            y.narrow(1, 0, 3)
                .allclose(&y2.narrow(1, 0, 3), 1e-5, 1e-5, false)
        );
        assert!(
            !y.narrow(1, 3, 3)
                .allclose(&y2.narrow(1, 3, 3), 1e-3, 1e-3, false)
        );
    }

    #[test]
    fn sine_positions_have_the_cris_layout() {
        let p = sine_1d(4, 3, Device::Cpu);
        // Position 1: sin(1), cos(1), sin(0.01), cos(0.01).
        let v: Vec<f32> = Vec::try_from(p.get(1)).unwrap();
        let expect = [1f32.sin(), 1f32.cos(), 0.01f32.sin(), 0.01f32.cos()];
        for (a, b) in v.iter().zip(expect) {
            assert!((a - b).abs() < 1e-5, "{v:?}");
        }
        let p2 = sine_2d(8, 2, 3, Device::Cpu);
        assert_eq!(p2.size(), vec![6, 8]);
        // Row 1, column 2 = index 5: column code of 2, row code of 1.
        let c: Vec<f32> = Vec::try_from(p2.get(5).narrow(0, 0, 4)).unwrap();
        let r: Vec<f32> = Vec::try_from(p2.get(5).narrow(0, 4, 4)).unwrap();
        let c2: Vec<f32> = Vec::try_from(sine_1d(4, 3, Device::Cpu).get(2)).unwrap();
        let r1: Vec<f32> = Vec::try_from(sine_1d(4, 2, Device::Cpu).get(1)).unwrap();
        assert_eq!(c, c2);
        assert_eq!(r, r1);
    }
}
