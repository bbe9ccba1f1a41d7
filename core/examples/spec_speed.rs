//! Side-by-side speed of candidate student widths in tract: which architecture fits the frame
//! budget before spending hours training it.
//!
//! ```text
//! cargo run --release -p synboost-core --example spec_speed -- ROUNDS [ENC/DEC ...]
//! # e.g. 40 8,16,32,64,96/64,32,16,8
//! ```
//!
//! Writes a random-weight bundle per candidate (the default student and each `ENC/DEC` width
//! list given), opens each with the f32 image graph on one
//! thread, then runs `segment()` on a 224² frame for the 3 structures in interleaved rounds
//! (candidate A, B, C, A, B, C, …) so machine noise hits every candidate alike. Prints the
//! median and minimum image-graph time and whole-call time per candidate, with parameters and
//! multiply-adds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;
use synboost_core::engine::{Engine, EngineOptions, VariantChoice};
use synboost_core::frame::FrameView;
use synboost_core::model::spec::ModelSpec;
use synboost_core::{Phase, ScanMeta, Structure, Tokenizer, View, Vocab};
use synboost_export::student::{BundleInfo, write_random_student};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = match args.first() {
        Some(s) => s.parse()?,
        None => 40,
    };
    let vocab = Vocab::builtin();
    let base = ModelSpec::student(vocab.len(), Tokenizer::DEFAULT_MAX_LEN);
    let mut candidates = vec![("default".to_string(), base.clone())];
    for arg in args.iter().skip(1) {
        let s = base.with_widths(arg)?;
        candidates.push((arg.clone(), s));
    }
    let frame: Vec<u8> = (0..224 * 224).map(|i| ((i * 7919) % 251) as u8).collect();
    let view = FrameView::gray8(224, 224, &frame)?;
    let meta = ScanMeta {
        view: Some(View::TwoChamber),
        phase: Some(Phase::EndDiastole),
        ..Default::default()
    };
    let mut dirs = Vec::new();
    let mut engines = Vec::new();
    for (name, spec) in &candidates {
        let dir = tempfile::tempdir()?;
        let info = BundleInfo::new("spec-speed", "random weights, no data", 3);
        write_random_student(dir.path(), info, spec, 7, &[])?;
        let opts = EngineOptions {
            variant: VariantChoice::F32,
            ..Default::default()
        };
        let mut e = Engine::open(dir.path(), opts)?;
        for _ in 0..3 {
            e.segment(&view, &meta, &Structure::ALL)?;
        }
        engines.push((name, spec, e));
        dirs.push(dir);
    }
    let mut image = vec![Vec::new(); engines.len()];
    let mut total = vec![Vec::new(); engines.len()];
    for _ in 0..rounds {
        for (k, (_, _, e)) in engines.iter_mut().enumerate() {
            let t = Instant::now();
            let r = e.segment(&view, &meta, &Structure::ALL)?;
            total[k].push(t.elapsed().as_secs_f64() * 1e3);
            image[k].push(r.timings.image.as_secs_f64() * 1e3);
        }
    }
    let stat = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[0])
    };
    println!(
        "{:<30} {:>9} {:>8} {:>12} {:>10} {:>12}",
        "candidate", "params", "GFLOP", "image med", "image min", "segment med"
    );
    for (k, (name, spec, _)) in engines.iter().enumerate() {
        let (im, imin) = stat(&mut image[k]);
        let (tm, _) = stat(&mut total[k]);
        println!(
            "{:<30} {:>9} {:>8.3} {:>9.2} ms {:>7.2} ms {:>9.2} ms",
            name,
            spec.parameter_count(),
            spec.image_flops() as f64 / 1e9,
            im,
            imin,
            tm
        );
    }
    Ok(())
}
