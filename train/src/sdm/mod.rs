//! The semantic diffusion model (SDM): label maps in, synthetic echo out, for synthetic
//! pretraining ("Echo from noise", Stojanovski et al., 2023, which made the seed paper's
//! synthetic data with SDM, Wang et al., 2022).
//!
//! - [`labels`]: five-class label maps (structures, in-sector background, outside the sector)
//!   from any sample.
//! - [`perturb`]: new label maps by random affine + elastic deformation, clipped to the sector.
//! - [`unet`]: the denoiser, a U-Net with the label map injected by SPADE group norm.
//! - [`schedule`]: the cosine noise schedule, DDPM and DDIM steps.
//! - [`fit`]: training with EMA weights, checkpoints and resume (bf16 autocast on CUDA,
//!   [`autocast`]).
//! - [`generate`]: batched sampling and synthetic datasets in the seed layout.
//! - [`sheet`]: a picture of label maps beside their samples.

pub mod autocast;
pub mod fit;
pub mod generate;
pub mod labels;
pub mod perturb;
pub mod schedule;
pub mod sheet;
pub mod unet;

use std::path::{Path, PathBuf};

/// SDM errors.
#[derive(Debug, thiserror::Error)]
pub enum SdmError {
    /// A shape, setting or run folder is not usable.
    #[error("{0}")]
    Config(String),
    /// Reading or converting data failed.
    #[error("data: {0}")]
    Data(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Checkpoint save or load failed.
    #[error(transparent)]
    Checkpoint(#[from] crate::checkpoint::CheckpointError),
    /// Writing the dataset failed.
    #[error(transparent)]
    Dataset(#[from] synboost_data::DataError),
    /// The loss stopped being finite.
    #[error("training diverged at step {step} (loss {loss})")]
    Diverged {
        /// Step.
        step: usize,
        /// The loss.
        loss: f64,
    },
}

impl SdmError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
