//! Checkpoints of a training run: weights as safetensors (by the ONNX parameter names) and the
//! run state as JSON beside them, so that `--resume` continues where a run stopped.
//!
//! ```text
//! <run>/last.safetensors   weights to continue from: after the latest epoch, or between
//!                          phases the finished phase's best
//! <run>/best.safetensors   weights of the best validation dice so far
//! <run>/state.json         spec, configuration, history, where to continue
//! <run>/log.jsonl          one JSON object per epoch (and the run's start and end)
//! ```
//!
//! Optimiser moments are not saved (tch does not expose them): a resumed run restarts AdamW's
//! moments with the saved learning rate, which costs a few hundred steps of warm-up at most.

use crate::model::{Architecture, ModelError, Network};
use crate::provenance::Provenance;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use tch::Device;
use tch::nn::VarStore;

/// Checkpoint errors.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// Reading or writing a file failed.
    #[error("{path}: {message}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        message: String,
    },
    /// libtorch refused to save or load.
    #[error("{path}: {source}")]
    Torch {
        /// File.
        path: PathBuf,
        /// Cause.
        source: tch::TchError,
    },
    /// The folder holds no run state (not a run folder).
    #[error("no state.json in {}", dir.display())]
    NoState {
        /// The folder.
        dir: PathBuf,
    },
    /// The network the state describes could not be built.
    #[error(transparent)]
    Model(#[from] ModelError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError + '_ {
    move |e| CheckpointError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// One epoch of training, as logged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Phase (`train`, `pretrain`, `finetune`).
    pub phase: String,
    /// Epoch within the phase, from 1.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Mean validation loss.
    pub val_loss: f64,
    /// Mean validation dice (all image-structure pairs, validation prompt kind).
    pub val_dice: f64,
    /// Validation dice per structure (label → dice).
    pub val_dice_per_structure: Vec<(String, f64)>,
    /// Learning rate used.
    pub lr: f64,
    /// Seconds spent (training and validation).
    pub seconds: f64,
    /// Training throughput, image-prompt pairs per second.
    pub pairs_per_sec: f64,
}

/// The state of a run, saved after every epoch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    /// Architecture of the weights (runs from before teachers wrote a bare student spec under
    /// `spec`; they still read).
    #[serde(
        alias = "spec",
        deserialize_with = "crate::model::deserialize_architecture"
    )]
    pub arch: Architecture,
    /// The configuration the run was started with (free-form, for the record).
    pub config: serde_json::Value,
    /// Index of the phase being run.
    pub phase: usize,
    /// Epochs completed in that phase.
    pub epoch: usize,
    /// Learning rate to continue with.
    pub lr: f64,
    /// Best validation dice of the phase so far, and its epoch.
    pub best: Option<(f64, usize)>,
    /// Epochs since the best (early stopping).
    pub since_best: usize,
    /// Every epoch so far.
    pub history: Vec<EpochRecord>,
    /// True once the run finished (all phases done or stopped early).
    pub finished: bool,
    /// Optimiser steps in the current phase's weight average ([`RunDir::ema`]); 0 without
    /// one.
    #[serde(default)]
    pub ema_updates: u64,
    /// What the weights were made from: every phase's training and validation data, a
    /// distillation teacher's (runs saved before it was recorded read as unrecorded).
    #[serde(default = "Provenance::unrecorded")]
    pub provenance: Provenance,
}

/// The files of a run folder.
#[derive(Debug, Clone)]
pub struct RunDir {
    dir: PathBuf,
}

impl RunDir {
    /// Use (and create) `dir`.
    pub fn create(dir: &Path) -> Result<Self, CheckpointError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Weights after the latest epoch.
    pub fn last(&self) -> PathBuf {
        self.dir.join("last.safetensors")
    }

    /// Weights with the best validation dice.
    pub fn best(&self) -> PathBuf {
        self.dir.join("best.safetensors")
    }

    /// Weights at the end of phase `name` (e.g. the pretrained weights of pt-ft).
    pub fn phase_end(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.safetensors"))
    }

    /// The phase's moving average of the weights after the latest epoch (phases with
    /// [`crate::trainer::PhaseConfig::ema`]).
    pub fn ema(&self) -> PathBuf {
        self.dir.join("ema.safetensors")
    }

    fn state_path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// Save weights to `path` (written to a temporary file, then renamed).
    pub fn save_weights(&self, vs: &VarStore, path: &Path) -> Result<(), CheckpointError> {
        let tmp = path.with_extension("tmp.safetensors");
        vs.save(&tmp).map_err(|source| CheckpointError::Torch {
            path: tmp.clone(),
            source,
        })?;
        std::fs::rename(&tmp, path).map_err(io(path))
    }

    /// Load weights from `path` into `vs` (names and shapes must match).
    pub fn load_weights(vs: &mut VarStore, path: &Path) -> Result<(), CheckpointError> {
        vs.load(path).map_err(|source| CheckpointError::Torch {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Save the run state atomically.
    pub fn save_state(&self, s: &RunState) -> Result<(), CheckpointError> {
        let p = self.state_path();
        let tmp = p.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(s).map_err(|e| CheckpointError::Io {
            path: p.clone(),
            message: e.to_string(),
        })?;
        std::fs::write(&tmp, text).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &p).map_err(io(&p))
    }

    /// The saved run state, if any.
    pub fn load_state(&self) -> Result<Option<RunState>, CheckpointError> {
        let p = self.state_path();
        if !p.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&p).map_err(io(&p))?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| CheckpointError::Io {
                path: p,
                message: e.to_string(),
            })
    }

    /// Append one JSON object as a line to `log.jsonl`.
    pub fn log(&self, value: &serde_json::Value) -> Result<(), CheckpointError> {
        let p = self.dir.join("log.jsonl");
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)
            .map_err(io(&p))?;
        writeln!(f, "{value}").map_err(io(&p))
    }
}

/// A run's best weights in the network its state describes (modules hold the tensors; the
/// variable store is returned for parameter counts and saving).
pub fn load_run(
    run: &Path,
    device: Device,
) -> Result<(VarStore, Network, RunState), CheckpointError> {
    let dir = RunDir::create(run)?;
    let state = dir.load_state()?.ok_or_else(|| CheckpointError::NoState {
        dir: run.to_path_buf(),
    })?;
    let mut vs = VarStore::new(device);
    let net = state.arch.build(&vs.root())?;
    RunDir::load_weights(&mut vs, &dir.best())?;
    Ok((vs, net, state))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provenance::DataProvenance;
    use synboost_core::model::spec::ModelSpec;

    #[test]
    fn run_states_record_provenance_and_old_ones_read_as_unrecorded() {
        let state = RunState {
            arch: Architecture::Student(ModelSpec::tiny(10, 8)),
            config: serde_json::json!({}),
            phase: 0,
            epoch: 0,
            lr: 1e-3,
            best: None,
            since_best: 0,
            history: Vec::new(),
            finished: false,
            ema_updates: 0,
            provenance: Provenance::of([DataProvenance::Phantom]),
        };
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::create(dir.path()).unwrap();
        run.save_state(&state).unwrap();
        let back = run.load_state().unwrap().unwrap();
        assert_eq!(back.provenance, state.provenance);
        let mut old = serde_json::to_value(&state).unwrap();
        old.as_object_mut().unwrap().remove("provenance");
        let old: RunState = serde_json::from_value(old).unwrap();
        assert_eq!(old.provenance, Provenance::unrecorded());
        let err = load_run(&dir.path().join("empty"), Device::Cpu)
            .err()
            .unwrap();
        assert!(err.to_string().starts_with("no state.json in "), "{err}");
    }
}
