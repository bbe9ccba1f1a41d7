//! [`EvalError`]: what can go wrong evaluating.

use crate::model::ModelError;
use std::path::PathBuf;
use synboost_core::engine::EngineError;
use synboost_core::postprocess::PostprocessError;
use synboost_core::preprocess::PreprocessError;
use synboost_core::vocab::VocabError;
use synboost_data::metrics::MetricsError;

/// Evaluation errors.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The configuration cannot be evaluated.
    #[error("invalid evaluation config: {0}")]
    Config(String),
    /// No sample of the dataset could be scored.
    #[error("dataset {dataset:?}: no sample could be evaluated ({failed} failed to load)")]
    NoSamples {
        /// Dataset name.
        dataset: String,
        /// Samples that failed to load.
        failed: usize,
    },
    /// A sample could not be resized to the model input.
    #[error("sample {id}: {source}")]
    Preprocess {
        /// Sample id.
        id: String,
        /// Cause.
        source: PreprocessError,
    },
    /// Logits could not be turned into a mask.
    #[error("sample {id}: {source}")]
    Postprocess {
        /// Sample id.
        id: String,
        /// Cause.
        source: PostprocessError,
    },
    /// A prediction could not be compared with its truth (a mask of another size).
    #[error("sample {id}: {source}")]
    Metrics {
        /// Sample id.
        id: String,
        /// Cause.
        source: MetricsError,
    },
    /// A prompt could not be tokenised.
    #[error(transparent)]
    Vocab(#[from] VocabError),
    /// The model failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The bundle's engine failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// libtorch refused an operation.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// The model returned logits of an unexpected shape.
    #[error("model returned logits of shape {found:?}, expected {expected:?}")]
    LogitShape {
        /// Expected `[B, 1, H, W]`.
        expected: Vec<i64>,
        /// Returned.
        found: Vec<i64>,
    },
    /// A report file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A report file is not a valid report.
    #[error("{path}: {source}")]
    Json {
        /// File.
        path: PathBuf,
        /// Cause.
        source: serde_json::Error,
    },
}
