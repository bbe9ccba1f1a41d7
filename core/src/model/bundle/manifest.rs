//! What a bundle's `manifest.json` holds.

use crate::model::spec::ModelSpec;
use crate::prompt::{PromptKind, PromptScheme, Wording};
use crate::structure::Structure;
use crate::vocab::Vocab;
use serde::{Deserialize, Serialize};

/// Prompt settings the model was trained for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptSettings {
    /// Richest prompt kind to build at run time (prompts degrade from it).
    pub kind: PromptKind,
    /// Prompt scheme.
    pub scheme: PromptScheme,
    /// Wording used at run time.
    pub wording: Wording,
}

/// The vocabulary as stored in a manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VocabRecord {
    /// Vocabulary version.
    pub version: u32,
    /// [`Vocab::fingerprint`] of the tokens.
    pub fingerprint: String,
    /// Tokens in id order.
    pub tokens: Vec<String>,
}

impl VocabRecord {
    /// Record a vocabulary.
    pub fn of(v: &Vocab) -> Self {
        Self {
            version: v.version(),
            fingerprint: v.fingerprint(),
            tokens: v.tokens().to_vec(),
        }
    }
}

/// One file of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// What the file is (`text`, `image`, `image_int8`, …).
    pub role: String,
    /// File name inside the bundle (no folders).
    pub path: String,
    /// Size, bytes.
    pub bytes: u64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
}

/// The manifest of a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] when written by this build.
    pub format_version: u32,
    /// Model name.
    pub name: String,
    /// Model version.
    pub version: String,
    /// Licence of the weights (inherits the training data's).
    pub licence: String,
    /// Creation time, RFC 3339 / ISO 8601.
    pub created: String,
    /// Architecture.
    pub spec: ModelSpec,
    /// Output structures, in output order.
    pub structures: Vec<Structure>,
    /// Decision thresholds on the sigmoid probability, per structure.
    pub thresholds: Vec<f32>,
    /// Prompt settings.
    pub prompt: PromptSettings,
    /// Vocabulary.
    pub vocab: VocabRecord,
    /// Quantisation of each variant and how it was calibrated (free-form).
    pub quantization: serde_json::Value,
    /// Training provenance: data sets (with their licences), strategy, seeds, commit (free-form).
    pub provenance: serde_json::Value,
    /// Validation metrics (free-form).
    pub metrics: serde_json::Value,
    /// The files.
    pub files: Vec<FileEntry>,
}
