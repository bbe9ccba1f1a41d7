//! Inference latency through the engine on both runtimes — tract (built in) and ONNX Runtime
//! (loaded at run time) — for the f32 and int8 image graphs, one thread each, in alternating
//! rounds of one run so that every engine sees the same machine load. Prints the table the
//! runtime targets of the README are checked against (never a timed test).
//!
//! ```text
//! cargo bench -p synboost-core --bench inference -- [--open DIR | --bundle DIR]
//!     [--rounds R] [--iters N] [--onnxruntime LIB] [--json FILE]
//! ```
//!
//! `--open DIR` times an existing bundle (e.g. the shipped `models/default`; it must have an
//! int8 variant). Without it a random-weight default student (224², 3 structures, int8
//! calibrated on synthetic frames) is written to `--bundle` (default: a temporary folder):
//! latency does not depend on the weights' values. ONNX Runtime comes from `--onnxruntime`,
//! else `SYNBOOST_ONNXRUNTIME`; without one only tract is timed. `scripts/bench-inference.sh`
//! finds (or installs) ONNX Runtime and runs this on the shipped model.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::PathBuf;
use std::time::{Duration, Instant};
use synboost_core::engine::{Backend, Engine, EngineOptions, VariantChoice};
use synboost_core::frame::{FrameView, PixelFormat};
use synboost_core::model::spec::ModelSpec;
use synboost_core::{Phase, ScanMeta, Structure, Tokenizer, View, Vocab};
use synboost_export::student::{BundleInfo, write_random_student};

struct Args {
    iters: usize,
    rounds: usize,
    bundle: Option<PathBuf>,
    open: Option<PathBuf>,
    json: Option<PathBuf>,
    onnxruntime: Option<PathBuf>,
}

