//! Cavity geometry from a mask: area, long axis (apex to the middle of the base), and the disc
//! diameters of Simpson's method.
//!
//! All lengths are physical (mm) when the pixel spacing is known and in pixel units otherwise;
//! [`Calibration`] says which. Pixels are squares of `col × row` units with their centres at
//! `((i + ½)·col, (j + ½)·row)`, `x` to the right and `y` down (the probe at the top, as in
//! apical views).
//!
//! The long axis:
//! 1. The principal axis of the mask's pixels (second moments), oriented away from the probe.
//! 2. The base: the middle of the pixels within two pixels of the far end along the axis, put
//!    on the mask's edge (half a pixel beyond the last centres).
//! 3. The apex: the mask point farthest from the base (again on the edge).
//! 4. Steps 2–3 again along the apex→base direction, so that a tilted ventricle's base is cut
//!    across its own axis.
//!
//! The discs: [`DISCS`] equal slices of the long axis; each diameter is the length of the chord
//! of the mask across the axis through the slice's middle, sampled every fifth of a pixel.

use crate::meta::PixelSpacing;
use crate::raster::Mask;
use serde::{Deserialize, Serialize};

/// Discs of Simpson's method (20, as recommended by the ASE/EACVI and used by CAMUS).
pub const DISCS: usize = 20;

/// Fewest mask pixels that have a geometry.
pub const MIN_PIXELS: usize = 8;

/// What lengths, areas and volumes are measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Units {
    /// Millimetres (areas mm², volumes reported in ml): the pixel spacing was known.
    Millimetres,
    /// Pixel widths (areas in pixels, volumes in cubic pixels): no pixel spacing, so only
    /// ratios (such as the ejection fraction) are meaningful.
    Pixels,
}

/// The size of a pixel, and whether it is physical.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    /// Width of a pixel (column spacing).
    pub col: f64,
    /// Height of a pixel (row spacing).
    pub row: f64,
    /// The units of `col` and `row`.
    pub units: Units,
}

impl Calibration {
    /// Pixel units: 1 × 1, uncalibrated.
    pub fn pixels() -> Self {
        Self {
            col: 1.0,
            row: 1.0,
            units: Units::Pixels,
        }
    }

    /// From a frame's pixel spacing, or pixel units when it has none.
    pub fn from_spacing(spacing: Option<PixelSpacing>) -> Self {
        match spacing {
            Some(s) if s.col_mm.is_finite() && s.row_mm.is_finite() => Self {
                col: s.col_mm,
                row: s.row_mm,
                units: Units::Millimetres,
            },
            _ => Self::pixels(),
        }
    }

    /// Area of one pixel.
    pub fn pixel_area(&self) -> f64 {
        self.col * self.row
    }

    /// Half the extent of a pixel along the unit direction `d`.
    fn half_extent(&self, d: [f64; 2]) -> f64 {
        0.5 * (d[0].abs() * self.col + d[1].abs() * self.row)
    }
}

/// A cavity's area, long axis and disc diameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CavityGeometry {
    /// Units of everything below.
    pub units: Units,
    /// Area (pixels × pixel area).
    pub area: f64,
    /// Apex `[x, y]`.
    pub apex: [f64; 2],
    /// Middle of the base (mitral annulus for the LV) `[x, y]`.
    pub base: [f64; 2],
    /// Long axis, apex to base.
    pub length: f64,
    /// Chord lengths across the long axis at the middles of the [`DISCS`] slices, apex first.
    pub diameters: [f64; DISCS],
}

fn sub(a: [f64; 2], b: [f64; 2]) -> [f64; 2] {
    [a[0] - b[0], a[1] - b[1]]
}

fn dot(a: [f64; 2], b: [f64; 2]) -> f64 {
    a[0] * b[0] + a[1] * b[1]
}

fn unit(v: [f64; 2]) -> Option<[f64; 2]> {
    let n = dot(v, v).sqrt();
    (n > 0.0 && n.is_finite()).then(|| [v[0] / n, v[1] / n])
}

