//! `synboost-sim live`: frames streamed in real time through `libsynboost.so`, scored, with an
//! overlay GIF and a JSON report.

use super::interrupt::interrupt_flag;
use super::phantom_args::PhantomArgs;
use super::progress::{Bars, LIVE};
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::time::Instant;
use synboost_dicom::ReadOptions;
use synboost_phantom::PhantomConfig;
use synboost_sim::live::source::{self, PhantomPlan, Source};
use synboost_sim::live::{self, Backend, LiveOptions, Policy, Variant};

/// `live` options.
#[derive(clap::Args)]
pub struct LiveArgs {
    /// libsynboost.so to load (default: next to this executable).
    #[arg(long, env = "SYNBOOST_LIB")]
    lib: Option<PathBuf>,
    /// Model bundle, a folder or .tar (default: models/default of the repository, found from
    /// the current folder or from this executable).
    #[arg(long, env = "SYNBOOST_BUNDLE")]
    bundle: Option<PathBuf>,
    /// Frames per second (default: 50 for the phantom, the file's frame rate with --dicom).
    #[arg(long)]
    fps: Option<f64>,
    /// Length of the stream, seconds.
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    /// Worker threads of the stream. 1 by default: with the default model a frame takes about
    /// 15 ms of the 20 ms period on one core, and a second worker on a 2-core machine only
    /// competes with the first (measured p99 22.5 ms with 1 worker, 33.8 ms with 2, 20 s at
    /// 50 fps). Raise it on machines with more cores or for heavier models.
    #[arg(long, default_value_t = 1)]
    workers: u32,
    /// Threads of each worker's matrix kernels (tract's multithreaded matmul).
    #[arg(long, default_value_t = 1)]
    threads: u32,
    /// Queue capacity of the stream, frames.
    #[arg(long, default_value_t = 4)]
    queue: u32,
    /// What a full queue does with a new frame.
    #[arg(long, value_enum, default_value_t = Policy::DropOldest)]
    policy: Policy,
    /// Image model variant: auto (from the CPU and the bundle's measurements), timed (the
    /// faster, timed at load), f32 or int8.
    #[arg(long, value_enum, default_value_t = Variant::Auto)]
    variant: Variant,
    /// Inference runtime inside the library: tract (built in) or onnxruntime (an installed
    /// libonnxruntime, loaded at open).
    #[arg(long, value_enum, default_value_t = Backend::Tract)]
    backend: Backend,
    /// The libonnxruntime for --backend onnxruntime (default: $SYNBOOST_ONNXRUNTIME, else the
    /// loader's search path).
    #[arg(long)]
    onnxruntime: Option<PathBuf>,
    /// Output folder for live.gif and report.json.
    #[arg(long, default_value = "live-out")]
    out: PathBuf,
    #[command(flatten)]
    phantom: PhantomArgs,
    /// Cardiac cycles of phantom frames rendered ahead and looped.
    #[arg(long, default_value_t = 2.0)]
    cycles: f64,
    /// Send the phantom's ED/ES phase with its frames, as a scanner with an ECG does. Without
    /// it the library finds ED and ES from the LV area curve and predicts the phase itself.
    #[arg(long)]
    ecg: bool,
    /// Interleave two-chamber frames with the four-chamber ones (the same patient, as a biplane
    /// probe does), so that the library reports biplane Simpson volumes; each view gets half
    /// of --fps.
    #[arg(long)]
    biplane: bool,
    /// Stream this DICOM cine (looped) instead of a phantom; no truth, so areas instead of dice.
    #[arg(long)]
    dicom: Option<PathBuf>,
    /// With --dicom: keep the whole image instead of cropping to the calibrated region.
    #[arg(long)]
    no_crop: bool,
    /// Frames per second of the animation (sampled from the stream, played back in real time).
    #[arg(long, default_value_t = 10.0)]
    gif_fps: f64,
    /// Most frames in the animation (the latest are kept).
    #[arg(long, default_value_t = 150)]
    gif_frames: usize,
    /// Largest side of the animation, pixels.
    #[arg(long, default_value_t = 256)]
    gif_size: usize,
    /// Do not draw the phantom's true outlines (dimmed) in the animation.
    #[arg(long)]
    no_truth: bool,
    /// Send every Nth frame twice (the same pixels and timestamp), as a scanner does when it
    /// retries; 0: never.
    #[arg(long, default_value_t = 0)]
    resend_every: u64,
    /// No progress bar.
    #[arg(long)]
    no_progress: bool,
}

/// Find the library and the bundle, prepare the frames, stream them and print the table.
pub fn run(a: &LiveArgs) -> Result<()> {
    // Find the library and the bundle before spending time on frames.
    let lib = live::locate_library(a.lib.as_deref())?;
    let bundle = live::locate_bundle(a.bundle.as_deref())?;
    let started = Instant::now();
    let src = prepare(a)?;
    let prepare_s = started.elapsed().as_secs_f64();
    // Ctrl-C (or SIGTERM) ends the stream early but still drains it and writes the report; a
    // second one exits at once (status 130).
    let interrupt = interrupt_flag()?;
    log::info!(
        "{} frame(s) {}x{} ready in {prepare_s:.1} s; streaming at {} fps for {} s",
        src.frames.len(),
        src.frames.first().map_or(0, |f| f.image.width()),
        src.frames.first().map_or(0, |f| f.image.height()),
        src.fps,
        a.seconds
    );
    let opts = LiveOptions {
        lib,
        bundle,
        seconds: a.seconds,
        workers: a.workers,
        threads: a.threads,
        queue: a.queue,
        policy: a.policy,
        variant: a.variant,
        backend: a.backend,
        onnxruntime: a.onnxruntime.clone(),
        out: a.out.clone(),
        gif_fps: a.gif_fps,
        gif_max_frames: a.gif_frames,
        gif_max_side: a.gif_size,
        gif_truth: !a.no_truth,
        resend_every: a.resend_every,
        interrupt: Some(interrupt),
    };
    let mut bars = Bars::new(LIVE, !a.no_progress);
    let report = live::run(&src, &opts, prepare_s, &mut |p| bars.report(p))?;
    print!("{}", report.table());
    if let Some(g) = &report.outputs.gif {
        println!("animation: {g} ({} frames)", report.outputs.gif_frames);
    }
    println!("report: {}", report.outputs.report);
    Ok(())
}

/// The frames to stream: the DICOM cine (`--dicom`) or phantom frames rendered ahead.
fn prepare(a: &LiveArgs) -> Result<Source> {
    if let Some(file) = &a.dicom {
        let read = ReadOptions {
            crop_to_region: !a.no_crop,
            ..ReadOptions::default()
        };
        return source::dicom(file, &read, a.fps, live::TARGET_FPS)
            .with_context(|| format!("reading {}", file.display()));
    }
    let fps = a.fps.unwrap_or(live::TARGET_FPS);
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    log::info!(
        "rendering {} cycle(s) of phantom frames at {fps} fps on {threads} thread(s)",
        a.cycles
    );
    if !(a.cycles.is_finite() && a.cycles > 0.0 && a.cycles <= 20.0) {
        anyhow::bail!("--cycles {}: give a number in (0, 20]", a.cycles);
    }
    let src = source::phantom(
        PhantomConfig {
            fps,
            ..a.phantom.config()
        },
        &PhantomPlan {
            cycles: a.cycles,
            threads,
            ecg: a.ecg,
            biplane: a.biplane,
        },
    )?;
    Ok(src)
}
