//! A plain-Rust forward pass of the student, written from the spec independently of any ONNX
//! runtime: slow, simple, and the yardstick that tract's output (and the tch model's) is checked
//! against.

use crate::onnx::Weights;
use crate::quant::{NoHook, PointHook};
use synboost_core::model::spec::ModelSpec;

/// A dense NCHW tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor4 {
    /// Batch, channels, height, width.
    pub shape: [usize; 4],
    /// Values, row-major.
    pub data: Vec<f32>,
}

impl Tensor4 {
    fn zeros(shape: [usize; 4]) -> Self {
        Self {
            shape,
            data: vec![0.0; shape.iter().product()],
        }
    }

    fn at(&self, n: usize, c: usize, y: usize, x: usize) -> f32 {
        let [_, cc, h, w] = self.shape;
        self.data[((n * cc + c) * h + y) * w + x]
    }
}

fn get<'a>(w: &'a Weights, name: &str) -> &'a [f32] {
    w.get(name).map_or(&[], Vec::as_slice)
}

/// 2-D convolution, square kernel `k`, padding `k/2`, with groups.
fn conv(
    x: &Tensor4,
    w: &[f32],
    b: &[f32],
    cout: usize,
    k: usize,
    stride: usize,
    groups: usize,
) -> Tensor4 {
    let [n, cin, h, wd] = x.shape;
    let pad = k / 2;
    let (ho, wo) = (
        (h + 2 * pad - k) / stride + 1,
        (wd + 2 * pad - k) / stride + 1,
    );
    let mut out = Tensor4::zeros([n, cout, ho, wo]);
    let (cin_g, cout_g) = (cin / groups, cout / groups);
    for bn in 0..n {
        for co in 0..cout {
            let g = co / cout_g;
            for oy in 0..ho {
                for ox in 0..wo {
                    let mut acc = b.get(co).copied().unwrap_or(0.0);
                    for ci in 0..cin_g {
                        for ky in 0..k {
                            for kx in 0..k {
                                let iy = (oy * stride + ky) as isize - pad as isize;
                                let ix = (ox * stride + kx) as isize - pad as isize;
                                if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                                    continue;
                                }
                                let wv = w[((co * cin_g + ci) * k + ky) * k + kx];
                                acc += wv * x.at(bn, g * cin_g + ci, iy as usize, ix as usize);
                            }
                        }
                    }
                    out.data[((bn * cout + co) * ho + oy) * wo + ox] = acc;
                }
            }
        }
    }
    out
}

fn relu(mut x: Tensor4) -> Tensor4 {
    x.data.iter_mut().for_each(|v| *v = v.max(0.0));
    x
}

fn up2(x: &Tensor4) -> Tensor4 {
    let [n, c, h, w] = x.shape;
    let mut out = Tensor4::zeros([n, c, 2 * h, 2 * w]);
    for b in 0..n {
        for ch in 0..c {
            for y in 0..2 * h {
                for xx in 0..2 * w {
                    out.data[((b * c + ch) * 2 * h + y) * 2 * w + xx] = x.at(b, ch, y / 2, xx / 2);
                }
            }
        }
    }
    out
}

fn repeat_batch(x: &Tensor4, s: usize) -> Tensor4 {
    if x.shape[0] == s {
        return x.clone();
    }
    let mut data = Vec::with_capacity(x.data.len() * s);
    for _ in 0..s {
        data.extend_from_slice(&x.data);
    }
    Tensor4 {
        shape: [s, x.shape[1], x.shape[2], x.shape[3]],
        data,
    }
}

/// The text branch: token ids (padded) → conditioning vector.
pub fn text_forward(spec: &ModelSpec, w: &Weights, tokens: &[i64]) -> Vec<f32> {
    let t = &spec.text;
    let embed = get(w, "text.embed.weight");
    let mut mean = vec![0.0f32; t.embed_dim];
    let mut count = 0usize;
    for &id in tokens.iter().filter(|&&i| i > 0) {
        let row = &embed[id as usize * t.embed_dim..(id as usize + 1) * t.embed_dim];
        mean.iter_mut().zip(row).for_each(|(m, r)| *m += r);
        count += 1;
    }
    let div = count.max(1) as f32;
    mean.iter_mut().for_each(|m| *m /= div);
    let dense = |x: &[f32], wn: &str, bn: &str, out: usize| -> Vec<f32> {
        let (wm, b) = (get(w, wn), get(w, bn));
        (0..out)
            .map(|o| {
                b[o] + x
                    .iter()
                    .enumerate()
                    .map(|(i, v)| v * wm[o * x.len() + i])
                    .sum::<f32>()
            })
            .collect()
    };
    let h: Vec<f32> = dense(&mean, "text.fc1.weight", "text.fc1.bias", t.hidden)
        .into_iter()
        .map(|v| v.max(0.0))
        .collect();
    dense(&h, "text.fc2.weight", "text.fc2.bias", spec.cond_dim())
}

