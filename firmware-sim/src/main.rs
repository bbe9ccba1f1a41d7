//! `synboost-sim`: phantom echo datasets, DICOM cines, replay and live streams.
//!
//! This file parses the command line and dispatches; each subcommand is a file of [`cmd`].

mod cmd;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Simulated echocardiography for integrating and testing synboost.
#[derive(Parser)]
#[command(name = "synboost-sim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a phantom dataset in the seed layout (images/, masks/mask_{1,2,3}/, anns/<split>.json
    /// with prompts P0–P7), ED and ES frames of both apical views per patient, plus a preview PNG.
    Generate(cmd::generate::GenerateArgs),
    /// Write a phantom cine as a DICOM US Multi-frame Image (8-bit MONOCHROME2, calibrated
    /// region, view code, patient sex and age, frame time).
    Dicom(cmd::dicom::DicomArgs),
    /// Replay a DICOM cine (real or written) as a timed frame stream and report what it carries.
    Replay(cmd::replay::ReplayArgs),
    /// Stream frames in real time through libsynboost.so (loaded with dlopen, driven through its
    /// C ABI) on a model bundle: phantom frames rendered ahead (scored with dice against their
    /// truth) or a DICOM cine (--dicom). Writes an overlay GIF and a JSON report to --out. Ctrl-C
    /// stops early and still drains the queue and writes the report; a second Ctrl-C exits.
    Live(Box<cmd::live::LiveArgs>),
    /// Fault-injected soak of libsynboost.so: phantom frames at 80 fps with dropped,
    /// duplicated, corrupted, resized, reordered and invalid frames, metadata gaps, view
    /// switches and bursts from a second thread; checks accounting, refusals, latency and
    /// memory, writes soak-report.json and soak.png, and exits non-zero when a check fails.
    Soak(cmd::soak::SoakArgs),
    /// Render phantom frames over a cycle as a PNG contact sheet with the masks outlined.
    Preview(cmd::preview::PreviewArgs),
}

fn main() -> Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match Cli::parse().command {
        Command::Generate(a) => cmd::generate::run(&a),
        Command::Dicom(a) => cmd::dicom::run(&a),
        Command::Replay(a) => cmd::replay::run(&a),
        Command::Live(a) => cmd::live::run(&a),
        Command::Soak(a) => cmd::soak::run(&a),
        Command::Preview(a) => cmd::preview::run(&a),
    }
}