fn args() -> Args {
    let mut a = Args {
        iters: 30,
        rounds: 5,
        bundle: None,
        open: None,
        json: None,
        onnxruntime: std::env::var_os("SYNBOOST_ONNXRUNTIME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        match k.as_str() {
            "--iters" => a.iters = it.next().and_then(|v| v.parse().ok()).unwrap_or(a.iters),
            "--rounds" => a.rounds = it.next().and_then(|v| v.parse().ok()).unwrap_or(a.rounds),
            "--bundle" => a.bundle = it.next().map(PathBuf::from),
            "--json" => a.json = it.next().map(PathBuf::from),
            "--open" => a.open = it.next().map(PathBuf::from),
            "--onnxruntime" => a.onnxruntime = it.next().map(PathBuf::from),
            _ => {} // cargo bench passes --bench
        }
    }
    a.iters = a.iters.max(1);
    a.rounds = a.rounds.max(1);
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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// What is timed per engine (the columns).
const COLUMNS: [&str; 5] = [
    "image graph 224², 3 structures",
    "segment() 224² GRAY8",
    "segment() 800×600 BGRA8",
    "of which pre 800×600",
    "of which post 800×600",
];

struct Timed {
    name: String,
    engine: Engine,
    /// Per column, the per-round medians.
    rounds: Vec<Vec<f64>>,
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
    let v224 = FrameView::gray8(224, 224, &g224).expect("frame");
    let vbig = FrameView::new(PixelFormat::Bgra8, bw, bh, bw * 4, &big).expect("frame");

    let mut backends = vec![Backend::Tract];
    match &a.onnxruntime {
        Some(lib) => backends.push(Backend::OnnxRuntime {
            library: Some(lib.clone()),
        }),
        None => eprintln!(
            "no ONNX Runtime (give --onnxruntime LIB or SYNBOOST_ONNXRUNTIME): tract only"
        ),
    }
    let mut engines: Vec<Timed> = Vec::new();
    for backend in &backends {
        for (vname, variant) in [("f32", VariantChoice::F32), ("int8", VariantChoice::Int8)] {
            let opts = EngineOptions {
                variant,
                backend: backend.clone(),
                ..Default::default()
            };
            let mut engine = Engine::open(&dir, opts).expect("engine");
            for _ in 0..3 {
                engine
                    .segment(&v224, &meta, &Structure::ALL)
                    .expect("warm-up");
            }
            engines.push(Timed {
                name: format!("{} {vname}", backend.name()),
                engine,
                rounds: vec![Vec::new(); COLUMNS.len()],
            });
        }
    }
    let runtime = engines
        .iter()
        .map(|t| t.engine.runtime())
        .collect::<std::collections::BTreeSet<_>>();

    for round in 0..a.rounds {
        eprintln!("round {}/{}", round + 1, a.rounds);
        for t in &mut engines {
            let mut cols: Vec<Vec<f64>> = vec![Vec::with_capacity(a.iters); COLUMNS.len()];
            for _ in 0..a.iters {
                let s = t
                    .engine
                    .segment(&v224, &meta, &Structure::ALL)
                    .expect("segment");
                cols[0].push(ms(s.timings.image));
                cols[1].push(ms(s.timings.total));
                let s = t
                    .engine
                    .segment(&vbig, &meta, &Structure::ALL)
                    .expect("segment");
                cols[2].push(ms(s.timings.total));
                cols[3].push(ms(s.timings.preprocess));
                cols[4].push(ms(s.timings.postprocess));
            }
            for (k, mut c) in cols.into_iter().enumerate() {
                t.rounds[k].push(median(&mut c));
            }
        }
    }
    // Text graph per runtime (every lookup a miss: a one-entry cache, two alternating prompts).
    let mut text_rows = Vec::new();
    for backend in &backends {
        let mut e = Engine::open(
            &dir,
            EngineOptions {
                variant: VariantChoice::F32,
                prompt_cache: 1,
                backend: backend.clone(),
                ..Default::default()
            },
        )
        .expect("engine");
        let prompts = [
            e.prompt_for(Structure::LvCavity, &meta).1,
            e.prompt_for(Structure::Myocardium, &meta).1,
        ];
        let mut miss = Vec::new();
        for k in 0..a.iters * 4 {
            let t = Instant::now();
            e.conditioning(&prompts[k % 2]).expect("text");
            miss.push(ms(t.elapsed()));
        }
        text_rows.push((backend.name(), median(&mut miss)));
    }

    let value = |t: &Timed, k: usize| median(&mut t.rounds[k].clone());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    println!(
        "\n{} on {cpu}, one thread per engine; {} alternating rounds of {} frames each, median \
         of the per-round medians; {}",
        a.open.as_ref().map_or_else(
            || "random-weight default student".to_string(),
            |d| d.display().to_string()
        ),
        a.rounds,
        a.iters,
        runtime.into_iter().collect::<Vec<_>>().join(", ")
    );
    println!("\n| engine (ms) | {} |", COLUMNS.join(" | "));
    println!("|---|{}", "---:|".repeat(COLUMNS.len()));
    let mut json_rows = Vec::new();
    for t in &engines {
        let vals: Vec<f64> = (0..COLUMNS.len()).map(|k| value(t, k)).collect();
        println!(
            "| {} | {} |",
            t.name,
            vals.iter()
                .map(|v| format!("{v:.3}"))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        for (c, v) in COLUMNS.iter().zip(&vals) {
            json_rows.push(serde_json::json!([format!("{}: {c}", t.name), v]));
        }
    }
    for (b, v) in &text_rows {
        println!("| {b}: text graph, 1 prompt (cache miss) | {v:.3} | | | | |");
        json_rows.push(serde_json::json!([format!("{b}: text graph, 1 prompt"), v]));
    }
    let get = |name: &str, k: usize| engines.iter().find(|t| t.name == name).map(|t| value(t, k));
    let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);
    println!("\n| target | measured | |");
    println!("|---|---:|---|");
    let mut target = |what: &str, v: Option<f64>, ok: &dyn Fn(f64) -> bool, unit: &str| {
        if let Some(v) = v {
            println!(
                "| {what} | {v:.2}{unit} | {} |",
                if ok(v) { "met" } else { "MISSED" }
            );
            json_rows.push(serde_json::json!([format!("target: {what}"), v]));
        }
    };
    target(
        "image graph f32: tract / onnxruntime ≤ 1.0",
        ratio(get("tract f32", 0), get("onnxruntime f32", 0)),
        &|r| r <= 1.0,
        "×",
    );
    target(
        "image graph int8: tract / onnxruntime ≤ 1.0",
        ratio(get("tract int8", 0), get("onnxruntime int8", 0)),
        &|r| r <= 1.0,
        "×",
    );
    target(
        "tract int8 speed-up over tract f32 ≥ 1.5",
        ratio(get("tract f32", 0), get("tract int8", 0)),
        &|r| r >= 1.5,
        "×",
    );
    target(
        "onnxruntime int8 speed-up over onnxruntime f32",
        ratio(get("onnxruntime f32", 0), get("onnxruntime int8", 0)),
        &|_| true,
        "×",
    );
    let best = |k: usize| {
        engines
            .iter()
            .map(|t| value(t, k))
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.min(v))))
    };
    target(
        "segment() 224², 3 structures ≤ 3 ms (fastest engine)",
        best(1),
        &|v| v <= 3.0,
        " ms",
    );
    target(
        "segment() 800×600 BGRA8 ≤ 5 ms (fastest engine)",
        best(2),
        &|v| v <= 5.0,
        " ms",
    );
    if let Some(p) = a.json {
        std::fs::write(&p, serde_json::to_string_pretty(&json_rows).expect("json"))
            .expect("write json");
    }
}