/// The image branch: an 8-bit frame at the model's size and one conditioning vector per
/// structure → logits `[S, 1, H, W]`.
pub fn image_forward(spec: &ModelSpec, w: &Weights, frame: &[u8], cond: &[Vec<f32>]) -> Tensor4 {
    image_forward_hooked(spec, w, frame, cond, &mut NoHook)
}

/// [`image_forward`] calling `hook` at every quantisation point (see [`crate::quant`]): to
/// gather calibration ranges, or to round activations as the int8 graph does.
pub fn image_forward_hooked(
    spec: &ModelSpec,
    w: &Weights,
    frame: &[u8],
    cond: &[Vec<f32>],
    hook: &mut dyn PointHook,
) -> Tensor4 {
    let (hh, ww) = (spec.input.height, spec.input.width);
    let mut x = Tensor4 {
        shape: [1, 1, hh, ww],
        data: frame
            .iter()
            .map(|&v| (f32::from(v) / 255.0 - spec.input.mean) / spec.input.std)
            .collect(),
    };
    hook.at("input", &mut x);
    let mut skips = Vec::new();
    for (i, &c) in spec.encoder.iter().enumerate() {
        let mut y = relu(conv(
            &x,
            get(w, &format!("enc.{i}.conv.weight")),
            get(w, &format!("enc.{i}.conv.bias")),
            c,
            3,
            2,
            1,
        ));
        hook.at(&format!("enc.{i}.conv"), &mut y);
        let mut y = conv(
            &y,
            get(w, &format!("enc.{i}.dw.weight")),
            get(w, &format!("enc.{i}.dw.bias")),
            c,
            3,
            1,
            c,
        );
        hook.at(&format!("enc.{i}.dw"), &mut y);
        x = relu(conv(
            &y,
            get(w, &format!("enc.{i}.pw.weight")),
            get(w, &format!("enc.{i}.pw.bias")),
            c,
            1,
            1,
            1,
        ));
        hook.at(&format!("enc.{i}.pw"), &mut x);
        skips.push(x.clone());
    }
    let s = cond.len();
    let n = spec.encoder.len();
    let mut d = repeat_batch(&skips[n - 1], s);
    for (j, &c) in spec.decoder.iter().enumerate() {
        let cin = spec.decoder_in(j);
        let mut y = conv(
            &d,
            get(w, &format!("dec.{j}.dw.weight")),
            get(w, &format!("dec.{j}.dw.bias")),
            cin,
            3,
            1,
            cin,
        );
        hook.at(&format!("dec.{j}.dw"), &mut y);
        let mut y = conv(
            &y,
            get(w, &format!("dec.{j}.pw.weight")),
            get(w, &format!("dec.{j}.pw.bias")),
            c,
            1,
            1,
            1,
        );
        let off = spec.film_offset(j);
        let plane = y.shape[2] * y.shape[3];
        for (b, cv) in cond.iter().enumerate() {
            for ch in 0..c {
                let (gamma, beta) = (cv[off + ch], cv[off + c + ch]);
                for v in &mut y.data[(b * c + ch) * plane..(b * c + ch + 1) * plane] {
                    *v = *v * (1.0 + gamma) + beta;
                }
            }
        }
        let lat = conv(
            &skips[n - 2 - j],
            get(w, &format!("dec.{j}.lat.weight")),
            get(w, &format!("dec.{j}.lat.bias")),
            c,
            1,
            1,
            1,
        );
        let mut y = up2(&y);
        let per = lat.data.len();
        for b in 0..s {
            for (v, l) in y.data[b * per..(b + 1) * per].iter_mut().zip(&lat.data) {
                *v += l;
            }
        }
        d = relu(y);
        hook.at(&format!("dec.{j}.out"), &mut d);
    }
    up2(&conv(
        &d,
        get(w, "head.weight"),
        get(w, "head.bias"),
        1,
        1,
        1,
        1,
    ))
}
