//! `synboost-sim preview`: phantom frames over a cycle as a contact sheet, masks outlined.

use super::phantom_args::PhantomArgs;
use anyhow::{Context, Result};
use std::path::PathBuf;
use synboost_core::meta::Phase;
use synboost_phantom::Phantom;
use synboost_sim::overlay::{Rgb, overlay};

/// `preview` options.
#[derive(clap::Args)]
pub struct PreviewArgs {
    /// Output PNG.
    #[arg(long, default_value = "phantom-preview.png")]
    out: PathBuf,
    #[command(flatten)]
    phantom: PhantomArgs,
    /// Frames in the sheet (spread over one cycle).
    #[arg(long, default_value_t = 8)]
    frames: usize,
}

/// Render the frames, write the sheet and describe the patient.
pub fn run(a: &PreviewArgs) -> Result<()> {
    let ph = Phantom::new(a.phantom.config())?;
    let (view, quality, seed) = (a.phantom.view, a.phantom.quality, a.phantom.seed);
    let per_cycle = ph.frames_per_cycle();
    let frames = a.frames.max(1);
    let mut tiles = Vec::new();
    for k in 0..frames {
        let index = (k as f64 * per_cycle / frames as f64).round() as u64;
        let f = ph.frame(index)?;
        tiles.push(overlay(&f.image, &f.masks)?);
        if k == 0 {
            tiles.push(Rgb::from_gray(&f.image));
        }
    }
    let es = ph.frame_at(Phase::EndSystole, 0)?;
    tiles.push(Rgb::from_gray(&es.image));
    tiles.push(overlay(&es.image, &es.masks)?);
    let out = &a.out;
    Rgb::grid(&tiles, 4)?
        .write_png(out)
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
    Ok(())
}
