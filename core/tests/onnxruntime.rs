//! The ONNX Runtime backend against tract on the same bundles: the same logits (f32) and masks
//! (f32 and int8), one session shared by engine clones on several threads, the manifest's
//! per-backend measurements, and clear errors for a missing or foreign library.
//!
//! The library comes from `SYNBOOST_ONNXRUNTIME`, else from python's `onnxruntime` package
//! (`scripts/test.sh` installs it and sets the variable). Without one the tests say so and
//! pass, unless `SYNBOOST_REQUIRE_DATA=1` (CI), where that is a failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use synboost_core::engine::{Backend, Engine, EngineError, EngineOptions, Variant, VariantChoice};
use synboost_core::frame::FrameView;
use synboost_core::model::bundle::Bundle;
use synboost_core::model::spec::ModelSpec;
use synboost_core::variant::{CpuClass, Measured};
use synboost_core::{Phase, ScanMeta, Structure, Tokenizer, View, Vocab};
use synboost_export::student::{BundleInfo, write_random_student};

/// The ONNX Runtime library to test with, or `None` (a skip) where there is none and CI does
/// not require one.
fn library() -> Option<PathBuf> {
    let found = std::env::var_os("SYNBOOST_ONNXRUNTIME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            let out = std::process::Command::new("python3")
                .args([
                    "-c",
                    "import onnxruntime, os, glob; \
                     print(sorted(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), \
                     'capi', 'libonnxruntime.so*')))[0])",
                ])
                .output()
                .ok()?;
            let p = String::from_utf8(out.stdout).ok()?;
            let p = p.trim();
            (out.status.success() && !p.is_empty()).then(|| PathBuf::from(p))
        });
    match found {
        Some(p) => Some(p),
        None if std::env::var("SYNBOOST_REQUIRE_DATA").as_deref() == Ok("1") => panic!(
            "no ONNX Runtime library: set SYNBOOST_ONNXRUNTIME or pip install onnxruntime \
             (scripts/test.sh does both)"
        ),
        None => {
            eprintln!(
                "skipped: no ONNX Runtime (SYNBOOST_ONNXRUNTIME unset, no python onnxruntime)"
            );
            None
        }
    }
}

fn frame(w: usize, h: usize, seed: usize) -> Vec<u8> {
    (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as f32 / w as f32, (i / w) as f32 / h as f32);
            let d = ((x - 0.5).powi(2) + (y - 0.45).powi(2)).sqrt();
            let base = if d < 0.25 { 40.0 } else { 150.0 };
            (base + 50.0 * (((i + seed) * 7919) % 17) as f32 / 17.0) as u8
        })
        .collect()
}

/// A random-weight tiny student with an int8 variant calibrated on two frames.
fn bundle() -> (tempfile::TempDir, ModelSpec) {
    let dir = tempfile::tempdir().unwrap();
    let spec = ModelSpec::tiny(Vocab::builtin().len(), Tokenizer::DEFAULT_MAX_LEN);
    let (w, h) = (spec.input.width, spec.input.height);
    write_random_student(
        dir.path(),
        BundleInfo::new("random-student", "test weights, no data", 3),
        &spec,
        11,
        &[frame(w, h, 0), frame(w, h, 1)],
    )
    .unwrap();
    (dir, spec)
}

fn opts(backend: Backend, variant: VariantChoice) -> EngineOptions {
    EngineOptions {
        variant,
        backend,
        ..Default::default()
    }
}

fn ort(lib: &std::path::Path) -> Backend {
    Backend::OnnxRuntime {
        library: Some(lib.to_path_buf()),
    }
}

fn meta() -> ScanMeta {
    ScanMeta {
        view: Some(View::FourChamber),
        phase: Some(Phase::EndSystole),
        ..Default::default()
    }
}

/// Fraction of pixels where two logit planes agree on the side of `threshold`.
fn agreement(a: &[f32], b: &[f32]) -> f64 {
    let same = a
        .iter()
        .zip(b)
        .filter(|(x, y)| (**x > 0.0) == (**y > 0.0))
        .count();
    same as f64 / a.len() as f64
}

