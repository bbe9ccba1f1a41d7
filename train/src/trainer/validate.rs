//! Validation after each epoch: loss, mean dice and dice per structure at the validation
//! prompt kind, at model resolution.

use super::loss::{hard_dice, loss};
use super::{TrainConfig, TrainError};
use crate::data::{Loader, PipelineConfig, PromptMode, Take, WordingMode};
use crate::model::Network;
use std::sync::Arc;
use synboost_core::prompt::Wording;
use synboost_core::structure::Structure;
use synboost_data::SampleSource;

/// Validation result: loss, mean dice, dice per structure label.
pub(super) type Validation = (f64, f64, Vec<(String, f64)>);

/// Validation loss, mean dice and dice per structure at one prompt kind.
pub(super) fn validate(
    net: &Network,
    val: &Arc<dyn SampleSource>,
    cfg: &TrainConfig,
) -> Result<Validation, TrainError> {
    let source: Arc<dyn SampleSource> = match cfg.val_limit {
        Some(n) => Arc::new(Take::new(Arc::clone(val), n)),
        None => Arc::clone(val),
    };
    let pcfg = PipelineConfig {
        batch_size: cfg.batch_size,
        prompt: PromptMode::Fixed(cfg.val_kind),
        wording: WordingMode::Fixed(Wording::Heart),
        shuffle: false,
        augment: false,
        seed: cfg.seed,
        workers: cfg.workers,
        input: net.input(),
        ..Default::default()
    };
    let thr = f64::from(net.threshold());
    let logit = (thr / (1.0 - thr)).ln();
    let (mut loss_sum, mut n) = (0.0, 0usize);
    let mut per: Vec<(Structure, f64, usize)> =
        Structure::ALL.iter().map(|s| (*s, 0.0, 0)).collect();
    tch::no_grad(|| -> Result<(), TrainError> {
        for batch in Loader::epoch(source, pcfg, 0) {
            let b = batch?;
            let images = b.images.to_device(cfg.device);
            let tokens = b.tokens.to_device(cfg.device);
            let masks = b.masks.to_device(cfg.device);
            let logits = net.forward_t(&images, &tokens, false)?;
            let bs = b.structures.len();
            loss_sum += loss(&logits, &masks).double_value(&[]) * bs as f64;
            n += bs;
            for (d, s) in hard_dice(&logits, &masks, logit)?.iter().zip(&b.structures) {
                if let Some(e) = per.iter_mut().find(|e| e.0 == *s) {
                    e.1 += d;
                    e.2 += 1;
                }
            }
        }
        Ok(())
    })?;
    let total: f64 = per.iter().map(|e| e.1).sum();
    let count: usize = per.iter().map(|e| e.2).sum();
    let per_structure = per
        .iter()
        .filter(|e| e.2 > 0)
        .map(|e| (e.0.code().to_string(), e.1 / e.2 as f64))
        .collect();
    Ok((
        loss_sum / n.max(1) as f64,
        total / count.max(1) as f64,
        per_structure,
    ))
}
