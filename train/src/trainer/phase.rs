//! One phase of a run ([`Phase`]) and its optimisation settings ([`PhaseConfig`]).

use super::Schedule;
use crate::provenance::Provenance;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use synboost_data::SampleSource;

/// Optimisation settings of one phase.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhaseConfig {
    /// Most epochs.
    pub epochs: usize,
    /// Initial learning rate.
    pub lr: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Epochs without a better validation dice before stopping.
    pub patience: usize,
    /// Epochs without improvement before the learning rate is cut.
    pub plateau_patience: usize,
    /// Factor of each cut.
    pub plateau_factor: f64,
    /// Learning rate floor.
    pub min_lr: f64,
    /// Gradient norm clip.
    pub clip_norm: f64,
    /// Steps over which the learning rate ramps linearly from 0 at the start of the phase
    /// (transformers trained from scratch need it; 0 for none).
    #[serde(default)]
    pub warmup_steps: usize,
    /// Learning-rate schedule (runs saved before it existed used plateau cuts).
    #[serde(default)]
    pub schedule: Schedule,
    /// Decay of an exponential moving average of the weights (e.g. 0.999): when set, the
    /// average is what is validated, kept as the best and carried to the next phase; `None`
    /// (runs saved before it existed) for the raw weights.
    #[serde(default)]
    pub ema: Option<f64>,
}

impl Default for PhaseConfig {
    fn default() -> Self {
        Self {
            epochs: 30,
            lr: 3e-3,
            weight_decay: 1e-4,
            patience: 8,
            plateau_patience: 3,
            plateau_factor: 0.5,
            min_lr: 1e-5,
            clip_norm: 5.0,
            warmup_steps: 0,
            schedule: Schedule::Plateau,
            ema: None,
        }
    }
}

/// One phase of a run: a name, its data (and where it comes from) and its settings.
pub struct Phase {
    /// `train`, `pretrain` or `finetune`.
    pub name: String,
    /// What the data is (recorded in the run state and the bundle's provenance), e.g.
    /// `camus224 train` or `phantom:200`.
    pub data: String,
    /// Training pairs come from here.
    pub train: Arc<dyn SampleSource>,
    /// Validation pairs come from here.
    pub val: Arc<dyn SampleSource>,
    /// Where the training and validation pairs come from (decides the licence of the
    /// weights: [`crate::provenance`]).
    pub provenance: Provenance,
    /// Settings.
    pub config: PhaseConfig,
}
