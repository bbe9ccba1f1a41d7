//! `synboost-sim`: phantom echo datasets, DICOM cines, replay and live streams.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use signal_hook::consts::{SIGINT, SIGTERM};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use synboost_core::meta::{ImageQuality, Phase, View};
use synboost_data::SampleSource;
use synboost_dicom::{ReadOptions, read_cine};
use synboost_phantom::dataset::{ExportOptions, export_dataset};
use synboost_phantom::{Phantom, PhantomConfig};
use synboost_sim::dicom_write::{DicomWriteOptions, RegionSpec, write_cine};
use synboost_sim::live::{self, LiveOptions, Policy, Variant};
use synboost_sim::overlay::{Rgb, overlay};
use synboost_sim::replay::{Replay, ReplayOptions};

/// Simulated echocardiography for integrating and testing synboost.
#[derive(Parser)]
#[command(name = "synboost-sim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Which phantom patient and acquisition.
#[derive(clap::Args)]
struct PhantomArgs {
    /// Apical view: 2CH or 4CH.
    #[arg(long, default_value = "4CH")]
    view: View,
    /// Image quality: good, medium, poor.
    #[arg(long, default_value = "good")]
    quality: ImageQuality,
    /// Patient seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Square image size, pixels.
    #[arg(long, default_value_t = 256)]
    size: usize,
    /// Ejection fraction of the patient, percent (15–85; default: drawn from the seed, 30–75).
    #[arg(long)]
    ef: Option<f64>,
    /// Heart rate of the patient, bpm (30–220; default: drawn from the seed, 55–95).
    #[arg(long)]
    heart_rate: Option<f64>,
}