/// Turn `d` so that it points down (away from the probe), or right when horizontal.
fn downwards(d: [f64; 2]) -> [f64; 2] {
    if d[1] < 0.0 || (d[1] == 0.0 && d[0] < 0.0) {
        [-d[0], -d[1]]
    } else {
        d
    }
}

/// The geometry of the cavity `mask` shows, or `None` when it has fewer than [`MIN_PIXELS`]
/// pixels.
pub fn cavity_geometry(mask: &Mask, cal: Calibration) -> Option<CavityGeometry> {
    let (w, h) = (mask.width(), mask.height());
    let data = mask.data();
    let mut pts: Vec<[f64; 2]> = Vec::with_capacity(mask.count());
    for (j, row) in data.chunks_exact(w.max(1)).enumerate().take(h) {
        let y = (j as f64 + 0.5) * cal.row;
        for (i, &v) in row.iter().enumerate() {
            if v != 0 {
                pts.push([(i as f64 + 0.5) * cal.col, y]);
            }
        }
    }
    if pts.len() < MIN_PIXELS {
        return None;
    }
    let n = pts.len() as f64;
    let mean = pts
        .iter()
        .fold([0.0, 0.0], |a, p| [a[0] + p[0] / n, a[1] + p[1] / n]);
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for p in &pts {
        let d = sub(*p, mean);
        sxx += d[0] * d[0];
        sxy += d[0] * d[1];
        syy += d[1] * d[1];
    }
    let theta = 0.5 * (2.0 * sxy).atan2(sxx - syy);
    let mut axis = downwards([theta.cos(), theta.sin()]);
    let slab = 2.0 * cal.col.max(cal.row);

    let mut apex = mean;
    let mut base = mean;
    for _ in 0..2 {
        // Base: the middle of the far slab, on the edge.
        let normal = [-axis[1], axis[0]];
        let far = pts
            .iter()
            .map(|p| dot(sub(*p, mean), axis))
            .fold(f64::NEG_INFINITY, f64::max);
        let (mut lat, mut k) = (0.0, 0usize);
        for p in &pts {
            let d = sub(*p, mean);
            if dot(d, axis) >= far - slab {
                lat += dot(d, normal);
                k += 1;
            }
        }
        let lat = lat / k.max(1) as f64;
        let t = far + cal.half_extent(axis);
        base = [
            mean[0] + axis[0] * t + normal[0] * lat,
            mean[1] + axis[1] * t + normal[1] * lat,
        ];
        // Apex: the farthest point from the base, on the edge.
        // (The middle of the points within half a pixel of the farthest: a rounded apex has
        // many nearly as far.)
        let far2 = pts
            .iter()
            .map(|p| dot(sub(*p, base), sub(*p, base)))
            .fold(0.0, f64::max);
        let cut = (far2.sqrt() - 0.5 * cal.col.max(cal.row)).max(0.0).powi(2);
        let (mut tip, mut k) = ([0.0, 0.0], 0usize);
        for p in &pts {
            if dot(sub(*p, base), sub(*p, base)) >= cut {
                tip = [tip[0] + p[0], tip[1] + p[1]];
                k += 1;
            }
        }
        let tip = [tip[0] / k.max(1) as f64, tip[1] / k.max(1) as f64];
        let u = unit(sub(base, tip))?;
        let e = cal.half_extent(u);
        apex = [tip[0] - u[0] * e, tip[1] - u[1] * e];
        axis = u;
    }
    let length = dot(sub(base, apex), sub(base, apex)).sqrt();
    let u = unit(sub(base, apex))?;
    let normal = [-u[1], u[0]];
    // Reach of the chords: the farthest pixel from the axis line, plus a pixel.
    let reach = pts
        .iter()
        .map(|p| dot(sub(*p, apex), normal).abs())
        .fold(0.0, f64::max)
        + cal.col.max(cal.row);
    let step = 0.2 * cal.col.min(cal.row);
    let samples = (2.0 * reach / step).ceil() as usize + 1;
    let mut diameters = [0.0; DISCS];
    for (i, d) in diameters.iter_mut().enumerate() {
        let t = length * (i as f64 + 0.5) / DISCS as f64;
        let c = [apex[0] + u[0] * t, apex[1] + u[1] * t];
        let mut inside = 0usize;
        for s in 0..samples {
            let off = -reach + s as f64 * step;
            let (x, y) = (c[0] + normal[0] * off, c[1] + normal[1] * off);
            if x < 0.0 || y < 0.0 {
                continue;
            }
            let (px, py) = ((x / cal.col) as usize, (y / cal.row) as usize);
            if px < w && py < h && data[py * w + px] != 0 {
                inside += 1;
            }
        }
        *d = inside as f64 * step;
    }
    Some(CavityGeometry {
        units: cal.units,
        area: n * cal.pixel_area(),
        apex,
        base,
        length,
        diameters,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A truncated ellipse: semi-axes `le` (along the axis) and `r`, apex at `apex`, the axis
    /// at `tilt` radians from vertical, cut at `kappa·le` from the apex.
    pub(crate) fn truncated_ellipse(
        size: (usize, usize),
        cal: Calibration,
        apex: [f64; 2],
        tilt: f64,
        (le, r, kappa): (f64, f64, f64),
    ) -> Mask {
        let (w, h) = size;
        let u = [tilt.sin(), tilt.cos()];
        let n = [-u[1], u[0]];
        let mut data = vec![0u8; w * h];
        for j in 0..h {
            for i in 0..w {
                let p = [(i as f64 + 0.5) * cal.col, (j as f64 + 0.5) * cal.row];
                let d = sub(p, apex);
                let (t, s) = (dot(d, u), dot(d, n));
                let inside =
                    t >= 0.0 && t <= kappa * le && ((t - le) / le).powi(2) + (s / r).powi(2) <= 1.0;
                data[j * w + i] = u8::from(inside);
            }
        }
        Mask::new(w, h, data).unwrap()
    }

    #[test]
    fn long_axis_and_discs_of_a_tilted_truncated_ellipse() {
        let cal = Calibration {
            col: 0.25,
            row: 0.3,
            units: Units::Millimetres,
        };
        for tilt in [-0.3f64, 0.0, 0.2] {
            let (le, r, kappa) = (40.0, 20.0, 1.7);
            let m = truncated_ellipse((400, 400), cal, [50.0, 15.0], tilt, (le, r, kappa));
            let g = cavity_geometry(&m, cal).unwrap();
            assert_eq!(g.units, Units::Millimetres);
            assert!((g.length - kappa * le).abs() < 0.6, "{tilt}: {}", g.length);
            let dx = g.apex[0] - 50.0;
            let dy = g.apex[1] - 15.0;
            assert!(dx.hypot(dy) < 0.6, "{tilt}: apex {:?}", g.apex);
            for (i, d) in g.diameters.iter().enumerate() {
                let t = g.length * (i as f64 + 0.5) / DISCS as f64;
                let want = 2.0 * r * (1.0 - ((t - le) / le).powi(2)).max(0.0).sqrt();
                assert!((d - want).abs() < 0.7, "{tilt} disc {i}: {d} vs {want}");
            }
        }
    }

    #[test]
    fn empty_and_tiny_masks_have_no_geometry() {
        let m = Mask::zeros(10, 10).unwrap();
        assert!(cavity_geometry(&m, Calibration::pixels()).is_none());
        let mut d = vec![0u8; 100];
        d[55] = 1;
        let m = Mask::new(10, 10, d).unwrap();
        assert!(cavity_geometry(&m, Calibration::pixels()).is_none());
    }

    #[test]
    fn uncalibrated_geometry_is_in_pixels() {
        let cal = Calibration::pixels();
        let m = truncated_ellipse((64, 64), cal, [32.0, 4.0], 0.0, (20.0, 10.0, 1.6));
        let g = cavity_geometry(&m, cal).unwrap();
        assert_eq!(g.units, Units::Pixels);
        assert_eq!(g.area, m.count() as f64);
        assert!((g.length - 32.0).abs() < 1.0, "{}", g.length);
    }
}
