//! Image formation of a phased-array sector scan, in beam (polar) coordinates, then scan
//! conversion to the display grid.
//!
//! Per beam sample: echogenicity × a complex Gaussian scatterer (fixed to the tissue, so speckle
//! moves with it) → convolution with a separable point-spread function (Gaussian pulse envelope
//! axially, Gaussian beam profile laterally, in angle so the beam widens with depth; both
//! normalised to unit energy) → round-trip attenuation and additive electronic noise → time-gain
//! compensation → envelope detection `|·|` → log compression to the display's dynamic range →
//! bilinear scan conversion. A linear filter of Gaussian scatterers is Gaussian, so in a uniform
//! region the envelope is Rayleigh: mean/std = √(π/(4−π)) ≈ 1.913 and the log envelope has a
//! standard deviation of 5.57 dB, what real RF data show.

/// Speed of sound in soft tissue, mm/µs.
pub const SOUND_SPEED_MM_PER_US: f64 = 1.54;

/// Geometry of the sector and the beam grid that samples it.
#[derive(Debug, Clone)]
pub struct BeamGrid {
    /// Samples along each beam.
    pub n_r: usize,
    /// Number of beams.
    pub n_t: usize,
    /// Radial sample spacing, mm.
    pub dr: f64,
    /// Angular spacing between beams, rad.
    pub dtheta: f64,
    /// Half the opening angle, rad.
    pub half_angle: f64,
    /// Imaging depth, mm.
    pub depth: f64,
    /// (x, y) of every sample in mm, beam-major (`t * n_r + r`).
    pub positions: Vec<(f64, f64)>,
    /// Axial PSF taps (unit energy).
    pub axial: Vec<f32>,
    /// Lateral PSF taps (unit energy).
    pub lateral: Vec<f32>,
}

impl BeamGrid {
    /// A grid for a sector of `depth` mm and `opening` rad displayed with square pixels of
    /// `pixel_mm`, for a probe of `mhz`.
    pub fn new(depth: f64, opening: f64, pixel_mm: f64, mhz: f64) -> Self {
        let half_angle = opening / 2.0;
        let dr = pixel_mm * 0.75;
        let n_r = (depth / dr).ceil().max(8.0) as usize;
        let dr = depth / n_r as f64;
        // Beams about 1.2 display pixels apart at 60 % of the depth.
        let dtheta_target = pixel_mm * 1.2 / (0.6 * depth);
        let n_t = (opening / dtheta_target).ceil().max(8.0) as usize;
        let dtheta = opening / n_t as f64;
        let mut positions = Vec::with_capacity(n_r * n_t);
        for t in 0..n_t {
            let th = -half_angle + (t as f64 + 0.5) * dtheta;
            let (s, c) = th.sin_cos();
            for r in 0..n_r {
                let rr = (r as f64 + 0.5) * dr;
                positions.push((rr * s, rr * c));
            }
        }
        // Pulse: about 1.5 wavelengths long (σ ≈ 0.75 λ / 2.355 × 2); beam: F-number ≈ 2.5.
        let lambda = SOUND_SPEED_MM_PER_US / mhz;
        let sigma_axial = (0.65 * lambda / dr).max(0.8);
        let sigma_lateral = ((2.5 * lambda / 2.355) / (0.6 * depth) / dtheta).max(1.0);
        Self {
            n_r,
            n_t,
            dr,
            dtheta,
            half_angle,
            depth,
            positions,
            axial: gaussian_kernel(sigma_axial),
            lateral: gaussian_kernel(sigma_lateral),
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.n_r * self.n_t
    }

    /// True for a grid without samples (never, by construction).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Depth of radial sample `r`, mm.
    pub fn depth_of(&self, r: usize) -> f64 {
        (r as f64 + 0.5) * self.dr
    }
}

/// A sampled Gaussian with unit energy (sum of squares 1), half-width 3σ.
pub fn gaussian_kernel(sigma: f64) -> Vec<f32> {
    let half = (3.0 * sigma).ceil() as i64;
    let taps: Vec<f64> = (-half..=half)
        .map(|k| (-(k * k) as f64 / (2.0 * sigma * sigma)).exp())
        .collect();
    let norm = taps.iter().map(|t| t * t).sum::<f64>().sqrt();
    taps.iter().map(|t| (t / norm) as f32).collect()
}

/// Convolve each beam (contiguous runs of `n_r` complex samples) with `k`, zero outside.
pub fn convolve_axial(src: &[[f32; 2]], dst: &mut [[f32; 2]], n_r: usize, k: &[f32]) {
    let half = k.len() / 2;
    for (s_beam, d_beam) in src.chunks_exact(n_r).zip(dst.chunks_exact_mut(n_r)) {
        for (r, d) in d_beam.iter_mut().enumerate() {
            let lo = r.saturating_sub(half);
            let hi = (r + half + 1).min(n_r);
            let mut acc = [0.0f32; 2];
            for (i, s) in s_beam[lo..hi].iter().enumerate() {
                let w = k[lo + i + half - r];
                acc[0] += w * s[0];
                acc[1] += w * s[1];
            }
            *d = acc;
        }
    }
}

/// Convolve across beams (rows of `n_r` samples) with `k`, zero outside.
pub fn convolve_lateral(src: &[[f32; 2]], dst: &mut [[f32; 2]], n_r: usize, k: &[f32]) {
    let n_t = src.len() / n_r;
    let half = k.len() / 2;
    dst.iter_mut().for_each(|d| *d = [0.0; 2]);
    for t in 0..n_t {
        let d_row = &mut dst[t * n_r..(t + 1) * n_r];
        let lo = t.saturating_sub(half);
        let hi = (t + half + 1).min(n_t);
        for tt in lo..hi {
            let w = k[tt + half - t];
            let s_row = &src[tt * n_r..(tt + 1) * n_r];
            for (d, s) in d_row.iter_mut().zip(s_row) {
                d[0] += w * s[0];
                d[1] += w * s[1];
            }
        }
    }
}

/// Precomputed bilinear lookup from display pixels into the beam grid.
#[derive(Debug, Clone)]
pub struct ScanConverter {
    /// Display width.
    pub width: usize,
    /// Display height.
    pub height: usize,
    taps: Vec<Tap>,
}

#[derive(Debug, Clone, Copy)]
struct Tap {
    /// Index of the (r0, t0) sample; `u32::MAX` outside the sector.
    i00: u32,
    /// Step to r0 + 1 (0 at the last sample).
    step_r: u32,
    /// Step to t0 + 1 (0 at the last beam).
    step_t: u32,
    wr: f32,
    wt: f32,
}

impl ScanConverter {
    /// A converter for `grid` onto `width`×`height` pixels, where pixel (px, py) has its centre at
    /// `to_mm(px, py)`.
    pub fn new(
        grid: &BeamGrid,
        width: usize,
        height: usize,
        to_mm: impl Fn(usize, usize) -> (f64, f64),
    ) -> Self {
        let mut taps = Vec::with_capacity(width * height);
        for py in 0..height {
            for px in 0..width {
                let (x, y) = to_mm(px, py);
                let r = (x * x + y * y).sqrt();
                let th = x.atan2(y);
                if r >= grid.depth || th.abs() > grid.half_angle || y <= 0.0 {
                    taps.push(Tap {
                        i00: u32::MAX,
                        step_r: 0,
                        step_t: 0,
                        wr: 0.0,
                        wt: 0.0,
                    });
                    continue;
                }
                let fr = (r / grid.dr - 0.5).clamp(0.0, (grid.n_r - 1) as f64);
                let ft =
                    ((th + grid.half_angle) / grid.dtheta - 0.5).clamp(0.0, (grid.n_t - 1) as f64);
                let (r0, t0) = (fr.floor() as usize, ft.floor() as usize);
                taps.push(Tap {
                    i00: (t0 * grid.n_r + r0) as u32,
                    step_r: u32::from(r0 + 1 < grid.n_r),
                    step_t: if t0 + 1 < grid.n_t {
                        grid.n_r as u32
                    } else {
                        0
                    },
                    wr: (fr - r0 as f64) as f32,
                    wt: (ft - t0 as f64) as f32,
                });
            }
        }
        Self {
            width,
            height,
            taps,
        }
    }

