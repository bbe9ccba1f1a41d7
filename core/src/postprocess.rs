//! From model logits to a clean mask at frame resolution, with statistics.
//!
//! 1. **Threshold** ([`threshold`]): a model pixel is inside when its logit is above
//!    [`logit_of`]`(threshold)`, i.e. its probability is above the threshold (NaN is outside).
//! 2. **Largest component** ([`largest_component`]): of the foreground components
//!    (8-connected), only the largest is kept; on a tie, the one whose first pixel comes first
//!    in raster order.
//! 3. **Fill holes** ([`fill_holes`]): background regions (4-connected, the dual of 8-connected
//!    foreground) that do not touch the image border become foreground.
//!
//! [`postprocess`] runs these at model resolution and reports [`ProbStats`]. [`to_frame`] (or a
//! reusable [`FrameMapper`]) then maps the clean mask to frame resolution with smooth
//! boundaries: each model pixel's logit is first forced to agree with the clean mask (inside:
//! at least `lt + 0.001`, outside: at most `lt − 0.001`, `lt` the threshold's logit), then every
//! frame pixel inside the geometry's ROI takes the bilinear interpolation of those logits at its
//! centre (pixel-centre aligned, clamped to the image's part of the model input, so letterbox
//! padding never leaks in) and is inside when above `lt`. Frame pixels outside the ROI are
//! outside. At model pixel centres the result equals the clean mask exactly, so a same-size
//! geometry reproduces it.

use crate::preprocess::Geometry;
use crate::raster::{Mask, RasterError};
use serde::{Deserialize, Serialize};

/// Postprocessing errors.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum PostprocessError {
    /// The logits do not fill the stated size.
    #[error("{len} logits do not fill a {width}×{height} map")]
    Size {
        /// Number of logits.
        len: usize,
        /// Width.
        width: usize,
        /// Height.
        height: usize,
    },
    /// The threshold is not a probability strictly between 0 and 1.
    #[error("threshold {0} is not a probability strictly between 0 and 1")]
    Threshold(f32),
    /// The clean mask's size differs from the logits'.
    #[error("mask is {mask:?} but the logits are {logits:?}")]
    MaskSize {
        /// Mask (width, height).
        mask: (usize, usize),
        /// Logits (width, height).
        logits: (usize, usize),
    },
    /// The mask could not be built (a size beyond [`crate::raster::MAX_SIDE`]).
    #[error(transparent)]
    Raster(#[from] RasterError),
}

/// Statistics of one postprocessed prediction.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ProbStats {
    /// Highest probability over the whole map (0 when every logit is NaN).
    pub max_prob: f32,
    /// Mean probability over the final mask's pixels, 0 when it is empty.
    pub mean_prob_inside: f32,
    /// Pixels in the final mask, at model resolution.
    pub area_model_px: usize,
    /// Foreground components (8-connected) after thresholding, before keeping the largest.
    pub components: usize,
    /// Area of the largest component / area of all components (0 when there is none).
    pub kept_fraction: f32,
}

/// Options of [`postprocess`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PostprocessOptions {
    /// Probability above which a pixel is inside, strictly between 0 and 1 (default 0.5).
    pub threshold: f32,
    /// Keep only the largest component (default true).
    pub largest_component: bool,
    /// Fill holes (default true).
    pub fill_holes: bool,
}

impl Default for PostprocessOptions {
    fn default() -> Self {
        Self {
            threshold: 0.5,
            largest_component: true,
            fill_holes: true,
        }
    }
}

/// The logit of probability `p`: `ln(p / (1 − p))`.
pub fn logit_of(p: f32) -> f32 {
    (p / (1.0 - p)).ln()
}

/// The logistic function `1 / (1 + e^−x)`.
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The logit of a threshold checked to be a probability strictly between 0 and 1.
fn threshold_logit(prob: f32) -> Result<f32, PostprocessError> {
    if prob.is_finite() && prob > 0.0 && prob < 1.0 {
        Ok(logit_of(prob))
    } else {
        Err(PostprocessError::Threshold(prob))
    }
}

fn check_size(len: usize, width: usize, height: usize) -> Result<(), PostprocessError> {
    if width == 0 || height == 0 || width.checked_mul(height) != Some(len) {
        return Err(PostprocessError::Size { len, width, height });
    }
    Ok(())
}

/// A mask of `like`'s size from 0/1 `data` of that size.
fn same_size(like: &Mask, data: Vec<u8>) -> Mask {
    // Cannot fail: the size is `like`'s and the values are 0/1.
    Mask::new(like.width(), like.height(), data).unwrap_or_else(|_| like.clone())
}

