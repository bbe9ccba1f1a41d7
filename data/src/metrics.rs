//! Segmentation metrics per image-structure pair, and mean ± std over a set, as the seed reports
//! them.
//!
//! - **Dice** = 2|P∩T| / (|P| + |T|), **IoU** = |P∩T| / |P∪T|, as fractions (×100 for the
//!   seed's percentages).
//! - **Hausdorff** and **HD95** between the boundaries of prediction and truth (a boundary pixel
//!   is an inside pixel with a 4-neighbour outside, the image edge counting as outside), with
//!   exact Euclidean distance transforms, in millimetres when a pixel spacing is given, else in
//!   pixels. HD95 follows MONAI: the larger of the two directed 95th percentiles (linear
//!   interpolation, as numpy).
//!
//! **Empty masks.** Both empty: dice = IoU = 1 (a correct "not present"), Hausdorff = HD95 = 0.
//! Exactly one empty: dice = IoU = 0, and the distances are *undefined* (`None`): they are left
//! out of the mean and counted in [`Summary::undefined`], so a report shows how many pairs had
//! no distance rather than hiding them in an arbitrary penalty.
//!
//! **Mean ± std** is the population standard deviation (ddof = 0, numpy's default).

use serde::{Deserialize, Serialize};
use synboost_core::meta::PixelSpacing;
use synboost_core::raster::Mask;

/// Metric errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricsError {
    /// Prediction and truth differ in size.
    #[error("prediction is {pred:?} but truth is {truth:?}")]
    SizeMismatch {
        /// Prediction (width, height).
        pred: (usize, usize),
        /// Truth (width, height).
        truth: (usize, usize),
    },
}

/// Metrics of one prediction against its truth.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PairMetrics {
    /// Dice coefficient in [0, 1].
    pub dice: f64,
    /// Intersection over union in [0, 1].
    pub iou: f64,
    /// Symmetric Hausdorff distance; `None` when exactly one mask is empty.
    pub hausdorff: Option<f64>,
    /// 95th-percentile Hausdorff distance; `None` when exactly one mask is empty.
    pub hd95: Option<f64>,
}

/// Dice and IoU only (cheap; for training loops).
pub fn overlap(pred: &Mask, truth: &Mask) -> Result<(f64, f64), MetricsError> {
    check(pred, truth)?;
    pred.overlap(truth).ok_or(MetricsError::SizeMismatch {
        pred: (pred.width(), pred.height()),
        truth: (truth.width(), truth.height()),
    })
}

/// All metrics for one pair; distances in mm with `spacing`, else in pixels.
pub fn pair(
    pred: &Mask,
    truth: &Mask,
    spacing: Option<PixelSpacing>,
) -> Result<PairMetrics, MetricsError> {
    let (dice, iou) = overlap(pred, truth)?;
    let (hausdorff, hd95) = match (pred.is_empty(), truth.is_empty()) {
        (true, true) => (Some(0.0), Some(0.0)),
        (false, false) => {
            let (hd, hd95) = hausdorff_pair(pred, truth, spacing);
            (Some(hd), Some(hd95))
        }
        _ => (None, None),
    };
    Ok(PairMetrics {
        dice,
        iou,
        hausdorff,
        hd95,
    })
}

fn check(pred: &Mask, truth: &Mask) -> Result<(), MetricsError> {
    let (p, t) = (
        (pred.width(), pred.height()),
        (truth.width(), truth.height()),
    );
    if p != t {
        return Err(MetricsError::SizeMismatch { pred: p, truth: t });
    }
    Ok(())
}

/// Boundary pixels (inside, with a 4-neighbour outside or at the image edge), row-major flags.
pub fn boundary(m: &Mask) -> Vec<bool> {
    let (w, h) = (m.width(), m.height());
    let mut out = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            if !m.get(x, y) {
                continue;
            }
            let edge = x == 0
                || y == 0
                || x + 1 == w
                || y + 1 == h
                || !m.get(x - 1, y)
                || !m.get(x + 1, y)
                || !m.get(x, y - 1)
                || !m.get(x, y + 1);
            out[y * w + x] = edge;
        }
    }
    out
}

