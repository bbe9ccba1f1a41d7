//! [`TrainError`]: what can stop a run.

use crate::checkpoint::CheckpointError;
use crate::data::PipelineError;
use crate::model::ModelError;

/// Trainer errors.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The model failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The data failed.
    #[error(transparent)]
    Data(#[from] PipelineError),
    /// Checkpointing failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// libtorch failed.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// The saved state does not fit this run.
    #[error("cannot resume: {0}")]
    Resume(String),
    /// A validation sample could not be read while fingerprinting the validation data.
    #[error("fingerprinting the validation data: {0}")]
    Fingerprint(#[from] synboost_data::DataError),
    /// A loss became NaN or infinite.
    #[error("{phase} epoch {epoch}: the loss is not finite (learning rate {lr} too high?)")]
    Diverged {
        /// Phase.
        phase: String,
        /// Epoch.
        epoch: usize,
        /// Learning rate.
        lr: f64,
    },
}
