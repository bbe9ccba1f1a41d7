//! Heart geometry of apical two- and four-chamber views, and its motion over the cardiac cycle.
//!
//! Coordinates are millimetres with the probe (sector apex) at the origin, `x` to the right of
//! the screen and `y` down into the body. The left ventricle lives in its own frame: `u` along
//! the long axis from the LV apex towards the mitral plane, `v` across it (positive towards the
//! screen's right, the lateral wall in 4CH).
//!
//! - LV cavity: a prolate half-ellipse `v² ≤ R²(1 − ((u − Lₑ)/Lₑ)²)`, cut by the mitral plane at
//!   `u = κ·Lₑ` (κ ≈ 1.6–1.75), so the annulus is narrower than the widest point.
//! - Myocardium: the same shape grown by the wall thickness, minus the cavity, open at the base.
//!   Its area is kept constant over the cycle (incompressible muscle), so walls thicken in systole.
//! - Left atrium: an ellipse hanging below the mitral plane, which fills as the ventricle empties.
//! - 4CH only (unlabelled): right ventricle and right atrium with their walls, tricuspid valve.
//! - Mitral (and tricuspid) leaflets: closed in systole, open towards the apex in diastole.
//!
//! Contraction `c ∈ [0, 1]` (0 at end-diastole, 1 at end-systole) shortens the cavity radially
//! by `s_R` and longitudinally by `s_L = 1 − k(1 − s_R)` about the apex (the base descends, the
//! apex stays), so the single-plane area–length volume `V = 8A²/(3πL)` scales as `s_R² s_L` and
//! the ejection fraction is `1 − s_R² s_L`. [`solve_radial_shortening`] inverts that for a
//! target EF.

use super::rng::SplitMix64;
use synboost_core::meta::{Sex, View};

/// Ratio of longitudinal to radial shortening (`k` above); normal hearts shorten about half as
/// much along the long axis as across it.
pub const LONGITUDINAL_RATIO: f64 = 0.45;

/// What a point of the image shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Region {
    /// Tissue around the heart.
    Background = 0,
    /// Left ventricular cavity (label 1).
    LvCavity = 1,
    /// LV myocardium (label 2).
    Myocardium = 2,
    /// Left atrial cavity (label 3).
    LaCavity = 3,
    /// Pericardium: a bright band around the ventricle.
    Pericardium = 4,
    /// Right ventricular or right atrial cavity (4CH).
    RightCavity = 5,
    /// Walls of the atria and right ventricle.
    OtherWall = 6,
    /// Valve leaflet.
    Valve = 7,
}

impl Region {
    /// The CAMUS label of the region (0 for anything unlabelled).
    pub fn label(self) -> u8 {
        match self {
            Self::LvCavity => 1,
            Self::Myocardium => 2,
            Self::LaCavity => 3,
            _ => 0,
        }
    }

    /// Whether the region moves with the heart (its speckle follows the motion).
    pub fn moves(self) -> bool {
        self != Self::Background
    }
}

/// Right heart of a four-chamber view, in the LV frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RightHeart {
    /// RV semi-length, mm.
    pub rv_semi_len: f64,
    /// RV semi-width, mm.
    pub rv_radius: f64,
    /// RA semi-length (along the long axis), mm.
    pub ra_semi_len: f64,
    /// RA semi-width, mm.
    pub ra_radius: f64,
}

/// A patient's heart at end-diastole, as seen in one view.
#[derive(Debug, Clone, PartialEq)]
pub struct HeartShape {
    /// View this geometry draws.
    pub view: View,
    /// LV apex (endocardial), mm.
    pub apex: (f64, f64),
    /// Tilt of the long axis from vertical, radians (positive: base to the screen's right).
    pub tilt: f64,
    /// LV semi-length Lₑ at ED, mm.
    pub lv_semi_len: f64,
    /// LV semi-width R at ED, mm.
    pub lv_radius: f64,
    /// Mitral plane at `u = κ Lₑ`.
    pub truncation: f64,
    /// Wall thickness at ED, mm.
    pub wall: f64,
    /// Pericardium thickness, mm.
    pub pericardium: f64,
    /// LA semi-length at ED, mm.
    pub la_semi_len: f64,
    /// LA semi-width at ED, mm.
    pub la_radius: f64,
    /// Lateral shift of the LA centre from the LV axis, mm.
    pub la_shift: f64,
    /// Right heart (4CH only).
    pub right: Option<RightHeart>,
    /// Radial shortening at ES (`s_R`).
    pub radial_es: f64,
}