/// Exact squared Euclidean distance from every pixel to the nearest `true` pixel of `seeds`,
/// with physical weights per axis (Felzenszwalb & Huttenlocher). Infinite where there are no
/// seeds.
pub fn squared_distance_transform(
    seeds: &[bool],
    width: usize,
    height: usize,
    row_step: f64,
    col_step: f64,
) -> Vec<f64> {
    let mut d: Vec<f64> = seeds
        .iter()
        .map(|&s| if s { 0.0 } else { f64::INFINITY })
        .collect();
    let mut f = vec![0.0; width.max(height)];
    let mut out = vec![0.0; width.max(height)];
    let mut v = vec![0usize; width.max(height)];
    let mut z = vec![0.0; width.max(height) + 1];
    // Columns (steps between rows).
    let wr = row_step * row_step;
    for x in 0..width {
        for y in 0..height {
            f[y] = d[y * width + x];
        }
        edt_1d(&f[..height], &mut out[..height], wr, &mut v, &mut z);
        for y in 0..height {
            d[y * width + x] = out[y];
        }
    }
    // Rows (steps between columns).
    let wc = col_step * col_step;
    for y in 0..height {
        f[..width].copy_from_slice(&d[y * width..(y + 1) * width]);
        edt_1d(&f[..width], &mut out[..width], wc, &mut v, &mut z);
        d[y * width..(y + 1) * width].copy_from_slice(&out[..width]);
    }
    d
}

/// 1-D lower envelope of parabolas `w (p - q)² + f(q)`.
fn edt_1d(f: &[f64], out: &mut [f64], w: f64, v: &mut [usize], z: &mut [f64]) {
    let n = f.len();
    let mut k = 0usize;
    let first = f.iter().position(|x| x.is_finite());
    let Some(first) = first else {
        out.iter_mut().for_each(|o| *o = f64::INFINITY);
        return;
    };
    v[0] = first;
    z[0] = f64::NEG_INFINITY;
    z[1] = f64::INFINITY;
    for q in first + 1..n {
        if !f[q].is_finite() {
            continue;
        }
        loop {
            let p = v[k];
            let s = ((f[q] + w * (q * q) as f64) - (f[p] + w * (p * p) as f64))
                / (2.0 * w * (q as f64 - p as f64));
            if s <= z[k] && k > 0 {
                k -= 1;
                continue;
            }
            if s <= z[k] {
                // k == 0: the new parabola dominates from -inf.
                v[0] = q;
                z[1] = f64::INFINITY;
                break;
            }
            k += 1;
            v[k] = q;
            z[k] = s;
            z[k + 1] = f64::INFINITY;
            break;
        }
    }
    k = 0;
    for (p, o) in out.iter_mut().enumerate() {
        while z[k + 1] < p as f64 {
            k += 1;
        }
        let q = v[k] as f64;
        let dp = p as f64 - q;
        *o = w * dp * dp + f[v[k]];
    }
}

/// (Hausdorff, HD95) between the boundaries of two non-empty masks.
fn hausdorff_pair(a: &Mask, b: &Mask, spacing: Option<PixelSpacing>) -> (f64, f64) {
    let (w, h) = (a.width(), a.height());
    let (rs, cs) = spacing.map_or((1.0, 1.0), |s| (s.row_mm, s.col_mm));
    let ea = boundary(a);
    let eb = boundary(b);
    let da = squared_distance_transform(&ea, w, h, rs, cs);
    let db = squared_distance_transform(&eb, w, h, rs, cs);
    let directed = |edges: &[bool], dist: &[f64]| -> Vec<f64> {
        edges
            .iter()
            .zip(dist)
            .filter(|(e, _)| **e)
            .map(|(_, d)| d.sqrt())
            .collect()
    };
    let mut ab = directed(&ea, &db);
    let mut ba = directed(&eb, &da);
    let hd = ab.iter().chain(&ba).fold(0.0f64, |m, &x| m.max(x));
    let hd95 = percentile(&mut ab, 95.0).max(percentile(&mut ba, 95.0));
    (hd, hd95)
}

