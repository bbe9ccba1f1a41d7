//! Every fuzz target's harness (`synboost_tests::fuzz`) replayed on stable Rust: the seed
//! corpora (the real DICOM files of `SYNBOOST_DICOM_DIR`, phantom DICOM cines, the default
//! model's manifest, small bundles, frames, prompts and CAMUS-format volumes) and every input
//! kept in `fuzz/regressions/<target>/` (crashers found by `cargo fuzz`, after their fix).
//! A harness panics on a crash or on a wrong answer, so each input is a test of its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use synboost_sim::dicom_write::{DicomWriteOptions, RegionSpec, encode_cine};
use synboost_tests::fuzz::{TARGETS, run, seeds};

fn regressions(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("fuzz")
        .join("regressions")
        .join(target)
}

/// Small phantom-like cines as the simulator writes them: with and without a calibrated
/// region.
fn phantom_dicoms() -> Vec<(String, Vec<u8>)> {
    let (frames, meta) = synboost_tests::fuzz::cine_parts();
    let mut out = Vec::new();
    for (name, region) in [
        ("phantom-region.dcm", Some(RegionSpec::whole(48, 40))),
        ("phantom.dcm", None),
    ] {
        let opts = DicomWriteOptions {
            region,
            ..DicomWriteOptions::default()
        };
        let (bytes, _) = encode_cine(&frames, &meta, &opts).expect("phantom DICOM");
        out.push((name.to_string(), bytes));
    }
    out
}

/// Replay the seeds and regressions of `target`: (seeds meant to be taken, seeds taken).
fn replay(target: &str) -> (usize, usize) {
    let dicom_dir = std::env::var_os("SYNBOOST_DICOM_DIR").map(PathBuf::from);
    if target == "dicom" && dicom_dir.is_none() {
        assert!(
            !synboost_tests::data_required(),
            "SYNBOOST_REQUIRE_DATA=1 but SYNBOOST_DICOM_DIR is not set"
        );
        eprintln!("SYNBOOST_DICOM_DIR not set: the real DICOM seeds are skipped");
    }
    let mut inputs = seeds(target, dicom_dir.as_deref());
    if target == "dicom" {
        inputs.extend(phantom_dicoms());
    }
    let generated = inputs.len();
    let valid = inputs
        .iter()
        .filter(|(n, _)| !n.starts_with("refused-"))
        .count();
    assert!(generated > 0, "no seeds for {target}");
    if let Ok(entries) = std::fs::read_dir(regressions(target)) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_file() && p.file_name().is_some_and(|n| n != "README.md") {
                let bytes = std::fs::read(&p).expect("a regression input");
                inputs.push((p.display().to_string(), bytes));
            }
        }
    }
    let mut taken = 0;
    for (k, (name, bytes)) in inputs.iter().enumerate() {
        let ok = run(target, bytes).unwrap_or_else(|| panic!("unknown target {target}"));
        eprintln!(
            "{target}: {name} ({} bytes): {}",
            bytes.len(),
            if ok { "taken" } else { "refused" }
        );
        if k < generated {
            if name.starts_with("refused-") {
                assert!(!ok, "{target}: seed {name} should be refused");
            } else if ok {
                taken += 1;
            }
        }
        // Every prefix of a seed is another malformed input (truncation is the commonest
        // corruption of a file or a transfer).
        for cut in [
            0,
            1,
            4,
            128,
            132,
            300,
            bytes.len() / 2,
            bytes.len().saturating_sub(1),
        ] {
            if cut < bytes.len() {
                run(target, &bytes[..cut]);
            }
        }
    }
    eprintln!(
        "{target}: {} inputs ({generated} seeds, {taken} of them taken)",
        inputs.len()
    );
    (valid, taken)
}

#[test]
fn every_target_has_a_test() {
    assert_eq!(
        TARGETS,
        ["dicom", "bundle", "abi_frame", "prompt", "camus_raw"]
    );
}

#[test]
fn dicom_seeds_and_regressions() {
    let (seeds, taken) = replay("dicom");
    assert_eq!(taken, seeds, "every DICOM seed reads");
}

#[test]
fn bundle_seeds_and_regressions() {
    let (seeds, taken) = replay("bundle");
    assert_eq!(taken, seeds, "every bundle seed is a valid input");
}

#[test]
fn abi_frame_seeds_and_regressions() {
    let (seeds, taken) = replay("abi_frame");
    assert_eq!(taken, seeds, "every abi_frame seed is a valid input");
}

#[test]
fn prompt_seeds_and_regressions() {
    let (seeds, taken) = replay("prompt");
    assert_eq!(taken, seeds, "every prompt seed is a valid input");
}

#[test]
fn camus_raw_seeds_and_regressions() {
    let (seeds, taken) = replay("camus_raw");
    assert_eq!(taken, seeds, "every camus_raw seed is a valid input");
}
