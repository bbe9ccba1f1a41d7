//! `synboost-sim soak`: the fault-injected soak of `libsynboost.so`; exits non-zero when a
//! check fails.

use super::interrupt::interrupt_flag;
use super::progress::{Bars, SOAK};
use anyhow::Result;
use std::path::PathBuf;
use synboost_sim::live;
use synboost_sim::soak::{self, SoakOptions};

/// `soak` options.
#[derive(clap::Args)]
pub struct SoakArgs {
    /// libsynboost.so to load (default: next to this executable).
    #[arg(long, env = "SYNBOOST_LIB")]
    lib: Option<PathBuf>,
    /// Model bundle, a folder or .tar (default: models/default of the repository).
    #[arg(long, env = "SYNBOOST_BUNDLE")]
    bundle: Option<PathBuf>,
    /// Length, seconds (600 for the long soak).
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    /// Frames per second of the producer.
    #[arg(long, default_value_t = 80.0)]
    fps: f64,
    /// Seed of the faults and the phantom.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Phantom frame side, pixels.
    #[arg(long, default_value_t = 256)]
    size: usize,
    /// Queue capacity of the stream, frames.
    #[arg(long, default_value_t = 4)]
    queue: u32,
    /// Worker threads of the stream.
    #[arg(long, default_value_t = 1)]
    workers: u32,
    /// Largest resident-memory growth after the warm-up that passes, MiB.
    #[arg(long, default_value_t = 8.0)]
    max_growth_mib: f64,
    /// Output folder for soak-report.json and soak.png.
    #[arg(long, default_value = "soak-out")]
    out: PathBuf,
    /// No progress bar.
    #[arg(long)]
    no_progress: bool,
}

/// Run the soak and print its table; fail when a check failed.
pub fn run(a: &SoakArgs) -> Result<()> {
    let lib = live::locate_library(a.lib.as_deref())?;
    let bundle = live::locate_bundle(a.bundle.as_deref())?;
    let interrupt = interrupt_flag()?;
    let opts = SoakOptions {
        lib,
        bundle,
        seconds: a.seconds,
        fps: a.fps,
        seed: a.seed,
        size: a.size,
        queue: a.queue,
        workers: a.workers,
        out: a.out.clone(),
        max_growth_mib: a.max_growth_mib,
        interrupt: Some(interrupt),
    };
    let mut bars = Bars::new(SOAK, !a.no_progress);
    let report = soak::run(&opts, &mut |p| bars.report(p))?;
    print!("{}", soak::table(&report));
    println!(
        "report: {}, chart: {}",
        a.out.join("soak-report.json").display(),
        a.out.join("soak.png").display()
    );
    if !report.passed {
        anyhow::bail!("soak failed: see the checks above");
    }
    Ok(())
}
