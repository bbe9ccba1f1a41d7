//! [`FrameMapper`]: clean model-resolution masks to frame resolution (the rule is in the
//! [module documentation](super)).
//!
//! **Runs, not pixels.** A frame pixel interpolates the forced logits of four model pixels.
//! When all four are inside the clean mask they are all at least `lt + 0.001`, when all four
//! are outside at most `lt − 0.001`, and bilinear interpolation of them stays on that side of
//! `lt`: its two lerps `a + (b − a) · t` lose at most a few ulps each, far below the margin
//! while every logit is within ±[`RUN_BOUND`] (a model's logits are within ±30; a map with
//! larger ones goes through the pixel-by-pixel path). So for each frame row only the
//! boundary pixels — those whose four sources disagree — are interpolated; runs of pixels
//! whose sources all lie inside are filled, and the rest stays 0. The result is the same, bit
//! for bit, as interpolating every pixel.

use super::runs::{RowRuns, Run, push_row_runs};
use super::threshold::max_abs;
use super::{PostprocessError, check_size, threshold_logit};
use crate::preprocess::Geometry;
use crate::raster::Mask;

/// Linear interpolation between samples `i0` and `i1`: `a[i0] + (a[i1] − a[i0]) · t`.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Lerp {
    pub(super) i0: usize,
    pub(super) i1: usize,
    pub(super) t: f32,
}

/// Lerps of `n_frame` frame pixels into `n_model` model pixels, `scale` frame pixels per model
/// pixel, pixel-centre aligned and clamped to the model pixels.
pub(super) fn build_lerps(out: &mut Vec<Lerp>, n_frame: usize, scale: f64, n_model: usize) {
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

/// Bound on forced logits, so that interpolation never meets infinities.
pub(super) const LOGIT_BOUND: f32 = 1e4;
/// Margin by which forced logits clear the threshold.
pub(super) const MARGIN: f32 = 1e-3;
/// Largest |logit| (and |threshold logit|) for which the run shortcut is exact: below 256 a
/// lerp of two values rounds by at most 2⁻¹³ ≈ 1.2e-4, so two lerps stay well within
/// [`MARGIN`] of their sources' side.
pub(super) const RUN_BOUND: f32 = 256.0;

/// A logit forced to agree with the clean mask at threshold logit `lt`, bounded.
#[inline]
fn force(l: f32, inside: bool, lt: f32) -> f32 {
    let f = if inside {
        l.max(lt + MARGIN)
    } else {
        l.min(lt - MARGIN)
    };
    f.clamp(-LOGIT_BOUND, LOGIT_BOUND)
}

/// Maps clean model-resolution masks to frame resolution (the rule is in the
/// [`crate::postprocess`] documentation); reusable, keeps its interpolation tables while the
/// geometry stays the same.
///
/// Only boundary pixels are interpolated: a frame pixel whose four source pixels are all inside
/// the clean mask (forced logits ≥ `lt + 0.001`) or all outside (≤ `lt − 0.001`) lands on that
/// side of `lt`, because its two lerps round by far less than the margin while every logit is
/// within ±256 (a model's are within ±30; maps with larger logits take the pixel-by-pixel
/// path). Same result, bit for bit, as interpolating every pixel.
#[derive(Default)]
pub struct FrameMapper {
    key: Option<Geometry>,
    cols: Vec<Lerp>,
    rows: Vec<Lerp>,
    /// `i0_below[j]`: ROI columns whose `i0` is below content column `j` (`j` to the width).
    i0_below: Vec<usize>,
    /// `i1_below[j]`: ROI columns whose `i1` is below content column `j`.
    i1_below: Vec<usize>,
    /// Runs of the clean mask's content rows, in content columns.
    runs: RowRuns,
    /// Content columns inside either / both source rows of a frame row, as runs.
    any: Vec<(usize, usize)>,
    all: Vec<(usize, usize)>,
    /// One frame row's vertical lerps, by content column.
    line: Vec<f32>,
    /// The pixel-by-pixel path's forced logits and the content rows and columns that hold
    /// mask pixels.
    forced: Vec<f32>,
    row_hit: Vec<bool>,
    col_hit: Vec<bool>,
}

impl std::fmt::Debug for FrameMapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameMapper")
            .field("geometry", &self.key)
            .finish()
    }
}

