//! Criterion benchmarks of the engine on a random-weight default student (224², 3 structures,
//! one thread): `segment()` with the f32 and int8 image graphs, the text graph on a cache miss,
//! and a cache hit. `scripts/bench-inference.sh` prints the comparison table with onnxruntime.
//! The `postprocess` group times each step of one structure's postprocessing on a 224² map of
//! an LV-sized ellipse mapped to a 256² frame (the live stream's phantom size).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use synboost_core::engine::{Engine, EngineOptions, VariantChoice};
use synboost_core::frame::FrameView;
use synboost_core::model::spec::ModelSpec;
use synboost_core::postprocess::{
    FrameMapper, PostprocessOptions, fill_holes, largest_component, postprocess, threshold,
};
use synboost_core::preprocess::{Fit, Geometry};
use synboost_core::{Phase, ScanMeta, Structure, Tokenizer, View, Vocab};
use synboost_export::student::{BundleInfo, write_random_student};

fn frame(w: usize, h: usize) -> Vec<u8> {
    (0..w * h).map(|i| ((i * 7919) % 251) as u8).collect()
}

fn bundle() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    let vocab = Vocab::builtin();
    let spec = ModelSpec::student(vocab.len(), Tokenizer::DEFAULT_MAX_LEN);
    let info = BundleInfo::new("bench-student", "benchmark weights (random), no data", 3);
    write_random_student(dir.path(), info, &spec, 7, &[frame(224, 224)]).expect("bundle");
    dir
}

fn engine(c: &mut Criterion) {
    let dir = bundle();
    let meta = ScanMeta {
        view: Some(View::TwoChamber),
        phase: Some(Phase::EndDiastole),
        ..Default::default()
    };
    let f = frame(224, 224);
    let v = FrameView::gray8(224, 224, &f).expect("frame");
    let mut g = c.benchmark_group("engine");
    g.sample_size(20);
    for (name, variant) in [("f32", VariantChoice::F32), ("int8", VariantChoice::Int8)] {
        let opts = EngineOptions {
            variant,
            ..Default::default()
        };
        let mut e = Engine::open(dir.path(), opts).expect("engine");
        g.bench_function(format!("segment_224_3_structures_{name}"), |b| {
            b.iter(|| black_box(e.segment(&v, &meta, &Structure::ALL).expect("segment")))
        });
    }
    let opts = EngineOptions {
        variant: VariantChoice::F32,
        prompt_cache: 1,
        ..Default::default()
    };
    let mut e = Engine::open(dir.path(), opts).expect("engine");
    let prompts = [
        e.prompt_for(Structure::LvCavity, &meta).1,
        e.prompt_for(Structure::LaCavity, &meta).1,
    ];
    let mut k = 0;
    g.bench_function("text_graph_cache_miss", |b| {
        b.iter(|| {
            k += 1;
            black_box(e.conditioning(&prompts[k % 2]).expect("text"))
        })
    });
    g.bench_function("prompt_cache_hit", |b| {
        b.iter(|| black_box(e.conditioning(&prompts[0]).expect("text")))
    });
    g.finish();
}

/// Logits of an ellipse (an LV-sized blob, about 12 % of the map) with a speck and a hole.
fn ellipse_logits(w: usize, h: usize) -> Vec<f32> {
    let mut l: Vec<f32> = (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as f32, (i / w) as f32);
            let (dx, dy) = ((x - 0.55 * w as f32) / 40.0, (y - 0.4 * h as f32) / 75.0);
            4.0 * (1.0 - (dx * dx + dy * dy).sqrt())
        })
        .collect();
    l[(h / 2) * w + w / 2] = -5.0;
    l[10 * w + 10] = 5.0;
    l
}

fn postprocessing(c: &mut Criterion) {
    let (w, h) = (224, 224);
    let l = ellipse_logits(w, h);
    let opts = PostprocessOptions::default();
    let raw = threshold(&l, w, h, 0.5).expect("threshold");
    let (clean, _) = postprocess(&l, w, h, &opts).expect("postprocess");
    let geom = Geometry::new((256, 256), None, (w, h), Fit::Stretch).expect("geometry");
    let mut mapper = FrameMapper::new();
    let mut g = c.benchmark_group("postprocess");
    g.bench_function("threshold_224", |b| {
        b.iter(|| black_box(threshold(&l, w, h, 0.5).expect("threshold")))
    });
    g.bench_function("largest_component_224", |b| {
        b.iter(|| black_box(largest_component(&raw)))
    });
    g.bench_function("fill_holes_224", |b| {
        b.iter(|| black_box(fill_holes(&clean)))
    });
    g.bench_function("postprocess_224", |b| {
        b.iter(|| black_box(postprocess(&l, w, h, &opts).expect("postprocess")))
    });
    g.bench_function("map_224_to_256", |b| {
        b.iter(|| black_box(mapper.map(&l, &clean, &geom, 0.5).expect("map")))
    });
    g.finish();
}

criterion_group!(benches, engine, postprocessing);
criterion_main!(benches);
