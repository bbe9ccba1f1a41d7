//! The one error type of the simulator's commands (`live` and `soak`): settings out of range,
//! the library or the bundle not found, the C ABI, the frames, the animation, and the files the
//! runs write. A failed soak check is not an error: it is in the report.

use crate::live::abi::AbiError;
use crate::live::anim::AnimError;
use crate::live::source::SourceError;
use crate::overlay::OverlayError;
use std::path::{Path, PathBuf};

/// Errors of a `live` or `soak` run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A setting is out of range.
    #[error("{0}")]
    Settings(String),
    /// The library was not found.
    #[error("{0}")]
    NoLibrary(String),
    /// The model bundle was not found.
    #[error("{0}")]
    NoBundle(String),
    /// Loading or calling the library failed (outside the faults a soak injects).
    #[error(transparent)]
    Abi(#[from] AbiError),
    /// The frames could not be prepared.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The animation could not be drawn or written.
    #[error(transparent)]
    Anim(#[from] AnimError),
    /// Creating a folder or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A report could not be serialised.
    #[error("{}: {source}", path.display())]
    Json {
        /// The report file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// A picture (a contact sheet) could not be drawn or written.
    #[error("{}: {source}", path.display())]
    Picture {
        /// The picture file.
        path: PathBuf,
        /// Why.
        #[source]
        source: OverlayError,
    },
    /// A thread panicked or the producer lost track of a frame.
    #[error("{0}")]
    Internal(String),
}

impl SimError {
    /// An io error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The result of the simulator's commands.
pub type Result<T> = std::result::Result<T, SimError>;
