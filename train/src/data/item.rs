//! The pairs of an epoch: every (sample, structure) [`Item`] of a source, shuffled by seed and
//! epoch ([`epoch_items`]).

use super::PipelineConfig;
use super::random::{SHUFFLE_SALT, shuffle, stream};
use synboost_core::structure::Structure;

/// A training pair: a sample and the structure to segment in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Item {
    /// Sample index in the source.
    pub sample: usize,
    /// Structure.
    pub structure: Structure,
}

/// Every (sample, structure) pair of a source of `len` samples, sample-major (each sample's
/// structures in `cfg.structures` order), shuffled deterministically by `(cfg.seed, epoch)`
/// when `cfg.shuffle`.
pub fn epoch_items(len: usize, cfg: &PipelineConfig, epoch: usize) -> Vec<Item> {
    let structures = cfg.unique_structures();
    let mut items: Vec<Item> = (0..len)
        .flat_map(|sample| {
            structures
                .iter()
                .map(move |&structure| Item { sample, structure })
        })
        .collect();
    if cfg.shuffle {
        let mut rng = stream(SHUFFLE_SALT, cfg.seed, epoch as u64, 0);
        shuffle(&mut items, &mut rng);
    }
    items
}
