//! Model bundles: a directory holding `manifest.json` and the model files it lists.
//!
//! The manifest names the model, its version and **licence** (a model trained on CAMUS is
//! CC BY-NC-SA 4.0), when it was made, the [`ModelSpec`], the structures and their thresholds,
//! the prompt settings, the vocabulary (tokens + fingerprint), and free-form training provenance
//! and metrics. Every file is listed with its role, size and SHA-256.
//!
//! [`Bundle::open`] refuses, with an error that says which: an unknown format or format version,
//! a manifest that does not parse or lacks a field, an invalid spec, a vocabulary whose
//! fingerprint does not match its tokens, a file path that leaves the bundle, and any listed file
//! that is missing, truncated or changed.

use super::spec::{ModelSpec, SpecError};
use crate::prompt::{PromptKind, PromptScheme, Wording};
use crate::structure::Structure;
use crate::vocab::{Vocab, VocabError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Format tag of the manifest.
pub const FORMAT: &str = "synboost-bundle";
/// The manifest format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// Name of the manifest file inside a bundle.
pub const MANIFEST: &str = "manifest.json";

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
}

/// SHA-256 of bytes as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a file of a bundle could not be read.
enum ReadFailure {
    Absent,
    Unreadable(String),
}
use ReadFailure::{Absent, Unreadable};

impl ReadFailure {
    fn into_error(self, path: &Path, role: Option<&str>) -> BundleError {
        match (self, role) {
            (Absent, Some(role)) => BundleError::MissingFile {
                path: path.to_path_buf(),
                role: role.to_string(),
            },
            (Absent, None) => BundleError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "not in the bundle"),
            },
            (Unreadable(m), _) => BundleError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::other(m),
            },
        }
    }
}

/// Largest tar bundle read into memory.
pub const MAX_TAR_BYTES: u64 = 1 << 30;

/// Every regular file of a tar bundle, by plain name; anything else (folders, links, paths
/// with folders, repeated names) is refused.
fn read_tar(path: &Path) -> Result<std::collections::HashMap<String, Vec<u8>>, BundleError> {
    let bad = |message: String| BundleError::Inconsistent {
        path: path.to_path_buf(),
        message,
    };
    let len = std::fs::metadata(path).map_err(io(path))?.len();
    if len > MAX_TAR_BYTES {
        return Err(bad(format!(
            "archive is {len} bytes, more than {MAX_TAR_BYTES}"
        )));
    }
    let file = std::fs::File::open(path).map_err(io(path))?;
    let mut archive = tar::Archive::new(std::io::BufReader::new(file));
    let mut out = std::collections::HashMap::new();
    let entries = archive.entries().map_err(io(path))?;
    for e in entries {
        let mut e = e.map_err(io(path))?;
        let name = e.path().map_err(io(path))?.to_string_lossy().into_owned();
        if e.header().entry_type() != tar::EntryType::Regular {
            return Err(bad(format!("entry {name:?} is not a regular file")));
        }
        if name != MANIFEST && !plain_name(&name) {
            return Err(bad(format!("entry {name:?} is not a plain file name")));
        }
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut bytes).map_err(io(path))?;
        if out.insert(name.clone(), bytes).is_some() {
            return Err(bad(format!("entry {name:?} appears twice")));
        }
    }
    Ok(out)
}

/// An opened, verified bundle with its files in memory.
#[derive(Debug, Clone)]
pub struct Bundle {
    dir: PathBuf,
    manifest: Manifest,
    vocab: Vocab,
    files: Vec<(FileEntry, Vec<u8>)>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BundleError + '_ {
    move |source| BundleError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && name != MANIFEST
}

/// Write `manifest` as pretty JSON to `mpath`.
fn write_manifest(mpath: &Path, manifest: &Manifest) -> Result<(), BundleError> {
    let text = serde_json::to_string_pretty(manifest).map_err(|e| BundleError::Manifest {
        path: mpath.to_path_buf(),
        message: e.to_string(),
    })?;
    std::fs::write(mpath, text).map_err(io(mpath))
}