/// The runs of `a ∪ b` (both sorted, disjoint within each) into `out`, touching runs merged.
fn union_runs(
    a: impl Iterator<Item = (usize, usize)>,
    b: impl Iterator<Item = (usize, usize)>,
    out: &mut Vec<(usize, usize)>,
) {
    out.clear();
    let (mut a, mut b) = (a.peekable(), b.peekable());
    loop {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x.0 <= y.0 => a.next(),
            (Some(_), Some(_)) => b.next(),
            (Some(_), None) => a.next(),
            (None, _) => b.next(),
        };
        let Some((x0, x1)) = next else { break };
        match out.last_mut() {
            Some(last) if x0 <= last.1 => last.1 = last.1.max(x1),
            _ => out.push((x0, x1)),
        }
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
        let (fw, fh) = geom.frame_size();
        let lt = self.prepare(logits, clean, geom, threshold)?;
        let mut data = vec![0u8; fw * fh];
        self.fill(logits, clean, geom, lt, &mut data);
        Ok(Mask::from_binary(fw, fh, data)?)
    }

    /// [`FrameMapper::map`] into `out` (resized to the frame size, its buffer reused).
    pub fn map_into(
        &mut self,
        logits: &[f32],
        clean: &Mask,
        geom: &Geometry,
        threshold: f32,
        out: &mut Mask,
    ) -> Result<(), PostprocessError> {
        let (fw, fh) = geom.frame_size();
        let lt = self.prepare(logits, clean, geom, threshold)?;
        out.reset(fw, fh)?;
        self.fill(logits, clean, geom, lt, out.data_mut());
        Ok(())
    }

    /// Check the sizes and the threshold, rebuild the tables if the geometry changed, and
    /// return the threshold's logit.
    fn prepare(
        &mut self,
        logits: &[f32],
        clean: &Mask,
        geom: &Geometry,
        threshold: f32,
    ) -> Result<f32, PostprocessError> {
        let (mw, mh) = geom.model_size();
        check_size(logits.len(), mw, mh)?;
        if (clean.width(), clean.height()) != (mw, mh) {
            return Err(PostprocessError::MaskSize {
                mask: (clean.width(), clean.height()),
                logits: (mw, mh),
            });
        }
        let lt = threshold_logit(threshold)?;
        if self.key != Some(*geom) {
            let (roi, c) = (geom.roi(), geom.content());
            let (sx, sy) = geom.scale();
            build_lerps(&mut self.cols, roi.width, sx, c.width);
            build_lerps(&mut self.rows, roi.height, sy, c.height);
            let cols = &self.cols;
            self.i0_below.clear();
            self.i0_below
                .extend((0..=c.width).map(|j| cols.partition_point(|l| l.i0 < j)));
            self.i1_below.clear();
            self.i1_below
                .extend((0..=c.width).map(|j| cols.partition_point(|l| l.i1 < j)));
            self.line.clear();
            self.line.resize(c.width, 0.0);
            self.key = Some(*geom);
        }
        Ok(lt)
    }

    /// Write the frame mask into the zeroed `out` (frame size, row-major).
    fn fill(&mut self, logits: &[f32], clean: &Mask, geom: &Geometry, lt: f32, out: &mut [u8]) {
        let (mw, _) = geom.model_size();
        let c = geom.content();
        let mut big = lt.abs() + 2.0 * MARGIN;
        for r in 0..c.height {
            let start = (c.y + r) * mw + c.x;
            let row = logits.get(start..start + c.width).unwrap_or(&[]);
            // NaN is skipped: its forced logit is `lt ± MARGIN`.
            big = max_abs(row, big);
        }
        if big <= RUN_BOUND {
            self.fill_runs(logits, clean, geom, lt, out);
        } else {
            self.fill_pixels(logits, clean, geom, lt, out);
        }
    }

    /// The run path (see the module documentation).
    fn fill_runs(
        &mut self,
        logits: &[f32],
        clean: &Mask,
        geom: &Geometry,
        lt: f32,
        out: &mut [u8],
    ) {
        let (mw, _) = geom.model_size();
        let (fw, _) = geom.frame_size();
        let (roi, c) = (geom.roi(), geom.content());
        self.runs.start(c.height);
        for r in 0..c.height {
            let start = (c.y + r) * mw + c.x;
            let row = clean.data().get(start..start + c.width).unwrap_or(&[]);
            push_row_runs(row, r, &mut self.runs.runs);
            self.runs.end_row();
        }
        let span = |r: &Run| (r.x0 as usize, r.x1 as usize);
        for (fr, lr) in self.rows.iter().enumerate() {
            let (ra, rb) = (self.runs.row(lr.i0), self.runs.row(lr.i1));
            if ra.is_empty() && rb.is_empty() {
                continue;
            }
            union_runs(ra.iter().map(span), rb.iter().map(span), &mut self.any);
            intersect_runs_of(ra, rb, &mut self.all);
            let start = (roi.y + fr) * fw + roi.x;
            let Some(frow) = out.get_mut(start..start + roi.width) else {
                continue;
            };
            let src = |i: usize| {
                let s = (c.y + i) * mw + c.x;
                (
                    logits.get(s..s + c.width).unwrap_or(&[]),
                    clean.data().get(s..s + c.width).unwrap_or(&[]),
                )
            };
            let mut row = RowLerp {
                top: src(lr.i0),
                bottom: src(lr.i1),
                t: lr.t,
                lt,
                cols: &self.cols,
                line: &mut self.line,
                out: frow,
            };
            let mut k = 0;
            for &(a, b) in &self.any {
                let mut cur = self.i1_below[a];
                while let Some(&(s, e)) = self.all.get(k).filter(|r| r.0 < b) {
                    let (f0, f1) = (self.i0_below[s], self.i1_below[e]);
                    if f0 < f1 {
                        row.exact(cur, f0);
                        row.out.get_mut(f0..f1).into_iter().for_each(|o| o.fill(1));
                        cur = f1;
                    }
                    k += 1;
                }
                row.exact(cur, self.i0_below[b]);
            }
        }
    }

    /// The pixel-by-pixel path: every frame pixel of the mask's bounding box interpolated.
    fn fill_pixels(
        &mut self,
        logits: &[f32],
        clean: &Mask,
        geom: &Geometry,
        lt: f32,
        out: &mut [u8],
    ) {
        let (mw, _) = geom.model_size();
        let (fw, _) = geom.frame_size();
        let (roi, c) = (geom.roi(), geom.content());
        self.forced.clear();
        self.forced.extend(
            logits
                .iter()
                .zip(clean.data())
                .map(|(&l, &m)| force(l, m != 0, lt)),
        );
        // A frame pixel whose four source pixels are all outside the mask interpolates logits
        // that are all below `lt`, so it stays outside: only the frame rows and columns that
        // reach a mask pixel are computed.
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
        let (Some(first), Some(last)) = (first, last) else {
            return;
        };
        let cols = self.cols.get(first..=last).unwrap_or(&[]);
        let frame_rows = out.chunks_exact_mut(fw).skip(roi.y).take(roi.height);
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
    }
}

