//! Model bundles: a directory holding `manifest.json` and the model files it lists.
//!
//! The manifest names the model, its version and **licence** (a model trained on CAMUS is
//! CC BY-NC-SA 4.0), when it was made, the [`ModelSpec`], the structures and their thresholds,
//! the prompt settings, the vocabulary (tokens + fingerprint), and free-form training provenance
//! and metrics. Every file is listed with its role, size and SHA-256.
//!
//! [`Bundle::open`] refuses, with an error that says which: an unknown format or format version,
//! a manifest whose seal does not match its bytes (edited after it was written), a manifest that
//! does not parse or lacks a field, an invalid spec, a vocabulary whose fingerprint does not match
//! its tokens, a file path that leaves the bundle (a folder in the name, or a symbolic link), and
//! any listed file that is missing, truncated or changed.
//!
//! **Integrity.** The manifest lists every file's SHA-256 and is itself sealed:
//! `manifest_sha256` is the SHA-256 of the manifest file's bytes with that field's 64 hex digits
//! replaced by `0`s. The seal catches any edit or corruption of the manifest (thresholds,
//! licence, prompt settings) that was not made by this library's writer. **Authenticity** comes
//! from pinning: the [`Bundle::digest`] (SHA-256 of the whole `manifest.json`, which covers every
//! file through their digests) can be given to [`Bundle::open_pinned`], so a host that ships the
//! digest of the model it validated (in its own signed firmware) loads exactly that model and
//! nothing else, whoever rewrote the bundle.

//!
//! Files: [`manifest`] (what a manifest holds), [`error`], [`seal`] (the manifest's seal and
//! SHA-256), `read` (size-checked reading of directories and tar files), `write` (writing,
//! amending, resealing and packing: host tools use it, the device only reads).

mod error;
mod manifest;
mod read;
pub mod seal;
mod write;

pub use error::BundleError;
pub use manifest::{FileEntry, Manifest, PromptSettings, VocabRecord};
pub use read::MAX_FILE_BYTES;
pub use seal::{seal_manifest, sha256_hex};

use crate::vocab::{Vocab, VocabError};
use read::{ReadFailure, read_limited, read_tar, read_tar_from, tar_entry};
use seal::verify_seal;
use std::path::{Path, PathBuf};

/// Format tag of the manifest.
pub const FORMAT: &str = "synboost-bundle";
/// The manifest format version this build reads and writes (2: the manifest is sealed; version 1
/// bundles are refused and can be resealed with [`Bundle::reseal`]).
pub const FORMAT_VERSION: u32 = 2;
/// The manifest field holding its seal.
pub const SEAL_FIELD: &str = "manifest_sha256";
/// Name of the manifest file inside a bundle.
pub const MANIFEST: &str = "manifest.json";

/// An opened, verified bundle with its files in memory.
#[derive(Debug, Clone)]
pub struct Bundle {
    dir: PathBuf,
    manifest: Manifest,
    vocab: Vocab,
    files: Vec<(FileEntry, Vec<u8>)>,
    digest: String,
}

/// Largest `manifest.json` read (the default model's is about 10 KiB).
pub const MAX_MANIFEST_BYTES: usize = 4 << 20;

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BundleError + '_ {
    move |source| BundleError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(crate) fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && name != MANIFEST
}

impl Bundle {
    /// Open and verify a bundle: a directory, or one tar file holding the same files (see
    /// [`Bundle::pack`]). Paths in errors name the file inside the directory or the archive.
    /// Files are read only by the plain names the manifest lists, and a symbolic link in a
    /// bundle directory is refused, so nothing outside the bundle is ever read.
    pub fn open(path: &Path) -> Result<Self, BundleError> {
        Self::open_checked(path, None)
    }

    /// [`Bundle::open`], refusing any bundle whose [`Bundle::digest`] is not `expected_sha256`
    /// (64 hex digits, either case). The digest is checked on the manifest's bytes before
    /// anything in them is parsed or any other file is read.
    pub fn open_pinned(path: &Path, expected_sha256: &str) -> Result<Self, BundleError> {
        Self::open_checked(path, Some(expected_sha256))
    }

