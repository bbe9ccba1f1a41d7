//! Named weights back out of written float graphs: how a bundle is quantised again, or
//! rewritten in a newer graph form, without the training run that made it.

use super::{OnnxError, Weights, check_weights};
use prost::Message;
use synboost_core::model::spec::ModelSpec;
use tract_onnx::pb;

/// Errors reading weights out of a graph.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The bytes are not an ONNX model.
    #[error("not an ONNX model: {0}")]
    Decode(#[from] prost::DecodeError),
    /// The model has no graph.
    #[error("the ONNX model has no graph")]
    NoGraph,
    /// A parameter's initialiser is not float32.
    #[error("initialiser {0:?} is not float32")]
    NotFloat(String),
    /// The weights found do not fit the spec.
    #[error(transparent)]
    Weights(#[from] OnnxError),
}

/// Float32 initialisers of `model` (encoded ONNX) that are parameters of `spec`.
fn parameters_of(spec: &ModelSpec, model: &[u8], into: &mut Weights) -> Result<(), ReadError> {
    let m = pb::ModelProto::decode(model)?;
    let g = m.graph.ok_or(ReadError::NoGraph)?;
    let names: std::collections::BTreeSet<String> =
        spec.parameters().into_iter().map(|p| p.name).collect();
    for t in g.initializer {
        if !names.contains(&t.name) {
            continue;
        }
        if t.data_type != super::FLOAT {
            return Err(ReadError::NotFloat(t.name));
        }
        let v = if t.raw_data.is_empty() {
            t.float_data
        } else {
            t.raw_data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        };
        into.insert(t.name, v);
    }
    Ok(())
}

/// The spec's weights from its text graph and float image graph (both encoded ONNX, as
/// [`super::text_model`] and [`super::image_model`] write them), checked against the spec.
pub fn weights_from_graphs(
    spec: &ModelSpec,
    text: &[u8],
    image: &[u8],
) -> Result<Weights, ReadError> {
    let mut w = Weights::new();
    parameters_of(spec, text, &mut w)?;
    parameters_of(spec, image, &mut w)?;
    check_weights(spec, &w)?;
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx::{image_model, random_weights, text_model};

    #[test]
    fn weights_round_trip_through_the_graphs() {
        let spec = ModelSpec::tiny(synboost_core::Vocab::builtin().len(), 32);
        let w = random_weights(&spec, 3);
        let back = weights_from_graphs(
            &spec,
            &text_model(&spec, &w).unwrap(),
            &image_model(&spec, &w).unwrap(),
        )
        .unwrap();
        assert_eq!(back, w);
    }

    #[test]
    fn a_missing_graph_is_a_named_error() {
        let spec = ModelSpec::tiny(synboost_core::Vocab::builtin().len(), 32);
        let w = random_weights(&spec, 3);
        let text = text_model(&spec, &w).unwrap();
        let err = weights_from_graphs(&spec, &text, &text).unwrap_err();
        assert!(
            matches!(err, ReadError::Weights(OnnxError::Missing(_))),
            "{err}"
        );
        assert!(matches!(
            weights_from_graphs(&spec, b"\xff\xff", &text),
            Err(ReadError::Decode(_))
        ));
    }
}
