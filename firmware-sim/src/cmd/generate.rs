//! `synboost-sim generate`: a phantom dataset in the seed layout, and a preview of it.

use super::progress::{GENERATE, bar};
use anyhow::Result;
use std::path::PathBuf;
use synboost_data::SampleSource;
use synboost_data::seed::SeedDataset;
use synboost_phantom::dataset::{ExportOptions, export_dataset};
use synboost_sim::overlay::{Rgb, overlay};

/// `generate` options.
#[derive(clap::Args)]
pub struct GenerateArgs {
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
}

/// Write the dataset, then a contact sheet of its first frames with their masks.
pub fn run(a: &GenerateArgs) -> Result<()> {
    let bar = bar(a.patients as u64, GENERATE, true);
    let opts = ExportOptions {
        out: a.out.clone(),
        split: a.split.clone(),
        patients: a.patients,
        first_patient: a.first_patient,
        size: a.size,
        seed: a.seed,
    };
    let rep = export_dataset(&opts, |done, _| bar.set_position(done as u64))?;
    bar.finish();
    // A contact sheet of the first patient's frames with their masks, for a quick look.
    let ds = SeedDataset::open(&a.out, &a.split)?;
    let mut tiles = Vec::new();
    for i in 0..ds.len().min(8) {
        let s = ds.load(i)?;
        tiles.push(overlay(&s.image, &s.masks)?);
    }
    let split = &a.split;
    let preview = a.out.join(format!("preview-{split}.png"));
    if !tiles.is_empty() {
        Rgb::grid(&tiles, 4)?.write_png(&preview)?;
    }
    println!(
        "{}: {} images, {} image-structure pairs in split {split}; preview {}",
        a.out.display(),
        rep.images,
        rep.entries,
        preview.display()
    );
    Ok(())
}
