//! ONNX (opset 17) for the student, written from a [`ModelSpec`] and named weights with the
//! protobuf types of `tract_onnx::pb` (prost 0.14).
//!
//! Two graphs, so that per-frame work is image work only:
//!
//! - `text`: `tokens` int64 `[1, L]` → `cond` float `[1, C]` (see [`synboost_core::model::spec`]). Padding
//!   (id 0) is left out of the mean; the empty prompt P0 gives the mean of no words, zero.
//! - `image`: `frame` uint8 `[1, 1, H, W]` and `cond` float `[S, C]` (one row per structure) →
//!   `logits` float `[S, 1, H, W]`. The frame is normalised inside the graph; the encoder runs at
//!   batch 1 and the first FiLM broadcasts it to the S structures. Upsampling is nearest-neighbour
//!   ×2 (`Resize`, asymmetric/floor, identical to PyTorch's `nearest`).
//!
//! Weights are float32, named as [`ModelSpec::parameters`] names them; a missing, extra or
//! wrongly sized tensor is an error that names it. For the int8 graph see [below](self#int8).
//!
//! # int8
//!
//! Two forms of the same quantisation ([`Int8Form`]). **QDQ** (shipped): quantise–dequantise
//! pairs at every point and dequantised s8/s32 parameters, which ONNX Runtime fuses into
//! integer kernels. **Integer**: every convolution whose output is a quantisation point is a
//! `QLinearConv` (u8 in, s8 per-channel weights, s32 bias, u8 out, the ReLU being the
//! saturation at zero point 0); the ones whose output stays float (decoder 1×1 before FiLM,
//! laterals, head) are `ConvInteger` then scale and bias; FiLM, upsampling and the skip sums
//! are float, quantised at each decoder stage's output; the frame's u8 codes are the first
//! convolution's input as they are. Both compute the same rounding as
//! [`crate::quant::FakeQuant`].
//!
//! | file | what |
//! |---|---|
//! | `graph.rs` | the builder: initialisers, nodes, attributes, encoding |
//! | `image.rs` | the image graph, f32 and int8 from one walk of the spec |
//! | `read.rs` | named weights back out of a written graph |

mod graph;
mod image;
pub mod read;

use crate::quant::{QuantError, Quantization};
use graph::{Graph, attr_i, value_info, weight};
use std::collections::BTreeMap;
use synboost_core::model::spec::ModelSpec;

/// Named float32 weights (row-major, shapes as in [`ModelSpec::parameters`]).
pub type Weights = BTreeMap<String, Vec<f32>>;

/// ONNX opset the graphs use.
pub const OPSET: i64 = 17;
/// ONNX IR version written (IR 8 goes with opset 17).
pub const IR_VERSION: i64 = 8;

const FLOAT: i32 = 1;
const UINT8: i32 = 2;
const INT8: i32 = 3;
const INT32: i32 = 6;
const INT64: i32 = 7;

