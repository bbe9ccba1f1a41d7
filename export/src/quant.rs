//! Static int8 quantisation of the student (QDQ form): per-channel symmetric s8 weights and
//! per-tensor asymmetric u8 activations whose ranges come from calibration.
//!
//! Quantisation points are the activation tensors that feed a convolution, named after the
//! operation that produced them:
//!
//! | point | tensor |
//! |---|---|
//! | `input` | the normalised frame |
//! | `enc.{i}.conv` | ReLU(stride-2 conv) of encoder stage `i` (the depthwise input) |
//! | `enc.{i}.dw` | depthwise output of encoder stage `i` (the 1×1 input) |
//! | `enc.{i}.pw` | ReLU(1×1 conv), the output of encoder stage `i` (skip and next input) |
//! | `dec.{j}.dw` | depthwise output of decoder stage `j` (the 1×1 input) |
//! | `dec.{j}.out` | ReLU(upsampled FiLM(1×1 conv) + lateral skip), the output of stage `j` |
//!
//! Each point is a tensor of u8 codes in the int8 graph; convolutions use per-channel s8
//! weights and an int32 bias with scale `s_input · s_weight`. The logits stay float.
//! [`FakeQuant`] applies this rounding inside the plain-Rust reference, which is how the int8
//! graph is checked.
//!
//! Ranges are the minimum and maximum seen over the calibration frames, widened to include 0 (so
//! that 0 and ReLU's floor are exact). The `input` point is the frame's own grid
//! ([`ActQuant::of_frames`]) when the normalisation allows it.
//!
//! The int8 graph ([`crate::onnx::image_model_int8`]) computes each convolution in integers and
//! rounds at the same points; its requantisation is fixed-point, so a value within a rounding
//! error of a code boundary may land one code from [`FakeQuant`]'s.

use crate::onnx::Weights;
use crate::reference::Tensor4;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use synboost_core::model::spec::ModelSpec;

/// Observed range of one activation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Range {
    /// Smallest value seen.
    pub min: f32,
    /// Largest value seen.
    pub max: f32,
}

/// Activation ranges per quantisation point, gathered over calibration frames.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Range per point name.
    pub ranges: BTreeMap<String, Range>,
    /// Number of frames observed.
    pub frames: usize,
}

/// u8 affine quantisation of one activation: `x ≈ (q − zero_point) · scale`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ActQuant {
    /// Step between adjacent codes.
    pub scale: f32,
    /// Code of 0.0.
    pub zero_point: u8,
}

/// Errors building quantisation parameters.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QuantError {
    /// A point has no calibration range.
    #[error("calibration has no range for quantisation point {0:?}")]
    MissingPoint(String),
    /// A range is not finite or inverted.
    #[error("calibration range of {point:?} is invalid: [{min}, {max}]")]
    BadRange {
        /// Point.
        point: String,
        /// Minimum.
        min: f32,
        /// Maximum.
        max: f32,
    },
    /// No frames were observed.
    #[error("calibration observed no frames")]
    Empty,
}

/// The quantisation points of a spec, in graph order.
pub fn points(spec: &ModelSpec) -> Vec<String> {
    let mut v = vec!["input".to_string()];
    for i in 0..spec.encoder.len() {
        for part in ["conv", "dw", "pw"] {
            v.push(format!("enc.{i}.{part}"));
        }
    }
    for j in 0..spec.decoder.len() {
        for part in ["dw", "out"] {
            v.push(format!("dec.{j}.{part}"));
        }
    }
    v
}

/// The point whose tensor feeds the convolution named `conv` (`enc.0.conv`, `dec.1.pw`, `head`).
pub fn input_point(spec: &ModelSpec, conv: &str) -> Option<String> {
    let parts: Vec<&str> = conv.split('.').collect();
    match parts.as_slice() {
        ["head"] => spec
            .decoder
            .len()
            .checked_sub(1)
            .map(|j| format!("dec.{j}.out")),
        ["enc", i, part] => {
            let i: usize = i.parse().ok()?;
            match *part {
                "conv" if i == 0 => Some("input".into()),
                "conv" => Some(format!("enc.{}.pw", i - 1)),
                "dw" => Some(format!("enc.{i}.conv")),
                "pw" => Some(format!("enc.{i}.dw")),
                _ => None,
            }
        }
        ["dec", j, part] => {
            let j: usize = j.parse().ok()?;
            let n = spec.encoder.len();
            match *part {
                "dw" if j == 0 => n.checked_sub(1).map(|i| format!("enc.{i}.pw")),
                "dw" => Some(format!("dec.{}.out", j - 1)),
                "pw" => Some(format!("dec.{j}.dw")),
                "lat" => n.checked_sub(2 + j).map(|i| format!("enc.{i}.pw")),
                _ => None,
            }
        }
        _ => None,
    }
}

