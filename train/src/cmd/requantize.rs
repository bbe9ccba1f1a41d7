//! `synboost-train requantize`: a bundle's int8 variant made again from the bundle (the
//! library's [`requantize_bundle`]), both variants scored on camus224 val as it goes.

use super::common::{Int8Args, parse_kinds};
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use synboost_train::bundle::{RequantizeOptions, requantize_bundle};

/// Arguments of `requantize`.
#[derive(Args)]
pub struct RequantizeArgs {
    /// The bundle to read.
    #[arg(long)]
    pub bundle: PathBuf,
    /// The bundle folder to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Calibration frames, spread through camus224 train.
    #[arg(long, default_value_t = 32)]
    pub calibration_frames: usize,
    /// The camus224 folder.
    #[arg(long, env = "SYNBOOST_CAMUS_DIR")]
    pub camus: PathBuf,
    /// The new bundle's version (default: the old one's).
    #[arg(long)]
    pub version: Option<String>,
    /// Prompt kinds to score both variants at on camus224 val (`none`: skip).
    #[arg(long, default_value = "p0,p1,p2,p3")]
    pub val_prompts: String,
    /// The int8 graph's form and the variant measurement.
    #[command(flatten)]
    pub int8: Int8Args,
}

/// `requantize`: write the bundle again with a fresh int8 variant, printing each variant's
/// val table as it is scored.
pub fn requantize(a: RequantizeArgs) -> Result<()> {
    let val_kinds = match a.val_prompts.as_str() {
        "none" | "" => Vec::new(),
        list => parse_kinds(list)?,
    };
    let opts = RequantizeOptions {
        bundle: a.bundle,
        out: a.out,
        calibration_frames: a.calibration_frames,
        camus: a.camus,
        version: a.version,
        val_kinds,
        measure_trials: a.int8.measure_trials,
        int8_form: a.int8.int8_form.into(),
    };
    let m = requantize_bundle(&opts, |_, r| println!("{}", r.table()))?;
    println!(
        "bundle {} {} written to {} ({} files)",
        m.name,
        m.version,
        opts.out.display(),
        m.files.len()
    );
    Ok(())
}
