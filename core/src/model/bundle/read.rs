//! Reading a bundle's files, each refused from its size before it is read: from a directory or
//! from a tar file (on disk or in memory).

use super::{BundleError, MANIFEST, io, plain_name};
use std::path::Path;

/// Why a file of a bundle could not be read.
pub(super) enum ReadFailure {
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
pub(super) fn read_limited(p: &Path, limit: u64) -> Result<Vec<u8>, ReadFailure> {
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
pub(super) fn tar_entry(
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
    pub(super) fn into_error(self, path: &Path, role: Option<&str>) -> BundleError {
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
pub(super) const MAX_TAR_BYTES: u64 = 1 << 30;

/// Every regular file of a tar bundle, by plain name; anything else (folders, links, paths
/// with folders, repeated names) is refused.
pub(super) fn read_tar(
    path: &Path,
) -> Result<std::collections::HashMap<String, Vec<u8>>, BundleError> {
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
pub(super) fn read_tar_from(
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