impl PhantomArgs {
    fn config(&self) -> PhantomConfig {
        PhantomConfig {
            width: self.size,
            height: self.size,
            view: self.view,
            quality: self.quality,
            seed: self.seed,
            ef_percent: self.ef,
            heart_rate_bpm: self.heart_rate,
            ..PhantomConfig::default()
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Write a phantom dataset in the seed layout (images/, masks/mask_{1,2,3}/, anns/<split>.json
    /// with prompts P0–P7), ED and ES frames of both apical views per patient, plus a preview PNG.
    Generate {
        /// Dataset root.
        #[arg(long)]
        out: PathBuf,
        /// Split name.
        #[arg(long, default_value = "train")]
        split: String,
        /// Number of phantom patients.
        #[arg(long, default_value_t = 100)]
        patients: usize,
        /// First patient number (continue numbering across splits).
        #[arg(long, default_value_t = 1)]
        first_patient: usize,
        /// Square image size, pixels.
        #[arg(long, default_value_t = 224)]
        size: usize,
        /// Base seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Write a phantom cine as a DICOM US Multi-frame Image (8-bit MONOCHROME2, calibrated
    /// region, view code, patient sex and age, frame time).
    Dicom {
        /// Output .dcm file.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        phantom: PhantomArgs,
        /// Frame rate, frames per second.
        #[arg(long, default_value_t = 50.0)]
        fps: f64,
        /// Length of the cine, seconds.
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
    },
    /// Replay a DICOM cine (real or written) as a timed frame stream and report what it carries.
    Replay {
        /// The DICOM file.
        file: PathBuf,
        /// Frame rate override (default: the file's frame time).
        #[arg(long)]
        fps: Option<f64>,
        /// Passes through the cine.
        #[arg(long, default_value_t = 1)]
        loops: u64,
        /// Pace frames in real time (sleep until each is due), as a scanner would.
        #[arg(long)]
        real_time: bool,
        /// Keep the whole image instead of cropping to the calibrated ultrasound region.
        #[arg(long)]
        no_crop: bool,
        /// Write a contact sheet of up to 8 frames to this PNG.
        #[arg(long)]
        sheet: Option<PathBuf>,
    },
    /// Stream frames in real time through libsynboost.so (loaded with dlopen, driven through its
    /// C ABI) on a model bundle: phantom frames rendered ahead (scored with dice against their
    /// truth) or a DICOM cine (--dicom). Writes an overlay GIF and a JSON report to --out. Ctrl-C
    /// stops early and still drains the queue and writes the report; a second Ctrl-C exits.
    Live(Box<LiveArgs>),
    /// Fault-injected soak of libsynboost.so: phantom frames at 80 fps with dropped,
    /// duplicated, corrupted, resized, reordered and invalid frames, metadata gaps, view
    /// switches and bursts from a second thread; checks accounting, refusals, latency and
    /// memory, writes soak-report.json and soak.png, and exits non-zero when a check fails.
    Soak(SoakArgs),
    /// Render phantom frames over a cycle as a PNG contact sheet with the masks outlined.
    Preview {
        /// Output PNG.
        #[arg(long, default_value = "phantom-preview.png")]
        out: PathBuf,
        #[command(flatten)]
        phantom: PhantomArgs,
        /// Frames in the sheet (spread over one cycle).
        #[arg(long, default_value_t = 8)]
        frames: usize,
    },
}

/// `soak` options.
#[derive(clap::Args)]
struct SoakArgs {
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

/// A flag that the first Ctrl-C (or SIGTERM) sets, so that a run can end early and still write
/// its report; a second one exits at once (status 130).
fn interrupt_flag() -> Result<Arc<AtomicBool>> {
    let interrupt = Arc::new(AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&interrupt))
            .context("installing the signal handler")?;
        signal_hook::flag::register(sig, Arc::clone(&interrupt))
            .context("installing the signal handler")?;
    }
    Ok(interrupt)
}

fn run_soak(a: &SoakArgs) -> Result<()> {
    let lib = live::locate_library(a.lib.as_deref())?;
    let bundle = live::locate_bundle(a.bundle.as_deref())?;
    let interrupt = interrupt_flag()?;
    let report = synboost_sim::soak::run(&synboost_sim::soak::SoakOptions {
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
        progress: !a.no_progress,
        interrupt: Some(interrupt),
    })?;
    print!("{}", synboost_sim::soak::table(&report));
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

/// `live` options.
#[derive(clap::Args)]
struct LiveArgs {
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
    /// Image model variant: auto (the faster, timed at load), f32 or int8.
    #[arg(long, value_enum, default_value_t = Variant::Auto)]
    variant: Variant,
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

fn run_live(a: &LiveArgs) -> Result<()> {
    // Find the library and the bundle before spending time on frames.
    let lib = live::locate_library(a.lib.as_deref())?;
    let bundle = live::locate_bundle(a.bundle.as_deref())?;
    let started = std::time::Instant::now();
    let src = match &a.dicom {
        Some(file) => {
            let read = ReadOptions {
                crop_to_region: !a.no_crop,
                ..ReadOptions::default()
            };
            live::source::dicom(file, &read, a.fps, live::TARGET_FPS)
                .with_context(|| format!("reading {}", file.display()))?
        }
        None => {
            let fps = a.fps.unwrap_or(live::TARGET_FPS);
            let threads = std::thread::available_parallelism().map_or(1, usize::from);
            log::info!(
                "rendering {} cycle(s) of phantom frames at {fps} fps on {threads} thread(s)",
                a.cycles
            );
            if !(a.cycles.is_finite() && a.cycles > 0.0 && a.cycles <= 20.0) {
                anyhow::bail!("--cycles {}: give a number in (0, 20]", a.cycles);
            }
            live::source::phantom(
                PhantomConfig {
                    fps,
                    ..a.phantom.config()
                },
                &live::source::PhantomPlan {
                    cycles: a.cycles,
                    threads,
                    ecg: a.ecg,
                    biplane: a.biplane,
                },
            )?
        }
    };
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
        out: a.out.clone(),
        gif_fps: a.gif_fps,
        gif_max_frames: a.gif_frames,
        gif_max_side: a.gif_size,
        gif_truth: !a.no_truth,
        resend_every: a.resend_every,
        progress: !a.no_progress,
        interrupt: Some(interrupt),
    };
    let report = live::run(&src, &opts, prepare_s)?;
    print!("{}", report.table());
    if let Some(g) = &report.outputs.gif {
        println!("animation: {g} ({} frames)", report.outputs.gif_frames);
    }
    println!("report: {}", report.outputs.report);
    Ok(())
}

fn main() -> Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = Cli::parse();
    match cli.command {
        Command::Generate {
            out,
            split,
            patients,
            first_patient,
            size,
            seed,
        } => {
            let bar = indicatif::ProgressBar::new(patients as u64).with_style(
                indicatif::ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:40}] {pos}/{len} patients {per_sec} eta {eta}",
                )?,
            );
            let opts = ExportOptions {
                out: out.clone(),
                split: split.clone(),
                patients,
                first_patient,
                size,
                seed,
            };
            let rep = export_dataset(&opts, |done, _| bar.set_position(done as u64))?;
            bar.finish();
            // A contact sheet of the first patient's frames with their masks, for a quick look.
            let ds = synboost_data::seed::SeedDataset::open(&out, &split)?;
            let mut tiles = Vec::new();
            for i in 0..ds.len().min(8) {
                let s = ds.load(i)?;
                tiles.push(overlay(&s.image, &s.masks)?);
            }
            let preview = out.join(format!("preview-{split}.png"));
            if !tiles.is_empty() {
                Rgb::grid(&tiles, 4)?.write_png(&preview)?;
            }
            println!(
                "{}: {} images, {} image-structure pairs in split {split}; preview {}",
                out.display(),
                rep.images,
                rep.entries,
                preview.display()
            );
        }
        Command::Dicom {
            out,
            phantom,
            fps,
            seconds,
        } => {
            let ph = Phantom::new(PhantomConfig {
                fps,
                ..phantom.config()
            })?;
            let (size, seed, view) = (phantom.size, phantom.seed, phantom.view);
            if !(seconds.is_finite() && seconds > 0.0 && seconds <= 600.0) {
                anyhow::bail!("--seconds {seconds}: give a length in (0, 600]");
            }
            let n = ((seconds * fps).round() as u64).max(1);
            let mut frames = Vec::with_capacity(n as usize);
            let mut meta = None;
            for k in 0..n {
                let f = ph.frame(k)?;
                meta.get_or_insert(f.meta.clone());
                frames.push(f.image);
            }
            let mut meta = meta.unwrap_or_default();
            // A cine spans the cycle: no single phase or cycle position describes it.
            meta.phase = None;
            meta.cycle_position = None;
            let opts = DicomWriteOptions {
                patient_id: format!("PHANTOM{seed:06}"),
                depth_mm: Some(ph.config().depth_mm),
                region: Some(RegionSpec::whole(size, size)),
                ..DicomWriteOptions::default()
            };
            let w = write_cine(&out, &frames, &meta, &opts)?;
            let p = ph.patient();
            println!(
                "{}: {n} frames {size}x{size} at {fps} fps, {view}, EF {:.1}%, {} bytes, SOP {}",
                out.display(),
                p.ef_percent,
                w.bytes,
                w.sop_instance_uid
            );
        }
        Command::Replay {
            file,
            fps,
            loops,
            real_time,
            no_crop,
            sheet,
        } => {
            let read = ReadOptions {
                crop_to_region: !no_crop,
                ..ReadOptions::default()
            };
            let cine = read_cine(&file, &read)?;
            for w in &cine.warnings {
                println!("warning: {w}");
            }
            let (w, h) = cine
                .frames
                .first()
                .map_or((0, 0), |f| (f.width(), f.height()));
            println!(
                "{}: {} frame(s) {w}x{h}, meta {}",
                file.display(),
                cine.frames.len(),
                serde_json::to_string(&cine.meta)?
            );
            if let Some(path) = &sheet {
                let tiles: Vec<Rgb> = cine.frames.iter().take(8).map(Rgb::from_gray).collect();
                if !tiles.is_empty() {
                    Rgb::grid(&tiles, 4)?.write_png(path)?;
                    println!("contact sheet: {}", path.display());
                }
            }
            let mut replay = Replay::from_cine(
                cine,
                ReplayOptions {
                    fps,
                    real_time,
                    max_loops: Some(loops),
                    ..ReplayOptions::default()
                },
            )?;
            let started = std::time::Instant::now();
            let (mut count, mut last_ns) = (0u64, 0u64);
            for f in replay.by_ref() {
                count += 1;
                last_ns = f.timestamp_ns;
            }
            println!(
                "replayed {count} frame(s) at {:.2} fps: last due at {:.3} s, took {:.3} s",
                replay.fps(),
                last_ns as f64 / 1e9,
                started.elapsed().as_secs_f64()
            );
        }
        Command::Live(a) => run_live(&a)?,
        Command::Soak(a) => run_soak(&a)?,
        Command::Preview {
            out,
            phantom,
            frames,
        } => {
            let ph = Phantom::new(phantom.config())?;
            let (view, quality, seed) = (phantom.view, phantom.quality, phantom.seed);
            let per_cycle = ph.frames_per_cycle();
            let mut tiles = Vec::new();
            for k in 0..frames.max(1) {
                let index = (k as f64 * per_cycle / frames.max(1) as f64).round() as u64;
                let f = ph.frame(index)?;
                tiles.push(overlay(&f.image, &f.masks)?);
                if k == 0 {
                    tiles.push(Rgb::from_gray(&f.image));
                }
            }
            let es = ph.frame_at(Phase::EndSystole, 0)?;
            tiles.push(Rgb::from_gray(&es.image));
            tiles.push(overlay(&es.image, &es.masks)?);
            Rgb::grid(&tiles, 4)?
                .write_png(&out)
                .with_context(|| format!("writing {}", out.display()))?;
            let p = ph.patient();
            println!(
                "{}: {view} {quality:?} seed {seed}: {} {}y EF {:.1}% EDV {:.0} ml ESV {:.0} ml HR {:.0} bpm, {:.2} mm/px",
                out.display(),
                p.sex.prompt_word(),
                p.age_years,
                p.ef_percent,
                p.edv_ml,
                p.esv_ml,
                p.heart_rate_bpm,
                ph.pixel_mm()
            );
        }
    }
    Ok(())
}
