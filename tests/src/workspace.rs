//! The workspace as the architecture and dependency checks read it: its root folder and
//! `cargo metadata` of it (offline, locked).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (the folder above this crate).
pub fn root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// `cargo metadata --format-version 1 --offline --locked` of the workspace, with `extra`
/// arguments (e.g. `--filter-platform`), parsed; the error says what failed.
pub fn cargo_metadata(extra: &[&str]) -> Result<serde_json::Value, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline", "--locked"])
        .args(extra)
        .current_dir(root())
        .output()
        .map_err(|e| format!("cargo metadata does not run: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata is not JSON: {e}"))
}
