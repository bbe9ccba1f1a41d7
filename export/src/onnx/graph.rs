//! The graph builder: initialisers, nodes with fresh output names, attributes, and the
//! encoded model.

use super::{FLOAT, INT64, IR_VERSION, OPSET, OnnxError, Weights};
use prost::Message;
use std::collections::BTreeMap;
use synboost_core::model::spec::ModelSpec;
use tract_onnx::pb;

/// A graph being written.
pub(super) struct Graph {
    /// Parameter shapes of the spec, computed once.
    pub(super) shapes: BTreeMap<String, Vec<usize>>,
    pub(super) nodes: Vec<pb::NodeProto>,
    inits: Vec<pb::TensorProto>,
    count: usize,
}

pub(super) fn attr_i(name: &str, v: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Int as i32,
        i: v,
        ..Default::default()
    }
}

pub(super) fn attr_ints(name: &str, v: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Ints as i32,
        ints: v.to_vec(),
        ..Default::default()
    }
}

pub(super) fn attr_s(name: &str, v: &str) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::String as i32,
        s: v.as_bytes().to_vec(),
        ..Default::default()
    }
}

pub(super) fn dims(shape: &[usize]) -> Vec<i64> {
    shape.iter().map(|&d| d as i64).collect()
}

impl Graph {
    pub(super) fn new(spec: &ModelSpec) -> Self {
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

    pub(super) fn f32(&mut self, name: &str, shape: &[usize], data: Vec<f32>) -> String {
        self.inits.push(pb::TensorProto {
            name: name.into(),
            dims: dims(shape),
            data_type: FLOAT,
            float_data: data,
            ..Default::default()
        });
        name.to_string()
    }

    pub(super) fn raw(
        &mut self,
        name: &str,
        dtype: i32,
        shape: &[usize],
        bytes: Vec<u8>,
    ) -> String {
        self.inits.push(pb::TensorProto {
            name: name.into(),
            dims: dims(shape),
            data_type: dtype,
            raw_data: bytes,
            ..Default::default()
        });
        name.to_string()
    }

    pub(super) fn const_f32(&mut self, v: f32) -> String {
        let name = format!("const_f{}", self.count);
        self.count += 1;
        self.f32(&name, &[], vec![v])
    }

    pub(super) fn const_i64(&mut self, v: &[i64]) -> String {
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

    pub(super) fn op(
        &mut self,
        op: &str,
        inputs: &[&str],
        attrs: Vec<pb::AttributeProto>,
    ) -> String {
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

    pub(super) fn conv(
        &mut self,
        x: &str,
        w: &str,
        b: &str,
        k: i64,
        stride: i64,
        group: i64,
    ) -> String {
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

    pub(super) fn upsample2(&mut self, x: &str) -> String {
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

    pub(super) fn finish(
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

pub(super) fn value_info(name: &str, elem: i32, shape: &[usize]) -> pb::ValueInfoProto {
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

pub(super) fn weight(g: &mut Graph, weights: &Weights, name: &str) -> Result<String, OnnxError> {
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
