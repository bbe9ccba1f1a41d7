//! The engine end to end on bundles written from random-weight students: pixel formats and
//! strides give the same masks, masks follow the reference forward pass, the prompt cache runs
//! the text graph once per prompt, variants load, and bad requests and bundles are refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use synboost_core::engine::{Engine, EngineError, EngineOptions, Variant, VariantChoice};
use synboost_core::frame::{FrameView, PixelFormat};
use synboost_core::model::spec::ModelSpec;
use synboost_core::{Phase, PromptKind, ScanMeta, Structure, Tokenizer, View, Vocab};
use synboost_export::onnx::{Weights, random_weights};
use synboost_export::quant::Calibration;
use synboost_export::reference::{image_forward, image_forward_hooked, text_forward};
use synboost_export::student::{BundleInfo, write_student_bundle};

fn small_spec() -> ModelSpec {
    ModelSpec::tiny(Vocab::builtin().len(), Tokenizer::DEFAULT_MAX_LEN)
}

fn info() -> BundleInfo {
    BundleInfo::new("random-student", "test weights, no data", 3)
}

/// A frame with a bright blob in a darker, textured background.
fn frame(w: usize, h: usize) -> Vec<u8> {
    (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as f32 / w as f32, (i / w) as f32 / h as f32);
            let d = ((x - 0.5).powi(2) + (y - 0.45).powi(2)).sqrt();
            let base = if d < 0.25 { 40.0 } else { 150.0 };
            (base + 30.0 * ((i * 7919) % 13) as f32 / 13.0) as u8
        })
        .collect()
}

fn bundle(spec: &ModelSpec, seed: u64, int8: bool) -> (tempfile::TempDir, Weights) {
    let dir = tempfile::tempdir().unwrap();
    let w = random_weights(spec, seed);
    let cal = int8.then(|| {
        let tok = Tokenizer::default();
        let conds: Vec<Vec<f32>> = Structure::ALL
            .iter()
            .map(|s| text_forward(spec, &w, &tok.encode(s.prompt_name()).unwrap().0))
            .collect();
        let mut cal = Calibration::default();
        let f = frame(spec.input.width, spec.input.height);
        image_forward_hooked(spec, &w, &f, &conds, &mut cal);
        cal
    });
    write_student_bundle(
        dir.path(),
        info(),
        spec,
        &Vocab::builtin(),
        &w,
        cal.as_ref(),
    )
    .unwrap();
    (dir, w)
}

fn opts(variant: VariantChoice) -> EngineOptions {
    EngineOptions {
        variant,
        largest_component: false,
        fill_holes: false,
        ..Default::default()
    }
}

fn meta() -> ScanMeta {
    ScanMeta {
        view: Some(View::TwoChamber),
        phase: Some(Phase::EndDiastole),
        ..Default::default()
    }
}

#[test]
fn masks_follow_the_reference_forward_pass() {
    let spec = small_spec();
    let (dir, w) = bundle(&spec, 21, false);
    let mut e = Engine::open(dir.path(), opts(VariantChoice::Auto)).unwrap();
    assert_eq!(e.variant(), Variant::F32);
    let (wd, h) = (spec.input.width, spec.input.height);
    let f = frame(wd, h);
    let seg = e
        .segment(
            &FrameView::gray8(wd, h, &f).unwrap(),
            &meta(),
            &Structure::ALL,
        )
        .unwrap();
    let tok = Tokenizer::default();
    let conds: Vec<Vec<f32>> = seg
        .structures
        .iter()
        .map(|r| text_forward(&spec, &w, &tok.encode(&r.prompt).unwrap().0))
        .collect();
    assert_eq!(
        seg.structures[0].prompt,
        "Left ventricular cavity in two-chamber view of the heart at end of the diastole cycle."
    );
    assert_eq!(seg.structures[0].kind, PromptKind::P3);
    let want = image_forward(&spec, &w, &f, &conds);
    let plane = wd * h;
    let mut disagree = 0;
    for (k, r) in seg.structures.iter().enumerate() {
        assert_eq!((r.mask.width(), r.mask.height()), (wd, h));
        for (i, &m) in r.mask.data().iter().enumerate() {
            let l = want.data[k * plane + i];
            if l.abs() > 1e-3 && (m != 0) != (l > 0.0) {
                disagree += 1;
            }
        }
    }
    assert_eq!(
        disagree, 0,
        "mask pixels disagreeing with the reference logits"
    );
    let t = seg.timings;
    assert!(t.total >= t.preprocess + t.text + t.image + t.postprocess);
}