impl Bundle {
    /// Write a bundle into `dir` (created if needed): each `(role, file name, bytes)` is written
    /// and listed with its size and SHA-256, replacing `manifest.files`; then `manifest.json`.
    pub fn write(
        dir: &Path,
        mut manifest: Manifest,
        files: &[(&str, &str, &[u8])],
    ) -> Result<Manifest, BundleError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let mpath = dir.join(MANIFEST);
        manifest.format = FORMAT.to_string();
        manifest.format_version = FORMAT_VERSION;
        manifest.files.clear();
        for (role, name, bytes) in files {
            if !plain_name(name) {
                return Err(BundleError::Inconsistent {
                    path: mpath,
                    message: format!("file name {name:?} must be a plain name inside the bundle"),
                });
            }
            let p = dir.join(name);
            std::fs::write(&p, bytes).map_err(io(&p))?;
            manifest.files.push(FileEntry {
                role: (*role).to_string(),
                path: (*name).to_string(),
                bytes: bytes.len() as u64,
                sha256: sha256_hex(bytes),
            });
        }
        Self::check(&mpath, &manifest)?;
        write_manifest(&mpath, &manifest)?;
        Ok(manifest)
    }

    /// Replace the `metrics` of the bundle in directory `dir` (verified first) and rewrite its
    /// `manifest.json`; the model files and their digests are untouched. Export uses it to
    /// record what the finished bundle itself scores, which can only be measured once its
    /// files exist.
    pub fn set_metrics(dir: &Path, metrics: serde_json::Value) -> Result<Manifest, BundleError> {
        let mpath = dir.join(MANIFEST);
        if !dir.is_dir() {
            return Err(BundleError::Inconsistent {
                path: mpath,
                message: "metrics can only be set on a bundle directory".into(),
            });
        }
        let mut manifest = Self::open(dir)?.manifest;
        manifest.metrics = metrics;
        write_manifest(&mpath, &manifest)?;
        Ok(manifest)
    }

    /// Open and verify a bundle: a directory, or one tar file holding the same files (see
    /// [`Bundle::pack`]). Paths in errors name the file inside the directory or the archive.
    pub fn open(path: &Path) -> Result<Self, BundleError> {
        if path.is_file() {
            let entries = read_tar(path)?;
            return Self::open_with(path, |name| entries.get(name).cloned().ok_or(Absent));
        }
        Self::open_with(path, |name| {
            let p = path.join(name);
            if !p.is_file() {
                return Err(Absent);
            }
            std::fs::read(&p).map_err(|e| Unreadable(e.to_string()))
        })
    }

    /// Write the bundle in `dir` (verified first) as one tar file at `out`: the manifest first,
    /// then the files in manifest order, with fixed metadata so that the same bundle always
    /// gives the same bytes.
    pub fn pack(dir: &Path, out: &Path) -> Result<(), BundleError> {
        let b = Self::open(dir)?;
        let mut names = vec![MANIFEST.to_string()];
        names.extend(b.manifest.files.iter().map(|f| f.path.clone()));
        let tar_err = |e: std::io::Error| BundleError::Io {
            path: out.to_path_buf(),
            source: e,
        };
        let file = std::fs::File::create(out).map_err(tar_err)?;
        let mut t = tar::Builder::new(std::io::BufWriter::new(file));
        for name in names {
            let p = dir.join(&name);
            let bytes = std::fs::read(&p).map_err(io(&p))?;
            let mut h = tar::Header::new_ustar();
            h.set_size(bytes.len() as u64);
            h.set_mode(0o644);
            h.set_mtime(0);
            h.set_entry_type(tar::EntryType::Regular);
            t.append_data(&mut h, &name, bytes.as_slice())
                .map_err(tar_err)?;
        }
        t.into_inner()
            .and_then(|mut w| std::io::Write::flush(&mut w))
            .map_err(tar_err)
    }

    fn open_with(
        dir: &Path,
        mut read: impl FnMut(&str) -> Result<Vec<u8>, ReadFailure>,
    ) -> Result<Self, BundleError> {
        let mpath = dir.join(MANIFEST);
        let text = match read(MANIFEST) {
            Ok(b) => String::from_utf8(b).map_err(|_| BundleError::Manifest {
                path: mpath.clone(),
                message: "not UTF-8".into(),
            })?,
            Err(e) => return Err(e.into_error(&mpath, None)),
        };
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
        let manifest: Manifest =
            serde_json::from_value(head).map_err(|e| BundleError::Manifest {
                path: mpath.clone(),
                message: e.to_string(),
            })?;
        let vocab = Self::check(&mpath, &manifest)?;
        let mut files = Vec::with_capacity(manifest.files.len());
        for f in &manifest.files {
            let p = dir.join(&f.path);
            let bytes = read(&f.path).map_err(|e| e.into_error(&p, Some(&f.role)))?;
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
        })
    }

    /// Consistency of a manifest on its own (before looking at files).
    fn check(mpath: &Path, m: &Manifest) -> Result<Vocab, BundleError> {
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
mod tests {
    use super::*;
    use crate::vocab::Tokenizer;

    fn manifest() -> Manifest {
        let vocab = Vocab::builtin();
        let spec = ModelSpec::student(vocab.len(), Tokenizer::DEFAULT_MAX_LEN);
        Manifest {
            format: String::new(),
            format_version: 0,
            name: "test-student".into(),
            version: "0.0.1".into(),
            licence: "CC BY-NC-SA 4.0 (trained on CAMUS)".into(),
            created: "2026-11-28T00:00:00Z".into(),
            structures: spec.structures.clone(),
            spec,
            thresholds: vec![0.5; 3],
            prompt: PromptSettings {
                kind: PromptKind::P3,
                scheme: PromptScheme::Camus,
                wording: Wording::Heart,
            },
            vocab: VocabRecord::of(&vocab),
            quantization: serde_json::json!({"image": "f32"}),
            provenance: serde_json::json!({"data": "test"}),
            metrics: serde_json::json!({}),
            files: vec![],
        }
    }

    fn write(dir: &Path) {
        Bundle::write(
            dir,
            manifest(),
            &[
                ("text", "text.onnx", b"text-graph"),
                ("image", "image.onnx", b"image-graph-bytes"),
            ],
        )
        .unwrap();
    }

    #[test]
    fn round_trip() {
        let d = tempfile::tempdir().unwrap();
        write(d.path());
        let b = Bundle::open(d.path()).unwrap();
        assert_eq!(b.file("image").unwrap(), b"image-graph-bytes");
        assert_eq!(b.manifest().files.len(), 2);
        assert_eq!(b.vocab(), &Vocab::builtin());
        assert!(matches!(b.file("image_int8"), Err(BundleError::NoRole(_))));
    }

    #[test]
    fn metrics_are_replaced_and_the_files_still_verify() {
        let d = tempfile::tempdir().unwrap();
        write(d.path());
        let m = serde_json::json!({"camus224_val": {"f32": {"P3": {"mean_dice": 0.9}}}});
        Bundle::set_metrics(d.path(), m.clone()).unwrap();
        let b = Bundle::open(d.path()).unwrap();
        assert_eq!(b.manifest().metrics, m);
        assert_eq!(b.manifest().files.len(), 2);
        // A tampered bundle is refused, not relabelled.
        std::fs::write(d.path().join("text.onnx"), b"text-graph!").unwrap();
        assert!(Bundle::set_metrics(d.path(), serde_json::json!({})).is_err());
        // So is a tar file (it would have to be repacked).
        let tar = d.path().join("b.tar");
        std::fs::write(&tar, b"x").unwrap();
        assert!(Bundle::set_metrics(&tar, serde_json::json!({})).is_err());
    }

    #[test]
    fn tampered_truncated_and_missing_files_are_refused() {
        let d = tempfile::tempdir().unwrap();
        write(d.path());
        let p = d.path().join("image.onnx");
        std::fs::write(&p, b"image-graph-bytez").unwrap();
        let e = Bundle::open(d.path()).unwrap_err();
        assert!(matches!(e, BundleError::Digest { .. }), "{e}");
        assert!(e.to_string().contains("image.onnx"));
        std::fs::write(&p, b"image-graph").unwrap();
        let e = Bundle::open(d.path()).unwrap_err();
        assert!(
            matches!(
                e,
                BundleError::Size {
                    expected: 17,
                    found: 11,
                    ..
                }
            ),
            "{e}"
        );
        std::fs::remove_file(&p).unwrap();
        let e = Bundle::open(d.path()).unwrap_err();
        assert!(matches!(e, BundleError::MissingFile { .. }), "{e}");
    }

    #[test]
    fn bad_manifests_are_refused_with_the_reason() {
        let d = tempfile::tempdir().unwrap();
        write(d.path());
        let mp = d.path().join(MANIFEST);
        let good = std::fs::read_to_string(&mp).unwrap();
        let edit = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v: serde_json::Value = serde_json::from_str(&good).unwrap();
            f(&mut v);
            std::fs::write(&mp, v.to_string()).unwrap();
            Bundle::open(d.path()).unwrap_err().to_string()
        };
        assert!(edit(&|v| v["format_version"] = 2.into()).contains("version 2"));
        assert!(edit(&|v| v["format"] = "onnx".into()).contains("\"onnx\""));
        let e = edit(&|v| {
            v.as_object_mut().unwrap().remove("licence");
        });
        assert!(e.contains("missing field `licence`"), "{e}");
        assert!(edit(&|v| v["licence"] = "".into()).contains("licence is empty"));
        assert!(edit(&|v| v["thresholds"] = serde_json::json!([0.5])).contains("threshold"));
        assert!(edit(&|v| v["vocab"]["tokens"][5] = "zzz".into()).contains("fingerprint"));
        assert!(edit(&|v| v["files"][0]["path"] = "../x.onnx".into()).contains("plain name"));
        assert!(
            edit(&|v| v["spec"]["decoder"] = serde_json::json!([8])).contains("decoder stages")
        );
        std::fs::write(&mp, "{not json").unwrap();
        assert!(
            Bundle::open(d.path())
                .unwrap_err()
                .to_string()
                .contains("manifest.json")
        );
    }

    #[test]
    fn tar_bundle_round_trips_and_is_verified() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("b");
        write(&dir);
        let tar = d.path().join("b.tar");
        Bundle::pack(&dir, &tar).unwrap();
        let again = d.path().join("again.tar");
        Bundle::pack(&dir, &again).unwrap();
        assert_eq!(std::fs::read(&tar).unwrap(), std::fs::read(&again).unwrap());
        let b = Bundle::open(&tar).unwrap();
        assert_eq!(b.file("image").unwrap(), b"image-graph-bytes");
        assert_eq!(b.manifest(), Bundle::open(&dir).unwrap().manifest());
        // A changed byte inside the archive is caught by the digest.
        let bytes = std::fs::read(&tar).unwrap();
        let at = bytes
            .windows(b"image-graph-bytes".len())
            .position(|w| w == b"image-graph-bytes")
            .unwrap();
        let mut bad = bytes.clone();
        bad[at + 3] ^= 1;
        std::fs::write(&tar, &bad).unwrap();
        let e = Bundle::open(&tar).unwrap_err().to_string();
        assert!(e.contains("image.onnx"), "{e}");
        // A truncated archive is refused.
        std::fs::write(&tar, &bytes[..bytes.len() / 3]).unwrap();
        assert!(Bundle::open(&tar).is_err());
        // A path with a folder is refused.
        let evil = d.path().join("evil.tar");
        let mut t = tar::Builder::new(std::fs::File::create(&evil).unwrap());
        let mut h = tar::Header::new_ustar();
        h.set_size(1);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        t.append_data(&mut h, "sub/image.onnx", &b"x"[..]).unwrap();
        t.finish().unwrap();
        drop(t);
        let e = Bundle::open(&evil).unwrap_err().to_string();
        assert!(e.contains("plain file name"), "{e}");
    }
}