/// The q-th percentile with linear interpolation between order statistics (numpy's default).
/// 0 for an empty slice.
pub fn percentile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let pos = (q / 100.0).clamp(0.0, 1.0) * (values.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    values[lo] + (values[hi] - values[lo]) * (pos - lo as f64)
}

/// Mean ± std of one metric over a set of pairs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Pairs with a defined value.
    pub n: usize,
    /// Mean over defined values (NaN when `n` is 0).
    pub mean: f64,
    /// Population standard deviation (ddof = 0).
    pub std: f64,
    /// Pairs whose value was undefined (one mask empty for distances).
    pub undefined: usize,
}

impl Summary {
    /// Summarise optional values: `None`s are counted as undefined.
    pub fn of(values: impl IntoIterator<Item = Option<f64>>) -> Self {
        let mut n = 0usize;
        let mut undefined = 0usize;
        let mut sum = 0.0;
        let mut sq = 0.0;
        let mut all = Vec::new();
        for v in values {
            match v {
                Some(x) if x.is_finite() => {
                    n += 1;
                    sum += x;
                    all.push(x);
                }
                _ => undefined += 1,
            }
        }
        if n == 0 {
            return Self {
                n,
                mean: f64::NAN,
                std: f64::NAN,
                undefined,
            };
        }
        let mean = sum / n as f64;
        for x in &all {
            sq += (x - mean) * (x - mean);
        }
        Self {
            n,
            mean,
            std: (sq / n as f64).sqrt(),
            undefined,
        }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.4} ± {:.4} (n={}", self.mean, self.std, self.n)?;
        if self.undefined > 0 {
            write!(f, ", {} undefined", self.undefined)?;
        }
        write!(f, ")")
    }
}

/// Summaries of all four metrics over a set of pairs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SetSummary {
    /// Dice.
    pub dice: Summary,
    /// IoU.
    pub iou: Summary,
    /// Hausdorff.
    pub hausdorff: Summary,
    /// HD95.
    pub hd95: Summary,
}