    fn open_checked(path: &Path, pin: Option<&str>) -> Result<Self, BundleError> {
        if path.as_os_str().is_empty() {
            return Err(BundleError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "the bundle path is empty",
                ),
            });
        }
        if path.is_file() {
            let entries = read_tar(path)?;
            return Self::open_with(path, pin, |name, limit| tar_entry(&entries, name, limit));
        }
        Self::open_with(path, pin, |name, limit| {
            read_limited(&path.join(name), limit)
        })
    }

    /// Open and verify a tar bundle held in memory; `name` stands for its path in errors.
    pub fn open_tar_bytes(name: &Path, bytes: &[u8]) -> Result<Self, BundleError> {
        let entries = read_tar_from(name, bytes)?;
        Self::open_with(name, None, |n, limit| tar_entry(&entries, n, limit))
    }

    fn open_with(
        dir: &Path,
        pin: Option<&str>,
        mut read: impl FnMut(&str, u64) -> Result<Vec<u8>, ReadFailure>,
    ) -> Result<Self, BundleError> {
        let mpath = dir.join(MANIFEST);
        let bytes = match read(MANIFEST, MAX_MANIFEST_BYTES as u64) {
            Ok(b) => b,
            Err(e) => return Err(e.into_error(&mpath, None)),
        };
        let digest = sha256_hex(&bytes);
        if let Some(expected) = pin
            && !expected.eq_ignore_ascii_case(&digest)
        {
            return Err(BundleError::Pin {
                path: mpath,
                expected: expected.to_string(),
                found: digest,
            });
        }
        let text = String::from_utf8(bytes).map_err(|_| BundleError::Manifest {
            path: mpath.clone(),
            message: "not UTF-8".into(),
        })?;
        // Check the format before the full schema, so an old or foreign manifest gets a
        // version error rather than a confusing missing-field one.
        let head: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| BundleError::Manifest {
                path: mpath.clone(),
                message: e.to_string(),
            })?;
        let format = head.get("format").and_then(|v| v.as_str()).unwrap_or("");
        let version = head
            .get("format_version")
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        if format != FORMAT || version != u64::from(FORMAT_VERSION) {
            return Err(BundleError::Format {
                path: mpath,
                format: format.to_string(),
                version: u32::try_from(version).unwrap_or(u32::MAX),
            });
        }
        verify_seal(&text).map_err(|message| BundleError::Seal {
            path: mpath.clone(),
            message,
        })?;
        let manifest: Manifest =
            serde_json::from_value(head).map_err(|e| BundleError::Manifest {
                path: mpath.clone(),
                message: e.to_string(),
            })?;
        let vocab = Self::check(&mpath, &manifest)?;
        let mut files = Vec::with_capacity(manifest.files.len());
        for f in &manifest.files {
            let p = dir.join(&f.path);
            if f.bytes > MAX_FILE_BYTES {
                return Err(BundleError::Inconsistent {
                    path: mpath,
                    message: format!(
                        "file {:?} is listed with {} bytes, more than the {MAX_FILE_BYTES} a \
                         bundle file may have",
                        f.path, f.bytes
                    ),
                });
            }
            // At most the bytes the manifest states: a larger file is refused unread.
            let bytes = read(&f.path, f.bytes).map_err(|e| e.into_error(&p, Some(&f.role)))?;
            if bytes.len() as u64 != f.bytes {
                return Err(BundleError::Size {
                    path: p,
                    expected: f.bytes,
                    found: bytes.len() as u64,
                });
            }
            let digest = sha256_hex(&bytes);
            if digest != f.sha256 {
                return Err(BundleError::Digest {
                    path: p,
                    expected: f.sha256.clone(),
                    found: digest,
                });
            }
            files.push((f.clone(), bytes));
        }
        log::info!(
            "bundle {} {} ({}): {} file(s) verified",
            manifest.name,
            manifest.version,
            manifest.licence,
            files.len()
        );
        Ok(Self {
            dir: dir.to_path_buf(),
            manifest,
            vocab,
            files,
            digest,
        })
    }

    /// Consistency of a manifest on its own (before looking at files).
    pub(crate) fn check(mpath: &Path, m: &Manifest) -> Result<Vocab, BundleError> {
        let bad = |message: String| BundleError::Inconsistent {
            path: mpath.to_path_buf(),
            message,
        };
        m.spec.validate().map_err(|source| BundleError::Spec {
            path: mpath.to_path_buf(),
            source,
        })?;
        if m.structures != m.spec.structures {
            return Err(bad("structures differ from the spec's".into()));
        }
        if m.thresholds.len() != m.structures.len()
            || m.thresholds
                .iter()
                .any(|t| !(t.is_finite() && *t > 0.0 && *t < 1.0))
        {
            return Err(bad("one threshold in (0, 1) per structure is needed".into()));
        }
        if m.licence.trim().is_empty() {
            return Err(bad("the licence is empty".into()));
        }
        let vocab =
            Vocab::from_tokens(m.vocab.version, m.vocab.tokens.clone()).map_err(|source| {
                BundleError::Vocab {
                    path: mpath.to_path_buf(),
                    source,
                }
            })?;
        if vocab.fingerprint() != m.vocab.fingerprint {
            return Err(BundleError::Vocab {
                path: mpath.to_path_buf(),
                source: VocabError::Invalid(format!(
                    "fingerprint {} does not match the tokens ({})",
                    m.vocab.fingerprint,
                    vocab.fingerprint()
                )),
            });
        }
        if vocab.len() != m.spec.text.vocab_size {
            return Err(bad(format!(
                "vocabulary has {} tokens, the spec {}",
                vocab.len(),
                m.spec.text.vocab_size
            )));
        }
        for f in &m.files {
            if !plain_name(&f.path) {
                return Err(bad(format!(
                    "file path {:?} must be a plain name inside the bundle",
                    f.path
                )));
            }
        }
        Ok(vocab)
    }

    /// The bundle's identity: SHA-256 (lower-case hex) of its `manifest.json` bytes, which
    /// list every file's SHA-256. Pin it with [`Bundle::open_pinned`].
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The folder the bundle was opened from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The vocabulary.
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// The verified bytes of the file with `role`.
    pub fn file(&self, role: &str) -> Result<&[u8], BundleError> {
        self.files
            .iter()
            .find(|(f, _)| f.role == role)
            .map(|(_, b)| b.as_slice())
            .ok_or_else(|| BundleError::NoRole(role.to_string()))
    }
}

#[cfg(test)]
mod tests;
