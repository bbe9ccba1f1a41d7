//! What a live run scores per structure while it streams: dice against the phantom's truth,
//! mask areas and confidences; summarised for the report after the stream.

use super::abi::StructureView;
use super::report::Areas;
use crate::error::{Result, SimError};
use std::collections::BTreeMap;
use synboost_core::raster::Mask;
use synboost_data::metrics::{Summary, overlap};

/// The structures scored, in index order (LV cavity, myocardium, LA: the phantom's truth order).
pub(crate) const NAMES: [&str; 3] = ["lv_cavity", "myocardium", "la_cavity"];

/// Per-structure accumulators of the consumer.
#[derive(Debug, Default)]
pub(crate) struct Scores {
    dice: [Vec<f64>; 3],
    area_px: [Vec<f64>; 3],
    area_mm2: [Vec<f64>; 3],
    confidence: [Vec<f64>; 3],
    empty: [u64; 3],
    seen: [bool; 3],
    dice_sum: f64,
    dice_n: u64,
}

impl Scores {
    /// Bytes of the per-frame values kept for the report (grow with the run's length).
    pub fn kept_bytes(&self) -> usize {
        let n: usize = [&self.dice, &self.area_px, &self.area_mm2, &self.confidence]
            .iter()
            .flat_map(|a| a.iter())
            .map(Vec::len)
            .sum();
        n * std::mem::size_of::<f64>()
    }

    /// Score structure `k` of a segmented frame (against `truth` when the frame has one).
    pub fn record(&mut self, k: usize, s: &StructureView<'_>, truth: Option<&Mask>) -> Result<()> {
        self.seen[k] = true;
        self.area_px[k].push(s.area_px as f64);
        if let Some(a) = s.area_mm2 {
            self.area_mm2[k].push(a);
        }
        if s.area_px == 0 {
            self.empty[k] += 1;
        }
        self.confidence[k].push(s.confidence);
        if let Some(truth) = truth {
            let pred = Mask::new(s.width, s.height, s.mask.to_vec())
                .map_err(|e| SimError::Internal(format!("mask: {e}")))?;
            let (d, _) =
                overlap(&pred, truth).map_err(|e| SimError::Internal(format!("dice: {e}")))?;
            self.dice[k].push(d);
            self.dice_sum += d;
            self.dice_n += 1;
        }
        Ok(())
    }

    /// Mean dice over every structure scored so far.
    pub fn mean_dice(&self) -> Option<f64> {
        (self.dice_n > 0).then(|| self.dice_sum / self.dice_n as f64)
    }

    /// Dice per structure seen.
    pub fn dice(&self) -> BTreeMap<String, Summary> {
        self.per_structure(|k| Summary::of(self.dice[k].iter().map(|v| Some(*v))))
    }

    /// Areas per structure seen.
    pub fn areas(&self) -> BTreeMap<String, Areas> {
        let summary = |v: &[f64]| Summary::of(v.iter().map(|v| Some(*v)));
        self.per_structure(|k| Areas {
            px: summary(&self.area_px[k]),
            mm2: (!self.area_mm2[k].is_empty()).then(|| summary(&self.area_mm2[k])),
            empty: self.empty[k],
            confidence: summary(&self.confidence[k]),
        })
    }

    /// `value(k)` by name for every structure seen.
    fn per_structure<T>(&self, value: impl Fn(usize) -> T) -> BTreeMap<String, T> {
        NAMES
            .iter()
            .enumerate()
            .filter(|(k, _)| self.seen[*k])
            .map(|(k, name)| (name.to_string(), value(k)))
            .collect()
    }
}