/// The heart at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeartState {
    /// Contraction, 0 at ED, 1 at ES.
    pub contraction: f64,
    /// Current LV semi-length Lₑ, mm.
    pub le: f64,
    /// Current LV semi-width R, mm.
    pub r: f64,
    /// Current wall thickness, mm.
    pub wall: f64,
    /// Current mitral plane `u`, mm.
    pub base: f64,
    /// LA semi-length, mm.
    pub la_len: f64,
    /// LA semi-width, mm.
    pub la_r: f64,
    /// RV scale factor.
    pub rv_scale: f64,
    /// Valve opening, 0 closed to 1 open.
    pub valve_open: f64,
    sin_t: f64,
    cos_t: f64,
}

/// Sample a patient's ED geometry.
pub fn sample_shape(
    rng: &mut SplitMix64,
    view: View,
    sex: Sex,
    depth_mm: f64,
    target_ef: f64,
) -> HeartShape {
    let size = if sex == Sex::Male { 1.0 } else { 0.92 } * rng.range(0.9, 1.1) * depth_mm / 150.0;
    let lv_semi_len = rng.range(40.0, 48.0) * size;
    let lv_radius = rng.range(19.0, 25.0) * size;
    let truncation = rng.range(1.6, 1.75);
    let wall = rng.range(8.0, 12.0) * size.sqrt();
    let (tilt_deg, apex_x) = match view {
        View::FourChamber => (rng.range(6.0, 18.0), rng.range(-4.0, 8.0)),
        _ => (rng.range(-8.0, 8.0), rng.range(-6.0, 6.0)),
    };
    let right = (view == View::FourChamber).then(|| RightHeart {
        rv_semi_len: lv_semi_len * rng.range(0.75, 0.9),
        rv_radius: lv_radius * rng.range(0.65, 0.85),
        ra_semi_len: rng.range(15.0, 19.0) * size,
        ra_radius: rng.range(12.0, 16.0) * size,
    });
    HeartShape {
        view,
        apex: (apex_x, rng.range(14.0, 24.0) * depth_mm / 150.0),
        tilt: tilt_deg.to_radians(),
        lv_semi_len,
        lv_radius,
        truncation,
        wall,
        pericardium: rng.range(2.0, 3.5),
        la_semi_len: rng.range(16.0, 21.0) * size,
        la_radius: rng.range(13.0, 17.0) * size,
        la_shift: rng.range(-4.0, 4.0),
        right,
        radial_es: solve_radial_shortening(target_ef),
    }
}

