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
//! wrongly sized tensor is an error that names it.

use crate::quant::{QuantError, Quantization, input_point, quantize_bias, quantize_weight};
use prost::Message;
use std::collections::BTreeMap;
use synboost_core::model::spec::ModelSpec;
use tract_onnx::pb;

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

struct Graph {
    /// Parameter shapes of the spec, computed once.
    shapes: BTreeMap<String, Vec<usize>>,
    nodes: Vec<pb::NodeProto>,
    inits: Vec<pb::TensorProto>,
    count: usize,
}

fn attr_i(name: &str, v: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Int as i32,
        i: v,
        ..Default::default()
    }
}

fn attr_ints(name: &str, v: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Ints as i32,
        ints: v.to_vec(),
        ..Default::default()
    }
}

fn attr_s(name: &str, v: &str) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::String as i32,
        s: v.as_bytes().to_vec(),
        ..Default::default()
    }
}

fn dims(shape: &[usize]) -> Vec<i64> {
    shape.iter().map(|&d| d as i64).collect()
}

impl Graph {
    fn new(spec: &ModelSpec) -> Self {
        Self {
            shapes: spec
                .parameters()
                .into_iter()
                .map(|p| (p.name, p.shape))
                .collect(),
            nodes: Vec::new(),
            inits: Vec::new(),
            count: 0,
        }
    }

    fn f32(&mut self, name: &str, shape: &[usize], data: Vec<f32>) -> String {
        self.inits.push(pb::TensorProto {
            name: name.into(),
            dims: dims(shape),
            data_type: FLOAT,
            float_data: data,
            ..Default::default()
        });
        name.to_string()
    }

    fn raw(&mut self, name: &str, dtype: i32, shape: &[usize], bytes: Vec<u8>) -> String {
        self.inits.push(pb::TensorProto {
            name: name.into(),
            dims: dims(shape),
            data_type: dtype,
            raw_data: bytes,
            ..Default::default()
        });
        name.to_string()
    }

    fn const_f32(&mut self, v: f32) -> String {
        let name = format!("const_f{}", self.count);
        self.count += 1;
        self.f32(&name, &[], vec![v])
    }

    fn const_i64(&mut self, v: &[i64]) -> String {
        let name = format!("const_i{}", self.count);
        self.count += 1;
        self.inits.push(pb::TensorProto {
            name: name.clone(),
            dims: vec![v.len() as i64],
            data_type: INT64,
            int64_data: v.to_vec(),
            ..Default::default()
        });
        name
    }

    fn op(&mut self, op: &str, inputs: &[&str], attrs: Vec<pb::AttributeProto>) -> String {
        let out = format!("{}_{}", op.to_ascii_lowercase(), self.count);
        self.count += 1;
        self.nodes.push(pb::NodeProto {
            op_type: op.into(),
            name: out.clone(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.clone()],
            attribute: attrs,
            ..Default::default()
        });
        out
    }

    fn conv(&mut self, x: &str, w: &str, b: &str, k: i64, stride: i64, group: i64) -> String {
        let p = k / 2;
        self.op(
            "Conv",
            &[x, w, b],
            vec![
                attr_ints("kernel_shape", &[k, k]),
                attr_ints("strides", &[stride, stride]),
                attr_ints("pads", &[p, p, p, p]),
                attr_i("group", group),
            ],
        )
    }

    fn upsample2(&mut self, x: &str) -> String {
        let scales = format!("scales_{}", self.count);
        self.count += 1;
        self.f32(&scales, &[4], vec![1.0, 1.0, 2.0, 2.0]);
        self.op(
            "Resize",
            &[x, "", &scales],
            vec![
                attr_s("mode", "nearest"),
                attr_s("coordinate_transformation_mode", "asymmetric"),
                attr_s("nearest_mode", "floor"),
            ],
        )
    }

    fn finish(
        self,
        name: &str,
        inputs: Vec<pb::ValueInfoProto>,
        outputs: Vec<pb::ValueInfoProto>,
    ) -> Vec<u8> {
        let model = pb::ModelProto {
            ir_version: IR_VERSION,
            opset_import: vec![pb::OperatorSetIdProto {
                domain: String::new(),
                version: OPSET,
            }],
            producer_name: "synboost".into(),
            producer_version: env!("CARGO_PKG_VERSION").into(),
            graph: Some(pb::GraphProto {
                name: name.into(),
                node: self.nodes,
                initializer: self.inits,
                input: inputs,
                output: outputs,
                ..Default::default()
            }),
            ..Default::default()
        };
        model.encode_to_vec()
    }
}

