//! What the subcommands share: the device and data flags ([`Common`]), opening a dataset named
//! on the command line ([`source`]), prompt kinds, and the student's spec.

use anyhow::{Result, bail};
use clap::Args;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use synboost_core::model::spec::ModelSpec;
use synboost_core::prompt::PromptKind;
use synboost_core::{Tokenizer, Vocab};
use synboost_data::SampleSource;
use synboost_train::data::{DataSpec, PromptMode};
use synboost_train::runtime::{DeviceRequest, describe, select_device};

/// Flags of the subcommands that read data and run a model.
#[derive(Args, Clone)]
pub struct Common {
    /// camus224 folder (seed layout).
    #[arg(long, env = "SYNBOOST_CAMUS_DIR")]
    pub camus: Option<PathBuf>,
    /// Device: cpu, cuda, cuda:N or auto.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// libtorch CPU threads (default: all cores).
    #[arg(long)]
    pub threads: Option<i32>,
}

/// Set libtorch's threads and pick the device.
pub fn setup(c: &Common) -> Result<tch::Device> {
    if let Some(t) = c.threads {
        tch::set_num_threads(t);
    }
    let device = select_device(c.device.parse::<DeviceRequest>()?)?;
    log::info!("{} on {device:?}", describe());
    Ok(device)
}

/// Split `split` of the dataset `spec` names (`camus`, `phantom:N` or a seed-layout folder;
/// [`DataSpec`]), images at `size`² for phantoms.
pub fn source(
    spec: &str,
    camus: Option<&Path>,
    split: &str,
    size: usize,
    seed: u64,
) -> Result<Arc<dyn SampleSource>> {
    Ok(spec.parse::<DataSpec>()?.open(camus, split, size, seed)?)
}

/// One prompt kind (`p3`).
pub fn parse_kind(s: &str) -> Result<PromptKind> {
    match s.parse::<PromptMode>()? {
        PromptMode::Fixed(k) => Ok(k),
        PromptMode::Mix(_) => bail!("one prompt kind expected, got {s:?}"),
    }
}

/// Comma-separated prompt kinds (`p0,p3`).
pub fn parse_kinds(list: &str) -> Result<Vec<PromptKind>> {
    list.split(',').map(parse_kind).collect()
}

/// The student's spec at a `size`² input, with `widths` (`ENC,../DEC,..`) when given.
pub fn student_spec(size: usize, widths: Option<&str>) -> Result<ModelSpec> {
    let mut spec = ModelSpec::student(Vocab::builtin().len(), Tokenizer::DEFAULT_MAX_LEN);
    spec.input.width = size;
    spec.input.height = size;
    // Widths are checked against the input size they will run at.
    match widths {
        Some(w) => Ok(spec.with_widths(w)?),
        None => {
            spec.validate()?;
            Ok(spec)
        }
    }
}

/// The flags `export` and `requantize` share about the int8 variant.
#[derive(clap::Args)]
pub struct Int8Args {
    /// Time both image graphs this many times each (one thread, alternating) and record the
    /// medians for this CPU's class in the manifest, from which engines choose a variant
    /// (0: skip).
    #[arg(long, default_value_t = 15)]
    pub measure_trials: usize,
    /// How the int8 graph is written: `qdq` (quantise–dequantise pairs; what ONNX Runtime
    /// fuses into integer kernels) or `integer` (QLinearConv / ConvInteger).
    #[arg(long, value_enum, default_value_t = Int8FormArg::Qdq)]
    pub int8_form: Int8FormArg,
}

/// `--int8-form`: how the int8 graph is written.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Int8FormArg {
    /// QuantizeLinear/DequantizeLinear pairs.
    Qdq,
    /// QLinearConv / ConvInteger.
    Integer,
}

impl From<Int8FormArg> for synboost_export::onnx::Int8Form {
    fn from(a: Int8FormArg) -> Self {
        match a {
            Int8FormArg::Qdq => Self::Qdq,
            Int8FormArg::Integer => Self::Integer,
        }
    }
}
