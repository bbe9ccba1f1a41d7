//! New label maps from old ones, as "Echo from noise" (Stojanovski et al., 2023) made them: a
//! random affine transform of the anatomy, then an elastic deformation, clipped to the sector.
//!
//! The sector is the scanner's and stays where it is; only the heart moves. For each output
//! pixel `p` the anatomy label is read (nearest neighbour) at `A⁻¹(p + d(p) − c − t) + c`, where
//! `A` is rotation · shear · scale about the image centre `c`, `t` the translation and `d` a
//! smooth random displacement field (uniform noise blurred by a Gaussian of `elastic_sigma`,
//! scaled to `elastic_alpha` pixels RMS). Anatomy that lands outside the sector is cut; sector
//! pixels without anatomy are background. Everything is drawn from one seed.

use super::labels::{BACKGROUND, LabelMap, OUTSIDE};
use serde::{Deserialize, Serialize};
use synboost_phantom::rng::SplitMix64;

/// Ranges of the random transform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Perturbation {
    /// Largest rotation, degrees (drawn in ±).
    pub rotate_deg: f64,
    /// Largest translation, as a fraction of the side (drawn in ± per axis).
    pub translate: f64,
    /// Scale range (isotropic).
    pub scale: (f64, f64),
    /// Largest shear, degrees (drawn in ±).
    pub shear_deg: f64,
    /// RMS displacement of the elastic field, as a fraction of the side (0 turns it off).
    pub elastic_alpha: f64,
    /// Smoothness of the elastic field: Gaussian sigma as a fraction of the side.
    pub elastic_sigma: f64,
}

impl Default for Perturbation {
    /// The ranges (±5°, ≤ 5 %, 0.8–1.05, shear 5°) and a gentle elastic field: 1 % of
    /// the side RMS (about 2 px at 224²), smooth over 5 % of the side.
    fn default() -> Self {
        Self {
            rotate_deg: 5.0,
            translate: 0.05,
            scale: (0.8, 1.05),
            shear_deg: 5.0,
            elastic_alpha: 0.01,
            elastic_sigma: 0.05,
        }
    }
}

/// The transform drawn for one seed (reported in dataset annotations).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Drawn {
    /// Rotation, degrees.
    pub rotate_deg: f64,
    /// Translation (x, y), fractions of the side.
    pub translate: (f64, f64),
    /// Scale.
    pub scale: f64,
    /// Shear, degrees.
    pub shear_deg: f64,
}

impl Perturbation {
    /// No movement at all: the label maps are kept as they are.
    pub fn identity() -> Self {
        Self {
            rotate_deg: 0.0,
            translate: 0.0,
            scale: (1.0, 1.0),
            shear_deg: 0.0,
            elastic_alpha: 0.0,
            ..Self::default()
        }
    }

    /// Checks the ranges.
    pub fn validate(&self) -> Result<(), String> {
        let ok = self.rotate_deg >= 0.0
            && self.translate >= 0.0
            && self.shear_deg >= 0.0
            && self.scale.0 > 0.0
            && self.scale.0 <= self.scale.1
            && self.elastic_alpha >= 0.0
            && self.elastic_sigma > 0.0
            && [
                self.rotate_deg,
                self.translate,
                self.shear_deg,
                self.scale.1,
            ]
            .iter()
            .all(|v| v.is_finite());
        if ok {
            Ok(())
        } else {
            Err(format!("bad perturbation ranges {self:?}"))
        }
    }

    /// Perturb `label` with the transform drawn from `seed` (same seed, same result).
    pub fn apply(&self, label: &LabelMap, seed: u64) -> (LabelMap, Drawn) {
        let mut rng = SplitMix64::new(seed);
        let drawn = Drawn {
            rotate_deg: rng.range(-self.rotate_deg, self.rotate_deg),
            translate: (
                rng.range(-self.translate, self.translate),
                rng.range(-self.translate, self.translate),
            ),
            scale: rng.range(self.scale.0, self.scale.1),
            shear_deg: rng.range(-self.shear_deg, self.shear_deg),
        };
        let (w, h) = (label.width, label.height);
        if label.data.len() != w * h {
            // Not a label map of its stated size: nothing sensible to move.
            return (label.clone(), drawn);
        }
        let side = w.max(h) as f64;
        let (dx, dy) = if self.elastic_alpha > 0.0 {
            let sigma = self.elastic_sigma * side;
            let fx = smooth_field(&mut rng, w, h, sigma, self.elastic_alpha * side);
            let fy = smooth_field(&mut rng, w, h, sigma, self.elastic_alpha * side);
            (fx, fy)
        } else {
            (vec![0.0; w * h], vec![0.0; w * h])
        };
        // A = R(θ) · Sh(φ) · s; its inverse maps output offsets back to the source.
        let (th, ph) = (
            drawn.rotate_deg.to_radians(),
            drawn.shear_deg.to_radians().tan(),
        );
        let (c, s) = (th.cos(), th.sin());
        let a = [
            [c * drawn.scale, (c * ph - s) * drawn.scale],
            [s * drawn.scale, (s * ph + c) * drawn.scale],
        ];
        let det = a[0][0] * a[1][1] - a[0][1] * a[1][0];
        let inv = [
            [a[1][1] / det, -a[0][1] / det],
            [-a[1][0] / det, a[0][0] / det],
        ];
        let (cx, cy) = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);
        let (tx, ty) = (drawn.translate.0 * w as f64, drawn.translate.1 * h as f64);
        let mut out = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                if label.data[i] == OUTSIDE {
                    out.push(OUTSIDE);
                    continue;
                }
                let px = x as f64 + dx[i] as f64 - cx - tx;
                let py = y as f64 + dy[i] as f64 - cy - ty;
                let sx = (inv[0][0] * px + inv[0][1] * py + cx).round();
                let sy = (inv[1][0] * px + inv[1][1] * py + cy).round();
                let src = if sx >= 0.0 && sy >= 0.0 && (sx as usize) < w && (sy as usize) < h {
                    label.data[sy as usize * w + sx as usize]
                } else {
                    BACKGROUND
                };
                out.push(if src == OUTSIDE { BACKGROUND } else { src });
            }
        }
        (
            LabelMap {
                width: w,
                height: h,
                data: out,
            },
            drawn,
        )
    }
}

