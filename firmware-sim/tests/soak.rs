//! The 60-second fault-injected soak (`synboost-sim soak`, see `synboost_sim::soak`) through
//! this build's `libsynboost.so` on the default model: 80 fps of phantom frames with every
//! kind of fault, bursts from a second thread, and the run's own checks (accounting,
//! refusals, bounded latency, flat memory) must all hold. The 10-minute soak is the same
//! command with `--seconds 600` (README, Reliability).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::library;
use std::path::Path;
use std::process::Command;

#[test]
fn sixty_seconds_of_faults_at_80_fps_pass_every_check() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("soak");
    let bundle = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/default");
    let run = Command::new(env!("CARGO_BIN_EXE_synboost-sim"))
        .args(["soak", "--seconds", "60", "--fps", "80", "--no-progress"])
        .arg("--lib")
        .arg(library())
        .arg("--bundle")
        .arg(&bundle)
        .arg("--out")
        .arg(&out)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run synboost-sim soak");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    eprintln!("{stdout}\n{stderr}");
    let text = std::fs::read_to_string(out.join("soak-report.json")).expect("soak-report.json");
    let r: serde_json::Value = serde_json::from_str(&text).expect("the report is JSON");
    assert!(run.status.success(), "the soak failed:\n{stdout}\n{stderr}");
    assert_eq!(r["passed"], true);
    // Every kind of fault happened.
    let faults = r["faults"].as_object().expect("faults");
    for kind in [
        "drop",
        "duplicate",
        "corrupt",
        "resize",
        "reorder",
        "burst",
        "metadata_gap_frames",
        "invalid:stride_too_small",
        "invalid:short_data",
        "invalid:zero_width",
        "invalid:huge_width",
        "invalid:bad_format",
        "invalid:bad_struct_size",
        "invalid:bad_view",
        "invalid:nan_spacing",
    ] {
        assert!(
            faults.get(kind).and_then(|v| v.as_u64()).unwrap_or(0) > 0,
            "no {kind} fault in {faults:?}"
        );
    }
    // 80 fps for 60 s, plus duplicates and bursts, less drops.
    let accepted = r["accepted"].as_u64().expect("accepted");
    assert!((4_500..=6_500).contains(&accepted), "{accepted}");
    assert!(r["burst_accepted"].as_u64().unwrap_or(0) > 100);
    assert_eq!(r["missing_results"], 0);
    assert_eq!(r["repeated_results"], 0);
    assert_eq!(r["outcomes"]["failed"], 0);
    assert!(out.join("soak.png").is_file());
}
