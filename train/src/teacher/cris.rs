//! The CRIS-like teacher (Wang et al., CVPR 2022: CLIP-driven referring image segmentation).
//!
//! ```text
//! frame ─ CLIP modified ResNet ─ C3, C4, C5 (attention-pooled) ─┐
//! prompt ─ CLIP text ─ sentence state ────────── FPN neck ──────┤ (C5 × projected state)
//!   FPN: fuse C5·state, C4, C3 at C4's scale → aggregate → coordinate conv → fq [B, vis, h, w]
//!   decoder: 3 layers of self-attention (2-D sine positions), cross-attention to the word
//!            features (1-D sine positions, padding masked), FFN → fq'
//!   projector: upsample ×4 with convs → [B, vis/2, 4h, 4w]; the sentence state becomes a
//!              per-sample 3×3 kernel + bias (dynamic convolution) → logits at 1/4 input,
//!              bilinearly upsampled to the input size
//! ```
//!
//! [`CrisConfig::paper`] is CRIS with CLIP RN50 at 416² (146.85 M parameters with CLIP's
//! vocabulary and 77 positions). Its threshold is 0.35, as in the seed.

use super::clip::{TextConfig, TextEncoder, clip_rgb};
use super::layers::{
    Attention, ConvBnRelu, batch_norm1d, layer_norm, linear_no_bias, sine_1d, sine_2d,
};
use super::resnet::{ModifiedResNet, ResNetConfig};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor, nn, nn::Module, nn::ModuleT};

/// Probability threshold of the CRIS teacher's masks (the seed's).
pub const CRIS_THRESHOLD: f32 = 0.35;

/// Shape of a CRIS-like teacher.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrisConfig {
    /// Input side, pixels (a multiple of 32).
    pub input: usize,
    /// Image encoder.
    pub vision: ResNetConfig,
    /// Text encoder (its `embed` is the sentence state's width).
    pub text: TextConfig,
    /// FPN output widths `[f3, f4 (= the decoder width), f5]`.
    pub fpn_out: [usize; 3],
    /// Decoder layers.
    pub decoder_layers: usize,
    /// Decoder heads.
    pub decoder_heads: usize,
    /// Decoder feed-forward width.
    pub decoder_ff: usize,
    /// Dropout of the decoder.
    pub dropout: f64,
}

impl CrisConfig {
    /// CRIS with CLIP RN50 at 416²: FPN 256/512/1024, decoder 3 × (512, 8 heads, 2048).
    pub fn paper(vocab_size: usize, context: usize) -> Self {
        Self {
            input: 416,
            vision: ResNetConfig {
                layers: [3, 4, 6, 3],
                width: 64,
                heads: 32,
                embed: 1024,
                pos_grid: 7,
            },
            text: TextConfig {
                vocab_size,
                context,
                width: 512,
                layers: 12,
                heads: 8,
                embed: 1024,
            },
            fpn_out: [256, 512, 1024],
            decoder_layers: 3,
            decoder_heads: 8,
            decoder_ff: 2048,
            dropout: 0.1,
        }
    }

    /// A reduced teacher for CPU training (about 15 pairs/s on two cores): ResNet 2-2-2-2 of
    /// width 16 at 224², text 4 × 64, FPN 32/64/128, decoder 2 × (64, 4 heads, 256).
    pub fn small(vocab_size: usize, context: usize) -> Self {
        Self {
            input: 224,
            vision: ResNetConfig {
                layers: [2, 2, 2, 2],
                width: 16,
                heads: 4,
                embed: 128,
                pos_grid: 7,
            },
            text: TextConfig {
                vocab_size,
                context,
                width: 64,
                layers: 4,
                heads: 4,
                embed: 128,
            },
            fpn_out: [32, 64, 128],
            decoder_layers: 2,
            decoder_heads: 4,
            decoder_ff: 256,
            dropout: 0.1,
        }
    }

    /// A tiny teacher for tests (64² input).
    pub fn tiny(vocab_size: usize, context: usize) -> Self {
        Self {
            input: 64,
            vision: ResNetConfig {
                layers: [1, 1, 1, 1],
                width: 8,
                heads: 2,
                embed: 32,
                pos_grid: 2,
            },
            text: TextConfig {
                vocab_size,
                context,
                width: 16,
                layers: 1,
                heads: 2,
                embed: 32,
            },
            fpn_out: [16, 16, 32],
            decoder_layers: 1,
            decoder_heads: 2,
            decoder_ff: 32,
            dropout: 0.0,
        }
    }

