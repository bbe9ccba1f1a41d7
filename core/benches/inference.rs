//! Inference latency of the student through the engine (tract, one thread), printed as a table
//! and optionally as JSON for `scripts/bench-inference.sh`, which runs onnxruntime on the same
//! ONNX files beside it.
//!
//! ```text
//! cargo bench -p synboost-core --bench inference -- [--iters N] [--bundle DIR] [--json FILE]
//! cargo bench -p synboost-core --bench inference -- --open models/default
//! ```
//!
//! The bundle is a random-weight default student (224², 3 structures) with an int8 variant
//! calibrated on synthetic frames; latency does not depend on the weights' values. It is written
//! to `--bundle` (default: a temporary folder) so that other runtimes can load the same files.
//! `--open DIR` times an existing bundle instead (e.g. the shipped one, whose widths differ);
//! it must have an int8 variant.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::PathBuf;
use std::time::{Duration, Instant};
use synboost_core::engine::{Engine, EngineOptions, VariantChoice};
use synboost_core::frame::{FrameView, PixelFormat};
use synboost_core::model::spec::ModelSpec;
use synboost_core::{Phase, ScanMeta, Structure, Tokenizer, View, Vocab};
use synboost_export::student::{BundleInfo, write_random_student};

struct Args {
    iters: usize,
    bundle: Option<PathBuf>,
    open: Option<PathBuf>,
    json: Option<PathBuf>,
}

fn args() -> Args {
    let mut a = Args {
        iters: 50,
        bundle: None,
        open: None,
        json: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        match k.as_str() {
            "--iters" => a.iters = it.next().and_then(|v| v.parse().ok()).unwrap_or(a.iters),
            "--bundle" => a.bundle = it.next().map(PathBuf::from),
            "--json" => a.json = it.next().map(PathBuf::from),
            "--open" => a.open = it.next().map(PathBuf::from),
            _ => {} // cargo bench passes --bench
        }
    }
    a
}

fn frame(w: usize, h: usize, seed: usize) -> Vec<u8> {
    (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as f32 / w as f32, (i / w) as f32 / h as f32);
            let d = ((x - 0.5).powi(2) + (y - 0.45).powi(2)).sqrt();
            let base = if d < 0.25 { 40.0 } else { 150.0 };
            (base + 60.0 * (((i + seed) * 7919) % 17) as f32 / 17.0) as u8
        })
        .collect()
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v.get(v.len() / 2)
        .map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
}

fn main() {
    let a = args();
    let tmp = tempfile::tempdir().expect("temporary folder");
    let dir = match &a.open {
        Some(d) => d.clone(),
        None => {
            let dir = a.bundle.clone().unwrap_or_else(|| tmp.path().to_path_buf());
            let vocab = Vocab::builtin();
            let spec = ModelSpec::student(vocab.len(), Tokenizer::DEFAULT_MAX_LEN);
            let info = BundleInfo {
                provenance: serde_json::json!({"data": "none"}),
                ..BundleInfo::new("bench-student", "benchmark weights (random), no data", 3)
            };
            write_random_student(
                &dir,
                info,
                &spec,
                7,
                &[frame(224, 224, 0), frame(224, 224, 1)],
            )
            .expect("bundle");
            dir
        }
    };

    let meta = ScanMeta {
        view: Some(View::FourChamber),
        phase: Some(Phase::EndSystole),
        ..Default::default()
    };
    let g224 = frame(224, 224, 1);
    let (bw, bh) = (800, 600);
    let big: Vec<u8> = frame(bw, bh, 2)
        .iter()
        .flat_map(|&v| [v, v, v, 255])
        .collect();
    let mut rows: Vec<(String, f64)> = Vec::new();
    for (name, choice) in [("f32", VariantChoice::F32), ("int8", VariantChoice::Int8)] {
        let opts = EngineOptions {
            variant: choice,
            ..Default::default()
        };
        let mut e = Engine::open(&dir, opts).expect("engine");
        let v = FrameView::gray8(224, 224, &g224).expect("frame");
        let vb = FrameView::new(PixelFormat::Bgra8, bw, bh, bw * 4, &big).expect("frame");
        for _ in 0..3 {
            e.segment(&v, &meta, &Structure::ALL).expect("segment");
        }
        let (mut image, mut total, mut total_big, mut pre_big, mut post_big) =
            (vec![], vec![], vec![], vec![], vec![]);
        for _ in 0..a.iters {
            let s = e.segment(&v, &meta, &Structure::ALL).expect("segment");
            image.push(s.timings.image);
            total.push(s.timings.total);
            let s = e.segment(&vb, &meta, &Structure::ALL).expect("segment");
            total_big.push(s.timings.total);
            pre_big.push(s.timings.preprocess);
            post_big.push(s.timings.postprocess);
        }
        rows.push((
            format!("tract {name}: image graph, 224², 3 structures"),
            median(image),
        ));
        rows.push((
            format!("tract {name}: segment() 224² GRAY8, 3 structures"),
            median(total),
        ));
        rows.push((
            format!("tract {name}: segment() 800×600 BGRA8, 3 structures"),
            median(total_big),
        ));
        if name == "f32" {
            rows.push((
                "  of which preprocess 800×600 BGRA8".into(),
                median(pre_big),
            ));
            rows.push((
                "  of which postprocess 3 masks → 800×600".into(),
                median(post_big),
            ));
        }
    }
    // Text graph (every lookup a miss: a one-entry cache and two alternating prompts) and the
    // cache hit path.
    let mut e = Engine::open(
        &dir,
        EngineOptions {
            variant: VariantChoice::F32,
            prompt_cache: 1,
            ..Default::default()
        },
    )
    .expect("engine");
    let prompts = [
        e.prompt_for(Structure::LvCavity, &meta).1,
        e.prompt_for(Structure::Myocardium, &meta).1,
    ];
    let (mut miss, mut hit) = (vec![], vec![]);
    for k in 0..a.iters.max(10) * 4 {
        let t = Instant::now();
        e.conditioning(&prompts[k % 2]).expect("text");
        miss.push(t.elapsed());
        let t = Instant::now();
        e.conditioning(&prompts[k % 2]).expect("text");
        hit.push(t.elapsed());
    }
    rows.push((
        "tract: text graph (cache miss), 1 prompt".into(),
        median(miss),
    ));
    rows.push(("tract: prompt cache hit, 1 prompt".into(), median(hit)));

    println!(
        "\n| benchmark (median of {} runs, one thread; {}) | ms |",
        a.iters,
        a.open.as_ref().map_or_else(
            || "random-weight default student".to_string(),
            |d| d.display().to_string()
        )
    );
    println!("|---|---:|");
    for (k, v) in &rows {
        println!("| {k} | {v:.4} |");
    }
    if let Some(p) = a.json {
        // An array keeps the rows in order.
        let rows: Vec<serde_json::Value> = rows
            .iter()
            .map(|(k, v)| serde_json::json!([k, v]))
            .collect();
        std::fs::write(&p, serde_json::to_string_pretty(&rows).expect("json")).expect("write json");
    }
}
