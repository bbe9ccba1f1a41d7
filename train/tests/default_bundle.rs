//! The shipped bundle, `models/default`, scores on camus224 val exactly what its manifest says:
//! `synboost-train eval --bundle models/default --check-manifest` is run for f32 and int8 at
//! P0–P3 and its `report.json` is compared with the manifest's `metrics.camus224_val`, data
//! fingerprint first: a failure says either that the dataset changed since the bundle was
//! scored, or that the model scores differently on the same data. Needs the real data
//! (`SYNBOOST_CAMUS_DIR`); with `SYNBOOST_REQUIRE_DATA=1` its absence fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use synboost_train::eval::EvalReport;
use synboost_train::recorded::check;

fn camus() -> Option<PathBuf> {
    let dir = std::env::var_os("SYNBOOST_CAMUS_DIR").map(PathBuf::from);
    match dir {
        Some(d) if d.is_dir() => Some(d),
        _ => {
            assert!(
                std::env::var("SYNBOOST_REQUIRE_DATA").as_deref() != Ok("1"),
                "SYNBOOST_REQUIRE_DATA=1 but SYNBOOST_CAMUS_DIR is not a folder"
            );
            eprintln!("skipped: SYNBOOST_CAMUS_DIR not set");
            None
        }
    }
}

fn bundle() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/default")
}

#[test]
fn default_bundle_scores_what_its_manifest_says() {
    let Some(camus) = camus() else { return };
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(bundle().join("manifest.json")).expect("manifest"),
    )
    .expect("manifest json");
    let recorded = &manifest["metrics"]["camus224_val"];
    assert!(
        recorded.is_object(),
        "no camus224_val metrics in the manifest"
    );
    let tmp = tempfile::tempdir().unwrap();
    for variant in ["f32", "int8"] {
        let out = tmp.path().join(variant);
        // `--check-manifest` makes eval itself compare; its message says whether the data or
        // the model changed.
        let run = Command::new(env!("CARGO_BIN_EXE_synboost-train"))
            .args(["eval", "--bundle"])
            .arg(bundle())
            .args(["--variant", variant, "--prompts", "p0,p1,p2,p3", "--out"])
            .arg(&out)
            .arg("--camus")
            .arg(&camus)
            .arg("--check-manifest")
            .output()
            .expect("run synboost-train eval");
        let stdout = String::from_utf8_lossy(&run.stdout);
        let stderr = String::from_utf8_lossy(&run.stderr);
        let report = EvalReport::read_json(&out.join("report.json"))
            .unwrap_or_else(|e| panic!("eval {variant} wrote no report ({e}): {stderr}"));
        for kind in ["P0", "P1", "P2", "P3"] {
            assert_eq!(
                report.per_kind[kind].pairs, 600,
                "{variant} {kind}: 50 patients × 4 images × 3"
            );
        }
        // The same comparison in-process, for the precise message.
        if let Err(m) = check(variant, &recorded[variant], &report) {
            panic!("models/default: {m}");
        }
        assert!(
            run.status.success(),
            "eval --check-manifest {variant} failed: {stderr}"
        );
        assert!(
            stdout.contains("manifest check:") && stdout.contains("same scores on the same data"),
            "{stdout}"
        );
        // The printed table names the data it was measured on.
        let data = report.data.as_ref().expect("data record");
        assert!(stdout.contains(&format!("data: {data}")), "{stdout}");
    }
}
