//! The options that pick a phantom patient and acquisition (`dicom`, `live`, `preview`).

use synboost_core::meta::{ImageQuality, View};
use synboost_phantom::PhantomConfig;

/// Which phantom patient and acquisition.
#[derive(clap::Args)]
pub struct PhantomArgs {
    /// Apical view: 2CH or 4CH.
    #[arg(long, default_value = "4CH")]
    pub view: View,
    /// Image quality: good, medium, poor.
    #[arg(long, default_value = "good")]
    pub quality: ImageQuality,
    /// Patient seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Square image size, pixels.
    #[arg(long, default_value_t = 256)]
    pub size: usize,
    /// Ejection fraction of the patient, percent (15–85; default: drawn from the seed, 30–75).
    #[arg(long)]
    pub ef: Option<f64>,
    /// Heart rate of the patient, bpm (30–220; default: drawn from the seed, 55–95).
    #[arg(long)]
    pub heart_rate: Option<f64>,
}

impl PhantomArgs {
    /// The phantom's configuration (the other settings at their defaults).
    pub fn config(&self) -> PhantomConfig {
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
