//! Phantom generation speed on one core: prints a table of frames per second.
//!
//!   cargo bench -p synboost-sim --bench phantom
//!
//! Target: ≥ 200 frames/s at 256×256 (issue: firmware-sim). Each configuration renders frames
//! over whole cycles after a warm-up; the median of five runs is reported.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::Instant;
use synboost_core::meta::{ImageQuality, View};
use synboost_phantom::{Phantom, PhantomConfig};

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let cases = [
        (224, View::FourChamber, ImageQuality::Good),
        (256, View::FourChamber, ImageQuality::Good),
        (256, View::TwoChamber, ImageQuality::Good),
        (256, View::FourChamber, ImageQuality::Poor),
        (512, View::FourChamber, ImageQuality::Good),
    ];
    println!("| size | view | quality | frames/s | ms/frame | target |");
    println!("|---|---|---|---:|---:|---|");
    for (size, view, quality) in cases {
        let ph = match Phantom::new(PhantomConfig {
            width: size,
            height: size,
            view,
            quality,
            seed: 7,
            ..PhantomConfig::default()
        }) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{e}");
                return;
            }
        };
        let n: u64 = if quick { 10 } else { 100 };
        let _ = ph.frame(0);
        let mut rates = Vec::new();
        for run in 0..5 {
            let t = Instant::now();
            for k in 0..n {
                let _ = std::hint::black_box(ph.frame(run * n + k));
            }
            rates.push(n as f64 / t.elapsed().as_secs_f64());
        }
        rates.sort_by(f64::total_cmp);
        let fps = rates[2];
        let target = if size == 256 {
            if fps >= 200.0 {
                "≥ 200: met"
            } else {
                "≥ 200: MISSED"
            }
        } else {
            ""
        };
        println!(
            "| {size}² | {view} | {quality:?} | {fps:.0} | {:.2} | {target} |",
            1000.0 / fps
        );
    }
}
