//! The small library: `libsynboost.so` built without tract (`cargo build --profile dist -p
//! synboost --no-default-features`), which runs every model through an installed ONNX Runtime.
//! It is built here, into its own target folder beside this test's; then it must be at most
//! 8 MB stripped, export only `sb_*`, have nothing of tract, rayon or protobuf in its
//! dependency graph, and serve a C client (`tests/c/ort_only.c`) on the shipped model with
//! masks that agree with the tract build's on a real CAMUS frame.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;
use synboost_core::engine::{Engine, EngineOptions, VariantChoice};
use synboost_core::frame::FrameView;
use synboost_core::{ScanMeta, Structure};
use synboost_data::SampleSource;
use synboost_data::seed::SeedDataset;
use synboost_tests::clients::{compile, link_flags, stage_library};
use synboost_tests::elf::exported_globals;
use synboost_tests::process::{require_tool, run_ok, summary_line};
use synboost_tests::workspace::root;

/// The stripped size the ORT-only library must stay within (issue 26).
const MAX_BYTES: u64 = 8_000_000;

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// `target/`, from this executable's path `target/<profile>/deps/ort_only_library-<hash>`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let mut dir = exe.parent().expect("the test executable is in a folder");
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir = dir.parent().expect("deps/ has a parent");
    }
    dir.parent().expect("<profile>/ has a parent").to_path_buf()
}

/// Build the ORT-only dist library (offline and locked: every crate it needs is already in the
/// workspace's lock file and cache) and return its path.
fn build_ort_only() -> PathBuf {
    let dir = target_dir().join("ort-only");
    run_ok(
        Command::new(cargo())
            .current_dir(root())
            .args([
                "build",
                "--profile",
                "dist",
                "-p",
                "synboost",
                "--no-default-features",
                "--locked",
                "--offline",
                "--target-dir",
            ])
            .arg(&dir)
            .env_remove("CARGO_TARGET_DIR"),
    );
    let so = dir.join("dist/libsynboost.so");
    assert!(so.is_file(), "{} was not built", so.display());
    so
}

#[test]
fn ort_only_dependency_graph_has_no_tract_rayon_or_protobuf() {
    let out = run_ok(Command::new(cargo()).current_dir(root()).args([
        "tree",
        "-p",
        "synboost",
        "--no-default-features",
        "-e",
        "normal",
        "--prefix",
        "none",
        "--offline",
        "--locked",
    ]));
    let tree = String::from_utf8_lossy(&out.stdout);
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(crates.contains(&"synboost-core"), "{tree}");
    for banned in [
        "tract-",
        "rayon",
        "prost",
        "protobuf",
        "ndarray",
        "tch",
        "torch-sys",
    ] {
        let hits: Vec<&&str> = crates.iter().filter(|c| c.starts_with(banned)).collect();
        assert!(
            hits.is_empty(),
            "the ORT-only library depends on {hits:?}:\n{tree}"
        );
    }
}