impl ActQuant {
    /// The grid the frame's own u8 codes are on after normalisation `(f/255 − mean)/std`:
    /// scale `1/(255·std)`, zero point `255·mean`, when that is a whole code in 0..=255 (so the
    /// quantised input is the frame itself, exactly); `None` otherwise.
    pub fn of_frames(mean: f32, std: f32) -> Option<Self> {
        let z = 255.0 * mean;
        let whole = (z - z.round()).abs() <= 1e-3 && (0.0..=255.0).contains(&z.round());
        (whole && std > 0.0 && std.is_finite()).then(|| Self {
            scale: 1.0 / (255.0 * std),
            zero_point: z.round() as u8,
        })
    }

    /// Parameters covering `range` (widened to include 0) with 256 codes.
    pub fn from_range(r: Range) -> Self {
        let (lo, hi) = (r.min.min(0.0), r.max.max(0.0));
        let scale = if hi > lo { (hi - lo) / 255.0 } else { 1.0 };
        let zero_point = (-lo / scale).round_ties_even().clamp(0.0, 255.0) as u8;
        Self { scale, zero_point }
    }

    /// Quantise one value (ONNX `QuantizeLinear`: round half to even, saturate).
    pub fn quantize(&self, x: f32) -> u8 {
        ((x / self.scale).round_ties_even() + f32::from(self.zero_point)).clamp(0.0, 255.0) as u8
    }

    /// Dequantise one code.
    pub fn dequantize(&self, q: u8) -> f32 {
        (f32::from(q) - f32::from(self.zero_point)) * self.scale
    }
}

/// Per-channel symmetric s8 quantisation of a weight whose first dimension is the output
/// channel: codes in −127..=127 and one scale per channel.
pub fn quantize_weight(w: &[f32], channels: usize) -> (Vec<i8>, Vec<f32>) {
    let per = w.len() / channels.max(1);
    let mut codes = Vec::with_capacity(w.len());
    let mut scales = Vec::with_capacity(channels);
    for c in 0..channels {
        let row = w.get(c * per..(c + 1) * per).unwrap_or(&[]);
        let m = row.iter().fold(0.0f32, |a, v| a.max(v.abs()));
        let s = if m > 0.0 { m / 127.0 } else { 1.0 };
        scales.push(s);
        codes.extend(
            row.iter()
                .map(|v| (v / s).round_ties_even().clamp(-127.0, 127.0) as i8),
        );
    }
    (codes, scales)
}

/// Quantise a bias to int32 with per-channel scale `s_input · s_weight[c]`.
pub fn quantize_bias(b: &[f32], input_scale: f32, weight_scales: &[f32]) -> (Vec<i32>, Vec<f32>) {
    let scales: Vec<f32> = weight_scales.iter().map(|s| s * input_scale).collect();
    let codes = b
        .iter()
        .zip(&scales)
        .map(|(v, s)| (v / s).round_ties_even().clamp(-2.0e9, 2.0e9) as i32)
        .collect();
    (codes, scales)
}

/// Quantisation parameters for every point of a spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quantization {
    /// Parameters per point.
    pub points: BTreeMap<String, ActQuant>,
}

impl Quantization {
    /// Parameters from calibration ranges; every point of the spec must have one.
    pub fn from_calibration(spec: &ModelSpec, cal: &Calibration) -> Result<Self, QuantError> {
        if cal.frames == 0 {
            return Err(QuantError::Empty);
        }
        let mut points = BTreeMap::new();
        for p in self::points(spec) {
            let r = *cal
                .ranges
                .get(&p)
                .ok_or_else(|| QuantError::MissingPoint(p.clone()))?;
            if !(r.min.is_finite() && r.max.is_finite() && r.min <= r.max) {
                return Err(QuantError::BadRange {
                    point: p,
                    min: r.min,
                    max: r.max,
                });
            }
            points.insert(p, ActQuant::from_range(r));
        }
        // The normalised frame needs no calibration when its grid is the frame's codes.
        if let Some(a) = ActQuant::of_frames(spec.input.mean, spec.input.std) {
            points.insert("input".into(), a);
        }
        Ok(Self { points })
    }

    /// Parameters of one point.
    pub fn get(&self, point: &str) -> Result<ActQuant, QuantError> {
        self.points
            .get(point)
            .copied()
            .ok_or_else(|| QuantError::MissingPoint(point.into()))
    }

