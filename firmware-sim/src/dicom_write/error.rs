//! Why a cine could not be written.

use std::path::PathBuf;

/// Errors while writing a cine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DicomWriteError {
    /// No frames were given.
    #[error("no frames to write")]
    NoFrames,
    /// A frame differs in size from the first one.
    #[error("frame {index} is {found_w}x{found_h}, frame 0 is {width}x{height}")]
    FrameSize {
        /// 0-based frame index.
        index: usize,
        /// Width of frame 0.
        width: usize,
        /// Height of frame 0.
        height: usize,
        /// Width of this frame.
        found_w: usize,
        /// Height of this frame.
        found_h: usize,
    },
    /// Rows or Columns above 65535, or more frames than `NumberOfFrames` can say.
    #[error("{what} ({value}) does not fit a DICOM image")]
    TooLarge {
        /// Which quantity.
        what: &'static str,
        /// Its value.
        value: usize,
    },
    /// The frame time is unknown or not a positive finite number; a US Multi-frame file needs
    /// one.
    #[error("frame time {0:?} ms: a US Multi-frame file needs a positive frame time")]
    FrameTime(Option<f64>),
    /// An option or metadata value cannot be encoded.
    #[error("invalid {field}: {value}")]
    Invalid {
        /// Which option.
        field: &'static str,
        /// The value, or what is wrong with it.
        value: String,
    },
    /// Building or encoding the data set failed.
    #[error("encoding the DICOM data set: {0}")]
    Encode(String),
    /// The file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}
