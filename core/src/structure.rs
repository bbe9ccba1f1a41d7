//! The cardiac structures the models segment, numbered as in CAMUS and the seed.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A segmented cardiac structure. The numbers are CAMUS label values and the seed's `mask_N`
/// folder numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Structure {
    /// Label 1: left ventricular cavity (endocardium).
    LvCavity,
    /// Label 2: myocardium (left ventricular wall).
    Myocardium,
    /// Label 3: left atrium cavity.
    LaCavity,
}

impl Structure {
    /// All structures in label order.
    pub const ALL: [Structure; 3] = [Self::LvCavity, Self::Myocardium, Self::LaCavity];

    /// The CAMUS label value (1..=3).
    pub fn label(self) -> u8 {
        match self {
            Self::LvCavity => 1,
            Self::Myocardium => 2,
            Self::LaCavity => 3,
        }
    }

    /// The structure for a CAMUS label value, `None` for 0 (background) or anything above 3.
    pub fn from_label(label: u8) -> Option<Self> {
        match label {
            1 => Some(Self::LvCavity),
            2 => Some(Self::Myocardium),
            3 => Some(Self::LaCavity),
            _ => None,
        }
    }

    /// Zero-based index (label − 1), for arrays indexed by structure.
    pub fn index(self) -> usize {
        usize::from(self.label() - 1)
    }

    /// The name that starts every seed prompt for this structure.
    pub fn prompt_name(self) -> &'static str {
        match self {
            Self::LvCavity => "Left ventricular cavity",
            Self::Myocardium => "Myocardium",
            Self::LaCavity => "Left atrium cavity",
        }
    }

    /// A short code for file names and reports: `lv`, `myo`, `la`.
    pub fn code(self) -> &'static str {
        match self {
            Self::LvCavity => "lv",
            Self::Myocardium => "myo",
            Self::LaCavity => "la",
        }
    }
}

impl fmt::Display for Structure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prompt_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip() {
        for s in Structure::ALL {
            assert_eq!(Structure::from_label(s.label()), Some(s));
            assert_eq!(Structure::ALL[s.index()], s);
        }
        assert_eq!(Structure::from_label(0), None);
        assert_eq!(Structure::from_label(4), None);
    }
}
