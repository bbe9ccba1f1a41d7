//! [`Augment`]: a small random affine transform of a training pair (the same geometry for
//! image and mask) and a gamma change of the image.

use synboost_phantom::rng::SplitMix64;

/// Parameters of one augmentation: an affine map about the image centre (scale, rotation, then
/// shift), and a gamma applied to the image's grey values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Augment {
    /// Zoom factor (>1 enlarges).
    pub scale: f64,
    /// Shift (x, y), pixels of the model input.
    pub shift: (f64, f64),
    /// Rotation, degrees (counter-clockwise on screen).
    pub rotation_deg: f64,
    /// Gamma: output = 255 · (input / 255)^gamma.
    pub gamma: f64,
}

impl Augment {
    /// No change.
    pub const IDENTITY: Self = Self {
        scale: 1.0,
        shift: (0.0, 0.0),
        rotation_deg: 0.0,
        gamma: 1.0,
    };

    /// Random parameters: scale 0.9–1.1, shift ±8 px per axis, rotation ±10°, gamma 0.8–1.2.
    pub fn draw(rng: &mut SplitMix64) -> Self {
        Self {
            scale: rng.range(0.9, 1.1),
            shift: (rng.range(-8.0, 8.0), rng.range(-8.0, 8.0)),
            rotation_deg: rng.range(-10.0, 10.0),
            gamma: rng.range(0.8, 1.2),
        }
    }

    /// Where output point (x, y) (continuous pixel coordinates, pixel i covers [i, i+1)) comes
    /// from in a `w × h` input.
    fn source_point(&self, w: usize, h: usize, x: f64, y: f64) -> (f64, f64) {
        let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
        let (s, c) = (-self.rotation_deg).to_radians().sin_cos();
        let (dx, dy) = (x - cx - self.shift.0, y - cy - self.shift.1);
        // On screen y points down, so a counter-clockwise rotation by θ is (x, y) → (x cos θ +
        // y sin θ, −x sin θ + y cos θ); its inverse uses −θ.
        let k = 1.0 / self.scale;
        (cx + k * (dx * c + dy * s), cy + k * (-dx * s + dy * c))
    }

    /// Warp a `w × h` grey image (bilinear; 0 outside) and apply the gamma.
    pub fn apply_gray(&self, data: &[u8], w: usize, h: usize) -> Vec<u8> {
        let lut: Vec<u8> = (0..=255u8)
            .map(|v| {
                let g = 255.0 * (f64::from(v) / 255.0).powf(self.gamma);
                g.round().clamp(0.0, 255.0) as u8
            })
            .collect();
        let at = |x: i64, y: i64| -> f64 {
            if x < 0 || y < 0 || x as usize >= w || y as usize >= h {
                return 0.0;
            }
            data.get(y as usize * w + x as usize)
                .map_or(0.0, |&v| f64::from(v))
        };
        let mut out = Vec::with_capacity(w * h);
        for py in 0..h {
            for px in 0..w {
                let (sx, sy) = self.source_point(w, h, px as f64 + 0.5, py as f64 + 0.5);
                let (fx, fy) = (sx - 0.5, sy - 0.5);
                let (x0, y0) = (fx.floor(), fy.floor());
                let (ax, ay) = (fx - x0, fy - y0);
                let (x0, y0) = (x0 as i64, y0 as i64);
                let v = (1.0 - ay) * ((1.0 - ax) * at(x0, y0) + ax * at(x0 + 1, y0))
                    + ay * ((1.0 - ax) * at(x0, y0 + 1) + ax * at(x0 + 1, y0 + 1));
                let v = v.round().clamp(0.0, 255.0) as u8;
                out.push(lut.get(usize::from(v)).copied().unwrap_or(v));
            }
        }
        out
    }

    /// Warp a `w × h` 0/1 mask with the same geometry (nearest neighbour; 0 outside).
    pub fn apply_mask(&self, data: &[u8], w: usize, h: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(w * h);
        for py in 0..h {
            for px in 0..w {
                let (sx, sy) = self.source_point(w, h, px as f64 + 0.5, py as f64 + 0.5);
                let (x, y) = (sx.floor(), sy.floor());
                let inside = x >= 0.0 && y >= 0.0 && x < w as f64 && y < h as f64;
                let v = if inside {
                    data.get(y as usize * w + x as usize).copied().unwrap_or(0)
                } else {
                    0
                };
                out.push(u8::from(v != 0));
            }
        }
        out
    }
}
