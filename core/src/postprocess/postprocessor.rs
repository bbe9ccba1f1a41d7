//! [`Postprocessor`]: threshold, largest component, hole filling and statistics at model
//! resolution, with buffers kept from call to call.
//!
//! One pass over the logits thresholds each row (compares the compiler vectorises), tracks
//! the largest logit and turns the row into runs; everything after that (components, holes,
//! painting the result) works on runs, and the statistics read the logits of the final mask's
//! pixels only.

use super::runs::{Components, Holes, RowRuns, Run, paint, push_bit_runs, push_row_runs};
use super::threshold::{LANES, lanes_max, threshold_bits};
use super::{PostprocessError, PostprocessOptions, ProbStats, check_size, sigmoid};
use crate::raster::Mask;

/// Reusable postprocessing at model resolution: [`Postprocessor::run_into`] does what
/// [`super::postprocess`] does without allocating once its buffers have grown.
#[derive(Debug, Default, Clone)]
pub struct Postprocessor {
    bits: Vec<u64>,
    fg: RowRuns,
    comps: Components,
    area: Vec<usize>,
    holes: Holes,
    line: Vec<Run>,
}

impl Postprocessor {
    /// A postprocessor with empty buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// [`Postprocessor::run_into`] into a new mask.
    pub fn run(
        &mut self,
        logits: &[f32],
        width: usize,
        height: usize,
        opts: &PostprocessOptions,
    ) -> Result<(Mask, ProbStats), PostprocessError> {
        check_size(logits.len(), width, height)?;
        let mut out = Mask::from_binary(width, height, vec![0; logits.len()])?;
        let stats = self.run_into(logits, width, height, opts, &mut out)?;
        Ok((out, stats))
    }

    /// Threshold, keep the largest component and fill holes (as `opts` say) at model
    /// resolution, writing the clean mask into `out` (resized to `width × height`, its buffer
    /// reused), and return the statistics. Same result as [`super::postprocess`].
    pub fn run_into(
        &mut self,
        logits: &[f32],
        width: usize,
        height: usize,
        opts: &PostprocessOptions,
        out: &mut Mask,
    ) -> Result<ProbStats, PostprocessError> {
        check_size(logits.len(), width, height)?;
        let lt = super::threshold_logit(opts.threshold)?;
        out.reset(width, height)?;
        let w = width;

        // Threshold, maximum and runs in one pass over the logits.
        self.bits.clear();
        self.bits.resize(w.div_ceil(64), 0);
        self.fg.start(height);
        let mut lanes = [f32::NEG_INFINITY; LANES];
        for (y, src) in logits.chunks_exact(w).enumerate() {
            threshold_bits(src, lt, &mut self.bits, &mut lanes);
            push_bit_runs(&self.bits, w, y, &mut self.fg.runs);
            self.fg.end_row();
        }
        let max_logit = lanes_max(&lanes);

        // Components (8-connected) and the largest: on a tie the first in raster order, which
        // is the one with the smaller root.
        self.comps.label(&self.fg, true);
        let root = &self.comps.root;
        self.area.clear();
        self.area.resize(root.len(), 0);
        let mut total = 0;
        for (run, &r) in self.fg.runs.iter().zip(root) {
            self.area[r as usize] += run.len();
            total += run.len();
        }
        let (mut components, mut best) = (0, None::<usize>);
        for (i, &r) in root.iter().enumerate() {
            if r as usize == i {
                components += 1;
                if best.is_none_or(|b| self.area[i] > self.area[b]) {
                    best = Some(i);
                }
            }
        }
        let largest = best.map_or(0, |b| self.area[b]);
        let kept_fraction = if total == 0 {
            0.0
        } else {
            largest as f32 / total as f32
        };

        // The kept runs, then the holes between them.
        let only = if opts.largest_component {
            Some(best.map_or(u32::MAX, |b| u32::try_from(b).unwrap_or(u32::MAX)))
        } else {
            None
        };
        let keep = |i: usize| only.is_none_or(|b| root.get(i) == Some(&b));
        let data = out.data_mut();
        let kept = self.fg.runs.iter().enumerate().filter(|(i, _)| keep(*i));
        paint(data, w, kept.map(|(_, r)| r));
        if opts.fill_holes {
            self.holes.find(&self.fg, keep, w, |g| {
                paint(data, w, std::iter::once(&g));
            });
        }

        // Statistics over the final mask, in raster order. Holes lie between kept runs of
        // their row, so only rows with a kept run hold mask pixels; they are read back from
        // the mask.
        let (mut sum, mut area) = (0f64, 0usize);
        for y in 0..height {
            let (a, b) = (self.fg.rows[y] as usize, self.fg.rows[y + 1] as usize);
            if !(a..b).any(&keep) {
                continue;
            }
            let row = y * w;
            self.line.clear();
            self.line.reserve(w / 2 + 1);
            push_row_runs(&data[row..row + w], y, &mut self.line);
            for r in &self.line {
                for &l in &logits[row + r.x0 as usize..row + r.x1 as usize] {
                    let p = sigmoid(l);
                    if !p.is_nan() {
                        sum += f64::from(p);
                    }
                }
                area += r.len();
            }
        }
        Ok(ProbStats {
            max_prob: sigmoid(max_logit),
            mean_prob_inside: if area == 0 {
                0.0
            } else {
                (sum / area as f64) as f32
            },
            area_model_px: area,
            components,
            kept_fraction,
        })
    }
}
