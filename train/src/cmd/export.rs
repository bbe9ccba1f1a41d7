//! `synboost-train export`: a run's best weights as a model bundle (the library's
//! [`export_run`]: calibration, metrics and licence), printed as it is scored.

use super::common::{Int8Args, parse_kinds};
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use synboost_train::bundle::{ExportOptions, export_run};

/// Arguments of `export`.
#[derive(Args)]
pub struct ExportArgs {
    /// Run folder.
    #[arg(long)]
    pub run: PathBuf,
    /// Bundle folder to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Also pack the bundle as one tar file here.
    #[arg(long)]
    pub tar: Option<PathBuf>,
    /// Calibrate an int8 variant on this many frames (0: f32 only).
    #[arg(long, default_value_t = 8)]
    pub calibration_frames: usize,
    /// camus224 folder for calibration frames (train split); phantom frames otherwise.
    #[arg(long, env = "SYNBOOST_CAMUS_DIR")]
    pub camus: Option<PathBuf>,
    /// Model name.
    #[arg(long, default_value = "synboost-student")]
    pub name: String,
    /// Model version.
    #[arg(long, default_value = "0.1.0")]
    pub version: String,
    /// Evaluate the finished bundle (f32, and int8 when there is one) in core's engine on
    /// camus224 val at these prompt kinds, and record the scores in its manifest (`none`: skip;
    /// skipped too without a camus224 folder).
    #[arg(long, default_value = "p0,p1,p2,p3")]
    pub val_prompts: String,
    /// The int8 graph's form and the variant measurement.
    #[command(flatten)]
    pub int8: Int8Args,
}

/// `export`: write the bundle (and the tar), printing each variant's camus224 val table as it
/// is scored, then what was written.
pub fn export(a: ExportArgs) -> Result<()> {
    let val_kinds = match a.val_prompts.as_str() {
        "none" | "" => Vec::new(),
        list => parse_kinds(list)?,
    };
    let opts = ExportOptions {
        run: a.run,
        out: a.out,
        tar: a.tar,
        calibration_frames: a.calibration_frames,
        camus: a.camus,
        name: a.name,
        version: a.version,
        val_kinds,
        measure_trials: a.int8.measure_trials,
        int8_form: a.int8.int8_form.into(),
    };
    let m = export_run(&opts, |_, r| println!("{}", r.table()))?;
    println!(
        "bundle {} {} written to {} ({} files)",
        m.name,
        m.version,
        opts.out.display(),
        m.files.len()
    );
    Ok(())
}
