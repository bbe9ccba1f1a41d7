//! Helpers shared by the DICOM crate's integration tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

/// The real DICOM folder (`SYNBOOST_DICOM_DIR`), or `None` with a "skipped" line; a failure
/// instead when `SYNBOOST_REQUIRE_DATA=1`.
pub fn data_dir() -> Option<PathBuf> {
    let require = std::env::var("SYNBOOST_REQUIRE_DATA").is_ok_and(|v| v == "1");
    match std::env::var_os("SYNBOOST_DICOM_DIR").map(PathBuf::from) {
        Some(d) if d.is_dir() => Some(d),
        other => {
            assert!(
                !require,
                "SYNBOOST_REQUIRE_DATA=1 but SYNBOOST_DICOM_DIR ({other:?}) is not a folder"
            );
            eprintln!("skipped: set SYNBOOST_DICOM_DIR to the real DICOM folder");
            None
        }
    }
}
