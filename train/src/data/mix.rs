//! [`Mix`]: sources combined by weight into one source (e.g. CAMUS and phantoms).

use super::PipelineError;
use super::random::{MIX_SALT, shuffle, stream};
use std::fmt;
use std::sync::Arc;
use synboost_data::{DataError, Sample, SampleSource};

/// A weighted mix of sources as one [`SampleSource`] of a chosen length.
///
/// Sample `i` comes from source `k` with probability ∝ its weight, drawn by `(seed, i)`. Within
/// a source, samples are taken without replacement in a seeded random order, reshuffled each
/// time the source is used up, so every sample of a source is used before any repeats. Ids are
/// the sources' own.
pub struct Mix {
    sources: Vec<Arc<dyn SampleSource>>,
    table: Vec<(usize, usize)>,
}

impl fmt::Debug for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mix")
            .field("sources", &self.sources.len())
            .field("len", &self.table.len())
            .finish()
    }
}

impl Mix {
    /// `len` samples drawn from `parts` (source, weight). Weights must be finite and ≥ 0 with
    /// a positive sum over non-empty sources; empty sources are never drawn.
    pub fn new(
        parts: Vec<(Arc<dyn SampleSource>, f64)>,
        len: usize,
        seed: u64,
    ) -> Result<Self, PipelineError> {
        if let Some((_, w)) = parts.iter().find(|(_, w)| !w.is_finite() || *w < 0.0) {
            return Err(PipelineError::Config(format!(
                "mix weight {w} is not a finite non-negative number"
            )));
        }
        let weights: Vec<f64> = parts
            .iter()
            .map(|(s, w)| if s.is_empty() { 0.0 } else { *w })
            .collect();
        let total: f64 = weights.iter().sum();
        if len > 0 && total <= 0.0 {
            return Err(PipelineError::Config(
                "a mix needs a non-empty source with a positive weight".into(),
            ));
        }
        let sources: Vec<Arc<dyn SampleSource>> = parts.into_iter().map(|(s, _)| s).collect();
        // Per source: its current random order and how much of it is used.
        let mut orders: Vec<(Vec<usize>, usize, u64)> =
            sources.iter().map(|s| (Vec::new(), s.len(), 0)).collect();
        let mut table = Vec::with_capacity(len);
        for i in 0..len {
            let mut rng = stream(MIX_SALT, seed, i as u64, 0);
            let mut u = rng.unit() * total;
            let mut k = weights.iter().rposition(|&w| w > 0.0).unwrap_or(0);
            for (j, &w) in weights.iter().enumerate() {
                if w > 0.0 && u < w {
                    k = j;
                    break;
                }
                u -= w;
            }
            let Some((order, used, cycle)) = orders.get_mut(k) else {
                continue;
            };
            if *used >= order.len() {
                let n = sources.get(k).map_or(0, |s| s.len());
                *order = (0..n).collect();
                shuffle(order, &mut stream(MIX_SALT, seed, k as u64, 1 + *cycle));
                *cycle += 1;
                *used = 0;
            }
            if let Some(&j) = order.get(*used) {
                table.push((k, j));
                *used += 1;
            }
        }
        Ok(Self { sources, table })
    }

    /// Which source (index in `parts`) and which of its samples sample `index` is.
    pub fn origin(&self, index: usize) -> Option<(usize, usize)> {
        self.table.get(index).copied()
    }
}

impl SampleSource for Mix {
    fn len(&self) -> usize {
        self.table.len()
    }

    /// `mix of A + B`.
    fn name(&self) -> String {
        let parts: Vec<String> = self.sources.iter().map(|s| s.name()).collect();
        format!("mix of {}", parts.join(" + "))
    }

    fn id(&self, index: usize) -> Option<&str> {
        let (k, j) = self.origin(index)?;
        self.sources.get(k)?.id(j)
    }

    fn load(&self, index: usize) -> Result<Sample, DataError> {
        let out_of_range = || DataError::Index {
            index,
            len: self.table.len(),
        };
        let (k, j) = self.origin(index).ok_or_else(out_of_range)?;
        self.sources.get(k).ok_or_else(out_of_range)?.load(j)
    }
}
