//! [`ExportRunError`]: what can stop the export of a run.

use crate::checkpoint::CheckpointError;
use crate::data::DataSpecError;
use crate::eval::EvalError;
use crate::student::StudentError;
use std::path::PathBuf;
use synboost_core::engine::EngineError;
use synboost_core::model::bundle::BundleError;
use synboost_core::vocab::VocabError;
use synboost_data::DataError;

/// Errors exporting a run as a bundle.
#[derive(Debug, thiserror::Error)]
pub enum ExportRunError {
    /// The run could not be read.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The run trained a teacher.
    #[error(
        "{}: a {arch} teacher run; bundles hold students (distil one with --distill-from)",
        run.display()
    )]
    Teacher {
        /// The run folder.
        run: PathBuf,
        /// The teacher's name.
        arch: &'static str,
    },
    /// The student failed.
    #[error(transparent)]
    Student(#[from] StudentError),
    /// A dataset could not be opened.
    #[error(transparent)]
    Data(#[from] DataSpecError),
    /// A calibration sample could not be read.
    #[error(transparent)]
    Sample(#[from] DataError),
    /// A calibration prompt could not be tokenised.
    #[error(transparent)]
    Vocab(#[from] VocabError),
    /// libtorch failed.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// A calibration frame is not at the model's size.
    #[error("calibration frames must be {side}², {id} is {width}×{height}")]
    CalibrationSize {
        /// The model's side.
        side: usize,
        /// The sample.
        id: String,
        /// Its width.
        width: usize,
        /// Its height.
        height: usize,
    },
    /// The bundle could not be written.
    #[error(transparent)]
    Write(#[from] synboost_export::student::ExportError),
    /// The bundle could not be amended or packed.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// The finished bundle could not be opened in core's engine.
    #[error("opening {}", dir.display())]
    Engine {
        /// The bundle folder.
        dir: PathBuf,
        /// Cause.
        #[source]
        source: EngineError,
    },
    /// The finished bundle could not be evaluated.
    #[error(transparent)]
    Eval(#[from] EvalError),
}