/// Errors writing ONNX.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OnnxError {
    /// The spec is invalid.
    #[error(transparent)]
    Spec(#[from] synboost_core::model::spec::SpecError),
    /// A weight is missing.
    #[error("weight {0:?} is missing")]
    Missing(String),
    /// A weight has the wrong number of values.
    #[error("weight {name:?} has {found} values, its shape {shape:?} needs {expected}")]
    Size {
        /// Weight.
        name: String,
        /// Its shape.
        shape: Vec<usize>,
        /// Values needed.
        expected: usize,
        /// Values given.
        found: usize,
    },
    /// A weight the spec does not have.
    #[error("weight {0:?} is not a parameter of this spec")]
    Unexpected(String),
    /// A weight is NaN or infinite.
    #[error("weight {0:?} holds a value that is not finite")]
    NotFinite(String),
    /// The quantisation parameters do not fit the spec.
    #[error(transparent)]
    Quant(#[from] QuantError),
    /// A convolution's input is not on the grid calibrated for it, or a ReLU output's grid
    /// does not start at 0.
    #[error("convolution {conv:?}: its grid does not match quantisation point {point:?}")]
    Grid {
        /// Convolution.
        conv: String,
        /// Point.
        point: String,
    },
}

/// Check that `weights` holds exactly the spec's parameters with the right sizes.
pub fn check_weights(spec: &ModelSpec, weights: &Weights) -> Result<(), OnnxError> {
    spec.validate()?;
    let params = spec.parameters();
    for p in &params {
        let w = weights
            .get(&p.name)
            .ok_or_else(|| OnnxError::Missing(p.name.clone()))?;
        if w.len() != p.numel() {
            return Err(OnnxError::Size {
                name: p.name.clone(),
                shape: p.shape.clone(),
                expected: p.numel(),
                found: w.len(),
            });
        }
        if w.iter().any(|v| !v.is_finite()) {
            return Err(OnnxError::NotFinite(p.name.clone()));
        }
    }
    if let Some(extra) = weights
        .keys()
        .find(|k| !params.iter().any(|p| &p.name == *k))
    {
        return Err(OnnxError::Unexpected(extra.clone()));
    }
    Ok(())
}

/// He-initialised random weights (deterministic in `seed`), for tests and fresh models.
pub fn random_weights(spec: &ModelSpec, seed: u64) -> Weights {
    let mut state = seed ^ 0x6a09_e667_f3bc_c909;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    spec.parameters()
        .into_iter()
        .map(|p| {
            let fan_in: usize = p.shape.iter().skip(1).product::<usize>().max(1);
            let scale = if p.name.ends_with(".bias") {
                0.1
            } else {
                (6.0 / fan_in as f64).sqrt()
            };
            let v = (0..p.numel())
                .map(|_| ((2.0 * next() - 1.0) * scale) as f32)
                .collect();
            (p.name, v)
        })
        .collect()
}

/// The text graph, encoded.
pub fn text_model(spec: &ModelSpec, weights: &Weights) -> Result<Vec<u8>, OnnxError> {
    check_weights(spec, weights)?;
    let mut g = Graph::new(spec);
    let w = |g: &mut Graph, n: &str| weight(g, weights, n);
    let embed = w(&mut g, "text.embed.weight")?;
    let emb = g.op("Gather", &[&embed, "tokens"], vec![attr_i("axis", 0)]);
    let zero = g.const_i64(&[0]);
    let keep = g.op("Greater", &["tokens", &zero], vec![]);
    let maskf = g.op("Cast", &[&keep], vec![attr_i("to", i64::from(FLOAT))]);
    let ax2 = g.const_i64(&[2]);
    let mask3 = g.op("Unsqueeze", &[&maskf, &ax2], vec![]);
    let prod = g.op("Mul", &[&emb, &mask3], vec![]);
    let ax1 = g.const_i64(&[1]);
    let sum = g.op("ReduceSum", &[&prod, &ax1], vec![attr_i("keepdims", 0)]);
    let cnt = g.op("ReduceSum", &[&mask3, &ax1], vec![attr_i("keepdims", 0)]);
    let one = g.const_f32(1.0);
    let cnt = g.op("Max", &[&cnt, &one], vec![]);
    let mean = g.op("Div", &[&sum, &cnt], vec![]);
    let (w1, b1) = (w(&mut g, "text.fc1.weight")?, w(&mut g, "text.fc1.bias")?);
    let h = g.op("Gemm", &[&mean, &w1, &b1], vec![attr_i("transB", 1)]);
    let h = g.op("Relu", &[&h], vec![]);
    let (w2, b2) = (w(&mut g, "text.fc2.weight")?, w(&mut g, "text.fc2.bias")?);
    g.op("Gemm", &[&h, &w2, &b2], vec![attr_i("transB", 1)]);
    if let Some(n) = g.nodes.last_mut() {
        n.output = vec!["cond".into()];
    }
    Ok(g.finish(
        "synboost_text",
        vec![value_info("tokens", INT64, &[1, spec.text.max_len])],
        vec![value_info("cond", FLOAT, &[1, spec.cond_dim()])],
    ))
}

/// How the int8 image graph is written (see [the module](self#int8)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Int8Form {
    /// `QuantizeLinear → DequantizeLinear` at every point, float ops between: what ONNX
    /// Runtime fuses into its integer kernels (fastest there); tract runs it in float.
    #[default]
    Qdq,
    /// `QLinearConv` / `ConvInteger`: integer arithmetic in any runtime, tract included.
    Integer,
}

impl Int8Form {
    /// The manifest's description of the form.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Qdq => "static QDQ (QuantizeLinear/DequantizeLinear), ONNX opset 17",
            Self::Integer => {
                "integer (QLinearConv, ConvInteger; QuantizeLinear after float FiLM/upsample/skip sums), ONNX opset 17"
            }
        }
    }
}

/// The image graph (float32), encoded.
pub fn image_model(spec: &ModelSpec, weights: &Weights) -> Result<Vec<u8>, OnnxError> {
    image::image_graph(spec, weights, None, Int8Form::Qdq)
}

/// The image graph in int8 (QDQ form, see [the module](self#int8) and [`crate::quant`]): u8
/// activations at every quantisation point, per-channel s8 weights, int32 biases; float
/// logits.
pub fn image_model_int8(
    spec: &ModelSpec,
    weights: &Weights,
    quant: &Quantization,
) -> Result<Vec<u8>, OnnxError> {
    image::image_graph(spec, weights, Some(quant), Int8Form::Qdq)
}

/// The image graph in int8, in `form`.
pub fn image_model_int8_as(
    spec: &ModelSpec,
    weights: &Weights,
    quant: &Quantization,
    form: Int8Form,
) -> Result<Vec<u8>, OnnxError> {
    image::image_graph(spec, weights, Some(quant), form)
}