    /// Whether display pixel `i` (row-major) lies inside the sector.
    pub fn inside(&self, i: usize) -> bool {
        self.taps.get(i).is_some_and(|t| t.i00 != u32::MAX)
    }

    /// Resample `polar` (display values 0..255) into `out` (row-major, `width*height`).
    pub fn convert(&self, polar: &[f32], out: &mut [u8]) {
        for (o, t) in out.iter_mut().zip(&self.taps) {
            if t.i00 == u32::MAX {
                *o = 0;
                continue;
            }
            let i = t.i00 as usize;
            let (sr, st) = (t.step_r as usize, t.step_t as usize);
            let get = |k: usize| polar.get(k).copied().unwrap_or(0.0);
            let a = get(i) + (get(i + sr) - get(i)) * t.wr;
            let b = get(i + st) + (get(i + st + sr) - get(i + st)) * t.wr;
            let v = a + (b - a) * t.wt;
            *o = v.clamp(0.0, 255.0) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_have_unit_energy() {
        for s in [0.8, 1.3, 2.5] {
            let k = gaussian_kernel(s);
            let e: f32 = k.iter().map(|x| x * x).sum();
            assert!((e - 1.0).abs() < 1e-5);
            assert_eq!(k.len() % 2, 1);
        }
    }

    #[test]
    fn convolutions_match_direct_sum() {
        let (n_r, n_t) = (7, 5);
        let src: Vec<[f32; 2]> = (0..n_r * n_t)
            .map(|i| [i as f32, -(i as f32) * 0.5])
            .collect();
        let k = vec![0.25f32, 0.5, 0.25];
        let mut a = vec![[0.0; 2]; src.len()];
        convolve_axial(&src, &mut a, n_r, &k);
        // Interior sample of beam 2, r = 3.
        let i = 2 * n_r + 3;
        assert!(
            (a[i][0] - (0.25 * src[i - 1][0] + 0.5 * src[i][0] + 0.25 * src[i + 1][0])).abs()
                < 1e-5
        );
        // Edge: zero outside.
        assert!((a[0][0] - (0.5 * src[0][0] + 0.25 * src[1][0])).abs() < 1e-5);
        let mut b = vec![[0.0; 2]; src.len()];
        convolve_lateral(&src, &mut b, n_r, &k);
        let i = 2 * n_r + 3;
        assert!(
            (b[i][1] - (0.25 * src[i - n_r][1] + 0.5 * src[i][1] + 0.25 * src[i + n_r][1])).abs()
                < 1e-5
        );
    }
}
