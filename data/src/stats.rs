//! Paired tests on per-pair scores: the one-sided Wilcoxon signed-rank test, as the seed's
//! `get_pvalues.py` runs it through `scipy.stats.wilcoxon(new, base, alternative="greater")`
//! with the normal approximation. Zero differences are dropped (scipy's `zero_method="wilcox"`),
//! tied absolute differences get their mean rank and the variance its tie correction, and no
//! continuity correction is applied (scipy's defaults for `method="approx"`).

/// The result of [`wilcoxon_greater`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wilcoxon {
    /// Pairs with a nonzero difference (the others are dropped).
    pub n: usize,
    /// Sum of the ranks of the positive differences (scipy's statistic for `alternative =
    /// "greater"`).
    pub w_plus: f64,
    /// The standardised statistic.
    pub z: f64,
    /// One-sided p-value of "the differences are shifted above 0"; 1 when `n` is 0.
    pub p: f64,
}

/// One-sided Wilcoxon signed-rank test of `diffs` (new − base, one per pair) being greater
/// than zero. Non-finite differences are ignored.
pub fn wilcoxon_greater(diffs: &[f64]) -> Wilcoxon {
    let mut d: Vec<f64> = diffs
        .iter()
        .copied()
        .filter(|x| x.is_finite() && *x != 0.0)
        .collect();
    let n = d.len();
    if n == 0 {
        return Wilcoxon {
            n,
            w_plus: 0.0,
            z: 0.0,
            p: 1.0,
        };
    }
    d.sort_by(|a, b| a.abs().total_cmp(&b.abs()));
    let mut w_plus = 0.0;
    let mut ties = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && d[j].abs() == d[i].abs() {
            j += 1;
        }
        // Ranks i+1 ..= j share their mean.
        let rank = (i + 1 + j) as f64 / 2.0;
        let t = (j - i) as f64;
        ties += t * t * t - t;
        w_plus += rank * d[i..j].iter().filter(|x| **x > 0.0).count() as f64;
        i = j;
    }
    let nf = n as f64;
    let mean = nf * (nf + 1.0) / 4.0;
    let var = nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0 - ties / 48.0;
    let z = if var > 0.0 {
        (w_plus - mean) / var.sqrt()
    } else {
        0.0
    };
    Wilcoxon {
        n,
        w_plus,
        z,
        p: normal_sf(z),
    }
}

