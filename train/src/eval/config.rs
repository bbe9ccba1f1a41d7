//! [`EvalConfig`]: what to evaluate and how.

use super::EvalError;
use serde::{Deserialize, Serialize};
use synboost_core::prompt::{PromptKind, PromptScheme, Wording};
use synboost_core::structure::Structure;

/// What to evaluate and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EvalConfig {
    /// Prompt kinds, each scored separately (default P0–P7).
    pub kinds: Vec<PromptKind>,
    /// Structures (default all three).
    pub structures: Vec<Structure>,
    /// Prompt family (real CAMUS or synthetic).
    pub scheme: PromptScheme,
    /// Prompt wording (default [`Wording::Heart`]).
    pub wording: Wording,
    /// Probability above which a pixel is inside, strictly between 0 and 1 (default 0.5).
    pub threshold: f32,
    /// Keep the largest component and fill holes, as the engine does (default true).
    pub postprocess: bool,
    /// Mutual exclusion of the structures: a pixel belongs at most to the structure with the
    /// highest logit among those asked of the same image and prompt kind (the others' logits
    /// there are pushed below any threshold before thresholding). Default false.
    pub exclusive: bool,
    /// (image, prompt) pairs per forward pass (default 32).
    pub batch_size: usize,
    /// Evaluate only the first N samples (quick evaluations); `None`: all.
    pub limit: Option<usize>,
    /// Return the predictions of the first N pairs of the first kind (for overlay pictures);
    /// memory stays bounded by N (default 0).
    pub keep_predictions: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            kinds: PromptKind::ALL.to_vec(),
            structures: Structure::ALL.to_vec(),
            scheme: PromptScheme::Camus,
            wording: Wording::Heart,
            threshold: 0.5,
            postprocess: true,
            exclusive: false,
            batch_size: 32,
            limit: None,
            keep_predictions: 0,
        }
    }
}

impl EvalConfig {
    /// Check that the configuration can be evaluated.
    pub fn validate(&self) -> Result<(), EvalError> {
        let bad = |m: String| Err(EvalError::Config(m));
        if self.kinds.is_empty() {
            return bad("no prompt kind to evaluate".into());
        }
        if self.structures.is_empty() {
            return bad("no structure to evaluate".into());
        }
        if self.batch_size == 0 {
            return bad("batch size must be at least 1".into());
        }
        if !(self.threshold.is_finite() && self.threshold > 0.0 && self.threshold < 1.0) {
            return bad(format!(
                "threshold {} is not a probability strictly between 0 and 1",
                self.threshold
            ));
        }
        if let Some(k) = self.kinds.iter().find(|k| k.fields(self.scheme).is_none()) {
            return bad(format!("{k} does not exist for {:?} prompts", self.scheme));
        }
        Ok(())
    }
}
