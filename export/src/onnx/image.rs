//! The image graph, written once for both variants: every convolution goes through
//! [`Builder::conv`], which writes a float `Conv` in the f32 graph and an integer one in the
//! int8 graph.
//!
//! The int8 graph has two forms ([`Int8Form`]). **QDQ**: every quantisation point is
//! `QuantizeLinear → DequantizeLinear` and convolutions read `DequantizeLinear` of their s8
//! weights and s32 biases — the form runtimes fuse into integer kernels themselves (ONNX
//! Runtime does). **Integer**: the graph computes in integers wherever the result is quantised
//! again (see [`crate::quant`] for the points):
//!
//! - a convolution whose output is a quantisation point is one `QLinearConv`: u8 input, s8
//!   weights (one scale per output channel, zero point 0), s32 bias, u8 output at the point's
//!   scale; a ReLU before the point is the saturation at its zero point, which is 0 for a ReLU
//!   output (its range starts at 0);
//! - a convolution whose output stays float (the decoder's 1×1 before FiLM, the lateral 1×1,
//!   the head) is `ConvInteger` (u8 × s8 → s32) followed by `Cast`, the per-channel scale
//!   `s_input · s_weight` and the bias;
//! - the frame is the first convolution's u8 input as it is: normalisation `(f/255 − mean)/std`
//!   is the affine grid `scale = 1/(255·std)`, `zero point = 255·mean` when that is a whole
//!   code (a `QuantizeLinear` of the normalised frame otherwise);
//! - FiLM, the ×2 upsampling and the skip sum stay float and are quantised (`QuantizeLinear`)
//!   at the stage output.

use super::graph::{Graph, attr_i, value_info, weight};
use super::{FLOAT, INT8, INT32, Int8Form, OnnxError, UINT8, Weights};
use crate::quant::{ActQuant, Quantization, input_point, quantize_bias, quantize_weight};
use synboost_core::model::spec::ModelSpec;

/// A tensor of the graph being written: float, or u8 codes on a grid.
#[derive(Debug, Clone)]
enum Act {
    /// Float values.
    Float(String),
    /// u8 codes with their scale and zero point.
    Quant(String, ActQuant),
}

/// A convolution's s8 weight codes and s32 bias codes, with the grid of its input point.
struct Codes {
    shape: Vec<usize>,
    cout: usize,
    input: ActQuant,
    weights: Vec<i8>,
    weight_scales: Vec<f32>,
    bias: Vec<i32>,
    bias_scales: Vec<f32>,
}

/// Writes the image graph of one variant.
struct Builder<'a> {
    g: Graph,
    spec: &'a ModelSpec,
    weights: &'a Weights,
    q: Option<&'a Quantization>,
    form: Int8Form,
}

impl Act {
    /// The tensor's name.
    fn name(self) -> String {
        match self {
            Act::Float(n) | Act::Quant(n, _) => n,
        }
    }
}

