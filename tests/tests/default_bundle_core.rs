//! The bundle the project ships, `models/default`, loads in the engine with its checksums
//! verified, in both variants, within the size and parameter budgets, and its manifest carries
//! the licence, provenance and validation metrics the README quotes, each with the data it was
//! measured on. (That those metrics are
//! what `synboost-train eval` prints is checked against the real data in
//! `train/tests/default_bundle.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use synboost_core::engine::{Engine, EngineOptions, Variant, VariantChoice};
use synboost_core::model::bundle::Bundle;
use synboost_data::fingerprint::DataRecord;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/default")
}

#[test]
fn default_bundle_loads_verified_in_both_variants() {
    let b = Bundle::open(&dir()).expect("models/default opens and its digests match");
    let m = b.manifest();
    assert_eq!(m.name, "synboost-default");
    for f in &m.files {
        assert!(
            f.bytes <= 20 * 1024 * 1024,
            "{} is {} bytes (> 20 MB)",
            f.path,
            f.bytes
        );
    }
    assert!(
        m.spec.parameter_count() <= 2_000_000,
        "{} parameters",
        m.spec.parameter_count()
    );
    for (choice, variant) in [
        (VariantChoice::F32, Variant::F32),
        (VariantChoice::Int8, Variant::Int8),
    ] {
        let opts = EngineOptions {
            variant: choice,
            ..Default::default()
        };
        let e = Engine::open(&dir(), opts).expect("engine opens the default bundle");
        assert_eq!(e.variant(), variant);
    }
}

#[test]
fn default_manifest_states_licence_provenance_and_val_metrics() {
    let b = Bundle::open(&dir()).unwrap();
    let m = b.manifest();
    assert!(m.licence.contains("CC BY-NC-SA 4.0"), "{}", m.licence);
    assert!(m.licence.contains("CAMUS"), "{}", m.licence);
    let prov = m.provenance.to_string();
    assert!(prov.contains("camus224"), "provenance: {prov}");
    let val = &m.metrics["camus224_val"];
    assert!(
        val["command"]
            .as_str()
            .is_some_and(|c| c.contains("eval --bundle"))
    );
    // Every score says what it was measured on: the cleaned camus224 val split, 200 samples.
    let data = |v: &serde_json::Value, what: &str| {
        let d: DataRecord = serde_json::from_value(v["data"].clone())
            .unwrap_or_else(|e| panic!("{what}: no data record ({e})"));
        assert_eq!(d.name, "camus224/val", "{what}");
        assert_eq!(d.samples, 200, "{what}");
        assert!(d.fingerprint.as_str().starts_with("v1:"), "{what}");
        d
    };
    let top = data(val, "camus224_val");
    for variant in ["f32", "int8"] {
        assert_eq!(data(&val[variant], variant), top, "{variant}");
    }
    // The training-time score predates the cleaning and says so.
    let training = &m.metrics["training"]["data"];
    assert!(
        training["fingerprint"].is_null()
            && training["note"]
                .as_str()
                .is_some_and(|t| t.contains("before the 2026-12-02 cleaning")),
        "training score without its data: {training}"
    );
    assert_eq!(m.version, "1.0.1");
    for variant in ["f32", "int8"] {
        for kind in ["P0", "P1", "P2", "P3"] {
            let k = &val[variant][kind];
            assert_eq!(k["pairs"], 600, "{variant} {kind}");
            let mean = k["mean_dice"].as_f64().expect("mean dice");
            assert!((0.0..=1.0).contains(&mean), "{variant} {kind}: {mean}");
            // 200 pairs per structure: the mean is the mean of the three.
            let per: Vec<f64> = ["lv", "myo", "la"]
                .iter()
                .map(|s| k["dice"][s].as_f64().expect("structure dice"))
                .collect();
            let avg = per.iter().sum::<f64>() / 3.0;
            assert!(
                (avg - mean).abs() < 1e-9,
                "{variant} {kind}: {avg} vs {mean}"
            );
        }
    }
}
