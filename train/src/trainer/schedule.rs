//! [`Schedule`]: how the learning rate moves during a phase.

use serde::{Deserialize, Serialize};

/// How the learning rate moves during a phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Schedule {
    /// Constant, cut by [`PhaseConfig::plateau_factor`] whenever validation dice stalls for
    /// [`PhaseConfig::plateau_patience`] epochs.
    #[default]
    Plateau,
    /// Half a cosine from the phase's rate down to [`PhaseConfig::min_lr`] over all of its
    /// epochs, stepped every batch: the same curve whatever validation does, so a run of fixed
    /// epochs is reproducible and its last epoch is as well annealed as it gets.
    Cosine,
}

impl Schedule {
    /// The rate at `progress` ∈ [0, 1] through a phase that starts at `lr` (cosine), or `lr`
    /// itself (plateau: its cuts are made by the trainer).
    pub fn rate(self, lr: f64, min_lr: f64, progress: f64) -> f64 {
        match self {
            Self::Plateau => lr,
            Self::Cosine => {
                let p = progress.clamp(0.0, 1.0);
                min_lr + 0.5 * (lr - min_lr) * (1.0 + (std::f64::consts::PI * p).cos())
            }
        }
    }
}

impl std::str::FromStr for Schedule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "plateau" => Ok(Self::Plateau),
            "cosine" => Ok(Self::Cosine),
            _ => Err(format!(
                "unknown schedule {s:?}: expected plateau or cosine"
            )),
        }
    }
}