impl Builder<'_> {
    /// Whether this is the QDQ int8 graph (quantise–dequantise pairs around float ops).
    fn qdq(&self) -> bool {
        self.q.is_some() && self.form == Int8Form::Qdq
    }

    /// The scale and zero point of `point` as graph initialisers.
    fn grid(&mut self, point: &str, a: ActQuant) -> (String, String) {
        let s = self.g.f32(&format!("{point}.scale"), &[], vec![a.scale]);
        let z = self.g.raw(
            &format!("{point}.zero_point"),
            UINT8,
            &[],
            vec![a.zero_point],
        );
        (s, z)
    }

    /// The normalised frame: float, or (int8) the frame's own codes.
    fn input(&mut self) -> Result<Act, OnnxError> {
        let spec = self.spec;
        if let (Some(q), Int8Form::Integer) = (self.q, self.form) {
            let a = q.get("input")?;
            if Some(a) == ActQuant::of_frames(spec.input.mean, spec.input.std) {
                return Ok(Act::Quant("frame".into(), a));
            }
        }
        let x = self
            .g
            .op("Cast", &["frame"], vec![attr_i("to", i64::from(FLOAT))]);
        let a = self.g.const_f32(1.0 / (255.0 * spec.input.std));
        let b = self.g.const_f32(-spec.input.mean / spec.input.std);
        let x = self.g.op("Mul", &[&x, &a], vec![]);
        let x = self.g.op("Add", &[&x, &b], vec![]);
        self.quantize(Act::Float(x), "input")
    }

    /// `x` on the grid of `point` (int8 graphs: u8 codes, or in QDQ form their float values);
    /// unchanged in the f32 graph.
    fn quantize(&mut self, x: Act, point: &str) -> Result<Act, OnnxError> {
        let (Some(q), Act::Float(name)) = (self.q, &x) else {
            return Ok(x);
        };
        let a = q.get(point)?;
        let (s, z) = self.grid(point, a);
        let qx = self.g.op("QuantizeLinear", &[name, &s, &z], vec![]);
        if self.qdq() {
            return Ok(Act::Float(self.g.op(
                "DequantizeLinear",
                &[&qx, &s, &z],
                vec![],
            )));
        }
        Ok(Act::Quant(qx, a))
    }

    /// The quantised parameters of `conv`: per-channel s8 weights and s32 biases at scale
    /// `s_input · s_weight`, `s_input` the scale of the point that feeds it.
    fn codes(&self, conv: &str) -> Result<Codes, OnnxError> {
        let q = self.q.ok_or_else(|| OnnxError::Missing(conv.into()))?;
        let (wn, bn) = (format!("{conv}.weight"), format!("{conv}.bias"));
        let shape = self
            .g
            .shapes
            .get(&wn)
            .cloned()
            .ok_or_else(|| OnnxError::Missing(wn.clone()))?;
        let cout = shape.first().copied().unwrap_or(1);
        let point = input_point(self.spec, conv).ok_or_else(|| OnnxError::Missing(conv.into()))?;
        let input = q.get(&point)?;
        let w = self
            .weights
            .get(&wn)
            .ok_or_else(|| OnnxError::Missing(wn.clone()))?;
        let b = self
            .weights
            .get(&bn)
            .ok_or_else(|| OnnxError::Missing(bn.clone()))?;
        let (weights, weight_scales) = quantize_weight(w, cout);
        let (bias, bias_scales) = quantize_bias(b, input.scale, &weight_scales);
        Ok(Codes {
            shape,
            cout,
            input,
            weights,
            weight_scales,
            bias,
            bias_scales,
        })
    }

    /// The s8 weight codes of `conv` as an initialiser.
    fn weight_codes(&mut self, conv: &str, c: &Codes) -> String {
        self.g.raw(
            &format!("{conv}.weight_quantized"),
            INT8,
            &c.shape,
            c.weights.iter().map(|&v| v as u8).collect(),
        )
    }

    /// QDQ form: the weight and bias of `conv` as `DequantizeLinear` of per-channel s8 codes
    /// and s32 codes at scale `s_input · s_weight`.
    fn qdq_params(&mut self, conv: &str) -> Result<(String, String), OnnxError> {
        let c = self.codes(conv)?;
        let (wn, bn, cout) = (format!("{conv}.weight"), format!("{conv}.bias"), c.cout);
        let wq = self.weight_codes(conv, &c);
        let wsn = self.g.f32(&format!("{wn}_scale"), &[cout], c.weight_scales);
        let wz = self
            .g
            .raw(&format!("{wn}_zero_point"), INT8, &[cout], vec![0; cout]);
        let wd = self.g.op(
            "DequantizeLinear",
            &[&wq, &wsn, &wz],
            vec![attr_i("axis", 0)],
        );
        let bq = self.g.raw(
            &format!("{bn}_quantized"),
            INT32,
            &[cout],
            c.bias.iter().flat_map(|v| v.to_le_bytes()).collect(),
        );
        let bsn = self.g.f32(&format!("{bn}_scale"), &[cout], c.bias_scales);
        let bd = self
            .g
            .op("DequantizeLinear", &[&bq, &bsn], vec![attr_i("axis", 0)]);
        Ok((wd, bd))
    }

    /// The convolution `conv` (square kernel `k`, padding `k/2`) of `x`, with a ReLU after it
    /// when `relu`; its output quantised at `out` in the int8 graph (float when `None`).
    #[allow(clippy::too_many_arguments)]
    fn conv(
        &mut self,
        x: &Act,
        conv: &str,
        k: i64,
        stride: i64,
        group: i64,
        relu: bool,
        out: Option<&str>,
    ) -> Result<Act, OnnxError> {
        let (wn, bn) = (format!("{conv}.weight"), format!("{conv}.bias"));
        let (Some(q), Act::Quant(xn, xq)) = (self.q, x) else {
            let xn = x.clone().name();
            let (w, b) = if self.qdq() {
                self.qdq_params(conv)?
            } else {
                (
                    weight(&mut self.g, self.weights, &wn)?,
                    weight(&mut self.g, self.weights, &bn)?,
                )
            };
            let y = self.g.conv(&xn, &w, &b, k, stride, group);
            let y = if relu {
                self.g.op("Relu", &[&y], vec![])
            } else {
                y
            };
            return match out {
                Some(p) => self.quantize(Act::Float(y), p),
                None => Ok(Act::Float(y)),
            };
        };
        let (xn, xq) = (xn.clone(), *xq);
        let c = self.codes(conv)?;
        // The point the quantiser calibrated this convolution's input at must be the grid the
        // input is on.
        if c.input != xq {
            return Err(OnnxError::Grid {
                conv: conv.into(),
                point: input_point(self.spec, conv).unwrap_or_default(),
            });
        }
        let cout = c.cout;
        let wq = self.weight_codes(conv, &c);
        let wz = self.g.raw(&format!("{wn}_zero_point"), INT8, &[], vec![0]);
        let xz = self.g.raw(
            &format!("{conv}.x.zero_point"),
            UINT8,
            &[],
            vec![xq.zero_point],
        );
        let p = k / 2;
        let attrs = vec![
            super::graph::attr_ints("kernel_shape", &[k, k]),
            super::graph::attr_ints("strides", &[stride, stride]),
            super::graph::attr_ints("pads", &[p, p, p, p]),
            attr_i("group", group),
        ];
        if let Some(out) = out {
            let yq = q.get(out)?;
            if relu && yq.zero_point != 0 {
                // A ReLU output's range starts at 0, so its zero point is 0 and the ReLU is
                // the saturation; anything else is a calibration that does not fit the graph.
                return Err(OnnxError::Grid {
                    conv: conv.into(),
                    point: out.into(),
                });
            }
            let wsn = self.g.f32(&format!("{wn}_scale"), &[cout], c.weight_scales);
            let bq = self.g.raw(
                &format!("{bn}_quantized"),
                INT32,
                &[cout],
                c.bias.iter().flat_map(|v| v.to_le_bytes()).collect(),
            );
            let xs = self.g.f32(&format!("{conv}.x.scale"), &[], vec![xq.scale]);
            let (ys, yz) = self.grid(out, yq);
            let y = self.g.op(
                "QLinearConv",
                &[&xn, &xs, &xz, &wq, &wsn, &wz, &ys, &yz, &bq],
                attrs,
            );
            return Ok(Act::Quant(y, yq));
        }
        let acc = self.g.op("ConvInteger", &[&xn, &wq, &xz, &wz], attrs);
        let accf = self
            .g
            .op("Cast", &[&acc], vec![attr_i("to", i64::from(FLOAT))]);
        let bias: Vec<f32> = (c.bias.iter().zip(&c.bias_scales))
            .map(|(&v, s)| v as f32 * s)
            .collect();
        let scale = self
            .g
            .f32(&format!("{wn}_acc_scale"), &[1, cout, 1, 1], c.bias_scales);
        let bias = self
            .g
            .f32(&format!("{bn}_dequantized"), &[1, cout, 1, 1], bias);
        let y = self.g.op("Mul", &[&accf, &scale], vec![]);
        let y = self.g.op("Add", &[&y, &bias], vec![]);
        let y = if relu {
            self.g.op("Relu", &[&y], vec![])
        } else {
            y
        };
        Ok(Act::Float(y))
    }
}

