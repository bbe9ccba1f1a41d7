//! LV volumes and the ejection fraction.
//!
//! - Single-plane area–length: `V = 8A² / (3πL)` (an ellipsoid of revolution with the cavity's
//!   area `A` and long axis `L`).
//! - Simpson's method of discs, single plane: `V = π/4 · Σ dᵢ² · L/N` over `N` = [`DISCS`].
//! - Simpson's biplane method: `V = π/4 · Σ aᵢ bᵢ · L/N`, with `aᵢ` from the two-chamber and
//!   `bᵢ` from the four-chamber view and `L` the longer of the two long axes (ASE/EACVI 2015;
//!   the method of the CAMUS evaluation).
//!
//! Volumes come out in cubic units of the geometry: mm³ (divide by 1000 for ml, [`ml`]) when
//! calibrated, cubic pixels otherwise, where only the ejection fraction means anything.

use super::geometry::{CavityGeometry, DISCS, Units};

/// Single-plane area–length volume from an area and a long-axis length (cubic units).
pub fn area_length(area: f64, length: f64) -> Option<f64> {
    (area.is_finite() && length.is_finite() && area >= 0.0 && length > 0.0)
        .then(|| 8.0 * area * area / (3.0 * std::f64::consts::PI * length))
}

/// Single-plane area–length volume of a cavity.
pub fn area_length_of(g: &CavityGeometry) -> Option<f64> {
    area_length(g.area, g.length)
}

/// Single-plane Simpson volume (discs of diameter `dᵢ`).
pub fn simpson_single(g: &CavityGeometry) -> Option<f64> {
    let sum: f64 = g.diameters.iter().map(|d| d * d).sum();
    let v = std::f64::consts::FRAC_PI_4 * sum * g.length / DISCS as f64;
    (v.is_finite() && g.length > 0.0).then_some(v)
}

/// Biplane Simpson volume from a two-chamber and a four-chamber geometry (elliptic discs of
/// axes `aᵢ`, `bᵢ`), or `None` when their units differ.
pub fn simpson_biplane(two: &CavityGeometry, four: &CavityGeometry) -> Option<f64> {
    if two.units != four.units {
        return None;
    }
    let length = two.length.max(four.length);
    let sum: f64 = two
        .diameters
        .iter()
        .zip(&four.diameters)
        .map(|(a, b)| a * b)
        .sum();
    let v = std::f64::consts::FRAC_PI_4 * sum * length / DISCS as f64;
    (v.is_finite() && length > 0.0).then_some(v)
}

/// Ejection fraction, percent, from the end-diastolic and end-systolic volumes.
pub fn ejection_fraction(edv: f64, esv: f64) -> Option<f64> {
    (edv.is_finite() && esv.is_finite() && edv > 0.0 && esv >= 0.0)
        .then(|| 100.0 * (edv - esv) / edv)
}

/// A volume in ml when it is in mm³ (`None` for pixel units).
pub fn ml(volume: f64, units: Units) -> Option<f64> {
    (units == Units::Millimetres).then_some(volume / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::super::geometry::{Calibration, cavity_geometry, tests::truncated_ellipse};
    use super::*;

    /// Volume of the ellipsoid with semi-axes `c` (long), `a`, `b`, from its apex to `κc`.
    fn truncated_ellipsoid(c: f64, a: f64, b: f64, kappa: f64) -> f64 {
        let s = kappa - 1.0;
        std::f64::consts::PI * a * b * c * (s - s.powi(3) / 3.0 + 2.0 / 3.0)
    }

    #[test]
    fn biplane_simpson_matches_analytic_ellipsoids_within_2_percent() {
        // LV-like shapes: long semi-axis, the two short ones, truncation; and the view tilts
        // and pixel spacings of the two images.
        let cases = [
            (40.0, 20.0, 24.0, 1.7, 0.0, 0.2, 0.3, 0.3),
            (45.0, 22.0, 18.0, 1.6, -0.25, 0.15, 0.25, 0.35),
            (35.0, 15.0, 15.0, 2.0, 0.1, -0.1, 0.4, 0.4),
            (50.0, 26.0, 22.0, 1.75, 0.3, 0.0, 0.3, 0.2),
            (30.0, 10.0, 12.0, 1.5, 0.05, 0.2, 0.2, 0.2),
        ];
        for (c, a, b, kappa, tilt2, tilt4, px2, px4) in cases {
            let view = |r: f64, tilt: f64, px: f64| {
                let cal = Calibration {
                    col: px,
                    row: px * 1.1,
                    units: Units::Millimetres,
                };
                let m = truncated_ellipse((600, 600), cal, [80.0, 10.0], tilt, (c, r, kappa));
                cavity_geometry(&m, cal).unwrap()
            };
            let (two, four) = (view(a, tilt2, px2), view(b, tilt4, px4));
            let v = simpson_biplane(&two, &four).unwrap();
            let want = truncated_ellipsoid(c, a, b, kappa);
            let err = (v - want).abs() / want;
            assert!(
                err < 0.02,
                "{c} {a} {b} {kappa}: {v} vs {want} ({:.2} %)",
                err * 100.0
            );
            // Single plane on a body of revolution (a = b) too.
            let single = simpson_single(&two).unwrap();
            let want = truncated_ellipsoid(c, a, a, kappa);
            let err = (single - want).abs() / want;
            assert!(err < 0.02, "single {c} {a}: {single} vs {want}");
        }
    }

    #[test]
    fn area_length_is_exact_for_a_full_ellipsoid_of_revolution() {
        let (c, a) = (40.0, 18.0);
        let area = std::f64::consts::PI * a * c;
        let v = area_length(area, 2.0 * c).unwrap();
        let want = 4.0 / 3.0 * std::f64::consts::PI * a * a * c;
        assert!((v - want).abs() < 1e-9 * want);
        // And from an image of it.
        let cal = Calibration {
            col: 0.3,
            row: 0.3,
            units: Units::Millimetres,
        };
        let m = truncated_ellipse((400, 400), cal, [60.0, 5.0], 0.15, (c, a, 2.0));
        let g = cavity_geometry(&m, cal).unwrap();
        let v = area_length_of(&g).unwrap();
        assert!((v - want).abs() / want < 0.02, "{v} vs {want}");
    }

    #[test]
    fn ejection_fraction_and_units() {
        assert_eq!(ejection_fraction(100.0, 40.0), Some(60.0));
        assert_eq!(ejection_fraction(0.0, 0.0), None);
        assert_eq!(ejection_fraction(f64::NAN, 1.0), None);
        assert_eq!(ml(120_000.0, Units::Millimetres), Some(120.0));
        assert_eq!(ml(120_000.0, Units::Pixels), None);
        assert_eq!(area_length(10.0, 0.0), None);
    }
}