/// Pixels of a `width × height` row-major map whose logit is above `logit_of(prob)`.
pub fn threshold(
    logits: &[f32],
    width: usize,
    height: usize,
    prob: f32,
) -> Result<Mask, PostprocessError> {
    check_size(logits.len(), width, height)?;
    let lt = threshold_logit(prob)?;
    let mut data = vec![0u8; logits.len()];
    // A plain zip loop, which the compiler turns into vector compares.
    for (d, &l) in data.iter_mut().zip(logits) {
        *d = u8::from(l > lt);
    }
    Ok(Mask::new(width, height, data)?)
}

/// The largest logit that is not NaN (−∞ when there is none), in 16 independent lanes so that
/// it vectorises.
fn max_logit(logits: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; 16];
    let chunks = logits.chunks_exact(16);
    let rest = chunks.remainder();
    for c in chunks {
        for (m, &v) in lanes.iter_mut().zip(c) {
            // NaN compares false and is skipped.
            if v > *m {
                *m = v;
            }
        }
    }
    lanes
        .iter()
        .chain(rest)
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m })
}

/// A horizontal run of equal pixels: row `y`, columns `x0..x1`.
#[derive(Debug, Clone, Copy)]
struct Run {
    y: usize,
    x0: usize,
    x1: usize,
}

/// Runs of one pixel value, labelled into connected components with a union-find over runs
/// (each pixel is read once; the union-find only sees runs, a few per row for anatomy).
struct Components {
    runs: Vec<Run>,
    /// Union-find parents; a root is the smallest run index of its component, so the root's
    /// run holds the component's first pixel in raster order.
    parent: Vec<u32>,
}

impl Components {
    /// Components of the pixels of `m` equal to `value` (0 or 1), 8-connected when `eight`,
    /// else 4-connected.
    fn label(m: &Mask, value: u8, eight: bool) -> Self {
        let (w, d) = (m.width(), m.data());
        let mut runs = Vec::new();
        let mut parent: Vec<u32> = Vec::new();
        let ext = usize::from(eight);
        let mut prev = 0..0;
        for (y, row) in d.chunks_exact(w.max(1)).enumerate() {
            let first = runs.len();
            let mut x = 0;
            while x < w {
                match row[x..].iter().position(|&v| v == value) {
                    None => break,
                    Some(o) => x += o,
                }
                let len = row[x..].iter().position(|&v| v != value).unwrap_or(w - x);
                runs.push(Run {
                    y,
                    x0: x,
                    x1: x + len,
                });
                // Runs are far fewer than 2^32 (at most half the pixels of a mask).
                parent.push(u32::try_from(runs.len() - 1).unwrap_or(u32::MAX));
                x += len;
            }
            let cur = first..runs.len();
            // Join the runs of this row to the overlapping runs of the previous one.
            let (mut i, mut j) = (prev.start, cur.start);
            while i < prev.end && j < cur.end {
                let (p, c) = (runs[i], runs[j]);
                if p.x0 < c.x1 + ext && c.x0 < p.x1 + ext {
                    union(&mut parent, i, j);
                }
                if p.x1 < c.x1 { i += 1 } else { j += 1 }
            }
            prev = cur;
        }
        Self { runs, parent }
    }

    /// The root (component label) of every run.
    fn roots(&mut self) -> Vec<usize> {
        (0..self.parent.len())
            .map(|i| find(&mut self.parent, i))
            .collect()
    }
}

/// The root of run `i`, halving paths on the way.
fn find(parent: &mut [u32], mut i: usize) -> usize {
    while parent[i] as usize != i {
        let up = parent[parent[i] as usize];
        parent[i] = up;
        i = up as usize;
    }
    i
}

/// Join the components of runs `a` and `b`; the smaller root stays the root.
fn union(parent: &mut [u32], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
    if lo != hi {
        parent[hi] = parent[lo];
    }
}

/// Set the pixels of `runs` to 1 in the row-major `data` of width `w`.
fn paint<'a>(data: &mut [u8], w: usize, runs: impl Iterator<Item = &'a Run>) {
    for r in runs {
        if let Some(px) = data.get_mut(r.y * w + r.x0..r.y * w + r.x1) {
            px.fill(1);
        }
    }
}