    /// Checks the shape is buildable.
    pub fn validate(&self) -> Result<(), String> {
        if self.input == 0 || !self.input.is_multiple_of(32) {
            return Err(format!("input {} must be a multiple of 32", self.input));
        }
        let v = &self.vision;
        if v.width < 2
            || !v.width.is_multiple_of(2)
            || v.heads == 0
            || !(v.width * 32).is_multiple_of(v.heads)
        {
            return Err(format!(
                "ResNet width {} must be even and 32·width divisible by {} heads",
                v.width, v.heads
            ));
        }
        let d = self.fpn_out[1];
        if self.decoder_heads == 0 || !d.is_multiple_of(self.decoder_heads) || !d.is_multiple_of(4)
        {
            return Err(format!(
                "decoder width {d} must be a multiple of 4 and of {} heads",
                self.decoder_heads
            ));
        }
        if self.text.width != d {
            return Err(format!(
                "the decoder attends to the word features: text width {} must equal the decoder \
                 width {d}",
                self.text.width
            ));
        }
        if self.text.heads == 0 || !self.text.width.is_multiple_of(self.text.heads) {
            return Err("text width is not a multiple of its heads".into());
        }
        Ok(())
    }
}

/// CRIS's neck.
#[derive(Debug)]
struct Fpn {
    txt_proj: (nn::Linear, nn::BatchNorm),
    f1_v_proj: ConvBnRelu,
    norm_layer: nn::BatchNorm,
    f2_v_proj: ConvBnRelu,
    f2_cat: ConvBnRelu,
    f3_v_proj: ConvBnRelu,
    f3_cat: ConvBnRelu,
    f4_proj5: ConvBnRelu,
    f4_proj4: ConvBnRelu,
    f4_proj3: ConvBnRelu,
    aggr: ConvBnRelu,
    coord: ConvBnRelu,
    coord2: ConvBnRelu,
}

fn up2(x: &Tensor) -> Tensor {
    let s = x.size();
    x.upsample_bilinear2d([s[2] * 2, s[3] * 2], false, None, None)
}

impl Fpn {
    fn new(p: nn::Path<'_>, cin: [usize; 3], cout: [usize; 3], state: usize) -> Self {
        let i = cin.map(|c| c as i64);
        let o = cout.map(|c| c as i64);
        Self {
            txt_proj: (
                linear_no_bias(&p / "txt_proj" / "0", state as i64, o[2]),
                batch_norm1d(&p / "txt_proj" / "1", o[2]),
            ),
            f1_v_proj: ConvBnRelu::new(&p / "f1_v_proj", i[2], o[2], 1),
            norm_layer: super::layers::batch_norm2d(&p / "norm_layer" / "0", o[2]),
            f2_v_proj: ConvBnRelu::new(&p / "f2_v_proj", i[1], o[1], 3),
            f2_cat: ConvBnRelu::new(&p / "f2_cat", o[2] + o[1], o[1], 1),
            f3_v_proj: ConvBnRelu::new(&p / "f3_v_proj", i[0], o[0], 3),
            f3_cat: ConvBnRelu::new(&p / "f3_cat", o[0] + o[1], o[1], 1),
            f4_proj5: ConvBnRelu::new(&p / "f4_proj5", o[2], o[1], 3),
            f4_proj4: ConvBnRelu::new(&p / "f4_proj4", o[1], o[1], 3),
            f4_proj3: ConvBnRelu::new(&p / "f4_proj3", o[1], o[1], 3),
            aggr: ConvBnRelu::new(&p / "aggr", 3 * o[1], o[1], 1),
            coord: ConvBnRelu::new(&p / "coordconv" / "0" / "conv1", o[1] + 2, o[1], 3),
            coord2: ConvBnRelu::new(&p / "coordconv" / "1", o[1], o[1], 3),
        }
    }

