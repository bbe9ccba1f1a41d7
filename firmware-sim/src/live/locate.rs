//! Where the library and the model bundle are when the command line does not say.

use super::{DEFAULT_BUNDLE, LIB_NAME};
use crate::error::{Result, SimError};
use std::path::{Path, PathBuf};

/// The library to load: `explicit` (from `--lib` or `SYNBOOST_LIB`) if given, else
/// `libsynboost.so` next to the running executable (or in its `deps/` folder).
pub fn locate_library(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        if p.is_file() {
            return Ok(p.to_path_buf());
        }
        return Err(SimError::NoLibrary(format!(
            "{}: no such file (given with --lib or SYNBOOST_LIB)",
            p.display()
        )));
    }
    let exe = std::env::current_exe().map_err(|e| {
        SimError::NoLibrary(format!(
            "{LIB_NAME}: cannot locate this executable ({e}); give --lib PATH or set SYNBOOST_LIB"
        ))
    })?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    // Beside the executable (cargo puts it there when `synboost` is built as a package of its
    // own) or in deps/ (where it stays when only built as this crate's dependency): the newer.
    let p = dir.join(LIB_NAME);
    if let Some(found) = newest(&[p.clone(), dir.join("deps").join(LIB_NAME)]) {
        return Ok(found);
    }
    Err(SimError::NoLibrary(format!(
        "{LIB_NAME} not found: not given with --lib or SYNBOOST_LIB, and not next to this executable \
         ({}). Build it with `cargo build --release -p synboost` (it lands beside \
         target/release/synboost-sim), or run scripts/live.sh",
        p.display()
    )))
}

/// The most recently modified of the files that exist.
fn newest(paths: &[PathBuf]) -> Option<PathBuf> {
    paths
        .iter()
        .filter(|p| p.is_file())
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .cloned()
}

/// The model bundle: `explicit` if given, else `models/default` in the current folder or one
/// of its parents, else `../../models/default` from the executable (`target/<profile>/`).
pub fn locate_bundle(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        if p.exists() {
            return Ok(p.to_path_buf());
        }
        return Err(SimError::NoBundle(format!(
            "model bundle {}: no such file or folder (given with --bundle or SYNBOOST_BUNDLE)",
            p.display()
        )));
    }
    let mut tried = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            tried.push(dir.join(DEFAULT_BUNDLE));
        }
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        tried.push(dir.join("..").join("..").join(DEFAULT_BUNDLE));
    }
    if let Some(p) = tried.iter().find(|p| p.join("manifest.json").is_file()) {
        return Ok(p.clone());
    }
    let shown: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
    Err(SimError::NoBundle(format!(
        "no default model bundle: none of {} has a manifest.json. Give --bundle DIR (a folder or \
         .tar with manifest.json), or write a random-weight bundle for testing with \
         `cargo run -p synboost-sim --example random_bundle -- models/default`",
        shown.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_library_and_bundle_are_clear_errors() {
        let e = locate_library(Some(Path::new("/nonexistent/libsynboost.so"))).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/libsynboost.so"), "{e}");
        let e = locate_bundle(Some(Path::new("/nonexistent/bundle"))).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/bundle"), "{e}");
    }
}
