//! Agreement between measured and reference values (Pearson correlation, bias, mean absolute
//! difference), for checking measurements against ground truth.

use serde::{Deserialize, Serialize};

/// How well predicted values follow reference ones.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    /// Pairs.
    pub n: usize,
    /// Pearson correlation coefficient (NaN with fewer than two pairs or no variance).
    pub pearson_r: f64,
    /// Mean of predicted − reference.
    pub bias: f64,
    /// Mean |predicted − reference|.
    pub mean_abs_diff: f64,
    /// Population standard deviation of predicted − reference (Bland–Altman spread).
    pub sd_diff: f64,
}

impl Agreement {
    /// From `(predicted, reference)` pairs; non-finite pairs are left out.
    pub fn of(pairs: impl IntoIterator<Item = (f64, f64)>) -> Self {
        let p: Vec<(f64, f64)> = pairs
            .into_iter()
            .filter(|(a, b)| a.is_finite() && b.is_finite())
            .collect();
        let n = p.len();
        if n == 0 {
            return Self {
                n,
                pearson_r: f64::NAN,
                bias: f64::NAN,
                mean_abs_diff: f64::NAN,
                sd_diff: f64::NAN,
            };
        }
        let nf = n as f64;
        let (ma, mb) = p
            .iter()
            .fold((0.0, 0.0), |(x, y), (a, b)| (x + a / nf, y + b / nf));
        let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
        for (a, b) in &p {
            sab += (a - ma) * (b - mb);
            saa += (a - ma) * (a - ma);
            sbb += (b - mb) * (b - mb);
        }
        let pearson_r = if n >= 2 && saa > 0.0 && sbb > 0.0 {
            sab / (saa * sbb).sqrt()
        } else {
            f64::NAN
        };
        let bias = p.iter().map(|(a, b)| a - b).sum::<f64>() / nf;
        let mean_abs_diff = p.iter().map(|(a, b)| (a - b).abs()).sum::<f64>() / nf;
        let sd_diff = (p.iter().map(|(a, b)| (a - b - bias).powi(2)).sum::<f64>() / nf).sqrt();
        Self {
            n,
            pearson_r,
            bias,
            mean_abs_diff,
            sd_diff,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_linear_and_empty() {
        let a = Agreement::of([(1.0, 2.0), (2.0, 3.0), (3.0, 4.0)]);
        assert!((a.pearson_r - 1.0).abs() < 1e-12);
        assert!((a.bias + 1.0).abs() < 1e-12 && (a.mean_abs_diff - 1.0).abs() < 1e-12);
        assert!(a.sd_diff.abs() < 1e-12);
        let b = Agreement::of([(1.0, 3.0), (2.0, 2.0), (3.0, 1.0), (f64::NAN, 0.0)]);
        assert_eq!(b.n, 3);
        assert!((b.pearson_r + 1.0).abs() < 1e-12);
        assert!(Agreement::of([]).pearson_r.is_nan());
        assert!(Agreement::of([(1.0, 1.0), (1.0, 2.0)]).pearson_r.is_nan());
    }
}