#[test]
fn onnxruntime_runs_the_same_graphs_as_tract() {
    let Some(lib) = library() else { return };
    let (dir, spec) = bundle();
    let (w, h) = (spec.input.width, spec.input.height);
    let input = frame(w, h, 3);
    let prompts: Vec<String> = {
        let e = Engine::open(dir.path(), opts(Backend::Tract, VariantChoice::F32)).unwrap();
        Structure::ALL
            .iter()
            .map(|&s| e.prompt_for(s, &meta()).1)
            .collect()
    };
    let prompts: Vec<&str> = prompts.iter().map(String::as_str).collect();
    for variant in [VariantChoice::F32, VariantChoice::Int8] {
        let mut t = Engine::open(dir.path(), opts(Backend::Tract, variant)).unwrap();
        let mut o = Engine::open(dir.path(), opts(ort(&lib), variant)).unwrap();
        assert_eq!(t.backend_name(), "tract");
        assert_eq!(o.backend_name(), "onnxruntime");
        assert!(o.runtime().starts_with("onnxruntime 1."), "{}", o.runtime());
        assert_eq!(t.variant(), o.variant());
        let (lt, lo) = (
            t.logits(&input, &prompts).unwrap(),
            o.logits(&input, &prompts).unwrap(),
        );
        assert_eq!(lt.len(), lo.len());
        assert_eq!(lt.len(), prompts.len() * w * h);
        let scale = lt.iter().fold(0f32, |m, v| m.max(v.abs())).max(1.0);
        let worst = lt
            .iter()
            .zip(&lo)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        let agree = agreement(&lt, &lo);
        eprintln!(
            "{variant:?}: max |tract - onnxruntime| {worst:.2e} (scale {scale:.2}), sign agreement {agree:.5}"
        );
        match variant {
            // Float: the same arithmetic up to summation order.
            VariantChoice::F32 => {
                assert!(
                    worst <= 1e-3 * scale,
                    "f32 logits differ by {worst} (scale {scale})"
                );
                assert!(agree > 0.999, "{agree}");
            }
            // Int8: tract dequantizes and convolves in float, ONNX Runtime fuses the QDQ pairs
            // into integer kernels: the same codes, requantized with other rounding.
            _ => assert!(agree > 0.97, "int8 masks agree on {agree} of the pixels"),
        }
        // The whole call (pre- and postprocessing are the engine's, not the runtime's).
        let f = FrameView::gray8(w, h, &input).unwrap();
        let (st, so) = (
            t.segment(&f, &meta(), &Structure::ALL).unwrap(),
            o.segment(&f, &meta(), &Structure::ALL).unwrap(),
        );
        for (a, b) in st.structures.iter().zip(&so.structures) {
            assert_eq!(a.prompt, b.prompt);
            let (ma, mb) = (a.mask.data(), b.mask.data());
            let same = ma.iter().zip(mb).filter(|(x, y)| x == y).count();
            assert!(same as f64 / ma.len() as f64 > 0.97, "{:?}", a.structure);
        }
    }
}

#[test]
fn clones_share_one_session_across_threads() {
    let Some(lib) = library() else { return };
    let (dir, spec) = bundle();
    let (w, h) = (spec.input.width, spec.input.height);
    let mut e = Engine::open(dir.path(), opts(ort(&lib), VariantChoice::F32)).unwrap();
    let prompts = ["left ventricle", "myocardium"];
    let inputs: Vec<Vec<u8>> = (0..4).map(|k| frame(w, h, 10 + k)).collect();
    let want: Vec<Vec<f32>> = inputs
        .iter()
        .map(|i| e.logits(i, &prompts).unwrap())
        .collect();
    std::thread::scope(|s| {
        for t in 0..3 {
            let mut c = e.try_clone();
            let (inputs, want) = (&inputs, &want);
            s.spawn(move || {
                for round in 0..6 {
                    let k = (t + round) % inputs.len();
                    assert_eq!(c.logits(&inputs[k], &prompts).unwrap(), want[k]);
                }
            });
        }
    });
}

#[test]
fn auto_reads_the_measurement_of_its_own_backend() {
    let Some(lib) = library() else { return };
    let (dir, _) = bundle();
    let cpu = CpuClass::detect();
    Bundle::record_measurement(
        dir.path(),
        &Measured {
            cpu: cpu.name().into(),
            runtime: "onnxruntime".into(),
            f32_ms: 3.2,
            int8_ms: 2.3,
            cpu_model: "test".into(),
            threads: 1,
        },
    )
    .unwrap();
    let o = Engine::open(dir.path(), opts(ort(&lib), VariantChoice::Auto)).unwrap();
    assert_eq!(o.variant(), Variant::Int8, "{}", o.variant_reason());
    assert!(
        o.variant_reason().contains("with onnxruntime"),
        "{}",
        o.variant_reason()
    );
    let t = Engine::open(dir.path(), opts(Backend::Tract, VariantChoice::Auto)).unwrap();
    assert_eq!(t.variant(), Variant::F32, "{}", t.variant_reason());
    assert!(
        t.variant_reason().contains("with tract"),
        "{}",
        t.variant_reason()
    );
    // The engine's own timing of its backend, when the host asks.
    let timed = Engine::open(dir.path(), opts(ort(&lib), VariantChoice::Timed)).unwrap();
    assert!(
        timed
            .variant_reason()
            .contains("timed at load on onnxruntime")
    );
}

#[test]
fn a_missing_or_foreign_library_is_a_clear_error() {
    // Whether or not another test has loaded ONNX Runtime already, a wrong path is refused
    // with its name in the message (before: the loader's or the symbol's error; after: one
    // library per process).
    let Some(_) = library() else { return };
    let (dir, _) = bundle();
    let foreign = ["/nonexistent/libonnxruntime.so", "/proc/self/exe"];
    for bad in foreign {
        let err = Engine::open(
            dir.path(),
            opts(
                Backend::OnnxRuntime {
                    library: Some(bad.into()),
                },
                VariantChoice::F32,
            ),
        )
        .unwrap_err();
        match err {
            EngineError::Runtime { stage, message } => {
                assert_eq!(stage, "loading ONNX Runtime");
                assert!(message.contains(bad), "{message}");
            }
            e => panic!("{e}"),
        }
    }
    // A thread count out of range is refused before anything is loaded.
    let err = Engine::open(
        dir.path(),
        EngineOptions {
            threads: 0,
            ..opts(Backend::OnnxRuntime { library: None }, VariantChoice::F32)
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("threads"), "{err}");
}
