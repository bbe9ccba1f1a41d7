//! [`TrainConfig`]: the settings every phase of a run shares.

use crate::data::PromptMode;
use std::time::Duration;
use synboost_core::prompt::PromptKind;
use tch::Device;

/// Settings shared by the phases.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// Batch size.
    pub batch_size: usize,
    /// Training prompts.
    pub prompt: PromptMode,
    /// Prompt kind of validation.
    pub val_kind: PromptKind,
    /// Validate on at most this many samples (each with every structure).
    pub val_limit: Option<usize>,
    /// Base seed.
    pub seed: u64,
    /// Stop training (after validating) once this much time has passed; the run is then
    /// finished.
    pub time_limit: Option<Duration>,
    /// Pause at the first epoch boundary after this much time: the state is saved unfinished,
    /// so `--resume` continues with the next epoch exactly as an uninterrupted run would (same
    /// data order and schedule; AdamW's moments restart).
    pub pause_after: Option<Duration>,
    /// Device.
    pub device: Device,
    /// Loader threads.
    pub workers: usize,
    /// Random affine and gamma augmentation of training pairs ([`crate::data::Augment`]).
    pub augment: bool,
}