    fn forward_t(&self, v: &[Tensor; 3], state: &Tensor, train: bool) -> Tensor {
        let s = self
            .txt_proj
            .1
            .forward_t(&self.txt_proj.0.forward(state), train)
            .relu()
            .unsqueeze(-1)
            .unsqueeze(-1);
        let f5 = self.f1_v_proj.forward_t(&v[2], train);
        let f5 = self.norm_layer.forward_t(&(f5 * s), train).relu();
        let f4 = self.f2_v_proj.forward_t(&v[1], train);
        let f4 = self
            .f2_cat
            .forward_t(&Tensor::cat(&[f4, up2(&f5)], 1), train);
        let f3 = self.f3_v_proj.forward_t(&v[0], train);
        let f3 = f3.avg_pool2d([2, 2], [2, 2], [0, 0], false, true, None);
        let f3 = self
            .f3_cat
            .forward_t(&Tensor::cat(&[f3, f4.shallow_clone()], 1), train);
        let q5 = up2(&self.f4_proj5.forward_t(&f5, train));
        let q4 = self.f4_proj4.forward_t(&f4, train);
        let q3 = self.f4_proj3.forward_t(&f3, train);
        let fq = self.aggr.forward_t(&Tensor::cat(&[q3, q4, q5], 1), train);
        let fq = self.coord.forward_t(&add_coords(&fq), train);
        self.coord2.forward_t(&fq, train)
    }
}

/// CoordConv's input: `x` with two channels of x and y in [-1, 1] appended.
fn add_coords(x: &Tensor) -> Tensor {
    let s = x.size();
    let (b, h, w) = (s[0], s[2], s[3]);
    let opts = (Kind::Float, x.device());
    let xs = Tensor::linspace(-1.0, 1.0, w, opts)
        .view([1, 1, 1, w])
        .expand([b, 1, h, w], false);
    let ys = Tensor::linspace(-1.0, 1.0, h, opts)
        .view([1, 1, h, 1])
        .expand([b, 1, h, w], false);
    Tensor::cat(&[x.shallow_clone(), xs, ys], 1)
}

/// One CRIS decoder layer (pre-norm self- and cross-attention with extra norms, FFN).
#[derive(Debug)]
struct DecoderLayer {
    self_attn_norm: nn::LayerNorm,
    cross_attn_norm: nn::LayerNorm,
    self_attn: Attention,
    multihead_attn: Attention,
    ffn1: nn::Linear,
    ffn_norm: nn::LayerNorm,
    ffn2: nn::Linear,
    norm1: nn::LayerNorm,
    norm2: nn::LayerNorm,
    norm3: nn::LayerNorm,
    dropout: f64,
}

