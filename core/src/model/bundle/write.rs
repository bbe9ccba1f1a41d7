//! Writing bundles: a new bundle from files, edits of its metrics or version (resealed), the
//! format upgrade of an old manifest, and packing into one tar file. Host tools use this; a
//! scanner only opens bundles.

use super::manifest::FileEntry;
use super::seal::seal_text;
use super::seal::sha256_hex;
use super::{
    Bundle, BundleError, FORMAT, FORMAT_VERSION, MANIFEST, Manifest, SEAL_FIELD, io, plain_name,
};
use std::path::Path;

/// Write `manifest` as pretty JSON to `mpath`.
pub(super) fn write_manifest(mpath: &Path, manifest: &Manifest) -> Result<(), BundleError> {
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

    /// Record in the bundle directory `dir` (verified first) a measurement of both image
    /// graphs on one CPU class with one backend ([`crate::variant::Measured`]), replacing that
    /// class's and backend's earlier one, in `quantization.image_int8.measured`: what [`crate::variant::choose`] reads. The
    /// model files are untouched; the bundle digest changes.
    pub fn record_measurement(
        dir: &Path,
        measured: &crate::variant::Measured,
    ) -> Result<Manifest, BundleError> {
        Self::amend(dir, "int8 measurements", |m| {
            let mut list = crate::variant::recorded(&m.quantization);
            list.retain(|x| x.cpu != measured.cpu || x.runtime != measured.runtime);
            list.push(measured.clone());
            let value = serde_json::to_value(&list).map_err(|e| BundleError::Inconsistent {
                path: dir.join(MANIFEST),
                message: e.to_string(),
            })?;
            match m.quantization.get_mut("image_int8") {
                Some(q) if q.is_object() => {
                    q["measured"] = value;
                    Ok(())
                }
                _ => Err(BundleError::Inconsistent {
                    path: dir.join(MANIFEST),
                    message: "the bundle has no int8 variant to record a measurement for".into(),
                }),
            }
        })
    }

    /// Record new scores of the same weights as a new version of the bundle in directory `dir`
    /// (verified first): `metrics` replaces the manifest's, `version` its version, and an entry
    /// `{version, previous_version, at, reason}` (`at`: when, RFC 3339) is appended to `provenance.rescored`; the
    /// manifest is resealed, the model files and their digests are untouched. The bundle digest
    /// changes, which is why the version must (an error otherwise): a host pinning the old
    /// digest keeps loading only the old manifest. Returns the bundle as reopened.
    pub fn rescore(
        dir: &Path,
        version: &str,
        metrics: serde_json::Value,
        reason: &str,
        at: &str,
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
                "at": at,
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
}
