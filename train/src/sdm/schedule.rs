//! The noise schedule and the samplers' arithmetic.
//!
//! Cosine schedule (Nichol & Dhariwal, 2021): ᾱ(t) = f(t)/f(0), f(t) = cos²(((t/T)+s)/(1+s)·π/2),
//! s = 0.008, with each βₜ = 1 − ᾱₜ/ᾱₜ₋₁ clipped at 0.999. The network predicts the noise ε of
//! xₜ = √ᾱₜ·x₀ + √(1−ᾱₜ)·ε.
//!
//! Sampling walks a decreasing subsequence τ of the T steps. One step from τᵢ to τᵢ₋₁ (ᾱ of the
//! previous step, 1 after the last) is DDIM's (Song et al., 2021):
//!
//! ```text
//! x̂₀ = clamp((x − √(1−ᾱ)·ε̂)/√ᾱ, −1, 1),  ε̂ re-derived from the clamped x̂₀
//! σ  = η·√((1−ᾱ')/(1−ᾱ))·√(1−ᾱ/ᾱ')
//! x' = √ᾱ'·x̂₀ + √(1−ᾱ'−σ²)·ε̂ + σ·z
//! ```
//!
//! η = 0 is deterministic DDIM; η = 1 is ancestral DDPM sampling on the respaced schedule
//! (its posterior variance β̃), which over all T steps is the original DDPM sampler.

use serde::{Deserialize, Serialize};

/// The cosine schedule's offset s.
const COSINE_S: f64 = 0.008;

/// ᾱ for every training step.
#[derive(Debug, Clone)]
pub struct Schedule {
    alpha_bar: Vec<f64>,
}

impl Schedule {
    /// The cosine schedule over `steps` training steps (at least 2).
    pub fn cosine(steps: usize) -> Self {
        let steps = steps.max(2);
        let f = |t: f64| {
            let v =
                ((t / steps as f64 + COSINE_S) / (1.0 + COSINE_S)) * std::f64::consts::FRAC_PI_2;
            v.cos().powi(2)
        };
        let f0 = f(0.0);
        let mut alpha_bar = Vec::with_capacity(steps);
        let mut prev = 1.0;
        for t in 1..=steps {
            let target = f(t as f64) / f0;
            let beta = (1.0 - target / prev).clamp(0.0, 0.999);
            prev *= 1.0 - beta;
            alpha_bar.push(prev);
        }
        Self { alpha_bar }
    }

    /// Number of training steps T.
    pub fn steps(&self) -> usize {
        self.alpha_bar.len()
    }

    /// ᾱₜ for step t in 0..T (the last step for larger t).
    pub fn alpha_bar(&self, t: usize) -> f64 {
        self.alpha_bar[t.min(self.alpha_bar.len() - 1)]
    }

    /// The `n` steps a sampler visits, decreasing from T−1 to 0, evenly spaced.
    pub fn respaced(&self, n: usize) -> Vec<usize> {
        let t = self.steps();
        let n = n.clamp(1, t);
        let mut v: Vec<usize> = (0..n)
            .map(|i| {
                if n == 1 {
                    t - 1
                } else {
                    ((i as f64) * (t - 1) as f64 / (n - 1) as f64).round() as usize
                }
            })
            .collect();
        v.dedup();
        v.reverse();
        v
    }

    /// Coefficients of one step from `t` to `prev` (`None`: the end, ᾱ' = 1) with noise level
    /// `eta`.
    pub fn step(&self, t: usize, prev: Option<usize>, eta: f64) -> StepCoefs {
        let a = self.alpha_bar(t);
        let ap = prev.map_or(1.0, |p| self.alpha_bar(p));
        let sigma = if prev.is_some() {
            eta * ((1.0 - ap) / (1.0 - a)).max(0.0).sqrt() * (1.0 - a / ap).max(0.0).sqrt()
        } else {
            0.0
        };
        StepCoefs {
            sqrt_a: a.sqrt(),
            sqrt_1ma: (1.0 - a).sqrt(),
            sqrt_ap: ap.sqrt(),
            dir: (1.0 - ap - sigma * sigma).max(0.0).sqrt(),
            sigma,
        }
    }
}

/// Scalars of one sampling step (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepCoefs {
    /// √ᾱ.
    pub sqrt_a: f64,
    /// √(1−ᾱ).
    pub sqrt_1ma: f64,
    /// √ᾱ'.
    pub sqrt_ap: f64,
    /// √(1−ᾱ'−σ²), the weight of ε̂.
    pub dir: f64,
    /// σ, the weight of fresh noise.
    pub sigma: f64,
}