fn value_info(name: &str, elem: i32, shape: &[usize]) -> pb::ValueInfoProto {
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: elem,
                shape: Some(pb::TensorShapeProto {
                    dim: shape
                        .iter()
                        .map(|&d| pb::tensor_shape_proto::Dimension {
                            value: Some(pb::tensor_shape_proto::dimension::Value::DimValue(
                                d as i64,
                            )),
                            ..Default::default()
                        })
                        .collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Quantise-dequantise `x` at `point` (int8 graphs only).
fn qdq(g: &mut Graph, q: Option<&Quantization>, x: &str, point: &str) -> Result<String, OnnxError> {
    let Some(q) = q else {
        return Ok(x.to_string());
    };
    let a = q.get(point)?;
    let s = g.f32(&format!("{point}.scale"), &[], vec![a.scale]);
    let z = g.raw(
        &format!("{point}.zero_point"),
        UINT8,
        &[],
        vec![a.zero_point],
    );
    let qx = g.op("QuantizeLinear", &[x, &s, &z], vec![]);
    Ok(g.op("DequantizeLinear", &[&qx, &s, &z], vec![]))
}

/// A convolution's weight and bias: float initialisers, or (int8 graphs) per-channel s8
/// weights and int32 biases behind `DequantizeLinear`.
fn conv_params(
    g: &mut Graph,
    spec: &ModelSpec,
    weights: &Weights,
    q: Option<&Quantization>,
    conv: &str,
) -> Result<(String, String), OnnxError> {
    let (wn, bn) = (format!("{conv}.weight"), format!("{conv}.bias"));
    let Some(q) = q else {
        return Ok((weight(g, weights, &wn)?, weight(g, weights, &bn)?));
    };
    let shape = g
        .shapes
        .get(&wn)
        .cloned()
        .ok_or_else(|| OnnxError::Missing(wn.clone()))?;
    let cout = shape.first().copied().unwrap_or(1);
    let point = input_point(spec, conv).ok_or_else(|| OnnxError::Missing(conv.into()))?;
    let s_in = q.get(&point)?.scale;
    let w = weights
        .get(&wn)
        .ok_or_else(|| OnnxError::Missing(wn.clone()))?;
    let b = weights
        .get(&bn)
        .ok_or_else(|| OnnxError::Missing(bn.clone()))?;
    let (wc, ws) = quantize_weight(w, cout);
    let (bc, bs) = quantize_bias(b, s_in, &ws);
    let wq = g.raw(
        &format!("{wn}_quantized"),
        INT8,
        &shape,
        wc.iter().map(|&v| v as u8).collect(),
    );
    let wsn = g.f32(&format!("{wn}_scale"), &[cout], ws);
    let wz = g.raw(&format!("{wn}_zero_point"), INT8, &[cout], vec![0; cout]);
    let wd = g.op(
        "DequantizeLinear",
        &[&wq, &wsn, &wz],
        vec![attr_i("axis", 0)],
    );
    let bq = g.raw(
        &format!("{bn}_quantized"),
        INT32,
        &[cout],
        bc.iter().flat_map(|v| v.to_le_bytes()).collect(),
    );
    let bsn = g.f32(&format!("{bn}_scale"), &[cout], bs);
    let bd = g.op("DequantizeLinear", &[&bq, &bsn], vec![attr_i("axis", 0)]);
    Ok((wd, bd))
}

fn weight(g: &mut Graph, weights: &Weights, name: &str) -> Result<String, OnnxError> {
    let shape = g
        .shapes
        .get(name)
        .cloned()
        .ok_or_else(|| OnnxError::Missing(name.into()))?;
    let data = weights
        .get(name)
        .ok_or_else(|| OnnxError::Missing(name.into()))?
        .clone();
    Ok(g.f32(name, &shape, data))
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

/// The image graph (float32), encoded.
pub fn image_model(spec: &ModelSpec, weights: &Weights) -> Result<Vec<u8>, OnnxError> {
    image_graph(spec, weights, None)
}

/// The image graph in static QDQ int8 form (see [`crate::quant`]): u8 activations at every
/// quantisation point, per-channel s8 weights, int32 biases; float logits.
pub fn image_model_int8(
    spec: &ModelSpec,
    weights: &Weights,
    quant: &Quantization,
) -> Result<Vec<u8>, OnnxError> {
    image_graph(spec, weights, Some(quant))
}

fn image_graph(
    spec: &ModelSpec,
    weights: &Weights,
    q: Option<&Quantization>,
) -> Result<Vec<u8>, OnnxError> {
    check_weights(spec, weights)?;
    let mut g = Graph::new(spec);
    let s = spec.structures.len();
    let (hh, ww) = (spec.input.height, spec.input.width);
    let x = g.op("Cast", &["frame"], vec![attr_i("to", i64::from(FLOAT))]);
    let a = g.const_f32(1.0 / (255.0 * spec.input.std));
    let b = g.const_f32(-spec.input.mean / spec.input.std);
    let x = g.op("Mul", &[&x, &a], vec![]);
    let x = g.op("Add", &[&x, &b], vec![]);
    let mut x = qdq(&mut g, q, &x, "input")?;
    let mut skips = Vec::new();
    for (i, &c) in spec.encoder.iter().enumerate() {
        let (cw, cb) = conv_params(&mut g, spec, weights, q, &format!("enc.{i}.conv"))?;
        let y = g.conv(&x, &cw, &cb, 3, 2, 1);
        let y = g.op("Relu", &[&y], vec![]);
        let y = qdq(&mut g, q, &y, &format!("enc.{i}.conv"))?;
        let (dw, db) = conv_params(&mut g, spec, weights, q, &format!("enc.{i}.dw"))?;
        let y = g.conv(&y, &dw, &db, 3, 1, c as i64);
        let y = qdq(&mut g, q, &y, &format!("enc.{i}.dw"))?;
        let (pw, pb_) = conv_params(&mut g, spec, weights, q, &format!("enc.{i}.pw"))?;
        let y = g.conv(&y, &pw, &pb_, 1, 1, 1);
        let y = g.op("Relu", &[&y], vec![]);
        x = qdq(&mut g, q, &y, &format!("enc.{i}.pw"))?;
        skips.push(x.clone());
    }
    let n = spec.encoder.len();
    let mut d = skips
        .last()
        .cloned()
        .ok_or_else(|| OnnxError::Missing("enc.0.conv.weight".into()))?;
    for (j, &c) in spec.decoder.iter().enumerate() {
        let cin = spec.decoder_in(j);
        let (dw, db) = conv_params(&mut g, spec, weights, q, &format!("dec.{j}.dw"))?;
        let y = g.conv(&d, &dw, &db, 3, 1, cin as i64);
        let y = qdq(&mut g, q, &y, &format!("dec.{j}.dw"))?;
        let (pw, pb_) = conv_params(&mut g, spec, weights, q, &format!("dec.{j}.pw"))?;
        let y = g.conv(&y, &pw, &pb_, 1, 1, 1);
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
        let y = g.op("Mul", &[&y, &scale], vec![]);
        let y = g.op("Add", &[&y, &beta], vec![]);
        let up = g.upsample2(&y);
        let skip = skips
            .get(n - 2 - j)
            .cloned()
            .ok_or_else(|| OnnxError::Missing(format!("enc.{}.pw.weight", n - 2 - j)))?;
        let (lw, lb) = conv_params(&mut g, spec, weights, q, &format!("dec.{j}.lat"))?;
        // Batch 1, broadcast over the S structures by the Add.
        let lat = g.conv(&skip, &lw, &lb, 1, 1, 1);
        let y = g.op("Add", &[&up, &lat], vec![]);
        let y = g.op("Relu", &[&y], vec![]);
        d = qdq(&mut g, q, &y, &format!("dec.{j}.out"))?;
    }
    let (hw, hb) = conv_params(&mut g, spec, weights, q, "head")?;
    let y = g.conv(&d, &hw, &hb, 1, 1, 1);
    g.upsample2(&y);
    if let Some(node) = g.nodes.last_mut() {
        node.output = vec!["logits".into()];
    }
    let name = if q.is_some() {
        "synboost_image_int8"
    } else {
        "synboost_image"
    };
    Ok(g.finish(
        name,
        vec![
            value_info("frame", UINT8, &[1, 1, hh, ww]),
            value_info("cond", FLOAT, &[s, spec.cond_dim()]),
        ],
        vec![value_info("logits", FLOAT, &[s, 1, hh, ww])],
    ))
}
