//! [`PipelineConfig`]: the settings of the training data pipeline.

use super::{PipelineError, PromptMode, WordingMode};
use synboost_core::prompt::{PromptKind, PromptScheme};
use synboost_core::structure::Structure;

/// Settings of the pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineConfig {
    /// Pairs per batch (the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// Prompt kinds.
    pub prompt: PromptMode,
    /// Prompt wording.
    pub wording: WordingMode,
    /// Prompt family (real data or SDM-synthetic).
    pub scheme: PromptScheme,
    /// Structures to pair every sample with (duplicates are ignored).
    pub structures: Vec<Structure>,
    /// Model input (width, height), pixels.
    pub input: (usize, usize),
    /// Shuffle the pairs of each epoch.
    pub shuffle: bool,
    /// Random affine and gamma augmentation (off in the seed).
    pub augment: bool,
    /// Seed of shuffling, prompt draws and augmentation.
    pub seed: u64,
    /// Batches prepared ahead of the consumer, all threads together (at least one per thread).
    pub prefetch: usize,
    /// Loader threads (0 counts as 1).
    pub workers: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            batch_size: 16,
            prompt: PromptMode::Fixed(PromptKind::P3),
            wording: WordingMode::Random,
            scheme: PromptScheme::Camus,
            structures: Structure::ALL.to_vec(),
            input: (224, 224),
            shuffle: true,
            augment: false,
            seed: 0,
            prefetch: 4,
            workers: 1,
        }
    }
}

impl PipelineConfig {
    /// The structures, without duplicates, in the given order.
    pub(super) fn unique_structures(&self) -> Vec<Structure> {
        let mut out: Vec<Structure> = Vec::with_capacity(self.structures.len());
        for s in &self.structures {
            if !out.contains(s) {
                out.push(*s);
            }
        }
        out
    }

    /// Check that the settings can produce batches.
    pub fn validate(&self) -> Result<(), PipelineError> {
        let bad = |m: String| Err(PipelineError::Config(m));
        if self.batch_size == 0 {
            return bad("batch_size must be at least 1".into());
        }
        if self.input.0 == 0 || self.input.1 == 0 {
            return bad(format!("input size {:?} has a zero side", self.input));
        }
        if self.structures.is_empty() {
            return bad("no structures to train on".into());
        }
        if self.prompt.kinds(self.scheme).is_empty() {
            return bad(format!(
                "prompt mode {} has no kind of the {:?} scheme",
                self.prompt, self.scheme
            ));
        }
        Ok(())
    }
}