#[test]
fn pixel_formats_and_strides_give_the_same_masks() {
    let spec = small_spec();
    let (dir, _) = bundle(&spec, 22, false);
    let mut e = Engine::open(dir.path(), opts(VariantChoice::F32)).unwrap();
    // A frame of another size and aspect than the model input.
    let (wd, h) = (90, 70);
    let g = frame(wd, h);
    let base = e
        .segment(
            &FrameView::gray8(wd, h, &g).unwrap(),
            &meta(),
            &Structure::ALL,
        )
        .unwrap();
    assert_eq!(base.structures[1].mask.width(), wd);
    let stride = wd * 4 + 12;
    let mut bgra = vec![255u8; stride * h];
    let mut rgb = vec![0u8; wd * 3 * h];
    let mut g16 = vec![0u8; wd * 2 * h];
    for y in 0..h {
        for x in 0..wd {
            let v = g[y * wd + x];
            bgra[y * stride + 4 * x..y * stride + 4 * x + 4].copy_from_slice(&[v, v, v, 255]);
            rgb[(y * wd + x) * 3..(y * wd + x) * 3 + 3].copy_from_slice(&[v, v, v]);
            g16[(y * wd + x) * 2..(y * wd + x) * 2 + 2]
                .copy_from_slice(&(u16::from(v) << 8 | u16::from(v)).to_le_bytes());
        }
    }
    let views = [
        FrameView::new(PixelFormat::Bgra8, wd, h, stride, &bgra).unwrap(),
        FrameView::new(PixelFormat::Rgb8, wd, h, wd * 3, &rgb).unwrap(),
        FrameView::new(PixelFormat::Gray16, wd, h, wd * 2, &g16).unwrap(),
    ];
    for v in &views {
        let seg = e.segment(v, &meta(), &Structure::ALL).unwrap();
        for (a, b) in seg.structures.iter().zip(&base.structures) {
            assert_eq!(a.mask, b.mask, "{:?} {:?}", v.format(), a.structure);
        }
    }
}

#[test]
fn the_text_graph_runs_once_per_distinct_prompt() {
    let spec = small_spec();
    let (dir, _) = bundle(&spec, 23, false);
    let mut e = Engine::open(dir.path(), opts(VariantChoice::F32)).unwrap();
    let (wd, h) = (spec.input.width, spec.input.height);
    let f = frame(wd, h);
    let v = FrameView::gray8(wd, h, &f).unwrap();
    for _ in 0..5 {
        e.segment(&v, &meta(), &Structure::ALL).unwrap();
    }
    let s = e.cache_stats();
    assert_eq!((s.misses, s.hits, s.len), (3, 12, 3));
    // Less metadata → a poorer prompt, and a new cache entry.
    let seg = e
        .segment(&v, &ScanMeta::default(), &[Structure::Myocardium])
        .unwrap();
    assert_eq!(seg.structures[0].kind, PromptKind::P1);
    assert_eq!(seg.structures[0].prompt, "Myocardium of the heart.");
    assert_eq!(e.cache_stats().misses, 4);
}