/// The largest 8-connected foreground component of `m` (on a tie, the first in raster order)
/// and the number of components.
pub fn largest_component(m: &Mask) -> (Mask, usize) {
    let mut c = Components::label(m, 1, true);
    let roots = c.roots();
    let mut area = vec![0usize; roots.len()];
    for (r, run) in roots.iter().zip(&c.runs) {
        area[*r] += run.x1 - run.x0;
    }
    let mut count = 0;
    let mut best: Option<usize> = None;
    // Roots in increasing order are components in the raster order of their first pixel.
    for (i, &r) in roots.iter().enumerate() {
        if r == i {
            count += 1;
            if best.is_none_or(|b| area[i] > area[b]) {
                best = Some(i);
            }
        }
    }
    let mut data = vec![0u8; m.data().len()];
    if let Some(b) = best {
        let kept = roots.iter().zip(&c.runs).filter(|(r, _)| **r == b);
        paint(&mut data, m.width(), kept.map(|(_, run)| run));
    }
    (same_size(m, data), count)
}

/// `m` with its holes filled: background regions (4-connected) that do not touch the border
/// become foreground.
pub fn fill_holes(m: &Mask) -> Mask {
    let (w, h) = (m.width(), m.height());
    let mut c = Components::label(m, 0, false);
    let roots = c.roots();
    let mut open = vec![false; roots.len()];
    for (r, run) in roots.iter().zip(&c.runs) {
        if run.y == 0 || run.y + 1 == h || run.x0 == 0 || run.x1 == w {
            open[*r] = true;
        }
    }
    let mut data = m.data().to_vec();
    let holes = roots.iter().zip(&c.runs).filter(|(r, _)| !open[**r]);
    paint(&mut data, w, holes.map(|(_, run)| run));
    same_size(m, data)
}

/// Threshold, keep the largest component and fill holes (as `opts` say), at model resolution.
pub fn postprocess(
    logits: &[f32],
    width: usize,
    height: usize,
    opts: &PostprocessOptions,
) -> Result<(Mask, ProbStats), PostprocessError> {
    let raw = threshold(logits, width, height, opts.threshold)?;
    let total = raw.count();
    let (largest, components) = largest_component(&raw);
    let kept_fraction = if total == 0 {
        0.0
    } else {
        largest.count() as f32 / total as f32
    };
    let mut mask = if opts.largest_component { largest } else { raw };
    if opts.fill_holes {
        mask = fill_holes(&mask);
    }
    let max_logit = max_logit(logits);
    let (mut sum, mut area) = (0f64, 0usize);
    for (&l, _) in logits.iter().zip(mask.data()).filter(|(_, m)| **m != 0) {
        let p = sigmoid(l);
        if !p.is_nan() {
            sum += f64::from(p);
        }
        area += 1;
    }
    let stats = ProbStats {
        max_prob: sigmoid(max_logit),
        mean_prob_inside: if area == 0 {
            0.0
        } else {
            (sum / area as f64) as f32
        },
        area_model_px: area,
        components,
        kept_fraction,
    };
    Ok((mask, stats))
}

/// Linear interpolation between samples `i0` and `i1`: `a[i0] + (a[i1] − a[i0]) · t`.
#[derive(Debug, Clone, Copy, Default)]
struct Lerp {
    i0: usize,
    i1: usize,
    t: f32,
}

/// Lerps of `n_frame` frame pixels into `n_model` model pixels, `scale` frame pixels per model
/// pixel, pixel-centre aligned and clamped to the model pixels.
fn build_lerps(out: &mut Vec<Lerp>, n_frame: usize, scale: f64, n_model: usize) {
    out.clear();
    let last = n_model.saturating_sub(1);
    out.extend((0..n_frame).map(|f| {
        let u = ((f as f64 + 0.5) / scale - 0.5).clamp(0.0, last as f64);
        let i0 = (u.floor() as usize).min(last);
        Lerp {
            i0,
            i1: (i0 + 1).min(last),
            t: (u - i0 as f64) as f32,
        }
    }));
}

/// Maps clean model-resolution masks to frame resolution (see the module documentation);
/// reusable, keeps its interpolation tables while the geometry stays the same.
#[derive(Default)]
pub struct FrameMapper {
    key: Option<Geometry>,
    cols: Vec<Lerp>,
    rows: Vec<Lerp>,
    forced: Vec<f32>,
    line: Vec<f32>,
    /// Content rows and columns that hold mask pixels.
    row_hit: Vec<bool>,
    col_hit: Vec<bool>,
}

/// Bound on forced logits, so that interpolation never meets infinities.
const LOGIT_BOUND: f32 = 1e4;
/// Margin by which forced logits clear the threshold.
const MARGIN: f32 = 1e-3;

impl std::fmt::Debug for FrameMapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameMapper")
            .field("geometry", &self.key)
            .finish()
    }
}