/// The image graph, encoded: float32 without `q`, int8 in `form` with it.
pub(super) fn image_graph(
    spec: &ModelSpec,
    weights: &Weights,
    q: Option<&Quantization>,
    form: Int8Form,
) -> Result<Vec<u8>, OnnxError> {
    super::check_weights(spec, weights)?;
    let mut b = Builder {
        g: Graph::new(spec),
        spec,
        weights,
        q,
        form,
    };
    let s = spec.structures.len();
    let (hh, ww) = (spec.input.height, spec.input.width);
    let mut x = b.input()?;
    let mut skips = Vec::new();
    for (i, &c) in spec.encoder.iter().enumerate() {
        let (pc, pd, pp) = (
            format!("enc.{i}.conv"),
            format!("enc.{i}.dw"),
            format!("enc.{i}.pw"),
        );
        let y = b.conv(&x, &pc, 3, 2, 1, true, Some(&pc))?;
        let y = b.conv(&y, &pd, 3, 1, c as i64, false, Some(&pd))?;
        x = b.conv(&y, &pp, 1, 1, 1, true, Some(&pp))?;
        skips.push(x.clone());
    }
    let n = spec.encoder.len();
    let mut d = skips
        .last()
        .cloned()
        .ok_or_else(|| OnnxError::Missing("enc.0.conv.weight".into()))?;
    for (j, &c) in spec.decoder.iter().enumerate() {
        let cin = spec.decoder_in(j);
        let dw = format!("dec.{j}.dw");
        let y = b.conv(&d, &dw, 3, 1, cin as i64, false, Some(&dw))?;
        // Without an output point a convolution's result is float.
        let y = b
            .conv(&y, &format!("dec.{j}.pw"), 1, 1, 1, false, None)?
            .name();
        let y = film(&mut b.g, spec, &y, j, c, s);
        let up = b.g.upsample2(&y);
        let skip = skips
            .get(n - 2 - j)
            .cloned()
            .ok_or_else(|| OnnxError::Missing(format!("enc.{}.pw.weight", n - 2 - j)))?;
        // Batch 1, broadcast over the S structures by the Add.
        let lat = b
            .conv(&skip, &format!("dec.{j}.lat"), 1, 1, 1, false, None)?
            .name();
        let y = b.g.op("Add", &[&up, &lat], vec![]);
        let y = b.g.op("Relu", &[&y], vec![]);
        d = b.quantize(Act::Float(y), &format!("dec.{j}.out"))?;
    }
    let y = b.conv(&d, "head", 1, 1, 1, false, None)?.name();
    b.g.upsample2(&y);
    if let Some(node) = b.g.nodes.last_mut() {
        node.output = vec!["logits".into()];
    }
    let name = if q.is_some() {
        "synboost_image_int8"
    } else {
        "synboost_image"
    };
    Ok(b.g.finish(
        name,
        vec![
            value_info("frame", UINT8, &[1, 1, hh, ww]),
            value_info("cond", FLOAT, &[s, spec.cond_dim()]),
        ],
        vec![value_info("logits", FLOAT, &[s, 1, hh, ww])],
    ))
}