/// Which sampler.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Sampler {
    /// Ancestral DDPM over `steps` respaced steps (T: the original sampler).
    Ddpm {
        /// Steps visited.
        steps: usize,
    },
    /// DDIM over `steps` steps with noise `eta` (0: deterministic).
    Ddim {
        /// Steps visited.
        steps: usize,
        /// η.
        eta: f64,
    },
}

impl Sampler {
    /// Steps visited.
    pub fn steps(&self) -> usize {
        match *self {
            Self::Ddpm { steps } | Self::Ddim { steps, .. } => steps,
        }
    }

    /// η.
    pub fn eta(&self) -> f64 {
        match *self {
            Self::Ddpm { .. } => 1.0,
            Self::Ddim { eta, .. } => eta,
        }
    }
}

impl std::str::FromStr for Sampler {
    type Err = String;

    /// `ddim:50`, `ddim:50:0.5` (η), `ddpm:1000`.
    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split(':').collect();
        let steps = |p: Option<&&str>| -> Result<usize, String> {
            p.ok_or_else(|| format!("{s:?}: give the steps, e.g. ddim:50"))?
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("{s:?}: steps must be a positive integer"))
        };
        match parts.first().copied() {
            Some("ddpm") if parts.len() == 2 => Ok(Self::Ddpm {
                steps: steps(parts.get(1))?,
            }),
            Some("ddim") if (2..=3).contains(&parts.len()) => {
                let eta = match parts.get(2) {
                    Some(e) => e
                        .parse::<f64>()
                        .ok()
                        .filter(|e| (0.0..=1.0).contains(e))
                        .ok_or_else(|| format!("{s:?}: eta must be in [0, 1]"))?,
                    None => 0.0,
                };
                Ok(Self::Ddim {
                    steps: steps(parts.get(1))?,
                    eta,
                })
            }
            _ => Err(format!(
                "{s:?}: expected ddim:STEPS[:ETA] or ddpm:STEPS (e.g. ddim:50, ddpm:1000)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_schedule_falls_from_one_to_nearly_zero() {
        let s = Schedule::cosine(1000);
        assert_eq!(s.steps(), 1000);
        assert!(s.alpha_bar(0) > 0.999);
        assert!(s.alpha_bar(999) < 1e-4);
        assert!((0..999).all(|t| s.alpha_bar(t + 1) < s.alpha_bar(t)));
        // Half-way, the cosine schedule keeps about half the signal power (linear: ~0.08).
        assert!(
            (0.4..0.6).contains(&s.alpha_bar(499)),
            "{}",
            s.alpha_bar(499)
        );
    }

    #[test]
    fn respacing_and_step_coefficients() {
        let s = Schedule::cosine(1000);
        assert_eq!(s.respaced(3), vec![999, 500, 0]);
        assert_eq!(s.respaced(1000).len(), 1000);
        assert_eq!(s.respaced(5000).len(), 1000);
        // DDIM (η = 0) adds no noise; the direction keeps the rest of the variance.
        let c = s.step(500, Some(0), 0.0);
        assert_eq!(c.sigma, 0.0);
        assert!((c.sqrt_ap.powi(2) + c.dir.powi(2) - 1.0).abs() < 1e-12);
        // DDPM on consecutive steps: σ² is the posterior variance β̃ₜ.
        let (t, p) = (500, 499);
        let c = s.step(t, Some(p), 1.0);
        let beta = 1.0 - s.alpha_bar(t) / s.alpha_bar(p);
        let tilde = (1.0 - s.alpha_bar(p)) / (1.0 - s.alpha_bar(t)) * beta;
        assert!((c.sigma.powi(2) - tilde).abs() < 1e-12);
        // The last step lands on x̂₀.
        let end = s.step(0, None, 1.0);
        assert_eq!((end.sqrt_ap, end.dir, end.sigma), (1.0, 0.0, 0.0));
    }

    #[test]
    fn samplers_parse() {
        assert_eq!(
            "ddim:50".parse::<Sampler>().unwrap(),
            Sampler::Ddim {
                steps: 50,
                eta: 0.0
            }
        );
        assert_eq!(
            "ddpm:1000".parse::<Sampler>().unwrap(),
            Sampler::Ddpm { steps: 1000 }
        );
        assert_eq!("ddim:10:0.5".parse::<Sampler>().unwrap().eta(), 0.5);
        for bad in ["ddim", "ddim:0", "ddim:5:2", "ddpm:5:1", "euler:5", ""] {
            assert!(bad.parse::<Sampler>().is_err(), "{bad}");
        }
    }
}
