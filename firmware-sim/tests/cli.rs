//! The `synboost-sim` command line: help lists the subcommands, `generate` writes a dataset that
//! the core reader loads, bad arguments fail with a message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use synboost_data::SampleSource;
use synboost_data::seed::SeedDataset;

fn sim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_synboost-sim"))
}

#[test]
fn help_lists_subcommands() {
    let out = sim().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for sub in ["generate", "dicom", "replay", "live", "preview"] {
        assert!(text.contains(sub), "{sub} missing from:\n{text}");
    }
}

#[test]
fn generate_writes_a_readable_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let out = sim()
        .args([
            "generate",
            "--patients",
            "2",
            "--size",
            "64",
            "--split",
            "val",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ds = SeedDataset::open(dir.path(), "val").unwrap();
    assert_eq!(ds.len(), 8);
    assert!(ds.iter().all(|s| s.is_ok()));
    assert!(dir.path().join("preview-val.png").is_file());
}

#[test]
fn bad_arguments_fail_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = sim()
        .args(["generate", "--size", "4", "--patients", "1", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("width = 4"), "{err}");
    let out = sim().args(["preview", "--view", "PLAX"]).output().unwrap();
    assert!(!out.status.success());
}
