//! Exporting a run's best weights as a model bundle ([`export_run`]): the student's graphs
//! (f32, and int8 calibrated on a few frames), a manifest whose licence follows from what the
//! weights were made of, what training saw, and, with a camus224 folder, the finished bundle's
//! own scores on camus224 val.
//!
//! | file | holds |
//! |---|---|
//! | `calibration.rs` | [`calibrate`]: activation ranges for the int8 variant |
//! | `licence.rs` | [`licence`], [`weights_provenance`] |
//! | `metrics.rs` | [`training_metrics`], [`bundle_val_metrics`], [`CAMUS_VAL_KEY`] |
//! | `error.rs` | [`ExportRunError`] |
//! | `requantize.rs` | [`requantize_bundle`]: a bundle's int8 variant made again from the bundle |

mod calibration;
mod error;
mod licence;
mod metrics;
mod requantize;

pub use calibration::{calibrate, calibrate_with};
pub use error::ExportRunError;
pub use licence::{licence, weights_provenance};
pub use metrics::{CAMUS_VAL_KEY, bundle_val_metrics, training_metrics};
pub use requantize::{RequantizeError, RequantizeOptions, requantize_bundle};

use crate::checkpoint::{RunState, load_run};
use crate::data::DataSpec;
use crate::eval::EvalReport;
use crate::provenance::Provenance;
use std::path::PathBuf;
use synboost_core::model::bundle::{Bundle, Manifest, PromptSettings};
use synboost_core::model::spec::ModelSpec;
use synboost_core::prompt::{PromptKind, PromptScheme, Wording};
use synboost_core::vocab::Vocab;
use synboost_export::onnx::Int8Form;
use synboost_export::student::{BundleInfo, now_rfc3339, write_student_bundle};

/// Patients of the phantom calibration frames when there is no camus224 folder.
const CALIBRATION_PHANTOMS: usize = 8;

/// What to export and how.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The run folder (its best weights and state).
    pub run: PathBuf,
    /// The bundle folder to write.
    pub out: PathBuf,
    /// Also pack the bundle as one tar file here.
    pub tar: Option<PathBuf>,
    /// Calibrate an int8 variant on this many frames (0: f32 only).
    pub calibration_frames: usize,
    /// camus224 folder: calibration frames from its train split (phantom frames otherwise),
    /// and the bundle's val scores.
    pub camus: Option<PathBuf>,
    /// Model name.
    pub name: String,
    /// Model version.
    pub version: String,
    /// Prompt kinds the finished bundle is scored at on camus224 val (none: not scored).
    pub val_kinds: Vec<PromptKind>,
    /// Time both image graphs this many times each on this machine and record the medians
    /// for its CPU class in the manifest, which is how engines choose a variant (0: skip).
    pub measure_trials: usize,
    /// How the int8 graph is written.
    pub int8_form: Int8Form,
}

/// Export the run's best weights as a bundle in `opts.out` and return its manifest; each
/// variant's camus224 val report is handed to `on_scores` as it is made.
pub fn export_run(
    opts: &ExportOptions,
    on_scores: impl FnMut(&str, &EvalReport),
) -> Result<Manifest, ExportRunError> {
    let (_vs, net, state) = load_run(&opts.run, tch::Device::Cpu)?;
    let Some(student) = net.as_student() else {
        return Err(ExportRunError::Teacher {
            run: opts.run.clone(),
            arch: state.arch.name(),
        });
    };
    let spec = student.spec().clone();
    let weights = student.weights()?;
    let cal = if opts.calibration_frames > 0 {
        let from = match opts.camus {
            Some(_) => DataSpec::Camus,
            None => DataSpec::Phantom {
                patients: CALIBRATION_PHANTOMS,
            },
        };
        let src = from.open(opts.camus.as_deref(), "train", spec.input.width, 0)?;
        let cal = calibrate(student, &weights, src.as_ref(), opts.calibration_frames)?;
        Some((cal, from.provenance()))
    } else {
        None
    };
    let training = training_metrics(&state);
    let provenance = weights_provenance(&state, cal.as_ref().map(|c| &c.1));
    let info = bundle_info(opts, &spec, &provenance, &state, training.clone());
    let m = write_student_bundle(
        &opts.out,
        info,
        &spec,
        &Vocab::builtin(),
        &weights,
        cal.as_ref().map(|c| &c.0),
    )?;
    let m = record_val_scores(opts, m, training, on_scores)?;
    let m = measure(&opts.out, opts.measure_trials)?.unwrap_or(m);
    if let Some(t) = &opts.tar {
        Bundle::pack(&opts.out, t)?;
    }
    Ok(m)
}

