//! Why a bundle was refused.

use super::{FORMAT, FORMAT_VERSION};
use crate::model::spec::SpecError;
use crate::vocab::VocabError;
use std::path::PathBuf;

/// Bundle errors; each says which file or field is at fault.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The manifest does not parse or lacks a field.
    #[error("{path}: {message}")]
    Manifest {
        /// Manifest file.
        path: PathBuf,
        /// Parser's message (names the missing or malformed field).
        message: String,
    },
    /// Not a synboost bundle, or a format version this build does not read.
    #[error(
        "{path}: format {format:?} version {version}; this build reads {FORMAT:?} version {FORMAT_VERSION}"
    )]
    Format {
        /// Manifest file.
        path: PathBuf,
        /// Format found.
        format: String,
        /// Version found.
        version: u32,
    },
    /// The manifest's contents disagree with themselves.
    #[error("{path}: {message}")]
    Inconsistent {
        /// Manifest file.
        path: PathBuf,
        /// What disagrees.
        message: String,
    },
    /// A listed file is missing.
    #[error("{path}: missing (listed in the manifest as {role:?})")]
    MissingFile {
        /// File.
        path: PathBuf,
        /// Its role.
        role: String,
    },
    /// A listed file has another size than the manifest says (truncated or appended to).
    #[error("{path}: {found} bytes, the manifest says {expected} (truncated or changed)")]
    Size {
        /// File.
        path: PathBuf,
        /// Size in the manifest.
        expected: u64,
        /// Size on disk.
        found: u64,
    },
    /// A listed file's SHA-256 differs from the manifest's.
    #[error("{path}: SHA-256 {found} does not match the manifest's {expected} (file changed)")]
    Digest {
        /// File.
        path: PathBuf,
        /// Digest in the manifest.
        expected: String,
        /// Digest of the file.
        found: String,
    },
    /// The model spec is invalid.
    #[error("{path}: {source}")]
    Spec {
        /// Manifest file.
        path: PathBuf,
        /// Why.
        source: SpecError,
    },
    /// The vocabulary is invalid.
    #[error("{path}: vocabulary: {source}")]
    Vocab {
        /// Manifest file.
        path: PathBuf,
        /// Why.
        source: VocabError,
    },
    /// No file has the requested role.
    #[error("the bundle has no {0:?} file")]
    NoRole(String),
    /// The manifest's seal is missing, malformed or does not match its bytes: it was edited or
    /// corrupted after it was written.
    #[error("{path}: {message}")]
    Seal {
        /// Manifest file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The bundle is not the one the caller pinned.
    #[error("{path}: bundle digest {found} is not the expected {expected}")]
    Pin {
        /// Manifest file.
        path: PathBuf,
        /// The digest asked for.
        expected: String,
        /// The bundle's digest.
        found: String,
    },
}
