//! Calibration of the int8 variant: activation ranges of the reference forward pass over
//! frames spread evenly through a source, each with the richest P3 prompt of every structure.

use super::ExportRunError;
use crate::student::Student;
use synboost_core::model::spec::ModelSpec;
use synboost_core::prompt::{PromptAttrs, PromptKind, PromptScheme, Wording};
use synboost_core::structure::Structure;
use synboost_core::vocab::Tokenizer;
use synboost_data::{Sample, SampleSource};
use synboost_export::onnx::Weights;
use synboost_export::quant::Calibration;
use synboost_export::reference::image_forward_hooked;

/// Activation ranges of `student` (its `weights`) over `frames` samples of `source`, taken
/// every `len / frames` samples from the first. Frames must be at the model's size.
pub fn calibrate(
    student: &Student,
    weights: &Weights,
    source: &dyn SampleSource,
    frames: usize,
) -> Result<Calibration, ExportRunError> {
    calibrate_with(student.spec(), weights, source, frames, |ids| {
        let t = tch::Tensor::from_slice(ids).view([1, ids.len() as i64]);
        let c = tch::no_grad(|| student.text(&t))?;
        Ok(Vec::<f32>::try_from(c.flatten(0, -1))?)
    })
}

/// Activation ranges of the weights of `spec` over `frames` samples of `source`, the text
/// condition of each prompt's token ids computed by `text` (the tch student, or the plain-Rust
/// reference when there is no run, only a bundle).
pub fn calibrate_with(
    spec: &ModelSpec,
    weights: &Weights,
    source: &dyn SampleSource,
    frames: usize,
    text: impl Fn(&[i64]) -> Result<Vec<f32>, ExportRunError>,
) -> Result<Calibration, ExportRunError> {
    let tok = Tokenizer::default();
    let mut cal = Calibration::default();
    let step = (source.len() / frames.max(1)).max(1);
    for i in (0..source.len()).step_by(step).take(frames) {
        let sample = source.load(i)?;
        let conds = Structure::ALL
            .iter()
            .map(|&s| condition(&tok, &sample, s).and_then(|ids| text(&ids)))
            .collect::<Result<Vec<_>, _>>()?;
        let img = &sample.image;
        if img.width() != spec.input.width || img.height() != spec.input.height {
            return Err(ExportRunError::CalibrationSize {
                side: spec.input.width,
                id: sample.id.clone(),
                width: img.width(),
                height: img.height(),
            });
        }
        image_forward_hooked(spec, weights, img.data(), &conds, &mut cal);
    }
    Ok(cal)
}

/// The token ids of `structure`'s richest P3 prompt for `sample`.
fn condition(
    tok: &Tokenizer,
    sample: &Sample,
    structure: Structure,
) -> Result<Vec<i64>, ExportRunError> {
    let attrs = PromptAttrs::from_meta(structure, &sample.meta);
    let (_, p) = attrs.build_richest(PromptKind::P3, Wording::Heart, PromptScheme::Camus);
    Ok(tok.encode(&p)?.0)
}