impl DecoderLayer {
    fn new(p: nn::Path<'_>, d: i64, heads: i64, ff: i64, dropout: f64) -> Self {
        Self {
            self_attn_norm: layer_norm(&p / "self_attn_norm", d),
            cross_attn_norm: layer_norm(&p / "cross_attn_norm", d),
            self_attn: Attention::new(&p / "self_attn", d, heads),
            multihead_attn: Attention::new(&p / "multihead_attn", d, heads),
            ffn1: nn::linear(&p / "ffn" / "0", d, ff, Default::default()),
            ffn_norm: layer_norm(&p / "ffn" / "3", ff),
            ffn2: nn::linear(&p / "ffn" / "4", ff, d, Default::default()),
            norm1: layer_norm(&p / "norm1", d),
            norm2: layer_norm(&p / "norm2", d),
            norm3: layer_norm(&p / "norm3", d),
            dropout,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn forward_t(
        &self,
        vis: &Tensor,
        txt: &Tensor,
        vis_pos: &Tensor,
        txt_pos: &Tensor,
        pad: &Tensor,
        train: bool,
    ) -> Tensor {
        let dp = self.dropout;
        let v2 = self.norm1.forward(vis);
        let q = &v2 + vis_pos;
        let adp = if train { dp } else { 0.0 };
        let v2 = self.self_attn.forward(&q, &q, &v2, None, false, adp);
        let vis = vis + self.self_attn_norm.forward(&v2).dropout(dp, train);
        let v2 = self.norm2.forward(&vis);
        let v2 = self.multihead_attn.forward(
            &(&v2 + vis_pos),
            &(txt + txt_pos),
            txt,
            Some(pad),
            false,
            adp,
        );
        let vis = &vis + self.cross_attn_norm.forward(&v2).dropout(dp, train);
        let v2 = self.norm3.forward(&vis);
        let v2 = self.ffn1.forward(&v2).relu().dropout(dp, train);
        let v2 = self.ffn2.forward(&self.ffn_norm.forward(&v2));
        &vis + v2.dropout(dp, train)
    }
}

/// The CRIS-like teacher's modules.
#[derive(Debug)]
pub struct Cris {
    vision: ModifiedResNet,
    text: TextEncoder,
    neck: Fpn,
    layers: Vec<DecoderLayer>,
    norm: nn::LayerNorm,
    proj_vis: (ConvBnRelu, ConvBnRelu, nn::Conv2D),
    proj_txt: nn::Linear,
    cfg: CrisConfig,
}

impl Cris {
    /// Build under `root`: `visual.*` and the CLIP text names at the top level, then `neck.*`,
    /// `decoder.*` and `proj.*` as in CRIS.
    pub fn new(root: &nn::Path<'_>, cfg: &CrisConfig) -> Result<Self, String> {
        cfg.validate()?;
        let d = cfg.fpn_out[1] as i64;
        let half = d / 2;
        let dec = root / "decoder";
        let proj = root / "proj";
        Ok(Self {
            vision: ModifiedResNet::new(&(root / "visual"), &cfg.vision),
            text: TextEncoder::new(root, &cfg.text),
            neck: Fpn::new(
                root / "neck",
                cfg.vision.out_channels(),
                cfg.fpn_out,
                cfg.text.embed,
            ),
            layers: (0..cfg.decoder_layers)
                .map(|i| {
                    DecoderLayer::new(
                        &dec / "layers" / i,
                        d,
                        cfg.decoder_heads as i64,
                        cfg.decoder_ff as i64,
                        cfg.dropout,
                    )
                })
                .collect(),
            norm: layer_norm(&dec / "norm", d),
            proj_vis: (
                ConvBnRelu::new(&proj / "vis" / "1", d, d, 3),
                ConvBnRelu::new(&proj / "vis" / "3", d, half, 3),
                nn::conv2d(&proj / "vis" / "4", half, half, 1, Default::default()),
            ),
            proj_txt: nn::linear(
                &proj / "txt",
                cfg.text.embed as i64,
                half * 9 + 1,
                Default::default(),
            ),
            cfg: cfg.clone(),
        })
    }

    /// The shape.
    pub fn config(&self) -> &CrisConfig {
        &self.cfg
    }

    /// Frames `[B, 1, S, S]` (0–255) and token ids `[B, L]` → logits `[B, 1, S, S]`.
    pub fn forward_t(&self, frames: &Tensor, tokens: &Tensor, train: bool) -> Tensor {
        let dev = frames.device();
        let text = self.text.forward(tokens);
        let feats = self.vision.forward_t(&clip_rgb(frames), train);
        let fq = self.neck.forward_t(&feats, &text.sentence, train);
        let s = fq.size();
        let (b, c, h, w) = (s[0], s[1], s[2], s[3]);
        let vis_pos = sine_2d(c, h, w, dev).unsqueeze(0);
        let l = text.words.size()[1];
        let txt_pos = sine_1d(c, l, dev).unsqueeze(0);
        let mut vis = fq.flatten(2, 3).transpose(1, 2); // [B, hw, c]
        for layer in &self.layers {
            vis = layer.forward_t(&vis, &text.words, &vis_pos, &txt_pos, &text.padding, train);
        }
        let fq = self
            .norm
            .forward(&vis)
            .transpose(1, 2)
            .reshape([b, c, h, w]);
        // Projector: ×4 to 1/4 of the input, then the per-sample dynamic 3×3 kernel.
        let x = self.proj_vis.0.forward_t(&up2(&fq), train);
        let x = self.proj_vis.1.forward_t(&up2(&x), train);
        let x = self.proj_vis.2.forward(&x);
        let xs = x.size();
        let (half, ph, pw) = (xs[1], xs[2], xs[3]);
        let k = self.proj_txt.forward(&text.sentence);
        let weight = k.narrow(1, 0, half * 9).reshape([b, half, 3, 3]);
        let bias = k.narrow(1, half * 9, 1).reshape([b]);
        let out = x
            .reshape([1, b * half, ph, pw])
            .conv2d(&weight, Some(&bias), [1, 1], [1, 1], [1, 1], b)
            .reshape([b, 1, ph, pw]);
        out.upsample_bilinear2d([ph * 4, pw * 4], false, None, None)
    }
}