/// FiLM of decoder stage `j` (`c` channels): `y · (1 + γ) + β`, γ and β sliced from the
/// conditioning rows (one per structure, broadcast from batch 1 at the first stage).
fn film(g: &mut Graph, spec: &ModelSpec, y: &str, j: usize, c: usize, s: usize) -> String {
    let off = spec.film_offset(j) as i64;
    let c64 = c as i64;
    let axes = g.const_i64(&[1]);
    let (gs, ge) = (g.const_i64(&[off]), g.const_i64(&[off + c64]));
    let gamma = g.op("Slice", &["cond", &gs, &ge, &axes], vec![]);
    let (bs, be) = (g.const_i64(&[off + c64]), g.const_i64(&[off + 2 * c64]));
    let beta = g.op("Slice", &["cond", &bs, &be, &axes], vec![]);
    let shape4 = g.const_i64(&[s as i64, c64, 1, 1]);
    let gamma = g.op("Reshape", &[&gamma, &shape4], vec![]);
    let beta = g.op("Reshape", &[&beta, &shape4], vec![]);
    let one = g.const_f32(1.0);
    let scale = g.op("Add", &[&gamma, &one], vec![]);
    let y = g.op("Mul", &[y, &scale], vec![]);
    g.op("Add", &[&y, &beta], vec![])
}
