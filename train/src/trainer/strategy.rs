//! [`Strategy`]: which data the phases of a run train on.

use serde::{Deserialize, Serialize};

/// Training strategies of the paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Real images only.
    Real,
    /// Synthetic images only.
    Synthetic,
    /// Pretrain on synthetic, finetune on real.
    PtFt,
    /// Real and synthetic images mixed in one phase (a model that must segment both).
    Mixed,
}

impl std::str::FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "real" => Ok(Self::Real),
            "synthetic" => Ok(Self::Synthetic),
            "pt-ft" => Ok(Self::PtFt),
            "mixed" => Ok(Self::Mixed),
            _ => Err(format!(
                "unknown strategy {s:?}: expected real, synthetic, pt-ft or mixed"
            )),
        }
    }
}