#[test]
fn ort_only_library_is_small_and_serves_a_c_client() {
    require_tool("cc", "--version", "gcc");
    require_tool("nm", "--version", "binutils");
    let Some(ort) = std::env::var_os("SYNBOOST_ONNXRUNTIME").filter(|v| !v.is_empty()) else {
        assert!(
            !synboost_tests::data_required(),
            "SYNBOOST_REQUIRE_DATA=1 but SYNBOOST_ONNXRUNTIME is not set (scripts/test.sh sets \
             it from scripts/onnxruntime-lib.sh)"
        );
        eprintln!("skipped: SYNBOOST_ONNXRUNTIME not set (the ORT-only library needs it)");
        return;
    };
    let Some(camus) = synboost_tests::camus_dir_or_skip() else {
        return;
    };

    let so = build_ort_only();
    let bytes = std::fs::metadata(&so).expect("stat the library").len();
    eprintln!("ORT-only libsynboost.so: {bytes} bytes");
    assert!(
        bytes <= MAX_BYTES,
        "{} is {bytes} bytes (> {MAX_BYTES})",
        so.display()
    );
    let exports = exported_globals(&so);
    let foreign: Vec<&str> = exports
        .iter()
        .filter(|e| !e.name.starts_with("sb_"))
        .map(|e| e.line.as_str())
        .collect();
    assert!(foreign.is_empty(), "exports outside sb_: {foreign:?}");
    assert!(exports.iter().any(|e| e.name == "sb_engine_open"));

    // Stage it under its soname and build the client against it.
    let work = tempfile::tempdir().expect("tempdir");
    let lib = stage_library(&so, work.path());
    let exe = work.path().join("ort_only");
    compile(
        "cc",
        "-std=c99",
        "tests/c/ort_only.c",
        &exe,
        &link_flags(&lib),
    );

    // A real val frame (never copied into the repository: written to the temp folder).
    let val = SeedDataset::open(&camus, "val").expect("camus224/val");
    let sample = val.load(0).expect("the first val sample");
    let (w, h) = (sample.image.width(), sample.image.height());
    let frame = work.path().join("frame.gray8");
    std::fs::write(&frame, sample.image.data()).unwrap();
    let masks = work.path().join("masks.bin");
    let bundle = root().join("models/default");
    let out = run_ok(
        Command::new(&exe)
            .arg(&bundle)
            .arg(&frame)
            .arg(w.to_string())
            .arg(h.to_string())
            .arg(&masks)
            .env("SYNBOOST_ONNXRUNTIME", &ort)
            .env_remove("LD_LIBRARY_PATH"),
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("{stdout}");
    let line = summary_line(&stdout, "ORT-only client:");
    assert!(line.ends_with(" 0 failed"), "{line}");
    let variant: u32 = summary_line(&stdout, "runtime:")
        .split("variant ")
        .nth(1)
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("the client prints the variant");

    // The tract build on the same frame, same variant, same (default) metadata.
    let choice = match variant {
        1 => VariantChoice::F32,
        2 => VariantChoice::Int8,
        v => panic!("unexpected variant {v}"),
    };
    let mut tract = Engine::open(
        &bundle,
        EngineOptions {
            variant: choice,
            ..Default::default()
        },
    )
    .expect("tract opens models/default");
    let view = FrameView::gray8(w, h, sample.image.data()).unwrap();
    let seg = tract
        .segment(&view, &ScanMeta::default(), &Structure::ALL)
        .expect("tract segments the frame");
    let ort_masks = std::fs::read(&masks).unwrap();
    assert_eq!(ort_masks.len(), 3 * w * h);
    for (k, s) in seg.structures.iter().enumerate() {
        let theirs = &ort_masks[k * w * h..(k + 1) * w * h];
        let ours = s.mask.data();
        let agree = ours
            .iter()
            .zip(theirs)
            .filter(|(a, b)| (**a != 0) == (**b != 0))
            .count() as f64
            / (w * h) as f64;
        let inter = ours
            .iter()
            .zip(theirs)
            .filter(|(a, b)| **a != 0 && **b != 0)
            .count();
        let n_ours = ours.iter().filter(|v| **v != 0).count();
        let n_theirs = theirs.iter().filter(|v| **v != 0).count();
        let dice = 2.0 * inter as f64 / (n_ours + n_theirs).max(1) as f64;
        eprintln!(
            "{:?}: {n_theirs} px (ORT-only) vs {n_ours} (tract), agreement {agree:.4}, dice {dice:.4}",
            s.structure
        );
        assert!(
            n_theirs > 0,
            "{:?}: empty mask from the ORT-only build",
            s.structure
        );
        assert!(agree >= 0.99, "{:?}: agreement {agree}", s.structure);
        assert!(dice >= 0.97, "{:?}: dice {dice}", s.structure);
    }
}