#[test]
fn auto_follows_the_manifests_measurement_for_this_cpu_and_timed_times() {
    use synboost_core::model::bundle::Bundle;
    use synboost_core::variant::{CpuClass, Measured};
    let spec = small_spec();
    let (dir, _) = bundle(&spec, 25, true);
    let cpu = CpuClass::detect();
    let first = Engine::open(dir.path(), opts(VariantChoice::Auto)).unwrap();
    assert!(
        first.variant_reason().contains("no int8 measurement"),
        "{}",
        first.variant_reason()
    );
    assert_eq!(first.variant(), Variant::F32, "{}", first.variant_reason());
    for (f32_ms, int8_ms, want) in [
        (10.0, 5.0, Variant::Int8),
        (10.0, 9.9, Variant::F32),
        (4.0, 3.0, Variant::Int8),
    ] {
        let m = Measured {
            cpu: cpu.name().into(),
            runtime: "tract".into(),
            f32_ms,
            int8_ms,
            cpu_model: "test".into(),
            threads: 1,
        };
        let manifest = Bundle::record_measurement(dir.path(), &m).unwrap();
        // One entry per class: a new measurement replaces the old.
        assert_eq!(
            manifest.quantization["image_int8"]["measured"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        for _ in 0..2 {
            let e = Engine::open(dir.path(), opts(VariantChoice::Auto)).unwrap();
            assert_eq!(e.variant(), want, "{}", e.variant_reason());
            assert!(
                e.variant_reason().contains(cpu.name()),
                "{}",
                e.variant_reason()
            );
        }
    }
    let e = Engine::open(dir.path(), opts(VariantChoice::Timed)).unwrap();
    assert!(
        e.variant_reason().contains("timed at load"),
        "{}",
        e.variant_reason()
    );
    let e = Engine::open(dir.path(), opts(VariantChoice::F32)).unwrap();
    assert_eq!(e.variant_reason(), "f32: asked for by the host");
}

#[test]
fn int8_variant_loads_and_agrees_mostly_with_f32() {
    let spec = small_spec();
    let (dir, _) = bundle(&spec, 24, true);
    let mut f32e = Engine::open(dir.path(), opts(VariantChoice::F32)).unwrap();
    let mut i8e = Engine::open(dir.path(), opts(VariantChoice::Int8)).unwrap();
    assert_eq!(i8e.variant(), Variant::Int8);
    let auto = Engine::open(dir.path(), opts(VariantChoice::Auto)).unwrap();
    println!("auto chose {:?}", auto.variant());
    let (wd, h) = (spec.input.width, spec.input.height);
    let f = frame(wd, h);
    let v = FrameView::gray8(wd, h, &f).unwrap();
    let a = f32e.segment(&v, &meta(), &Structure::ALL).unwrap();
    let b = i8e.segment(&v, &meta(), &Structure::ALL).unwrap();
    assert_eq!(b.variant, Variant::Int8);
    for (x, y) in a.structures.iter().zip(&b.structures) {
        let inter = x
            .mask
            .data()
            .iter()
            .zip(y.mask.data())
            .filter(|(p, q)| **p != 0 && **q != 0)
            .count();
        let dice = 2.0 * inter as f64 / (x.mask.count() + y.mask.count()).max(1) as f64;
        println!("{:?}: f32 vs int8 dice {dice:.4}", x.structure);
        assert!(dice > 0.9, "{:?} dice {dice}", x.structure);
    }
    // A float-only bundle cannot be forced to int8.
    let (plain, _) = bundle(&spec, 25, false);
    assert!(matches!(
        Engine::open(plain.path(), opts(VariantChoice::Int8)),
        Err(EngineError::NoInt8)
    ));
}

#[test]
fn bad_requests_are_refused() {
    let spec = small_spec();
    let (dir, _) = bundle(&spec, 26, false);
    let mut e = Engine::open(dir.path(), opts(VariantChoice::F32)).unwrap();
    let f = frame(48, 64);
    let v = FrameView::gray8(48, 64, &f).unwrap();
    assert!(matches!(
        e.segment(&v, &meta(), &[]),
        Err(EngineError::NoStructure)
    ));
    assert!(matches!(
        e.segment(&v, &meta(), &[Structure::LvCavity, Structure::LvCavity]),
        Err(EngineError::Structure(Structure::LvCavity))
    ));
    let four = [
        Structure::LvCavity,
        Structure::Myocardium,
        Structure::LaCavity,
        Structure::LvCavity,
    ];
    assert!(matches!(
        e.segment(&v, &meta(), &four),
        Err(EngineError::TooMany { asked: 4, max: 3 })
    ));
    // A subset works and returns only what was asked.
    let seg = e.segment(&v, &meta(), &[Structure::LaCavity]).unwrap();
    assert_eq!(seg.structures.len(), 1);
    assert_eq!(seg.structures[0].structure, Structure::LaCavity);
}

#[test]
fn tampered_bundle_is_refused_at_open() {
    let spec = small_spec();
    let (dir, _) = bundle(&spec, 27, false);
    let p = dir.path().join("image.onnx");
    let mut bytes = std::fs::read(&p).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0x40;
    std::fs::write(&p, &bytes).unwrap();
    let err = Engine::open(dir.path(), opts(VariantChoice::F32)).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("image.onnx"), "{msg}");
}

#[test]
fn default_student_segments_a_large_rgb_frame() {
    let spec = ModelSpec::student(Vocab::builtin().len(), Tokenizer::DEFAULT_MAX_LEN);
    let (dir, _) = bundle(&spec, 28, false);
    let mut e = Engine::open(dir.path(), EngineOptions::default()).unwrap();
    let (wd, h) = (800, 600);
    let g = frame(wd, h);
    let rgb: Vec<u8> = g.iter().flat_map(|&v| [v, v, v]).collect();
    let v = FrameView::new(PixelFormat::Rgb8, wd, h, wd * 3, &rgb).unwrap();
    let seg = e.segment(&v, &meta(), &Structure::ALL).unwrap();
    assert_eq!(seg.structures.len(), 3);
    for r in &seg.structures {
        assert_eq!((r.mask.width(), r.mask.height()), (wd, h));
    }
    println!("{:?}", seg.timings);
}
