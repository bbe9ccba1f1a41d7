//! Evaluation of a [`Network`] (the student or a teacher) on a dataset: dice, IoU, Hausdorff and
//! HD95 per prompt kind and structure, at the dataset's native mask resolution, as the seed
//! reports them.
//!
//! **Pipeline per (image, prompt) pair**, the same as the deployed engine:
//!
//! 1. The sample's image is resized to the model input with [`Preprocessor`] (the spec's
//!    [`Fit`](synboost_core::preprocess::Fit), whole image as the region).
//! 2. The prompt of each asked [`PromptKind`] and [`Structure`] is built from the sample's
//!    metadata ([`PromptAttrs::from_meta`]); the shape word (P7, synthetic P6) is the dataset's
//!    where it has one, else derived from the truth mask ([`shape_of`]), as for training.
//!    A pair whose sample lacks an attribute the kind writes (no sex for P4, say) is not scored
//!    but counted as `unprompted`.
//! 3. Pairs are batched (`batch_size`), run under `no_grad` in eval mode (teachers' dropout off,
//!    batch norm on its running statistics).
//! 4. The logits are thresholded at model resolution, cleaned (largest component + hole fill,
//!    [`EvalConfig::postprocess`], on by default as in the engine), and mapped back to the
//!    sample's size by bilinear interpolation of the logits ([`FrameMapper`]) and thresholding.
//! 5. [`metrics::pair`] against the sample's mask: distances in mm when the sample has a pixel
//!    spacing, else in pixels ([`DistanceUnit`] says which).
//!
//! **Means.** A kind's `mean_dice` is the mean over all its scored image-structure pairs (as
//! the seed reported it); each structure has its own mean ± std (population std). Dice and IoU
//! are fractions in [0, 1]; [`EvalReport::table`] shows them ×100.
//!
//! Samples that fail to decode are skipped with a warning and listed in
//! [`EvalReport::failed`]; only when none can be scored is the evaluation an error.
//!
//! **What it was measured on.** Every report carries a [`DataRecord`] ([`EvalReport::data`]):
//! the dataset's name and the fingerprint of the samples it scored, so a score recorded
//! somewhere (a bundle's manifest) can later be told apart from one made on other data
//! ([`crate::recorded`]).
//!
//! | file | holds |
//! |---|---|
//! | `config.rs` | [`EvalConfig`] |
//! | `error.rs` | [`EvalError`] |
//! | `report.rs` | [`EvalReport`] and its parts ([`KindReport`], [`StructureReport`], [`Stat`]) |
//! | `prediction.rs` | [`Prediction`] |
//! | `backend.rs` | [`Backend`] |
//! | `run.rs` | one evaluation's state: queueing, batching, scoring |
//!
//! [`Preprocessor`]: synboost_core::preprocess::Preprocessor
//! [`PromptAttrs::from_meta`]: synboost_core::prompt::PromptAttrs::from_meta
//! [`shape_of`]: synboost_data::shape::shape_of
//! [`FrameMapper`]: synboost_core::postprocess::FrameMapper
//! [`metrics::pair`]: synboost_data::metrics::pair
//! [`Network`]: crate::model::Network
//! [`DataRecord`]: synboost_data::fingerprint::DataRecord
//! [`PromptKind`]: synboost_core::prompt::PromptKind
//! [`Structure`]: synboost_core::structure::Structure

mod backend;
mod config;
mod error;
mod prediction;
mod report;
mod run;

pub use backend::Backend;
pub use config::EvalConfig;
pub use error::EvalError;
pub use prediction::Prediction;
pub use report::{
    DistanceUnit, EvalReport, FailedSample, KindReport, PairScore, Stat, StructureReport,
};

use crate::model::{Architecture, Network};
use run::Run;
use synboost_core::vocab::{Tokenizer, Vocab};
use synboost_data::SampleSource;
use synboost_data::fingerprint::Fingerprinter;
use tch::Device;

/// Evaluate `model` (its variables on `device`) on the first `cfg.limit` samples of `source`.
///
/// `progress(done, total)` is called as samples are finished (`done` samples of `total` fully
/// scored), and once at the end with `done == total`. Returns the report and the predictions
/// asked for by [`EvalConfig::keep_predictions`].
pub fn evaluate(
    model: &Network,
    device: Device,
    source: &dyn SampleSource,
    name: &str,
    cfg: &EvalConfig,
    progress: impl FnMut(usize, usize),
) -> Result<(EvalReport, Vec<Prediction>), EvalError> {
    evaluate_with(Backend::Torch(model, device), source, name, cfg, progress)
}

/// [`evaluate`] with any [`Backend`]: a bundle's engine is scored exactly as a network is (its
/// own prompts are built the same way; the engine tokenises them with the bundle's vocabulary).
pub fn evaluate_with(
    backend: Backend<'_>,
    source: &dyn SampleSource,
    name: &str,
    cfg: &EvalConfig,
    mut progress: impl FnMut(usize, usize),
) -> Result<(EvalReport, Vec<Prediction>), EvalError> {
    cfg.validate()?;
    let arch = match &backend {
        Backend::Torch(model, _) => model.architecture(),
        Backend::Bundle(engine) => Architecture::Student(engine.spec().clone()),
    };
    let tokenizer = Tokenizer::new(Vocab::builtin(), arch.max_len());
    if tokenizer.vocab().len() > arch.vocab_size() {
        return Err(EvalError::Config(format!(
            "the builtin vocabulary has {} words but the model embeds {}",
            tokenizer.vocab().len(),
            arch.vocab_size()
        )));
    }
    if let Some(spec) = arch.student()
        && let Some(s) = cfg.structures.iter().find(|s| !spec.structures.contains(s))
    {
        log::warn!("{name}: the model was not built for {s}; evaluating it anyway");
    }
    let _no_grad = tch::no_grad_guard();
    let total = cfg.limit.map_or(source.len(), |l| l.min(source.len()));
    let mut run = Run::new(backend, arch.input(), arch.fit(), cfg, tokenizer);
    let mut failed = Vec::new();
    let mut samples = 0usize;
    let mut reported = 0usize;
    let mut fingerprint = Fingerprinter::new();
    for index in 0..total {
        match source.load(index) {
            Ok(sample) => {
                fingerprint.add(&sample);
                run.add(sample, index)?;
                samples += 1;
            }
            Err(e) => {
                let id = source.id(index).unwrap_or("?").to_string();
                log::warn!("{name}: skipping sample {id}: {e}");
                failed.push(FailedSample {
                    id,
                    error: e.to_string(),
                });
            }
        }
        let done = run.done(index + 1);
        if done > reported {
            reported = done;
            progress(done, total);
        }
    }
    run.flush()?;
    if reported < total || total == 0 {
        progress(total, total);
    }
    if samples == 0 {
        return Err(EvalError::NoSamples {
            dataset: name.to_string(),
            failed: failed.len(),
        });
    }
    let mut report = run.report(name, samples, failed);
    let data = fingerprint.record(source.name());
    log::info!("{name}: data {data}");
    report.data = Some(data);
    for (kind, k) in &report.per_kind {
        log::info!(
            "{name} {kind}: mean dice {:.4} over {} pairs",
            k.mean_dice,
            k.pairs
        );
    }
    Ok((report, run.into_kept()))
}

#[cfg(test)]
pub(crate) mod tests;
