//! Training a network (the student or a teacher): strategies `real`, `synthetic` and `pt-ft`
//! (synthetic pretraining, then real finetuning from the weights only, with a fresh optimiser
//! and schedule) and `mixed`.
//!
//! Each phase: AdamW (with an optional linear warm-up), loss = binary cross-entropy + soft dice
//! on the logits, gradient clipping, ReduceLROnPlateau on the validation dice, early stopping after `patience` epochs without a
//! better dice, bf16 autocast on CUDA. After every epoch: validation (loss and dice at the
//! validation prompt kind, model resolution), `last.safetensors`, `best.safetensors` when the
//! dice improved, `state.json` and a line in `log.jsonl`. The epoch of the best dice per phase is
//! recorded, so that convergence speed can be compared between strategies.
//!
//! **Distillation** ([`Distillation`]): the student's loss becomes
//! `(1 − w) · (BCE + soft dice against the truth) + w · T² · BCE(s / T, σ(t / T))`, where `t`
//! are the teacher's logits for the same (image, prompt) pair (teacher in eval mode, no
//! gradients, its frames resized to its input and its logits back to the student's), shifted so
//! that the teacher's own threshold (CRIS: 0.35) maps to the student's 0.5.
//!
//! **Provenance.** Every [`Phase`] says where its data comes from and a [`Distillation`] where
//! its teacher's came from; the run state records all of it
//! ([`RunState::provenance`](crate::checkpoint::RunState::provenance)), which decides the
//! licence of exported weights ([`crate::provenance`]).
//!
//! **Progress.** [`Training::run`] reports each epoch's batches to a callback
//! ([`crate::progress::Progress`]); [`train`] runs silently.
//!
//! | file | holds |
//! |---|---|
//! | `strategy.rs`, `schedule.rs` | [`Strategy`], [`Schedule`] |
//! | `phase.rs`, `config.rs` | [`Phase`], [`PhaseConfig`], [`TrainConfig`] |
//! | `error.rs`, `report.rs` | [`TrainError`], [`TrainReport`] |
//! | `loss.rs`, `distill.rs` | [`loss`], [`Distillation`] |
//! | `validate.rs`, `val_data.rs` | per-epoch validation; the validation data records |
//! | `session.rs` | [`Training`]: the run, step by step |

mod config;
mod distill;
mod ema;
mod error;
mod loss;
mod phase;
mod report;
mod schedule;
mod session;
mod strategy;
mod val_data;
mod validate;

pub use crate::data::Take;
pub use config::TrainConfig;
pub use distill::Distillation;
pub use error::TrainError;
pub use loss::loss;
pub use phase::{Phase, PhaseConfig};
pub use report::TrainReport;
pub use schedule::Schedule;
pub use session::Training;
pub use strategy::Strategy;
pub use val_data::recorded_val_data;

use crate::checkpoint::RunDir;
use crate::model::Network;
use tch::nn::VarStore;

/// [`Training::run`] without progress reports: run the phases, resuming from `run`'s saved
/// state when `resume` is set; with `distill`, the network learns from the teacher's logits
/// as well as the truth. The validation data of every phase is fingerprinted first and
/// recorded in the run's state (`val_data`); resuming on other validation data is an error.
pub fn train(
    vs: &mut VarStore,
    net: &Network,
    phases: &[Phase],
    cfg: &TrainConfig,
    run: &RunDir,
    resume: bool,
    distill: Option<&Distillation>,
) -> Result<TrainReport, TrainError> {
    Training {
        net,
        phases,
        cfg,
        run,
        resume,
        distill,
    }
    .run(vs, |_| {})
}

#[cfg(test)]
mod tests;
