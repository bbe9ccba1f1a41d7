//! Write a student as a bundle: the text graph, the float image graph and, when calibration
//! ranges are given, the static-QDQ int8 image graph, with a manifest that records how each
//! variant was quantised.

use crate::onnx::{Int8Form, OnnxError, Weights, image_model, image_model_int8_as, text_model};
use crate::quant::{Calibration, QuantError, Quantization};
use std::path::Path;
use synboost_core::model::bundle::{Bundle, BundleError, Manifest, PromptSettings, VocabRecord};
use synboost_core::model::spec::ModelSpec;
use synboost_core::vocab::Vocab;

/// What a bundle says about the model besides its graphs.
#[derive(Debug, Clone)]
pub struct BundleInfo {
    /// Model name.
    pub name: String,
    /// Model version.
    pub version: String,
    /// Licence of the weights (inherits the training data's).
    pub licence: String,
    /// Creation time, RFC 3339.
    pub created: String,
    /// Decision thresholds per structure of the spec.
    pub thresholds: Vec<f32>,
    /// Prompt settings.
    pub prompt: PromptSettings,
    /// Training provenance (data sets and their licences, strategy, seeds, commit).
    pub provenance: serde_json::Value,
    /// Validation metrics.
    pub metrics: serde_json::Value,
    /// How the int8 graph is written (when there is one).
    pub int8_form: Int8Form,
}

impl BundleInfo {
    /// Info with the given name and licence, created now, version `0.0.0`, threshold 0.5 for
    /// each of `structures` outputs, prompts P3 in the CAMUS scheme and "heart" wording, and
    /// empty provenance and metrics (fill them in for real models).
    pub fn new(name: &str, licence: &str, structures: usize) -> Self {
        Self {
            name: name.into(),
            version: "0.0.0".into(),
            licence: licence.into(),
            created: now_rfc3339(),
            thresholds: vec![0.5; structures],
            prompt: PromptSettings {
                kind: synboost_core::prompt::PromptKind::P3,
                scheme: synboost_core::prompt::PromptScheme::Camus,
                wording: synboost_core::prompt::Wording::Heart,
            },
            provenance: serde_json::json!({}),
            metrics: serde_json::json!({}),
            int8_form: Int8Form::Qdq,
        }
    }
}

/// The current UTC time as RFC 3339 to the second (`2026-11-28T09:10:38Z`), as manifests
/// record it.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Errors exporting a bundle.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A graph could not be written.
    #[error(transparent)]
    Onnx(#[from] OnnxError),
    /// Calibration does not fit the spec.
    #[error(transparent)]
    Quant(#[from] QuantError),
    /// The bundle could not be written.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// The vocabulary does not fit the spec.
    #[error("vocabulary has {found} tokens, the spec expects {expected}")]
    Vocab {
        /// Spec's vocabulary size.
        expected: usize,
        /// Vocabulary's.
        found: usize,
    },
    /// The quantisation record could not be serialised.
    #[error("quantisation record: {0}")]
    Json(String),
}

/// Write a random-weight student (deterministic in `seed`) as a bundle, with an int8 variant
/// calibrated on `frames` (u8 images at the model's size) when any are given. For benchmarks
/// and tests, where latency and plumbing do not depend on trained weights. Returns the weights.
pub fn write_random_student(
    dir: &Path,
    info: BundleInfo,
    spec: &ModelSpec,
    seed: u64,
    frames: &[Vec<u8>],
) -> Result<Weights, ExportError> {
    let vocab = Vocab::builtin();
    let w = crate::onnx::random_weights(spec, seed);
    let cal = if frames.is_empty() {
        None
    } else {
        let tok = synboost_core::vocab::Tokenizer::new(vocab.clone(), spec.text.max_len);
        let mut conds = Vec::with_capacity(spec.structures.len());
        for s in &spec.structures {
            let (ids, _) = tok
                .encode(s.prompt_name())
                .map_err(|e| ExportError::Json(e.to_string()))?;
            conds.push(crate::reference::text_forward(spec, &w, &ids));
        }
        let mut cal = Calibration::default();
        for f in frames {
            crate::reference::image_forward_hooked(spec, &w, f, &conds, &mut cal);
        }
        Some(cal)
    };
    write_student_bundle(dir, info, spec, &vocab, &w, cal.as_ref())?;
    Ok(w)
}

/// Write the bundle into `dir` and return its manifest.
pub fn write_student_bundle(
    dir: &Path,
    info: BundleInfo,
    spec: &ModelSpec,
    vocab: &Vocab,
    weights: &Weights,
    calibration: Option<&Calibration>,
) -> Result<Manifest, ExportError> {
    if vocab.len() != spec.text.vocab_size {
        return Err(ExportError::Vocab {
            expected: spec.text.vocab_size,
            found: vocab.len(),
        });
    }
    let text = text_model(spec, weights)?;
    let image = image_model(spec, weights)?;
    let mut files: Vec<(&str, &str, &[u8])> = vec![
        ("text", "text.onnx", &text),
        ("image", "image.onnx", &image),
    ];
    let mut quantization = serde_json::json!({ "image": { "dtype": "f32" } });
    let int8;
    if let Some(cal) = calibration {
        let q = Quantization::from_calibration(spec, cal)?;
        int8 = image_model_int8_as(spec, weights, &q, info.int8_form)?;
        files.push(("image_int8", "image_int8.onnx", &int8));
        quantization["image_int8"] = serde_json::json!({
            "dtype": "int8",
            "format": info.int8_form.describe(),
            "form": info.int8_form,
            "weights": "s8, symmetric, per output channel (codes -127..127)",
            "biases": "s32, scale = input scale × weight scale",
            "activations": "u8, asymmetric, per tensor, min/max over the calibration frames; the input on the frame's own grid",
            "calibration_frames": cal.frames,
            "points": serde_json::to_value(&q.points).map_err(|e| ExportError::Json(e.to_string()))?,
        });
    }
    let manifest = Manifest {
        format: String::new(),
        format_version: 0,
        name: info.name,
        version: info.version,
        licence: info.licence,
        created: info.created,
        spec: spec.clone(),
        structures: spec.structures.clone(),
        thresholds: info.thresholds,
        prompt: info.prompt,
        vocab: VocabRecord::of(vocab),
        quantization,
        provenance: info.provenance,
        metrics: info.metrics,
        files: Vec::new(),
    };
    Ok(Bundle::write(dir, manifest, &files)?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_now_is_well_formed() {
        let t = super::now_rfc3339();
        assert_eq!(t.len(), 20, "{t}");
        assert!(
            t.starts_with("20") && t.ends_with('Z') && &t[10..11] == "T",
            "{t}"
        );
    }
}