/// The standard normal's upper tail, P(Z > z).
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The complementary error function (W. J. Cody's rational approximations, as in most libms;
/// relative error below 1e-15 over the real line). The coefficients are the published ones,
/// digit for digit.
#[allow(clippy::excessive_precision)]
fn erfc(x: f64) -> f64 {
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x < 0.5 {
        return 1.0 - erf_small(x);
    }
    if x < 4.0 {
        const P: [f64; 9] = [
            5.641_884_969_886_700_9e-1,
            8.883_149_794_388_376e0,
            6.611_919_063_714_163e1,
            2.986_351_381_974_001_3e2,
            8.819_522_212_417_69e2,
            1.712_047_612_634_070_7e3,
            2.051_078_377_826_071_6e3,
            1.230_339_354_797_997_2e3,
            2.153_115_354_744_038_3e-8,
        ];
        const Q: [f64; 8] = [
            1.574_492_611_070_983_5e1,
            1.176_939_508_913_125e2,
            5.371_811_018_620_099e2,
            1.621_389_574_566_690_3e3,
            3.290_799_235_733_459_7e3,
            4.362_619_090_143_247e3,
            3.439_367_674_143_721_6e3,
            1.230_339_354_803_749_5e3,
        ];
        let mut num = P[8] * x;
        let mut den = x;
        for i in 0..7 {
            num = (num + P[i]) * x;
            den = (den + Q[i]) * x;
        }
        return (-x * x).exp() * (num + P[7]) / (den + Q[7]);
    }
    const P: [f64; 6] = [
        3.053_266_349_612_323_4e-1,
        3.603_448_999_498_044_4e-1,
        1.257_817_261_112_292_6e-1,
        1.608_378_514_874_227_6e-2,
        6.587_491_615_298_378e-4,
        1.631_538_713_730_709_7e-2,
    ];
    const Q: [f64; 5] = [
        2.568_520_192_289_822,
        1.872_952_849_923_460_4,
        5.279_051_029_514_284e-1,
        6.051_834_131_244_132e-2,
        2.335_204_976_268_691_8e-3,
    ];
    let z = 1.0 / (x * x);
    let mut num = P[5] * z;
    let mut den = z;
    for i in 0..4 {
        num = (num + P[i]) * z;
        den = (den + Q[i]) * z;
    }
    let r = z * (num + P[4]) / (den + Q[4]);
    let r = (1.0 / std::f64::consts::PI.sqrt() - r) / x;
    (-x * x).exp() * r
}

/// erf for |x| < 0.5 (Cody's first range).
#[allow(clippy::excessive_precision)]
fn erf_small(x: f64) -> f64 {
    const A: [f64; 5] = [
        3.161_123_743_870_565_6e0,
        1.138_641_541_510_501_6e2,
        3.774_852_376_853_020_2e2,
        3.209_377_589_138_469_5e3,
        1.857_777_061_846_031_5e-1,
    ];
    const B: [f64; 4] = [
        2.360_129_095_234_412_3e1,
        2.440_246_379_344_441_7e2,
        1.282_616_526_077_372_3e3,
        2.844_236_833_439_170_6e3,
    ];
    let z = x * x;
    let mut num = A[4] * z;
    let mut den = z;
    for i in 0..3 {
        num = (num + A[i]) * z;
        den = (den + B[i]) * z;
    }
    x * (num + A[3]) / (den + B[3])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_tail_matches_known_values() {
        // Φ̄(z) from tables / scipy.stats.norm.sf.
        for (z, want) in [
            (0.0, 0.5),
            (1.0, 0.158_655_253_931_457_05),
            (1.959_963_984_540_054, 0.025),
            (2.505_579_604_665_026_5, 0.006_112_543_793_728_684),
            (-1.0, 0.841_344_746_068_543),
            (0.3, 0.382_088_577_811_047_1),
            (5.0, 2.866_515_718_791_939e-7),
        ] {
            let got = normal_sf(z);
            assert!(
                (got - want).abs() <= 1e-12_f64.max(want * 1e-9),
                "sf({z}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn wilcoxon_matches_scipy() {
        // scipy 1.17.1: wilcoxon(b, a, alternative="greater", method="approx") →
        // statistic 51.5, pvalue 0.006112543793728684, zstatistic 2.5055796046650265
        // (one zero difference dropped, ties among the 0.01s).
        let a = [
            0.91, 0.88, 0.93, 0.85, 0.90, 0.87, 0.92, 0.89, 0.86, 0.94, 0.90, 0.88,
        ];
        let b = [
            0.92, 0.88, 0.95, 0.86, 0.89, 0.90, 0.93, 0.91, 0.86, 0.95, 0.93, 0.89,
        ];
        let d: Vec<f64> = b.iter().zip(&a).map(|(b, a)| b - a).collect();
        let w = wilcoxon_greater(&d);
        assert_eq!(w.n, 10);
        assert_eq!(w.w_plus, 51.5);
        assert!((w.z - 2.505_579_604_665_026_5).abs() < 1e-12, "{w:?}");
        assert!((w.p - 0.006_112_543_793_728_684).abs() < 1e-12, "{w:?}");
        // The other direction is not significant.
        let back: Vec<f64> = d.iter().map(|x| -x).collect();
        assert!(wilcoxon_greater(&back).p > 0.99);
        // Nothing to test.
        assert_eq!(wilcoxon_greater(&[0.0, 0.0]).p, 1.0);
    }
}
