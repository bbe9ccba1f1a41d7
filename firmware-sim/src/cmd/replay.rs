//! `synboost-sim replay`: a DICOM cine replayed as a timed frame stream, with what it carries.

use anyhow::Result;
use std::path::PathBuf;
use synboost_dicom::{ReadOptions, read_cine};
use synboost_sim::overlay::Rgb;
use synboost_sim::replay::{Replay, ReplayOptions};

/// `replay` options.
#[derive(clap::Args)]
pub struct ReplayArgs {
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
}

/// Read the cine, say what it carries, and replay it.
pub fn run(a: &ReplayArgs) -> Result<()> {
    let read = ReadOptions {
        crop_to_region: !a.no_crop,
        ..ReadOptions::default()
    };
    let cine = read_cine(&a.file, &read)?;
    for w in &cine.warnings {
        println!("warning: {w}");
    }
    let (w, h) = cine
        .frames
        .first()
        .map_or((0, 0), |f| (f.width(), f.height()));
    println!(
        "{}: {} frame(s) {w}x{h}, meta {}",
        a.file.display(),
        cine.frames.len(),
        serde_json::to_string(&cine.meta)?
    );
    if let Some(path) = &a.sheet {
        let tiles: Vec<Rgb> = cine.frames.iter().take(8).map(Rgb::from_gray).collect();
        if !tiles.is_empty() {
            Rgb::grid(&tiles, 4)?.write_png(path)?;
            println!("contact sheet: {}", path.display());
        }
    }
    let mut replay = Replay::from_cine(
        cine,
        ReplayOptions {
            fps: a.fps,
            real_time: a.real_time,
            max_loops: Some(a.loops),
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
    Ok(())
}
