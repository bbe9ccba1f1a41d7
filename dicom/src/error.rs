//! [`DicomError`], the one error type of the crate, and the classification of `dicom-rs`
//! parse errors into it.

use dicom_object::ReadError;
use std::path::{Path, PathBuf};

/// Errors while reading a DICOM file. Each names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DicomError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// No DICOM file structure (no `DICM` magic, or an unreadable file meta group).
    #[error("{path}: not a DICOM file: {reason}")]
    NotDicom {
        /// File.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file ends before its data does.
    #[error("{path}: truncated DICOM file: {detail}")]
    Truncated {
        /// File.
        path: PathBuf,
        /// Where or what.
        detail: String,
    },
    /// The data set cannot be parsed.
    #[error("{path}: malformed DICOM data set: {detail}")]
    Malformed {
        /// File.
        path: PathBuf,
        /// What.
        detail: String,
    },
    /// The file is DICOM but not an ultrasound image.
    #[error(
        "{path}: not an ultrasound image (Modality {modality:?}, SOP Class {sop_class:?}); only US files are read"
    )]
    NotUltrasound {
        /// File.
        path: PathBuf,
        /// Modality (0008,0060), when present.
        modality: Option<String>,
        /// SOP Class UID (0008,0016), when present.
        sop_class: Option<String>,
    },
    /// The pixel data is encoded with a transfer syntax this build cannot decode.
    #[error("{path}: unsupported transfer syntax {uid} ({name})")]
    UnsupportedTransferSyntax {
        /// File.
        path: PathBuf,
        /// Transfer Syntax UID.
        uid: String,
        /// Its name, when known.
        name: String,
    },
    /// A pixel format this reader does not handle.
    #[error("{path}: unsupported {what}")]
    Unsupported {
        /// File.
        path: PathBuf,
        /// What.
        what: String,
    },
    /// A required attribute is absent.
    #[error("{path}: missing {attribute}")]
    MissingAttribute {
        /// File.
        path: PathBuf,
        /// Attribute keyword.
        attribute: &'static str,
    },
    /// An attribute has an unusable value.
    #[error("{path}: invalid {attribute}: {value}")]
    InvalidAttribute {
        /// File.
        path: PathBuf,
        /// Attribute keyword.
        attribute: &'static str,
        /// The value, or what is wrong with it.
        value: String,
    },
    /// Pixel data of a frame could not be decoded.
    #[error("{path}: frame {frame}: pixel data decode failed: {detail}")]
    Decode {
        /// File.
        path: PathBuf,
        /// 0-based frame index.
        frame: u32,
        /// Cause.
        detail: String,
    },
    /// Pixel data does not hold what the image attributes promise.
    #[error("{path}: {what}: {expected} needed, {found} present")]
    SizeMismatch {
        /// File.
        path: PathBuf,
        /// What was counted (bytes, fragments or frames of what).
        what: String,
        /// How many are needed.
        expected: u64,
        /// How many there are.
        found: u64,
    },
    /// The frames would exceed
    /// [`ReadOptions::max_total_pixels`](crate::ReadOptions::max_total_pixels).
    #[error("{path}: {pixels} pixels in total exceed the limit of {limit}")]
    TooLarge {
        /// File.
        path: PathBuf,
        /// Pixels the file declares.
        pixels: u64,
        /// The limit.
        limit: u64,
    },
}

/// The [`DicomError`] for a parse failure of `dicom-object`.
pub(crate) fn classify_read_error(e: &ReadError, path: &Path) -> DicomError {
    let path = path.to_path_buf();
    let detail = error_chain(e);
    match e {
        ReadError::ReadUnrecognizedTransferSyntax { uid, .. } => {
            DicomError::UnsupportedTransferSyntax {
                path,
                uid: uid.trim_end_matches(['\0', ' ']).to_string(),
                name: "not recognised".into(),
            }
        }
        ReadError::ReadUnsupportedTransferSyntax { uid, name, .. }
        | ReadError::ReadUnsupportedTransferSyntaxWithSuggestion { uid, name, .. } => {
            DicomError::UnsupportedTransferSyntax {
                path,
                uid: (*uid).to_string(),
                name: (*name).to_string(),
            }
        }
        _ if is_eof(e) => DicomError::Truncated { path, detail },
        ReadError::ParseMetaDataSet { .. } | ReadError::ReadPreambleBytes { .. } => {
            DicomError::NotDicom {
                path,
                reason: detail,
            }
        }
        _ => DicomError::Malformed { path, detail },
    }
}

/// Whether an unexpected end of input is somewhere in the error's cause chain.
fn is_eof(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::UnexpectedEof
        {
            return true;
        }
        cur = err.source();
    }
    false
}

/// `outer: cause: cause …`, without repeating identical messages (for errors from dicom-rs,
/// whose causes carry the useful detail).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let s = err.to_string();
        if parts.last() != Some(&s) {
            parts.push(s);
        }
        cur = err.source();
    }
    parts.join(": ")
}
