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

use super::spec::{ModelSpec, SpecError};
use crate::prompt::{PromptKind, PromptScheme, Wording};
use crate::structure::Structure;
use crate::vocab::{Vocab, VocabError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
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

/// Where the seal's 64 hex digits are in a manifest text: the one `"manifest_sha256"` key,
/// then `:` and a string of exactly 64 lower-case hex digits.
fn seal_span(text: &str) -> Result<std::ops::Range<usize>, String> {
    let key = format!("\"{SEAL_FIELD}\"");
    let mut found = text.match_indices(&key);
    let (at, _) = found
        .next()
        .ok_or_else(|| format!("the manifest is not sealed (no {SEAL_FIELD})"))?;
    if found.next().is_some() {
        return Err(format!("{SEAL_FIELD} appears more than once"));
    }
    let b = text.as_bytes();
    let mut i = at + key.len();
    let skip_ws = |i: &mut usize| {
        while b.get(*i).is_some_and(|c| c.is_ascii_whitespace()) {
            *i += 1;
        }
    };
    skip_ws(&mut i);
    if b.get(i) != Some(&b':') {
        return Err(format!("{SEAL_FIELD} is not followed by `:`"));
    }
    i += 1;
    skip_ws(&mut i);
    let start = i + 1;
    let end = start + 64;
    let ok = b.get(i) == Some(&b'"')
        && b.get(end) == Some(&b'"')
        && b.get(start..end)
            .is_some_and(|h| h.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')));
    if !ok {
        return Err(format!(
            "{SEAL_FIELD} must be a string of 64 lower-case hex digits"
        ));
    }
    Ok(start..end)
}

/// The seal a manifest text should carry: SHA-256 of the text with the seal digits zeroed.
fn seal_of(text: &str, span: std::ops::Range<usize>) -> String {
    let mut zeroed = text.as_bytes().to_vec();
    zeroed[span].fill(b'0');
    sha256_hex(&zeroed)
}

/// Check a manifest text's seal.
fn verify_seal(text: &str) -> Result<(), String> {
    let span = seal_span(text)?;
    let want = seal_of(text, span.clone());
    let have = &text[span];
    if have != want {
        return Err(format!(
            "{SEAL_FIELD} {have} does not match the manifest's bytes ({want}): the manifest was \
             edited or corrupted after it was written"
        ));
    }
    Ok(())
}

/// Seal a manifest text as the library's writer does (for tools that write manifests
/// themselves, and the fuzz harness): the text must be one JSON object without the seal field;
/// the seal is added as its last field.
pub fn seal_manifest(text: &str) -> Result<String, BundleError> {
    seal_text(text).map_err(|message| BundleError::Seal {
        path: PathBuf::from(MANIFEST),
        message,
    })
}

/// Seal a manifest text that ends with its JSON object's closing brace: add the seal field
/// last and fill it in.
fn seal_text(text: &str) -> Result<String, String> {
    let body = text.trim_end();
    let body = body
        .strip_suffix('}')
        .ok_or("the manifest text does not end with `}`")?
        .trim_end();
    let mut out = format!("{body},\n  \"{SEAL_FIELD}\": \"{}\"\n}}\n", "0".repeat(64));
    let span = seal_span(&out)?;
    let seal = seal_of(&out, span.clone());
    out.replace_range(span, &seal);
    Ok(out)
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
    /// Larger than the bytes allowed for it (found from its size before reading it).
    TooLarge {
        size: u64,
        limit: u64,
    },
}
use ReadFailure::{Absent, TooLarge, Unreadable};

/// Largest file of a bundle (the default model's largest is about 2 MiB).
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// A bundle directory's file `p`, of at most `limit` bytes: refused from its size before any
/// of it is read, and read fallibly (no more than `limit` + 1 bytes, should it grow).
fn read_limited(p: &Path, limit: u64) -> Result<Vec<u8>, ReadFailure> {
    let m = match std::fs::symlink_metadata(p) {
        Err(_) => return Err(Absent),
        Ok(m) => m,
    };
    if m.file_type().is_symlink() {
        return Err(Unreadable(
            "a symbolic link: bundle files must be regular files inside the bundle".into(),
        ));
    }
    if !m.is_file() {
        return Err(Absent);
    }
    if m.len() > limit {
        return Err(TooLarge {
            size: m.len(),
            limit,
        });
    }
    let file = std::fs::File::open(p).map_err(|e| Unreadable(e.to_string()))?;
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(m.len() as usize)
        .map_err(|_| Unreadable(format!("out of memory for {} bytes", m.len())))?;
    std::io::Read::read_to_end(&mut std::io::Read::take(file, limit + 1), &mut bytes)
        .map_err(|e| Unreadable(e.to_string()))?;
    if bytes.len() as u64 > limit {
        return Err(TooLarge {
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

/// A tar bundle's entry `name`, of at most `limit` bytes.
fn tar_entry(
    entries: &std::collections::HashMap<String, Vec<u8>>,
    name: &str,
    limit: u64,
) -> Result<Vec<u8>, ReadFailure> {
    let e = entries.get(name).ok_or(Absent)?;
    if e.len() as u64 > limit {
        return Err(TooLarge {
            size: e.len() as u64,
            limit,
        });
    }
    Ok(e.clone())
}

impl ReadFailure {
    fn into_error(self, path: &Path, role: Option<&str>) -> BundleError {
        match (self, role) {
            (TooLarge { size, limit }, None) => BundleError::Manifest {
                path: path.to_path_buf(),
                message: format!(
                    "{size} bytes, more than the {limit} a manifest may have (refused unread)"
                ),
            },
            (TooLarge { size, limit }, Some(_)) => BundleError::Size {
                path: path.to_path_buf(),
                expected: limit,
                found: size,
            },
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
    let len = std::fs::metadata(path).map_err(io(path))?.len();
    if len > MAX_TAR_BYTES {
        return Err(BundleError::Inconsistent {
            path: path.to_path_buf(),
            message: format!("archive is {len} bytes, more than {MAX_TAR_BYTES}"),
        });
    }
    let file = std::fs::File::open(path).map_err(io(path))?;
    read_tar_from(path, std::io::BufReader::new(file))
}

/// [`read_tar`] from any reader; `path` names the archive in errors. Entries are read only as
/// far as the bytes actually present (a header's size is never preallocated).
fn read_tar_from(
    path: &Path,
    reader: impl std::io::Read,
) -> Result<std::collections::HashMap<String, Vec<u8>>, BundleError> {
    let bad = |message: String| BundleError::Inconsistent {
        path: path.to_path_buf(),
        message,
    };
    let mut archive = tar::Archive::new(reader);
    let mut out = std::collections::HashMap::new();
    let mut total = 0u64;
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
        std::io::Read::read_to_end(
            &mut std::io::Read::take(&mut e, MAX_TAR_BYTES - total + 1),
            &mut bytes,
        )
        .map_err(io(path))?;
        total += bytes.len() as u64;
        if total > MAX_TAR_BYTES {
            return Err(bad(format!("entries hold more than {MAX_TAR_BYTES} bytes")));
        }
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
    digest: String,
}

/// Largest `manifest.json` read (the default model's is about 10 KiB).
pub const MAX_MANIFEST_BYTES: usize = 4 << 20;

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
    let text = seal_text(&text).map_err(|message| BundleError::Seal {
        path: mpath.to_path_buf(),
        message,
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
        Self::amend(dir, "metrics", |m| {
            m.metrics = metrics;
            Ok(())
        })
    }

    /// Record new scores of the same weights as a new version of the bundle in directory `dir`
    /// (verified first): `metrics` replaces the manifest's, `version` its version, and an entry
    /// `{version, previous_version, at, reason}` is appended to `provenance.rescored`; the
    /// manifest is resealed, the model files and their digests are untouched. The bundle digest
    /// changes, which is why the version must (an error otherwise): a host pinning the old
    /// digest keeps loading only the old manifest. Returns the bundle as reopened.
    pub fn rescore(
        dir: &Path,
        version: &str,
        metrics: serde_json::Value,
        reason: &str,
    ) -> Result<Self, BundleError> {
        Self::amend(dir, "version", |m| {
            if m.version == version {
                return Err(BundleError::Inconsistent {
                    path: dir.join(MANIFEST),
                    message: format!(
                        "re-scoring changes the manifest and so the bundle digest: give a \
                         version other than the current {version}"
                    ),
                });
            }
            let entry = serde_json::json!({
                "version": version,
                "previous_version": m.version,
                "at": crate::model::export::now_rfc3339(),
                "reason": reason,
            });
            if !m.provenance.is_object() {
                m.provenance = serde_json::json!({ "recorded": m.provenance.take() });
            }
            match m
                .provenance
                .get_mut("rescored")
                .and_then(|r| r.as_array_mut())
            {
                Some(list) => list.push(entry),
                None => m.provenance["rescored"] = serde_json::json!([entry]),
            }
            m.version = version.to_string();
            m.metrics = metrics;
            Ok(())
        })?;
        Self::open(dir)
    }

    /// Verify the bundle directory `dir`, apply `edit` to its manifest and write it back,
    /// sealed; nothing is written when `edit` fails. `what` names the edit in the error for a
    /// tar bundle.
    fn amend(
        dir: &Path,
        what: &str,
        edit: impl FnOnce(&mut Manifest) -> Result<(), BundleError>,
    ) -> Result<Manifest, BundleError> {
        let mpath = dir.join(MANIFEST);
        if !dir.is_dir() {
            return Err(BundleError::Inconsistent {
                path: mpath,
                message: format!("the {what} can only be changed in a bundle directory"),
            });
        }
        let mut manifest = Self::open(dir)?.manifest;
        edit(&mut manifest)?;
        Self::check(&mpath, &manifest)?;
        write_manifest(&mpath, &manifest)?;
        Ok(manifest)
    }

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

    /// Rewrite the manifest of the bundle directory `dir` in the current format, sealed, after
    /// verifying every file against it; for bundles written before manifests were sealed
    /// (format version 1). The files and their digests are untouched. Resealing vouches for
    /// the manifest as it stands: do it only on a bundle you trust.
    pub fn reseal(dir: &Path) -> Result<Self, BundleError> {
        let mpath = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&mpath).map_err(io(&mpath))?;
        let mut v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| BundleError::Manifest {
                path: mpath.clone(),
                message: e.to_string(),
            })?;
        if let Some(o) = v.as_object_mut() {
            o.remove(SEAL_FIELD);
            o.insert("format_version".into(), FORMAT_VERSION.into());
        }
        let manifest: Manifest = serde_json::from_value(v).map_err(|e| BundleError::Manifest {
            path: mpath.clone(),
            message: e.to_string(),
        })?;
        if manifest.format != FORMAT {
            return Err(BundleError::Format {
                path: mpath,
                format: manifest.format,
                version: manifest.format_version,
            });
        }
        Self::check(&mpath, &manifest)?;
        write_manifest(&mpath, &manifest)?;
        Self::open(dir)
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
    fn rescoring_is_a_new_version_with_the_same_files_and_a_new_digest() {
        let d = tempfile::tempdir().unwrap();
        write(d.path());
        let before = Bundle::open(d.path()).unwrap();
        let old = before.manifest().clone();
        let m = serde_json::json!({"camus224_val": {"f32": {"P3": {"mean_dice": 0.91}}}});
        // The same version is refused, and nothing is written.
        let e = Bundle::rescore(d.path(), &old.version, m.clone(), "masks cleaned").unwrap_err();
        assert!(e.to_string().contains("give a version"), "{e}");
        assert_eq!(Bundle::open(d.path()).unwrap().digest(), before.digest());
        let b = Bundle::rescore(d.path(), "9.9.1", m.clone(), "masks cleaned").unwrap();
        let n = b.manifest();
        assert_eq!(n.version, "9.9.1");
        assert_eq!(n.metrics, m);
        assert_eq!(n.files, old.files, "model files untouched");
        assert_eq!(n.created, old.created);
        assert_ne!(b.digest(), before.digest());
        let r = &n.provenance["rescored"];
        assert_eq!(r[0]["previous_version"], old.version.as_str());
        assert_eq!(r[0]["version"], "9.9.1");
        assert_eq!(r[0]["reason"], "masks cleaned");
        // A second re-score appends.
        let b = Bundle::rescore(d.path(), "9.9.2", m, "again").unwrap();
        assert_eq!(
            b.manifest().provenance["rescored"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        // The seal holds: an edit by hand is still refused.
        let p = d.path().join(MANIFEST);
        let text = std::fs::read_to_string(&p)
            .unwrap()
            .replace("9.9.2", "9.9.3");
        std::fs::write(&p, text).unwrap();
        assert!(matches!(
            Bundle::open(d.path()),
            Err(BundleError::Seal { .. })
        ));
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
    fn oversized_files_are_refused_from_their_size_unread() {
        let d = tempfile::tempdir().unwrap();
        write(d.path());
        // Sparse files: huge by their size, nothing on disk. Reading one whole would take
        // 64 GiB of memory; the refusal comes from the size alone.
        let p = d.path().join("image.onnx");
        std::fs::File::create(&p)
            .unwrap()
            .set_len(64 << 30)
            .unwrap();
        let e = Bundle::open(d.path()).unwrap_err();
        assert!(
            matches!(
                e,
                BundleError::Size {
                    expected: 17,
                    found: 68_719_476_736,
                    ..
                }
            ),
            "{e}"
        );
        let digest = sha256_hex(&std::fs::read(d.path().join(MANIFEST)).unwrap());
        let e = Bundle::open_pinned(d.path(), &digest).unwrap_err();
        assert!(matches!(e, BundleError::Size { .. }), "{e}");
        let m = d.path().join(MANIFEST);
        std::fs::File::create(&m).unwrap().set_len(8 << 30).unwrap();
        let e = Bundle::open(d.path()).unwrap_err();
        assert!(matches!(e, BundleError::Manifest { .. }), "{e}");
        assert!(
            e.to_string().contains("8589934592 bytes") && e.to_string().contains("refused unread"),
            "{e}"
        );
        // A manifest that lists a file larger than any bundle file may be is refused too.
        let d2 = tempfile::tempdir().unwrap();
        write(d2.path());
        let mut mf = Bundle::open(d2.path()).unwrap().manifest().clone();
        mf.files[1].bytes = MAX_FILE_BYTES + 1;
        write_manifest(&d2.path().join(MANIFEST), &mf).unwrap();
        let e = Bundle::open(d2.path()).unwrap_err();
        assert!(e.to_string().contains("more than the 1073741824"), "{e}");
        // And an empty path opens nothing (not the current folder's bundle).
        let e = Bundle::open(Path::new("")).unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
    }

    #[test]
    fn bad_manifests_are_refused_with_the_reason() {
        let d = tempfile::tempdir().unwrap();
        write(d.path());
        let mp = d.path().join(MANIFEST);
        let good = std::fs::read_to_string(&mp).unwrap();
        // Each edit is resealed, so that the checks behind the seal are reached.
        let edit = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v: serde_json::Value = serde_json::from_str(&good).unwrap();
            v.as_object_mut().unwrap().remove(SEAL_FIELD);
            f(&mut v);
            let text = seal_text(&serde_json::to_string_pretty(&v).unwrap()).unwrap();
            std::fs::write(&mp, text).unwrap();
            Bundle::open(d.path()).unwrap_err().to_string()
        };
        assert!(edit(&|v| v["format_version"] = 3.into()).contains("version 3"));
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
    fn an_edited_manifest_is_refused_by_its_seal() {
        let d = tempfile::tempdir().unwrap();
        write(d.path());
        let mp = d.path().join(MANIFEST);
        let good = std::fs::read_to_string(&mp).unwrap();
        verify_seal(&good).unwrap();
        // A threshold changed by hand: still valid JSON and a consistent manifest.
        let edited = good.replacen("0.5", "0.25", 1);
        assert_ne!(edited, good);
        std::fs::write(&mp, &edited).unwrap();
        let e = Bundle::open(d.path()).unwrap_err();
        assert!(matches!(e, BundleError::Seal { .. }), "{e}");
        assert!(e.to_string().contains("edited or corrupted"), "{e}");
        // Whitespace counts too: the seal is over the bytes.
        std::fs::write(&mp, good.replacen("{", "{ ", 1)).unwrap();
        assert!(matches!(
            Bundle::open(d.path()).unwrap_err(),
            BundleError::Seal { .. }
        ));
        // A removed, doubled or malformed seal.
        let span = seal_span(&good).unwrap();
        let unsealed = good.replace(
            &format!(",\n  \"{SEAL_FIELD}\": \"{}\"", &good[span.clone()]),
            "",
        );
        std::fs::write(&mp, &unsealed).unwrap();
        let e = Bundle::open(d.path()).unwrap_err().to_string();
        assert!(e.contains("not sealed"), "{e}");
        let mut upper = good.clone();
        upper.replace_range(span.clone(), &good[span.clone()].to_uppercase());
        std::fs::write(&mp, &upper).unwrap();
        let e = Bundle::open(d.path()).unwrap_err().to_string();
        assert!(e.contains("64 lower-case hex"), "{e}");
        // Resealing a trusted bundle makes it open again; the files are checked first.
        std::fs::write(&mp, &edited).unwrap();
        let b = Bundle::reseal(d.path()).unwrap();
        assert_eq!(b.manifest().thresholds[0], 0.25);
        std::fs::write(d.path().join("image.onnx"), b"image-graph-bytez").unwrap();
        assert!(matches!(
            Bundle::reseal(d.path()).unwrap_err(),
            BundleError::Digest { .. }
        ));
    }

    #[test]
    fn a_pinned_bundle_opens_only_with_its_digest() {
        let d = tempfile::tempdir().unwrap();
        write(d.path());
        let b = Bundle::open(d.path()).unwrap();
        let digest = b.digest().to_string();
        assert_eq!(
            digest,
            sha256_hex(&std::fs::read(d.path().join(MANIFEST)).unwrap())
        );
        Bundle::open_pinned(d.path(), &digest).unwrap();
        Bundle::open_pinned(d.path(), &digest.to_uppercase()).unwrap();
        // Another valid, sealed bundle (metrics rewritten by the library) is not the pinned one.
        Bundle::set_metrics(d.path(), serde_json::json!({"x": 1})).unwrap();
        let e = Bundle::open_pinned(d.path(), &digest).unwrap_err();
        assert!(matches!(e, BundleError::Pin { .. }), "{e}");
        assert!(e.to_string().contains(&digest), "{e}");
        // The pin is checked before the manifest is parsed.
        std::fs::write(d.path().join(MANIFEST), "{not json").unwrap();
        assert!(matches!(
            Bundle::open_pinned(d.path(), &digest).unwrap_err(),
            BundleError::Pin { .. }
        ));
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_in_a_bundle_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("b");
        write(&dir);
        // The same bytes, but through a link to a file outside the bundle.
        let outside = d.path().join("outside.onnx");
        std::fs::rename(dir.join("image.onnx"), &outside).unwrap();
        std::os::unix::fs::symlink(&outside, dir.join("image.onnx")).unwrap();
        let e = Bundle::open(&dir).unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
        // The manifest too.
        std::fs::rename(&outside, dir.join("image.onnx")).unwrap();
        Bundle::open(&dir).unwrap();
        std::fs::rename(dir.join(MANIFEST), d.path().join("m.json")).unwrap();
        std::os::unix::fs::symlink(d.path().join("m.json"), dir.join(MANIFEST)).unwrap();
        let e = Bundle::open(&dir).unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
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
        // The same archive from memory.
        let b = Bundle::open_tar_bytes(Path::new("mem.tar"), &bytes).unwrap();
        assert_eq!(b.file("image").unwrap(), b"image-graph-bytes");
        let e = Bundle::open_tar_bytes(Path::new("mem.tar"), &bad).unwrap_err();
        assert!(e.to_string().contains("mem.tar/image.onnx"), "{e}");
    }
}
