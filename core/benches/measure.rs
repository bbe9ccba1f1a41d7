//! Criterion benchmark of the clinical measurements a stream adds to every frame, side by side
//! with the engine's `segment()` they follow (random-weight default student, 224² input, a
//! 256² frame, three structures, one thread): `cavity_geometry` (area, long axis, 20 discs) of
//! an LV-sized mask, and `CardiacTracker::observe` (geometry, confidence, IoU with the previous
//! frame, the cycle detector) over a beating sequence.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use synboost_core::engine::{Engine, EngineOptions, VariantChoice};
use synboost_core::frame::FrameView;
use synboost_core::measure::{
    Calibration, CardiacTracker, PhaseSource, TrackerConfig, cavity_geometry,
};
use synboost_core::model::spec::ModelSpec;
use synboost_core::{Mask, PixelSpacing, ScanMeta, Structure, Tokenizer, View, Vocab};
use synboost_export::student::{BundleInfo, write_random_student};

const SIZE: usize = 256;

fn frame() -> Vec<u8> {
    (0..SIZE * SIZE).map(|i| ((i * 7919) % 251) as u8).collect()
}

/// An LV-sized truncated ellipse (about 4,500 pixels) scaled by `s`.
fn lv(s: f64) -> Mask {
    let mut d = vec![0u8; SIZE * SIZE];
    for j in 0..SIZE {
        for i in 0..SIZE {
            let (x, t) = (i as f64 - 128.0, j as f64 - 30.0);
            let (le, r) = (60.0 * s, 28.0 * s);
            let inside =
                t >= 0.0 && t <= 1.7 * le && ((t - le) / le).powi(2) + (x / r).powi(2) <= 1.0;
            d[j * SIZE + i] = u8::from(inside);
        }
    }
    Mask::new(SIZE, SIZE, d).expect("mask")
}

fn measure(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let vocab = Vocab::builtin();
    let spec = ModelSpec::student(vocab.len(), Tokenizer::DEFAULT_MAX_LEN);
    let info = BundleInfo::new("bench-student", "benchmark weights (random), no data", 3);
    write_random_student(dir.path(), info, &spec, 7, &[]).expect("bundle");
    let opts = EngineOptions {
        variant: VariantChoice::F32,
        ..Default::default()
    };
    let mut e = Engine::open(dir.path(), opts).expect("engine");
    let meta = ScanMeta {
        view: Some(View::FourChamber),
        pixel_spacing: PixelSpacing::new(0.6, 0.6).ok(),
        frame_time_ms: Some(20.0),
        ..Default::default()
    };
    let f = frame();
    let v = FrameView::gray8(SIZE, SIZE, &f).expect("frame");
    let mut seg = e.segment(&v, &meta, &Structure::ALL).expect("segment");
    let masks: Vec<Mask> = (0..40)
        .map(|k| lv(1.0 - 0.15 * (k as f64 / 40.0 * std::f64::consts::TAU).sin().abs()))
        .collect();
    let cal = Calibration::from_spacing(meta.pixel_spacing);

    let mut g = c.benchmark_group("measure");
    g.sample_size(20);
    g.bench_function("segment_256_frame_3_structures_f32", |b| {
        b.iter(|| black_box(e.segment(&v, &meta, &Structure::ALL).expect("segment")))
    });
    g.bench_function("cavity_geometry_lv_256", |b| {
        b.iter(|| black_box(cavity_geometry(&masks[0], cal)))
    });
    let mut tracker = CardiacTracker::new(TrackerConfig::default());
    let mut k = 0u64;
    g.bench_function("tracker_observe_frame_256", |b| {
        b.iter(|| {
            seg.structures[0].mask = masks[(k % 40) as usize].clone();
            k += 1;
            black_box(tracker.observe(k, Some(k as i64 * 20_000), &meta, &seg, PhaseSource::None))
        })
    });
    g.finish();
}

criterion_group!(benches, measure);
criterion_main!(benches);
