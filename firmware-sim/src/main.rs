//! `synboost-sim`: phantom echo datasets, DICOM cines, replay and live streams.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use synboost_core::data::SampleSource;
use synboost_core::dicom::{ReadOptions, read_cine};
use synboost_core::meta::{ImageQuality, Phase, View};
use synboost_sim::dicom_write::{DicomWriteOptions, RegionSpec, write_cine};
use synboost_sim::export::{ExportOptions, export_dataset};
use synboost_sim::overlay::{Rgb, overlay};
use synboost_sim::phantom::{Phantom, PhantomConfig};
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
}

impl PhantomArgs {
    fn config(&self) -> PhantomConfig {
        PhantomConfig {
            width: self.size,
            height: self.size,
            view: self.view,
            quality: self.quality,
            seed: self.seed,
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
            let ds = synboost_core::data::seed::SeedDataset::open(&out, &split)?;
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