/// Uniform noise in [−1, 1] blurred by a separable Gaussian of `sigma` pixels, rescaled to
/// `rms` pixels root-mean-square.
fn smooth_field(rng: &mut SplitMix64, w: usize, h: usize, sigma: f64, rms: f64) -> Vec<f32> {
    let noise: Vec<f32> = (0..w * h).map(|_| rng.range(-1.0, 1.0) as f32).collect();
    let r = (3.0 * sigma).ceil().max(1.0) as isize;
    let k: Vec<f32> = (-r..=r)
        .map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp() as f32)
        .collect();
    let blur = |src: &[f32], horizontal: bool| -> Vec<f32> {
        let mut dst = vec![0f32; w * h];
        for y in 0..h {
            for x in 0..w {
                let (mut acc, mut norm) = (0f32, 0f32);
                for (j, kv) in k.iter().enumerate() {
                    let o = j as isize - r;
                    let (xx, yy) = if horizontal {
                        (x as isize + o, y as isize)
                    } else {
                        (x as isize, y as isize + o)
                    };
                    if xx >= 0 && yy >= 0 && (xx as usize) < w && (yy as usize) < h {
                        acc += kv * src[yy as usize * w + xx as usize];
                        norm += kv;
                    }
                }
                dst[y * w + x] = if norm > 0.0 { acc / norm } else { 0.0 };
            }
        }
        dst
    };
    let f = blur(&blur(&noise, true), false);
    let cur = (f.iter().map(|v| v * v).sum::<f32>() / f.len().max(1) as f32).sqrt();
    let gain = if cur > 0.0 { rms as f32 / cur } else { 0.0 };
    f.into_iter().map(|v| v * gain).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 64² sector (rows 8.. between two diagonals) holding an LV disc, a myocardial ring
    /// and an LA disc below.
    fn heart() -> LabelMap {
        let n = 64;
        let mut data = vec![OUTSIDE; n * n];
        for y in 4..n {
            for x in 0..n {
                let half = (y as f64) * 0.55;
                if (x as f64 - 31.5).abs() <= half {
                    let r = ((x as f64 - 32.0).powi(2) + (y as f64 - 26.0).powi(2)).sqrt();
                    let ra = ((x as f64 - 32.0).powi(2) + (y as f64 - 48.0).powi(2)).sqrt();
                    data[y * n + x] = if r < 8.0 {
                        1
                    } else if r < 12.0 {
                        2
                    } else if ra < 6.0 {
                        3
                    } else {
                        BACKGROUND
                    };
                }
            }
        }
        LabelMap {
            width: n,
            height: n,
            data,
        }
    }

    fn count(l: &LabelMap, v: u8) -> usize {
        l.data.iter().filter(|&&x| x == v).count()
    }

    #[test]
    fn perturbation_is_deterministic_keeps_the_sector_and_moves_the_heart() {
        let l = heart();
        let p = Perturbation::default();
        p.validate().unwrap();
        let (a, da) = p.apply(&l, 7);
        let (b, db) = p.apply(&l, 7);
        assert_eq!(a, b);
        assert_eq!(da, db);
        let (c, _) = p.apply(&l, 8);
        assert_ne!(a, c);
        // The sector is the source's, exactly.
        assert_eq!(a.sector(), l.sector());
        assert_eq!(count(&a, OUTSIDE), count(&l, OUTSIDE));
        // Every structure survives with a plausible area (scale 0.8–1.05 → area 0.64–1.1).
        for v in 1..=3 {
            let (n0, n1) = (count(&l, v) as f64, count(&a, v) as f64);
            assert!(n1 > 0.5 * n0 && n1 < 1.3 * n0, "class {v}: {n0} → {n1}");
        }
        assert!(a.data.iter().all(|&v| v < 5));
        // Drawn parameters lie in their ranges.
        assert!(da.rotate_deg.abs() <= 5.0 && da.shear_deg.abs() <= 5.0);
        assert!((0.8..=1.05).contains(&da.scale));
        assert!(da.translate.0.abs() <= 0.05 && da.translate.1.abs() <= 0.05);
    }

    #[test]
    fn identity_ranges_give_the_source_back_and_anatomy_is_clipped_to_the_sector() {
        let l = heart();
        let id = Perturbation::identity();
        assert_eq!(id.apply(&l, 1).0, l);
        // A large shift pushes the LA out of the bottom of the frame and the LV towards the
        // sector edge; nothing is drawn outside the sector.
        let shift = Perturbation {
            translate: 0.4,
            ..id
        };
        for seed in 0..8 {
            let (a, _) = shift.apply(&l, seed);
            for (i, &v) in a.data.iter().enumerate() {
                assert_eq!(v == OUTSIDE, l.data[i] == OUTSIDE);
            }
        }
        assert!(
            Perturbation {
                scale: (1.1, 0.9),
                ..Perturbation::default()
            }
            .validate()
            .is_err()
        );
    }
}
