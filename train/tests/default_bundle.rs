//! The shipped bundle, `models/default`, scores on camus224 val exactly what its manifest says:
//! `synboost-train eval --bundle models/default` is run for f32 and int8 at P0–P3 and its
//! `report.json` is compared with the manifest's `metrics.camus224_val`. Needs the real data
//! (`SYNBOOST_CAMUS_DIR`); with `SYNBOOST_REQUIRE_DATA=1` its absence fails the test.

use std::path::{Path, PathBuf};
use std::process::Command;

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

fn close(a: &serde_json::Value, b: &serde_json::Value, what: &str) {
    let (x, y) = (a.as_f64(), b.as_f64());
    assert!(
        matches!((x, y), (Some(x), Some(y)) if (x - y).abs() < 1e-9),
        "{what}: manifest {a} vs eval {b}"
    );
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
        let st = Command::new(env!("CARGO_BIN_EXE_synboost-train"))
            .args(["eval", "--bundle"])
            .arg(bundle())
            .args(["--variant", variant, "--prompts", "p0,p1,p2,p3", "--out"])
            .arg(&out)
            .arg("--camus")
            .arg(&camus)
            .status()
            .expect("run synboost-train eval");
        assert!(st.success(), "eval {variant} failed");
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap())
                .unwrap();
        for kind in ["P0", "P1", "P2", "P3"] {
            let got = &report["per_kind"][kind];
            let want = &recorded[variant][kind];
            assert_eq!(
                got["pairs"], 600,
                "{variant} {kind}: 50 patients × 4 images × 3"
            );
            assert_eq!(want["pairs"], got["pairs"], "{variant} {kind}");
            close(
                &want["mean_dice"],
                &got["mean_dice"],
                &format!("{variant} {kind}"),
            );
            for s in ["lv", "myo", "la"] {
                close(
                    &want["dice"][s],
                    &got["per_structure"][s]["dice"]["mean"],
                    &format!("{variant} {kind} {s}"),
                );
            }
        }
    }
}