impl FrameMapper {
    /// A mapper with no tables yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The frame-resolution mask of `clean`, smoothed by `logits` (both at the model size of
    /// `geom`), thresholded at probability `threshold`.
    pub fn map(
        &mut self,
        logits: &[f32],
        clean: &Mask,
        geom: &Geometry,
        threshold: f32,
    ) -> Result<Mask, PostprocessError> {
        let (mw, mh) = geom.model_size();
        check_size(logits.len(), mw, mh)?;
        if (clean.width(), clean.height()) != (mw, mh) {
            return Err(PostprocessError::MaskSize {
                mask: (clean.width(), clean.height()),
                logits: (mw, mh),
            });
        }
        let lt = threshold_logit(threshold)?;
        let (roi, c) = (geom.roi(), geom.content());
        if self.key != Some(*geom) {
            let (sx, sy) = geom.scale();
            build_lerps(&mut self.cols, roi.width, sx, c.width);
            build_lerps(&mut self.rows, roi.height, sy, c.height);
            self.key = Some(*geom);
            self.line.clear();
            self.line.resize(c.width, 0.0);
        }
        self.force(logits, clean, lt);
        // A frame pixel whose four source pixels are all outside the mask interpolates logits
        // that are all below `lt`, so it stays outside: only the frame rows and columns that
        // reach a mask pixel are computed (the mask's bounding box, about a tenth of the frame
        // for a heart chamber).
        self.row_hit.clear();
        self.row_hit.resize(c.height, false);
        self.col_hit.clear();
        self.col_hit.resize(c.width, false);
        for (r, hit) in self.row_hit.iter_mut().enumerate() {
            let start = (c.y + r) * mw + c.x;
            let row = clean.data().get(start..start + c.width).unwrap_or(&[]);
            for (v, col) in row.iter().zip(self.col_hit.iter_mut()) {
                if *v != 0 {
                    *hit = true;
                    *col = true;
                }
            }
        }
        let hits = |hit: &[bool], l: &Lerp| {
            hit.get(l.i0).copied().unwrap_or(false) || hit.get(l.i1).copied().unwrap_or(false)
        };
        let first = self.cols.iter().position(|l| hits(&self.col_hit, l));
        let last = self.cols.iter().rposition(|l| hits(&self.col_hit, l));
        let (fw, fh) = geom.frame_size();
        let mut data = vec![0u8; fw * fh];
        let (Some(first), Some(last)) = (first, last) else {
            return Ok(Mask::new(fw, fh, data)?);
        };
        let cols = self.cols.get(first..=last).unwrap_or(&[]);
        let frame_rows = data.chunks_exact_mut(fw).skip(roi.y).take(roi.height);
        for (lr, frow) in self.rows.iter().zip(frame_rows) {
            if !hits(&self.row_hit, lr) {
                continue;
            }
            let content_row = |r: usize| {
                let start = (c.y + r) * mw + c.x;
                self.forced.get(start..start + c.width).unwrap_or(&[])
            };
            let (r0, r1) = (content_row(lr.i0), content_row(lr.i1));
            for ((v, &a0), &a1) in self.line.iter_mut().zip(r0).zip(r1) {
                *v = a0 + (a1 - a0) * lr.t;
            }
            let dst = frow
                .get_mut(roi.x + first..=roi.x + last)
                .unwrap_or(&mut []);
            for (o, lc) in dst.iter_mut().zip(cols) {
                let a0 = self.line.get(lc.i0).copied().unwrap_or(f32::NEG_INFINITY);
                let a1 = self.line.get(lc.i1).copied().unwrap_or(a0);
                *o = u8::from(a0 + (a1 - a0) * lc.t > lt);
            }
        }
        Ok(Mask::new(fw, fh, data)?)
    }

    /// Logits forced to agree with `clean` at threshold logit `lt`, bounded, into `forced`.
    fn force(&mut self, logits: &[f32], clean: &Mask, lt: f32) {
        self.forced.clear();
        self.forced
            .extend(logits.iter().zip(clean.data()).map(|(&l, &m)| {
                let f = if m != 0 {
                    l.max(lt + MARGIN)
                } else {
                    l.min(lt - MARGIN)
                };
                f.clamp(-LOGIT_BOUND, LOGIT_BOUND)
            }));
    }
}

/// [`FrameMapper::map`] with a one-off mapper.
pub fn to_frame(
    logits: &[f32],
    clean: &Mask,
    geom: &Geometry,
    threshold: f32,
) -> Result<Mask, PostprocessError> {
    FrameMapper::new().map(logits, clean, geom, threshold)
}

#[cfg(test)]
mod tests;