/// The runs of two rows' intersection.
fn intersect_runs_of(a: &[Run], b: &[Run], out: &mut Vec<(usize, usize)>) {
    out.clear();
    let (mut i, mut j) = (0, 0);
    while let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
        let (lo, hi) = (x.x0.max(y.x0) as usize, x.x1.min(y.x1) as usize);
        if lo < hi {
            out.push((lo, hi));
        }
        if x.x1 < y.x1 {
            i += 1;
        } else {
            j += 1;
        }
    }
}

/// One frame row of the run path: its two source rows (logits and clean mask, content
/// columns) and vertical weight.
struct RowLerp<'a> {
    top: (&'a [f32], &'a [u8]),
    bottom: (&'a [f32], &'a [u8]),
    t: f32,
    lt: f32,
    cols: &'a [Lerp],
    line: &'a mut [f32],
    out: &'a mut [u8],
}

impl RowLerp<'_> {
    /// Interpolate frame columns `f0..f1` of the ROI exactly as the pixel path does.
    fn exact(&mut self, f0: usize, f1: usize) {
        let (Some(cols), Some(out)) = (self.cols.get(f0..f1), self.out.get_mut(f0..f1)) else {
            return;
        };
        let (Some(first), Some(last)) = (cols.first(), cols.last()) else {
            return;
        };
        let (j0, j1) = (first.i0, last.i1 + 1);
        let lt = self.lt;
        let (Some(line), Some(tl), Some(tm), Some(bl), Some(bm)) = (
            self.line.get_mut(j0..j1),
            self.top.0.get(j0..j1),
            self.top.1.get(j0..j1),
            self.bottom.0.get(j0..j1),
            self.bottom.1.get(j0..j1),
        ) else {
            return;
        };
        for ((((v, &l0), &m0), &l1), &m1) in line.iter_mut().zip(tl).zip(tm).zip(bl).zip(bm) {
            let (a0, a1) = (force(l0, m0 != 0, lt), force(l1, m1 != 0, lt));
            *v = a0 + (a1 - a0) * self.t;
        }
        for (o, lc) in out.iter_mut().zip(cols) {
            let (a0, a1) = (line[lc.i0 - j0], line[lc.i1 - j0]);
            *o = u8::from(a0 + (a1 - a0) * lc.t > lt);
        }
    }
}
