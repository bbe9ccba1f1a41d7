//! `synboost-sim dicom`: a phantom cine written as a DICOM US Multi-frame Image.

use super::phantom_args::PhantomArgs;
use anyhow::Result;
use std::path::PathBuf;
use synboost_phantom::{Phantom, PhantomConfig};
use synboost_sim::dicom_write::{DicomWriteOptions, RegionSpec, write_cine};

/// `dicom` options.
#[derive(clap::Args)]
pub struct DicomArgs {
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
}

/// Render the cine and write it.
pub fn run(a: &DicomArgs) -> Result<()> {
    let (fps, seconds) = (a.fps, a.seconds);
    let ph = Phantom::new(PhantomConfig {
        fps,
        ..a.phantom.config()
    })?;
    let (size, seed, view) = (a.phantom.size, a.phantom.seed, a.phantom.view);
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
    let w = write_cine(&a.out, &frames, &meta, &opts)?;
    let p = ph.patient();
    println!(
        "{}: {n} frames {size}x{size} at {fps} fps, {view}, EF {:.1}%, {} bytes, SOP {}",
        a.out.display(),
        p.ef_percent,
        w.bytes,
        w.sop_instance_uid
    );
    Ok(())
}
