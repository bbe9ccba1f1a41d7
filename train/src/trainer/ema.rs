//! [`Ema`]: an exponential moving average of the weights (Polyak averaging), the weights that
//! are validated, kept as the best and exported when a phase asks for it
//! ([`super::PhaseConfig::ema`]). Training steps move the raw weights; after each step the
//! average follows them with decay `min(d, (1 + n) / (10 + n))` after `n` updates, so that it
//! does not stay near the random initialisation in short runs.

use super::TrainError;
use std::path::Path;
use tch::Tensor;
use tch::nn::VarStore;

/// The averaged copy of every variable of a store, beside a handle on the variable (the
/// store's tensors are updated in place by the optimiser and by loads, so the handles stay
/// valid for the phase).
pub(crate) struct Ema {
    decay: f64,
    updates: u64,
    /// (name, the store's variable, its average)
    shadow: Vec<(String, Tensor, Tensor)>,
}

impl Ema {
    /// An average starting at the store's current weights.
    pub(crate) fn new(vs: &VarStore, decay: f64) -> Self {
        let shadow = tch::no_grad(|| {
            vs.variables()
                .into_iter()
                .map(|(name, v)| {
                    let avg = v.detach().copy();
                    (name, v, avg)
                })
                .collect()
        });
        Self {
            decay,
            updates: 0,
            shadow,
        }
    }

    /// Continue an average saved with [`Ema::save`]: its weights from `path` (every variable
    /// of the store must be there with its shape), `updates` steps into the average.
    pub(crate) fn resume(
        vs: &VarStore,
        decay: f64,
        path: &Path,
        updates: u64,
    ) -> Result<Self, TrainError> {
        let mut ema = Self::new(vs, decay);
        let saved = Tensor::read_safetensors(path)?;
        for (name, _, t) in &mut ema.shadow {
            let s = saved
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, s)| s)
                .ok_or_else(|| {
                    TrainError::Resume(format!("{}: no weight {name}", path.display()))
                })?;
            if s.size() != t.size() {
                return Err(TrainError::Resume(format!(
                    "{}: {name} has shape {:?}, the model {:?}",
                    path.display(),
                    s.size(),
                    t.size()
                )));
            }
            tch::no_grad(|| t.f_copy_(s))?;
        }
        ema.updates = updates;
        Ok(ema)
    }

    /// Steps averaged so far.
    pub(crate) fn updates(&self) -> u64 {
        self.updates
    }

    /// Follow the store's weights after an optimiser step.
    pub(crate) fn update(&mut self) -> Result<(), TrainError> {
        let n = self.updates as f64;
        let d = self.decay.min((1.0 + n) / (10.0 + n));
        tch::no_grad(|| -> Result<(), TrainError> {
            for (_, v, s) in &mut self.shadow {
                // s ← d·s + (1 − d)·v (in place; the returned handle is s itself)
                let _ = s.f_lerp_(v, 1.0 - d)?;
            }
            Ok(())
        })?;
        self.updates += 1;
        Ok(())
    }

    /// Exchange the store's weights with the average (twice restores both).
    pub(crate) fn swap(&mut self) -> Result<(), TrainError> {
        tch::no_grad(|| -> Result<(), TrainError> {
            for (_, v, s) in &mut self.shadow {
                let raw = v.detach().copy();
                v.f_copy_(s)?;
                s.f_copy_(&raw)?;
            }
            Ok(())
        })
    }
}
