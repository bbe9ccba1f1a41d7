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
//! [`postprocess`] (or a reusable [`Postprocessor`], which allocates nothing once warm) runs
//! these at model resolution and reports [`ProbStats`]. [`to_frame`] (or a reusable
//! [`FrameMapper`]) then maps the clean mask to frame resolution with smooth
//! boundaries: each model pixel's logit is first forced to agree with the clean mask (inside:
//! at least `lt + 0.001`, outside: at most `lt − 0.001`, `lt` the threshold's logit), then every
//! frame pixel inside the geometry's ROI takes the bilinear interpolation of those logits at its
//! centre (pixel-centre aligned, clamped to the image's part of the model input, so letterbox
//! padding never leaks in) and is inside when above `lt`. Frame pixels outside the ROI are
//! outside. At model pixel centres the result equals the clean mask exactly, so a same-size
//! geometry reproduces it.
//!
//! **Speed.** One pass over the logits thresholds them into bits (SSE2 on x86-64), tracks the
//! largest logit and turns each row into runs; components (union-find over runs), holes
//! (background runs between the kept ones, 4-connected, open when they touch the border) and
//! painting work on runs only, and the statistics read the logits of the final mask's pixels.
//! The frame mapper interpolates only the frame pixels whose four source pixels disagree and
//! fills the runs between them (see [`FrameMapper`]); results are bit for bit those of the
//! pixel-by-pixel rule.

use crate::preprocess::Geometry;
use crate::raster::{Mask, RasterError};
use serde::{Deserialize, Serialize};

mod mapper;
mod postprocessor;
mod runs;
mod threshold;

pub use mapper::FrameMapper;
pub use postprocessor::Postprocessor;

#[cfg(test)]
use mapper::{MARGIN, build_lerps};
use runs::{Components, Holes, RowRuns, paint};

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
    let mut lanes = [f32::NEG_INFINITY; threshold::LANES];
    threshold::threshold_bytes(logits, lt, &mut data, &mut lanes);
    Ok(Mask::from_binary(width, height, data)?)
}

/// The largest 8-connected foreground component of `m` (on a tie, the first in raster order)
/// and the number of components.
pub fn largest_component(m: &Mask) -> (Mask, usize) {
    let mut fg = RowRuns::default();
    fg.build(m.data(), m.width());
    let mut c = Components::default();
    c.label(&fg, true);
    let mut area = vec![0usize; fg.runs.len()];
    for (run, &r) in fg.runs.iter().zip(&c.root) {
        area[r as usize] += run.len();
    }
    let (mut count, mut best) = (0, None::<usize>);
    for (i, &r) in c.root.iter().enumerate() {
        if r as usize == i {
            count += 1;
            if best.is_none_or(|b| area[i] > area[b]) {
                best = Some(i);
            }
        }
    }
    let mut data = vec![0u8; m.data().len()];
    if let Some(b) = best {
        let kept = fg
            .runs
            .iter()
            .zip(&c.root)
            .filter(|(_, r)| **r as usize == b);
        paint(&mut data, m.width(), kept.map(|(run, _)| run));
    }
    (same_size(m, data), count)
}

/// `m` with its holes filled: background regions (4-connected) that do not touch the border
/// become foreground.
pub fn fill_holes(m: &Mask) -> Mask {
    let mut fg = RowRuns::default();
    fg.build(m.data(), m.width());
    let mut data = m.data().to_vec();
    let w = m.width();
    Holes::default().find(
        &fg,
        |_| true,
        w,
        |g| {
            paint(&mut data, w, std::iter::once(&g));
        },
    );
    same_size(m, data)
}

/// A mask of `like`'s size from 0/1 `data` of that size.
fn same_size(like: &Mask, data: Vec<u8>) -> Mask {
    // Cannot fail: the size is `like`'s.
    Mask::from_binary(like.width(), like.height(), data).unwrap_or_else(|_| like.clone())
}

/// Threshold, keep the largest component and fill holes (as `opts` say), at model resolution
/// ([`Postprocessor::run`] with fresh buffers).
pub fn postprocess(
    logits: &[f32],
    width: usize,
    height: usize,
    opts: &PostprocessOptions,
) -> Result<(Mask, ProbStats), PostprocessError> {
    Postprocessor::new().run(logits, width, height, opts)
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
mod reference_tests;
#[cfg(test)]
mod tests;
