//! What the simulator's end-to-end tests share.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

/// libsynboost.so of this build. Cargo builds it because firmware-sim depends on the `synboost`
/// crate (crate-type cdylib + rlib), into target/<profile>/deps/; it is also copied beside the
/// simulator binary (target/<profile>/) when `synboost` is built as a package of its own. The
/// newer when both exist (the copy beside the binary may be from an older build).
pub fn library() -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_synboost-sim"));
    let dir = bin.parent().expect("the binary is in a folder");
    let candidates = [
        dir.join("libsynboost.so"),
        dir.join("deps").join("libsynboost.so"),
    ];
    candidates
        .iter()
        .filter(|p| p.is_file())
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .unwrap_or_else(|| panic!("libsynboost.so was not built: none of {candidates:?}"))
        .clone()
}
