//! [`requantize_bundle`]: a bundle's int8 variant made again from the bundle itself — its
//! weights read back out of its float graphs, calibrated anew, every graph rewritten by this
//! version of the writer — for when the int8 form or the calibration changes and the training
//! run is not at hand.

use super::{CAMUS_VAL_KEY, ExportRunError, bundle_val_metrics, calibrate_with, measure};
use crate::data::DataSpec;
use crate::eval::EvalReport;
use std::path::{Path, PathBuf};
use synboost_core::model::bundle::{Bundle, Manifest};
use synboost_core::prompt::PromptKind;
use synboost_core::vocab::Vocab;
use synboost_export::onnx::Int8Form;
use synboost_export::onnx::read::weights_from_graphs;
use synboost_export::reference::text_forward;
use synboost_export::student::{BundleInfo, write_student_bundle};

/// What to requantise and how.
#[derive(Debug, Clone)]
pub struct RequantizeOptions {
    /// The bundle to read.
    pub bundle: PathBuf,
    /// The bundle folder to write (may not be `bundle`).
    pub out: PathBuf,
    /// Calibration frames, spread through camus224 train.
    pub calibration_frames: usize,
    /// The camus224 folder.
    pub camus: PathBuf,
    /// The new bundle's version (the old one's when `None`).
    pub version: Option<String>,
    /// Prompt kinds both variants are scored at on camus224 val (none: the old scores are
    /// dropped, since they are not this bundle's).
    pub val_kinds: Vec<PromptKind>,
    /// Timed runs of each image graph for the manifest's measurement (0: skip).
    pub measure_trials: usize,
    /// How the int8 graph is written.
    pub int8_form: Int8Form,
}

/// Errors specific to requantising (the rest are the export's).
#[derive(Debug, thiserror::Error)]
pub enum RequantizeError {
    /// The weights could not be read out of the graphs.
    #[error("reading the weights back: {0}")]
    Read(#[from] synboost_export::onnx::read::ReadError),
    /// The output folder is the input.
    #[error("write the requantised bundle to another folder than {0}")]
    SameFolder(PathBuf),
    /// The bundle's vocabulary is not the built-in one the tokenizer uses.
    #[error("the bundle's vocabulary {0} is not the built-in one")]
    Vocab(String),
    /// The export steps failed.
    #[error(transparent)]
    Export(#[from] ExportRunError),
}

/// Read `opts.bundle`, calibrate its weights on camus224 train, write the bundle again into
/// `opts.out` (every graph, the int8 one in this version's integer form), score it on camus224
/// val at `opts.val_kinds` and return its manifest; each variant's val report goes to
/// `on_scores` as it is made.
pub fn requantize_bundle(
    opts: &RequantizeOptions,
    on_scores: impl FnMut(&str, &EvalReport),
) -> Result<Manifest, RequantizeError> {
    if same_folder(&opts.bundle, &opts.out) {
        return Err(RequantizeError::SameFolder(opts.out.clone()));
    }
    let old = Bundle::open(&opts.bundle).map_err(ExportRunError::from)?;
    let m = old.manifest().clone();
    let vocab = Vocab::builtin();
    if m.vocab.fingerprint != vocab.fingerprint() {
        return Err(RequantizeError::Vocab(m.vocab.fingerprint.clone()));
    }
    let spec = m.spec.clone();
    let weights = weights_from_graphs(
        &spec,
        old.file("text").map_err(ExportRunError::from)?,
        old.file("image").map_err(ExportRunError::from)?,
    )?;
    let src = DataSpec::Camus
        .open(Some(&opts.camus), "train", spec.input.width, 0)
        .map_err(ExportRunError::from)?;
    let cal = calibrate_with(
        &spec,
        &weights,
        src.as_ref(),
        opts.calibration_frames,
        |ids| Ok(text_forward(&spec, &weights, ids)),
    )?;
    let mut provenance = m.provenance.clone();
    provenance["requantized"] = serde_json::json!({
        "from": format!("{} {}", m.name, m.version),
        "from_manifest_sha256": old.digest(),
        "calibration": format!("{} camus224 train frames", cal.frames),
        "command": format!(
            "synboost-train requantize --bundle BUNDLE --out OUT --calibration-frames {} --int8-form {}",
            opts.calibration_frames,
            match opts.int8_form {
                Int8Form::Qdq => "qdq",
                Int8Form::Integer => "integer",
            }
        ),
    });
    let info = BundleInfo {
        name: m.name.clone(),
        version: opts.version.clone().unwrap_or_else(|| m.version.clone()),
        licence: m.licence.clone(),
        created: m.created.clone(),
        thresholds: m.thresholds.clone(),
        prompt: m.prompt.clone(),
        provenance,
        metrics: serde_json::json!({ "training": m.metrics.get("training").cloned() }),
        int8_form: opts.int8_form,
    };
    let written = write_student_bundle(&opts.out, info, &spec, &vocab, &weights, Some(&cal))
        .map_err(ExportRunError::from)?;
    let written = if opts.val_kinds.is_empty() {
        written
    } else {
        let mut metrics = serde_json::json!({ "training": m.metrics.get("training").cloned() });
        metrics[CAMUS_VAL_KEY] =
            bundle_val_metrics(&opts.out, &written, &opts.camus, &opts.val_kinds, on_scores)?;
        Bundle::set_metrics(&opts.out, metrics).map_err(ExportRunError::from)?
    };
    Ok(measure(&opts.out, opts.measure_trials)?.unwrap_or(written))
}

/// Whether two paths name the same folder (after resolving, when both exist).
fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}