/// Radial shortening `s_R` such that `1 − s_R² (1 − k(1 − s_R)) = ef` (`ef` as a fraction),
/// by bisection.
pub fn solve_radial_shortening(ef: f64) -> f64 {
    let f = |s: f64| 1.0 - s * s * (1.0 - LONGITUDINAL_RATIO * (1.0 - s));
    let (mut lo, mut hi) = (0.05, 1.0);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        // f decreases as s grows.
        if f(mid) > ef {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Area of the ellipse `(t/a)² + (v/b)² ≤ 1` for `t ≤ cut` (t measured from the centre).
fn truncated_ellipse_area(a: f64, b: f64, cut: f64) -> f64 {
    let s = (cut / a).clamp(-1.0, 1.0);
    let phi = s.asin();
    a * b * (phi + s * (1.0 - s * s).sqrt() + std::f64::consts::FRAC_PI_2)
}

impl HeartShape {
    /// Longitudinal shortening at ES (`s_L`).
    pub fn longitudinal_es(&self) -> f64 {
        1.0 - LONGITUDINAL_RATIO * (1.0 - self.radial_es)
    }

    /// Analytic LV cavity area (mm²) and long-axis length (mm) at contraction `c`.
    pub fn lv_area_length(&self, c: f64) -> (f64, f64) {
        let sr = 1.0 - c * (1.0 - self.radial_es);
        let sl = 1.0 - c * (1.0 - self.longitudinal_es());
        let (le, r) = (self.lv_semi_len * sl, self.lv_radius * sr);
        let base = self.truncation * le;
        (truncated_ellipse_area(le, r, base - le), base)
    }

    /// Single-plane area–length LV volume, ml, at contraction `c`.
    pub fn lv_volume_ml(&self, c: f64) -> f64 {
        let (a, l) = self.lv_area_length(c);
        let (a_cm2, l_cm) = (a / 100.0, l / 10.0);
        8.0 * a_cm2 * a_cm2 / (3.0 * std::f64::consts::PI * l_cm)
    }

    /// The heart at contraction `c` (0 ED … 1 ES) with the valves `valve_open` (0..1).
    pub fn state(&self, c: f64, valve_open: f64) -> HeartState {
        let c = c.clamp(0.0, 1.0);
        let sr = 1.0 - c * (1.0 - self.radial_es);
        let sl = 1.0 - c * (1.0 - self.longitudinal_es());
        let (le, r) = (self.lv_semi_len * sl, self.lv_radius * sr);
        let base = self.truncation * le;
        // Wall thickness that keeps the myocardial area at its ED value.
        let myo_area = |le: f64, r: f64, t: f64, base: f64| {
            truncated_ellipse_area(le + t, r + t, base - le)
                - truncated_ellipse_area(le, r, base - le)
        };
        let target = myo_area(
            self.lv_semi_len,
            self.lv_radius,
            self.wall,
            self.truncation * self.lv_semi_len,
        );
        let (mut lo, mut hi) = (self.wall * 0.5, self.wall * 3.0);
        for _ in 0..40 {
            let mid = 0.5 * (lo + hi);
            if myo_area(le, r, mid, base) < target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let la_scale = 1.0 + 0.22 * c;
        HeartState {
            contraction: c,
            le,
            r,
            wall: 0.5 * (lo + hi),
            base,
            la_len: self.la_semi_len * la_scale,
            la_r: self.la_radius * la_scale.sqrt(),
            rv_scale: 1.0 - 0.18 * c,
            valve_open: valve_open.clamp(0.0, 1.0),
            sin_t: self.tilt.sin(),
            cos_t: self.tilt.cos(),
        }
    }

    /// LV-frame coordinates (u, v) of a point.
    #[inline]
    pub fn to_lv(&self, s: &HeartState, x: f64, y: f64) -> (f64, f64) {
        let (dx, dy) = (x - self.apex.0, y - self.apex.1);
        (dx * s.sin_t + dy * s.cos_t, dx * s.cos_t - dy * s.sin_t)
    }

    /// The labelled structure at a point: 0, or 1..3 (only what the masks need).
    #[inline]
    pub fn label_at(&self, s: &HeartState, x: f64, y: f64) -> u8 {
        let (u, v) = self.to_lv(s, x, y);
        let t = s.wall;
        if u < -t || v.abs() > s.r + t + s.la_r + 10.0 {
            return 0;
        }
        if u <= s.base {
            let e = (u - s.le) / s.le;
            if u >= 0.0 && v * v <= s.r * s.r * (1.0 - e * e) {
                return 1;
            }
            let eo = (u - s.le) / (s.le + t);
            let ro = s.r + t;
            if v * v <= ro * ro * (1.0 - eo * eo) {
                return 2;
            }
            return 0;
        }
        let w = u - s.base;
        let (a, b) = ((w - s.la_len) / s.la_len, (v - self.la_shift) / s.la_r);
        if a * a + b * b <= 1.0 { 3 } else { 0 }
    }

    /// Everything at a point (for echogenicity), and the point's position in the moving tissue's
    /// own frame (for scatterers that follow the motion).
    #[inline]
    pub fn region_at(&self, s: &HeartState, x: f64, y: f64) -> (Region, f64, f64) {
        let (u, v) = self.to_lv(s, x, y);
        let label = self.label_at(s, x, y);
        let region = match label {
            1 => {
                if self.on_valve(s, u, v) {
                    Region::Valve
                } else {
                    Region::LvCavity
                }
            }
            2 => Region::Myocardium,
            3 => Region::LaCavity,
            _ => self.unlabelled_at(s, u, v),
        };
        if !region.moves() {
            return (region, u, v);
        }
        // Material coordinates: undo the contraction about the apex; atria ride on the base.
        let (mu, mv) = if u <= s.base {
            (u * self.lv_semi_len / s.le, v * self.lv_radius / s.r)
        } else {
            (u - s.base + self.truncation * self.lv_semi_len, v)
        };
        (region, mu, mv)
    }

    fn unlabelled_at(&self, s: &HeartState, u: f64, v: f64) -> Region {
        let t = s.wall;
        let p = self.pericardium;
        if u <= s.base && u >= -t - p {
            let e = (u - s.le) / (s.le + t + p);
            let ro = s.r + t + p;
            if v * v <= ro * ro * (1.0 - e * e) {
                return Region::Pericardium;
            }
        }
        if u > s.base {
            // Closed mitral leaflets sag into the atrium; then the LA wall.
            if self.on_valve(s, u, v) {
                return Region::Valve;
            }
            let w = u - s.base;
            let wall = 2.5;
            let (a, b) = (
                (w - s.la_len) / (s.la_len + wall),
                (v - self.la_shift) / (s.la_r + wall),
            );
            if a * a + b * b <= 1.0 {
                return Region::OtherWall;
            }
        }
        if let Some(rh) = &self.right {
            let rv_r = rh.rv_radius * s.rv_scale;
            let rv_len = rh.rv_semi_len * (0.5 + 0.5 * s.rv_scale);
            let vc = -(s.r + t + p + rv_r + 0.5);
            let uc = s.base - rv_len;
            let (dv, du) = (v - vc, u - uc);
            if u <= s.base {
                let q = (du / rv_len).powi(2) + (dv / rv_r).powi(2);
                if q <= 1.0 {
                    if self.on_leaflets(
                        s,
                        u,
                        v,
                        vc,
                        rv_r * (1.0 - (s.base - uc).powi(2) / (rv_len * rv_len))
                            .max(0.0)
                            .sqrt(),
                    ) {
                        return Region::Valve;
                    }
                    return Region::RightCavity;
                }
                let qw = (du / (rv_len + 3.5)).powi(2) + (dv / (rv_r + 3.5)).powi(2);
                if qw <= 1.0 {
                    return Region::OtherWall;
                }
            } else {
                let w = u - s.base;
                let ra_len = rh.ra_semi_len * (2.0 - s.rv_scale);
                let (a, b) = ((w - ra_len) / ra_len, dv / rh.ra_radius);
                let q = a * a + b * b;
                if q <= 1.0 {
                    return Region::RightCavity;
                }
                let (a2, b2) = ((w - ra_len) / (ra_len + 2.5), dv / (rh.ra_radius + 2.5));
                if a2 * a2 + b2 * b2 <= 1.0 {
                    return Region::OtherWall;
                }
                if self.on_leaflets(s, u, v, vc, 0.0) {
                    return Region::Valve;
                }
            }
        }
        Region::Background
    }

    /// Mitral leaflets: hinged at the annulus, closed across it in systole, swung towards the
    /// apex when open.
    fn on_valve(&self, s: &HeartState, u: f64, v: f64) -> bool {
        let e = (s.base - s.le) / s.le;
        let half = s.r * (1.0 - e * e).max(0.0).sqrt();
        self.on_leaflets(s, u, v, 0.0, half)
    }

    /// Two leaflets hinged at (base, centre ± half).
    fn on_leaflets(&self, s: &HeartState, u: f64, v: f64, centre: f64, half: f64) -> bool {
        if half <= 0.0 || (u - s.base).abs() > half + 2.0 {
            return false;
        }
        let len = half * 0.95;
        // Angle from the line joining the hinges: +15° (sagging into the atrium) when closed,
        // −80° (swung towards the apex) when open.
        let theta = (15.0 - 95.0 * s.valve_open).to_radians();
        let (su, cu) = (theta.sin(), theta.cos());
        for side in [-1.0f64, 1.0] {
            let (hu, hv) = (s.base, centre + side * half);
            let (du, dv) = (su, -side * cu);
            let (pu, pv) = (u - hu, v - hv);
            let along = (pu * du + pv * dv).clamp(0.0, len);
            let (qu, qv) = (pu - along * du, pv - along * dv);
            if qu * qu + qv * qv <= 0.8 * 0.8 {
                return true;
            }
        }
        false
    }
}

/// Contraction over the cycle: `phase` in [0, 1) from ED, `es` the ES phase. Systole is a raised
/// cosine from 0 to 1; diastole has rapid filling back to 0.25, diastasis, and the atrial kick.
pub fn contraction(phase: f64, es: f64) -> f64 {
    let p = phase.rem_euclid(1.0);
    let rc = |x: f64| 0.5 * (1.0 - (std::f64::consts::PI * x.clamp(0.0, 1.0)).cos());
    if p <= es {
        return rc(p / es);
    }
    let filling_end = es + 0.35 * (1.0 - es);
    let kick = 0.86;
    if p <= filling_end {
        1.0 - 0.75 * rc((p - es) / (filling_end - es))
    } else if p <= kick {
        0.25
    } else {
        0.25 * (1.0 - rc((p - kick) / (1.0 - kick)))
    }
}

/// Valve opening over the cycle: closed through systole, open in early diastole, half-closed in
/// diastasis, open again with the atrial kick.
pub fn valve_opening(phase: f64, es: f64) -> f64 {
    let p = phase.rem_euclid(1.0);
    if p <= es {
        0.0
    } else if p <= es + 0.05 {
        (p - es) / 0.05
    } else if p <= 0.7 {
        1.0
    } else if p <= 0.86 {
        0.5
    } else {
        1.0 - (p - 0.86) / 0.14
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radial_shortening_inverts_ef() {
        for ef in [0.3, 0.45, 0.6, 0.75] {
            let s = solve_radial_shortening(ef);
            let got = 1.0 - s * s * (1.0 - LONGITUDINAL_RATIO * (1.0 - s));
            assert!((got - ef).abs() < 1e-9);
        }
    }

    #[test]
    fn area_length_ef_matches_target() {
        let mut rng = SplitMix64::new(3);
        let shape = sample_shape(&mut rng, View::TwoChamber, Sex::Female, 150.0, 0.55);
        let (ed, es) = (shape.lv_volume_ml(0.0), shape.lv_volume_ml(1.0));
        assert!(((ed - es) / ed - 0.55).abs() < 1e-9);
        assert!(ed > 40.0 && ed < 250.0, "{ed}");
    }

    #[test]
    fn contraction_curve_shape() {
        let es = 0.4;
        assert_eq!(contraction(0.0, es), 0.0);
        assert!((contraction(es, es) - 1.0).abs() < 1e-12);
        assert!((contraction(0.75, es) - 0.25).abs() < 1e-12);
        assert!(contraction(0.999, es) < 0.01);
        for i in 0..100 {
            let c = contraction(i as f64 / 100.0, es);
            assert!((0.0..=1.0).contains(&c));
        }
    }

    #[test]
    fn myocardial_area_is_conserved() {
        let mut rng = SplitMix64::new(9);
        let shape = sample_shape(&mut rng, View::FourChamber, Sex::Male, 150.0, 0.6);
        let ed = shape.state(0.0, 0.0);
        let es = shape.state(1.0, 0.0);
        assert!(es.wall > ed.wall * 1.1, "{} {}", es.wall, ed.wall);
    }
}