    /// The weights as the int8 graph sees them: per-channel s8 weights and int32 biases,
    /// dequantised back to float (for the fake-quantised reference).
    pub fn fake_quant_weights(
        &self,
        spec: &ModelSpec,
        weights: &Weights,
    ) -> Result<Weights, QuantError> {
        let mut out = weights.clone();
        for p in spec.parameters() {
            let Some(conv) = p.name.strip_suffix(".weight") else {
                continue;
            };
            let Some(point) = input_point(spec, conv) else {
                continue;
            };
            let s_in = self.get(&point)?.scale;
            let channels = p.shape.first().copied().unwrap_or(1);
            let w = weights.get(&p.name).map_or(&[][..], Vec::as_slice);
            let (codes, scales) = quantize_weight(w, channels);
            let per = codes.len() / channels.max(1);
            let wq = codes
                .iter()
                .enumerate()
                .map(|(k, &c)| f32::from(c) * scales.get(k / per.max(1)).copied().unwrap_or(1.0))
                .collect();
            out.insert(p.name.clone(), wq);
            let bname = format!("{conv}.bias");
            let b = weights.get(&bname).map_or(&[][..], Vec::as_slice);
            let (bc, bs) = quantize_bias(b, s_in, &scales);
            out.insert(
                bname,
                bc.iter().zip(&bs).map(|(&c, s)| c as f32 * s).collect(),
            );
        }
        Ok(out)
    }
}

/// A hook called by the reference forward pass at every quantisation point.
pub trait PointHook {
    /// Observe or change the tensor at `point`.
    fn at(&mut self, point: &str, t: &mut Tensor4);
}

/// Does nothing (the float model).
pub struct NoHook;

impl PointHook for NoHook {
    fn at(&mut self, _: &str, _: &mut Tensor4) {}
}

impl PointHook for Calibration {
    fn at(&mut self, point: &str, t: &mut Tensor4) {
        let (lo, hi) = t
            .data
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        if point == "input" {
            self.frames += 1;
        }
        self.ranges
            .entry(point.to_string())
            .and_modify(|r| {
                r.min = r.min.min(lo);
                r.max = r.max.max(hi);
            })
            .or_insert(Range { min: lo, max: hi });
    }
}

/// Rounds every point's tensor to its u8 grid, as `QuantizeLinear → DequantizeLinear` does.
pub struct FakeQuant<'a>(pub &'a Quantization);

impl PointHook for FakeQuant<'_> {
    fn at(&mut self, point: &str, t: &mut Tensor4) {
        if let Some(q) = self.0.points.get(point) {
            t.data
                .iter_mut()
                .for_each(|v| *v = q.dequantize(q.quantize(*v)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn act_quant_is_exact_on_zero_and_saturates() {
        let q = ActQuant::from_range(Range {
            min: -1.0,
            max: 3.0,
        });
        assert_eq!(q.dequantize(q.quantize(0.0)), 0.0);
        assert_eq!(q.quantize(100.0), 255);
        assert_eq!(q.quantize(-100.0), 0);
        let x = 1.2345;
        assert!((q.dequantize(q.quantize(x)) - x).abs() <= q.scale / 2.0 + 1e-6);
        // A ReLU output (min 0) gets zero point 0.
        let r = ActQuant::from_range(Range { min: 0.5, max: 2.0 });
        assert_eq!(r.zero_point, 0);
    }

    #[test]
    fn weights_round_trip_within_half_a_step_per_channel() {
        let w = [0.5, -1.0, 0.25, 0.0, 0.001, -0.002];
        let (c, s) = quantize_weight(&w, 2);
        assert_eq!(c[1], -127);
        assert_eq!(s.len(), 2);
        for (k, v) in w.iter().enumerate() {
            let back = f32::from(c[k]) * s[k / 3];
            assert!((back - v).abs() <= s[k / 3] / 2.0 + 1e-9, "{k}");
        }
    }

    #[test]
    fn every_conv_has_an_input_point_of_the_spec() {
        let spec = ModelSpec::student(77, 32);
        let pts = points(&spec);
        for p in spec.parameters() {
            if let Some(conv) = p.name.strip_suffix(".weight") {
                if conv.starts_with("text.") {
                    assert!(input_point(&spec, conv).is_none());
                    continue;
                }
                let ip = input_point(&spec, conv).unwrap();
                assert!(pts.contains(&ip), "{conv} reads {ip}");
            }
        }
    }

    #[test]
    fn missing_point_is_named() {
        let spec = ModelSpec::student(77, 32);
        let mut cal = Calibration {
            frames: 1,
            ..Default::default()
        };
        for p in points(&spec) {
            cal.ranges.insert(p, Range { min: 0.0, max: 1.0 });
        }
        assert!(Quantization::from_calibration(&spec, &cal).is_ok());
        cal.ranges.remove("dec.1.dw");
        assert_eq!(
            Quantization::from_calibration(&spec, &cal),
            Err(QuantError::MissingPoint("dec.1.dw".into()))
        );
    }
}