impl SetSummary {
    /// Summarise pair metrics.
    pub fn of(pairs: &[PairMetrics]) -> Self {
        Self {
            dice: Summary::of(pairs.iter().map(|p| Some(p.dice))),
            iou: Summary::of(pairs.iter().map(|p| Some(p.iou))),
            hausdorff: Summary::of(pairs.iter().map(|p| p.hausdorff)),
            hd95: Summary::of(pairs.iter().map(|p| p.hd95)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(w: usize, h: usize, x0: usize, y0: usize, x1: usize, y1: usize) -> Mask {
        let mut d = vec![0u8; w * h];
        for y in y0..y1 {
            for x in x0..x1 {
                d[y * w + x] = 1;
            }
        }
        Mask::new(w, h, d).unwrap()
    }

    /// Brute force: max/percentile of distances between boundary pixel sets.
    fn brute(a: &Mask, b: &Mask, rs: f64, cs: f64) -> (f64, f64) {
        let pts = |m: &Mask| -> Vec<(f64, f64)> {
            boundary(m)
                .iter()
                .enumerate()
                .filter(|(_, e)| **e)
                .map(|(i, _)| ((i % m.width()) as f64, (i / m.width()) as f64))
                .collect()
        };
        let (pa, pb) = (pts(a), pts(b));
        let dir = |p: &[(f64, f64)], q: &[(f64, f64)]| -> Vec<f64> {
            p.iter()
                .map(|&(x, y)| {
                    q.iter()
                        .map(|&(u, v)| (((x - u) * cs).powi(2) + ((y - v) * rs).powi(2)).sqrt())
                        .fold(f64::INFINITY, f64::min)
                })
                .collect()
        };
        let (mut ab, mut ba) = (dir(&pa, &pb), dir(&pb, &pa));
        let hd = ab.iter().chain(&ba).fold(0.0f64, |m, &x| m.max(x));
        (hd, percentile(&mut ab, 95.0).max(percentile(&mut ba, 95.0)))
    }

    #[test]
    fn dice_iou_known_values() {
        let a = rect(10, 10, 0, 0, 4, 5); // 20 px
        let b = rect(10, 10, 2, 0, 6, 5); // 20 px, overlap 10
        let m = pair(&a, &b, None).unwrap();
        assert!((m.dice - 0.5).abs() < 1e-12);
        assert!((m.iou - 10.0 / 30.0).abs() < 1e-12);
        assert_eq!(m.hausdorff, Some(2.0));
        let same = pair(&a, &a, None).unwrap();
        assert_eq!((same.dice, same.iou, same.hausdorff), (1.0, 1.0, Some(0.0)));
    }

    #[test]
    fn empty_mask_convention() {
        let e = Mask::zeros(8, 8).unwrap();
        let a = rect(8, 8, 1, 1, 3, 3);
        let both = pair(&e, &e, None).unwrap();
        assert_eq!(
            (both.dice, both.iou, both.hausdorff, both.hd95),
            (1.0, 1.0, Some(0.0), Some(0.0))
        );
        let one = pair(&a, &e, None).unwrap();
        assert_eq!(
            (one.dice, one.iou, one.hausdorff, one.hd95),
            (0.0, 0.0, None, None)
        );
        let s = SetSummary::of(&[both, one]);
        assert_eq!(s.dice.n, 2);
        assert_eq!(s.hausdorff.n, 1);
        assert_eq!(s.hausdorff.undefined, 1);
        assert!(pair(&a, &Mask::zeros(4, 4).unwrap(), None).is_err());
    }

    #[test]
    fn hausdorff_matches_brute_force_with_anisotropic_spacing() {
        // Deterministic pseudo-random blobs.
        let mut state = 12345u64;
        let mut rnd = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as usize
        };
        for _ in 0..20 {
            let (w, h) = (23 + rnd() % 9, 17 + rnd() % 9);
            let blob = |r: &mut dyn FnMut() -> usize| {
                let (cx, cy) = ((r() % w) as f64, (r() % h) as f64);
                let (rx, ry) = (2.0 + (r() % 8) as f64, 2.0 + (r() % 6) as f64);
                let d: Vec<u8> = (0..w * h)
                    .map(|i| {
                        let (x, y) = ((i % w) as f64, (i / w) as f64);
                        u8::from(((x - cx) / rx).powi(2) + ((y - cy) / ry).powi(2) <= 1.0)
                    })
                    .collect();
                Mask::new(w, h, d).unwrap()
            };
            let a = blob(&mut rnd);
            let b = blob(&mut rnd);
            if a.is_empty() || b.is_empty() {
                continue;
            }
            let sp = PixelSpacing::new(0.154, 0.308).unwrap();
            let m = pair(&a, &b, Some(sp)).unwrap();
            let (hd, hd95) = brute(&a, &b, 0.154, 0.308);
            assert!((m.hausdorff.unwrap() - hd).abs() < 1e-9, "{m:?} vs {hd}");
            assert!((m.hd95.unwrap() - hd95).abs() < 1e-9, "{m:?} vs {hd95}");
        }
    }

    #[test]
    fn summary_is_population_std() {
        let s = Summary::of([Some(1.0), Some(3.0), None]);
        assert_eq!((s.n, s.mean, s.std, s.undefined), (2, 2.0, 1.0, 1));
        let mut v = vec![1.0, 2.0, 3.0, 4.0];
        assert!((percentile(&mut v, 95.0) - 3.85).abs() < 1e-12);
    }
}
