//! Floating-point operations of the teachers per frame, counted the way
//! [`ModelSpec::image_flops`](synboost_core::model::spec::ModelSpec::image_flops) counts the
//! student's: 2 × the multiply-adds of convolutions, linear layers and attention products
//! (norms, activations, pooling and resampling are left out), for one frame and `structures`
//! prompts, with the prompt-independent image encoder run once and the prompt-dependent part
//! once per prompt. Text encoders are not counted: prompts repeat every frame and their
//! encodings are cached, as in the engine.

use super::TeacherConfig;
use super::clipseg::ClipSegConfig;
use super::cris::CrisConfig;

/// Operations of a teacher for one frame: (image encoder, prompt-dependent part per prompt).
pub fn split(cfg: &TeacherConfig) -> (u64, u64) {
    match cfg {
        TeacherConfig::ClipSeg(c) => clipseg(c),
        TeacherConfig::Cris(c) => cris(c),
    }
}

/// Operations for one frame and `structures` prompts.
pub fn per_frame(cfg: &TeacherConfig, structures: usize) -> u64 {
    let (enc, per) = split(cfg);
    2 * (enc + per * structures as u64)
}

/// Multiply-adds of a transformer block of width `d` over `n` tokens with feed-forward `ff`.
fn block(n: u64, d: u64, ff: u64) -> u64 {
    4 * n * d * d + 2 * n * n * d + 2 * n * d * ff
}

fn clipseg(c: &ClipSegConfig) -> (u64, u64) {
    let v = &c.vision;
    let (p, d) = (v.patch as u64, v.width as u64);
    let g = c.input as u64 / p;
    let n = g * g + 1;
    let blocks = c.extract.iter().copied().max().map_or(0, |m| m + 1) as u64;
    let stem = v.stem_channels();
    let embed = if stem.is_empty() {
        g * g * 3 * p * p * d
    } else {
        let (mut side, mut inc, mut ops) = (c.input as u64, 3u64, 0u64);
        for &ch in &stem {
            side /= 2;
            ops += side * side * 9 * inc * ch as u64;
            inc = ch as u64;
        }
        ops + g * g * inc * d
    };
    let encoder = embed + blocks * block(n, d, 4 * d);
    let r = c.reduce_dim as u64;
    let k = p / 4;
    let decoder = c.extract.len() as u64 * (n * d * r + block(n, r, c.decoder_ff as u64))
        + g * g * 9 * r * r
        + g * g * k * k * r * (r / 2)
        + (g * k) * (g * k) * 16 * (r / 2);
    (encoder, decoder)
}

fn cris(c: &CrisConfig) -> (u64, u64) {
    let s = c.input as u64;
    let v = &c.vision;
    let w = v.width as u64;
    // Stem at S/2, then pooled to S/4.
    let h = s / 2;
    let mut enc = h * h * 9 * (3 * (w / 2) + (w / 2) * (w / 2) + (w / 2) * w);
    let mut hw = s / 4;
    let mut inplanes = w;
    for (k, &blocks) in v.layers.iter().enumerate() {
        let planes = w << k;
        for j in 0..blocks {
            let stride = if k > 0 && j == 0 { 2 } else { 1 };
            let out = hw / stride;
            enc += hw * hw * inplanes * planes + hw * hw * planes * planes * 9;
            enc += out * out * planes * 4 * planes;
            if stride > 1 || inplanes != planes * 4 {
                enc += out * out * inplanes * 4 * planes;
            }
            inplanes = planes * 4;
            hw = out;
        }
    }
    // Attention pool over the C5 grid, with its residual projection.
    let (dim, e) = (w * 32, v.embed as u64);
    let n5 = hw * hw;
    enc += 3 * n5 * dim * dim + 2 * n5 * n5 * dim + 2 * n5 * dim * e;

    let i = c.vision.out_channels().map(|x| x as u64);
    let o = c.fpn_out.map(|x| x as u64);
    let (h5, h4, h3) = (s / 32, s / 16, s / 8);
    let (a5, a4, a3) = (h5 * h5, h4 * h4, h3 * h3);
    let neck = a5 * i[2] * o[2]
        + a4 * i[1] * o[1] * 9
        + a4 * (o[2] + o[1]) * o[1]
        + a3 * i[0] * o[0] * 9
        + a4 * (o[0] + o[1]) * o[1]
        + a5 * o[2] * o[1] * 9
        + 2 * a4 * o[1] * o[1] * 9
        + a4 * 3 * o[1] * o[1]
        + a4 * (o[1] + 2) * o[1] * 9
        + a4 * o[1] * o[1] * 9;
    let d = o[1];
    let l = c.text.context as u64;
    let n = a4;
    let ff = c.decoder_ff as u64;
    let layer = 4 * n * d * d + 2 * n * n * d // self-attention
        + 2 * n * d * d + 2 * l * d * d + 2 * n * l * d // cross-attention to the words
        + 2 * n * d * ff;
    let decoder = c.decoder_layers as u64 * layer;
    let (p2, p4) = (4 * a4, 16 * a4);
    let half = d / 2;
    let projector = p2 * d * d * 9 + p4 * d * half * 9 + p4 * half * half + p4 * half * 9;
    (enc, neck + decoder + projector)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::teacher::{TeacherKind, TeacherSize};

    #[test]
    fn paper_clipseg_costs_what_vit_b16_at_352_costs() {
        let cfg = TeacherConfig::preset(TeacherKind::ClipSeg, TeacherSize::Paper, 80, 32);
        let (enc, dec) = split(&cfg);
        // ViT-B/16 at 224² is about 17.5 G multiply-adds for 12 blocks (1.45 G a block); at
        // 352² (485 tokens) a block costs about 2.6× that, and CLIPSeg runs 10 of them.
        let gmacs = enc as f64 / 1e9;
        assert!((34.0..42.0).contains(&gmacs), "{gmacs} G multiply-adds");
        assert!(dec < enc / 5, "decoder {dec} vs encoder {enc}");
    }

    #[test]
    fn paper_cris_backbone_costs_what_rn50_at_416_costs() {
        let cfg = TeacherConfig::preset(TeacherKind::Cris, TeacherSize::Paper, 80, 32);
        let (enc, _) = split(&cfg);
        // torchvision's RN50 is 4.1 G multiply-adds at 224², 14 G at 416². CLIP's variant costs
        // more: a three-convolution stem (0.8 G more at 416²), the strided blocks' 3×3 at full
        // resolution before pooling, and the attention pool over 13² positions (3 G).
        let gmacs = enc as f64 / 1e9;
        assert!((17.0..24.0).contains(&gmacs), "{gmacs} G multiply-adds");
    }
}
