//! Shared helpers for synboost's cross-crate tests: locating the real data sets that CI provides
//! through environment variables.
#![deny(missing_docs)]

pub mod clients;
pub mod elf;
pub mod fuzz;
pub mod process;
pub mod workspace;

use std::path::PathBuf;

/// The `camus224` folder from `SYNBOOST_CAMUS_DIR`, when set and present.
pub fn camus_dir() -> Option<PathBuf> {
    dir_from_env("SYNBOOST_CAMUS_DIR")
}

/// The `camus224` folder for a test that needs it: `None` (after saying the test is skipped)
/// when it is not there; a panic instead when CI requires the data ([`data_required`]).
pub fn camus_dir_or_skip() -> Option<PathBuf> {
    let dir = camus_dir();
    if dir.is_none() {
        assert!(
            !data_required(),
            "SYNBOOST_REQUIRE_DATA=1 but SYNBOOST_CAMUS_DIR is not a folder"
        );
        eprintln!("skipped: SYNBOOST_CAMUS_DIR not set");
    }
    dir
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
