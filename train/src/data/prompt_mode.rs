//! How each training pair's prompt is chosen: the prompt kind ([`PromptMode`]: one kind, or a
//! mix drawn per pair) and the wording ([`WordingMode`]).

use super::PipelineError;
use std::fmt;
use std::str::FromStr;
use synboost_core::prompt::{PromptError, PromptKind, PromptScheme, Wording};

/// How prompt kinds are chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptMode {
    /// Always this kind (degraded per pair where the metadata lacks an attribute).
    Fixed(PromptKind),
    /// Drawn uniformly per pair from the list; kinds the scheme does not have (P7 of
    /// [`PromptScheme::Synthetic`]) are left out.
    Mix(Vec<PromptKind>),
}

impl PromptMode {
    /// The kinds this mode draws from under `scheme`, in order (duplicates kept: they weigh).
    pub fn kinds(&self, scheme: PromptScheme) -> Vec<PromptKind> {
        let all = match self {
            Self::Fixed(k) => std::slice::from_ref(k),
            Self::Mix(ks) => ks.as_slice(),
        };
        all.iter()
            .copied()
            .filter(|k| k.fields(scheme).is_some())
            .collect()
    }
}

impl fmt::Display for PromptMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fixed(k) => write!(f, "{k}"),
            Self::Mix(ks) => {
                let names: Vec<String> = ks.iter().map(|k| k.to_string()).collect();
                write!(f, "mix({})", names.join(","))
            }
        }
    }
}

impl FromStr for PromptMode {
    type Err = PromptError;
    /// `p3` (or `P3`, `3`): fixed; `mix`: every kind P0..P7 (those of the scheme are used);
    /// `p1,p3,p5`: a mix of these.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("mix") {
            return Ok(Self::Mix(PromptKind::ALL.to_vec()));
        }
        if t.contains(',') {
            let kinds = t
                .split(',')
                .map(str::parse)
                .collect::<Result<Vec<PromptKind>, _>>()?;
            return Ok(Self::Mix(kinds));
        }
        t.parse().map(Self::Fixed)
    }
}

/// How the wording of each prompt is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WordingMode {
    /// Each pair draws [`Wording::Heart`] or [`Wording::CardiacUltrasound`] 50/50, as the seed
    /// did.
    Random,
    /// Always this wording.
    Fixed(Wording),
}

impl FromStr for WordingMode {
    type Err = PipelineError;
    /// `random`, `heart` or `ultrasound` (also `cardiac_ultrasound`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "random" => Ok(Self::Random),
            "heart" => Ok(Self::Fixed(Wording::Heart)),
            "ultrasound" | "cardiac_ultrasound" | "cardiac-ultrasound" => {
                Ok(Self::Fixed(Wording::CardiacUltrasound))
            }
            other => Err(PipelineError::Config(format!(
                "unknown wording {other:?} (expected random, heart or ultrasound)"
            ))),
        }
    }
}