/// What the manifest says besides the graphs: name, version, the licence of `provenance`,
/// prompt settings, the run's provenance and configuration, and what training saw.
fn bundle_info(
    opts: &ExportOptions,
    spec: &ModelSpec,
    provenance: &Provenance,
    state: &RunState,
    training: serde_json::Value,
) -> BundleInfo {
    BundleInfo {
        name: opts.name.clone(),
        version: opts.version.clone(),
        licence: provenance.licence().into(),
        created: now_rfc3339(),
        thresholds: vec![0.5; spec.structures.len()],
        prompt: PromptSettings {
            kind: PromptKind::P3,
            scheme: PromptScheme::Camus,
            wording: Wording::Heart,
        },
        provenance: serde_json::json!({
            "run": opts.run.display().to_string(),
            "config": state.config,
            "epochs": state.history.len(),
            "data": provenance,
        }),
        metrics: serde_json::json!({ "training": training }),
        int8_form: opts.int8_form,
    }
}

/// With val kinds and a camus224 folder, score the written bundle on camus224 val and record
/// the scores in its manifest beside what training saw.
/// With an int8 variant and `trials > 0`, both image graphs of the bundle in `dir` timed on
/// this machine (by tract, and by ONNX Runtime where one loads) and the measurements recorded
/// for its CPU class; the amended manifest.
pub fn measure(dir: &std::path::Path, trials: usize) -> Result<Option<Manifest>, ExportRunError> {
    let b = Bundle::open(dir)?;
    if trials == 0 || b.file(synboost_core::engine::ROLE_IMAGE_INT8).is_err() {
        return Ok(None);
    }
    if cfg!(debug_assertions) {
        log::warn!("a debug build's timings would mislead engines: no measurement recorded");
        return Ok(None);
    }
    use synboost_core::engine::Backend;
    // tract always; ONNX Runtime too where one is installed (SYNBOOST_ONNXRUNTIME or the
    // loader's path), so that engines on either backend find a measurement for this CPU.
    let mut manifest = None;
    for backend in [Backend::Tract, Backend::OnnxRuntime { library: None }] {
        let m = match synboost_core::engine::measure_variants(&b, &backend, trials) {
            Ok(m) => m,
            Err(synboost_core::engine::EngineError::Runtime { stage, message })
                if backend != Backend::Tract && stage == "loading ONNX Runtime" =>
            {
                log::info!("no ONNX Runtime to measure ({message}); tract only");
                continue;
            }
            Err(source) => {
                return Err(ExportRunError::Engine {
                    dir: dir.to_path_buf(),
                    source,
                });
            }
        };
        log::info!(
            "{} on {}: image graph f32 {:.2} ms, int8 {:.2} ms (medians of {trials}, one \
             thread); recorded",
            m.runtime,
            m.cpu,
            m.f32_ms,
            m.int8_ms
        );
        manifest = Some(Bundle::record_measurement(dir, &m)?);
    }
    Ok(manifest)
}

fn record_val_scores(
    opts: &ExportOptions,
    written: Manifest,
    training: serde_json::Value,
    on_scores: impl FnMut(&str, &EvalReport),
) -> Result<Manifest, ExportRunError> {
    if opts.val_kinds.is_empty() {
        return Ok(written);
    }
    let Some(camus) = opts.camus.as_deref() else {
        log::warn!("no camus224 folder: the manifest records no val metrics of the bundle");
        return Ok(written);
    };
    let mut metrics = serde_json::json!({ "training": training });
    metrics[CAMUS_VAL_KEY] =
        bundle_val_metrics(&opts.out, &written, camus, &opts.val_kinds, on_scores)?;
    Ok(Bundle::set_metrics(&opts.out, metrics)?)
}
