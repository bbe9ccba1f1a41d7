//! Shared helpers for synboost's cross-crate tests: locating the real data sets that CI provides
//! through environment variables.
#![deny(missing_docs)]

use std::path::PathBuf;

/// The `camus224` folder from `SYNBOOST_CAMUS_DIR`, when set and present.
pub fn camus_dir() -> Option<PathBuf> {
    dir_from_env("SYNBOOST_CAMUS_DIR")
}

/// The golden prompt folder: `SYNBOOST_PROMPTS_DIR`, else `prompts/` beside the CAMUS folder.
pub fn prompts_dir() -> Option<PathBuf> {
    dir_from_env("SYNBOOST_PROMPTS_DIR")
        .or_else(|| camus_dir().and_then(|c| Some(c.parent()?.join("prompts"))))
        .filter(|p| p.is_dir())
}

/// Whether tests that need real data must run (CI sets `SYNBOOST_REQUIRE_DATA=1`): then a missing
/// folder is a failure, not a skip.
pub fn data_required() -> bool {
    std::env::var("SYNBOOST_REQUIRE_DATA").is_ok_and(|v| v == "1")
}

fn dir_from_env(var: &str) -> Option<PathBuf> {
    let p = PathBuf::from(std::env::var_os(var)?);
    p.is_dir().then_some(p)
}
