//! `synboost-train`: fit, evaluate and export the deployable student.
//!
//! ```text
//! synboost-train fit    --strategy real|synthetic|pt-ft|mixed --out RUN [--camus DIR] [--synthetic phantom:N|DIR] ...
//! synboost-train eval   --run RUN [--camus DIR] [--split val] [--prompts p0,p3] [--out REPORT_DIR]
//! synboost-train export --run RUN --out BUNDLE [--tar FILE] [--calibration-frames N]
//! synboost-train requantize --bundle BUNDLE --out BUNDLE2 [--calibration-frames N]  (int8 anew, same weights)
//! synboost-train rescore --bundle BUNDLE --version V --reason TEXT   (same weights, new scores)
//! synboost-train fingerprint [--data camus] [--split train,val]       (what scores are made on)
//! synboost-train sdm-train  --data camus|phantom:N|DIR --out SDM_RUN [--size tiny|small|large] [--steps N]
//! synboost-train sdm-sample --run SDM_RUN --out DATASET [--per-source K] [--sampler ddim:50]
//! synboost-train experiment --synthetic DATASET --out DIR [fit's flags]   (real, synthetic, pt-ft)
//! ```
//!
//! Real data is the camus224 folder (seed layout), given by `--camus` or `SYNBOOST_CAMUS_DIR`;
//! it is read in place, never copied. Synthetic data is the phantom generator
//! (`phantom:N` patients) or a folder in the seed layout (e.g. SDM output).

//!
//! This file parses the arguments and dispatches; each subcommand is in [`cmd`], the work in
//! the `synboost_train` library.

mod cmd;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "synboost-train",
    version,
    about = "Train, evaluate and export the synboost student (tch / libtorch 2.11)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a student (and save checkpoints, logs and curves in the run folder).
    Fit(cmd::fit::FitArgs),
    /// Evaluate a run's best weights per prompt kind and structure.
    Eval(cmd::eval::EvalArgs),
    /// Compare two models' per-pair dice (eval's pairs.csv, one file per seed on each side):
    /// means, difference and the one-sided Wilcoxon signed-rank test.
    Compare(cmd::compare::CompareArgs),
    /// Export a run's best weights as a model bundle (f32 and calibrated int8).
    Export(cmd::export::ExportArgs),
    /// Write a bundle again with its int8 variant calibrated and written anew from the
    /// bundle's own float weights (no training run needed), both variants scored on val.
    Requantize(cmd::requantize::RequantizeArgs),
    /// Build every model shape (student; teachers tiny, small and paper) and print their
    /// parameters and FLOPs per frame next to the seed paper's counts.
    Models {
        /// Skip the paper shapes (they take a few GB of memory to build).
        #[arg(long)]
        no_paper: bool,
    },
    /// Train the semantic diffusion model (label map → echo) on real or phantom pairs.
    SdmTrain(cmd::sdm::SdmTrainArgs),
    /// Sample a synthetic dataset (seed layout) from perturbed label maps with a trained SDM.
    SdmSample(cmd::sdm::SdmSampleArgs),
    /// Time SDM sampling (images/s) for each denoiser size and print a table.
    SdmBench(cmd::sdm::SdmBenchArgs),
    /// Train the student with each strategy (real, synthetic, pt-ft) on the same val split and
    /// report best dice and epochs-to-best side by side.
    Experiment(cmd::sdm::ExperimentArgs),
    /// Rewrite a trusted bundle folder's manifest in the current format, sealed, after
    /// verifying every file against it (bundles from before manifests were sealed). Prints the
    /// bundle digest to pin.
    Reseal {
        /// The bundle folder.
        dir: PathBuf,
    },
    /// Score a bundle again on camus224 val (f32 and int8) and record the scores, with the
    /// fingerprint of the data they were measured on, as a new version (same weights), resealed.
    Rescore(cmd::score::RescoreArgs),
    /// Print each split's data record: name, samples and the fingerprint scores made on it
    /// are recorded with.
    Fingerprint(cmd::score::FingerprintArgs),
}

fn main() -> Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match Cli::parse().command {
        Command::Fit(a) => cmd::fit::fit(a),
        Command::Eval(a) => cmd::eval::eval(a),
        Command::Compare(a) => cmd::compare::compare(a),
        Command::Export(a) => cmd::export::export(a),
        Command::Requantize(a) => cmd::requantize::requantize(a),
        Command::Models { no_paper } => cmd::models::models(!no_paper),
        Command::SdmTrain(a) => cmd::sdm::sdm_train(a),
        Command::SdmSample(a) => cmd::sdm::sdm_sample(a),
        Command::SdmBench(a) => cmd::sdm::sdm_bench(a),
        Command::Experiment(a) => cmd::sdm::experiment(a),
        Command::Rescore(a) => cmd::score::rescore(a),
        Command::Fingerprint(a) => cmd::score::fingerprint_cmd(a),
        Command::Reseal { dir } => cmd::reseal::reseal(&dir),
    }
}
