//! The networks the trainer and the evaluator run: the deployable [`Student`] or a
//! [`Teacher`], behind one [`Network`] with its [`Architecture`] (what a run folder records, so
//! that its weights can be rebuilt).

use crate::student::{Student, StudentError};
use crate::teacher::{Teacher, TeacherConfig, TeacherError};
use serde::{Deserialize, Serialize};
use synboost_core::model::spec::ModelSpec;
use synboost_core::preprocess::Fit;
use tch::{Tensor, nn};

/// Errors of either kind of network.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The student failed.
    #[error(transparent)]
    Student(#[from] StudentError),
    /// A teacher failed.
    #[error(transparent)]
    Teacher(#[from] TeacherError),
}

/// What to build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    /// The deployable student.
    Student(ModelSpec),
    /// A teacher.
    Teacher(TeacherConfig),
}

impl Architecture {
    /// Model input (width, height), pixels.
    pub fn input(&self) -> (usize, usize) {
        match self {
            Self::Student(s) => (s.input.width, s.input.height),
            Self::Teacher(t) => (t.input(), t.input()),
        }
    }

    /// How frames are fitted to the input.
    pub fn fit(&self) -> Fit {
        match self {
            Self::Student(s) => s.input.fit,
            Self::Teacher(_) => Fit::Stretch,
        }
    }

    /// Most prompt tokens the model takes.
    pub fn max_len(&self) -> usize {
        match self {
            Self::Student(s) => s.text.max_len,
            Self::Teacher(t) => t.context().saturating_sub(1),
        }
    }

    /// Words its token table holds.
    pub fn vocab_size(&self) -> usize {
        match self {
            Self::Student(s) => s.text.vocab_size,
            Self::Teacher(t) => t.vocab_size(),
        }
    }

    /// Probability threshold of its masks.
    pub fn threshold(&self) -> f32 {
        match self {
            Self::Student(_) => 0.5,
            Self::Teacher(t) => t.threshold(),
        }
    }

    /// A short name for logs and reports (`student`, `clipseg`, `cris`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Student(_) => "student",
            Self::Teacher(t) => match t.kind() {
                crate::teacher::TeacherKind::ClipSeg => "clipseg",
                crate::teacher::TeacherKind::Cris => "cris",
            },
        }
    }

    /// The student's spec, if this is the student.
    pub fn student(&self) -> Option<&ModelSpec> {
        match self {
            Self::Student(s) => Some(s),
            Self::Teacher(_) => None,
        }
    }

    /// Build the network's variables under `root`.
    pub fn build(&self, root: &nn::Path<'_>) -> Result<Network, ModelError> {
        Ok(match self {
            Self::Student(s) => Network::Student(Student::new(root, s)?),
            Self::Teacher(t) => Network::Teacher(Teacher::new(root, t)?),
        })
    }
}

/// Accepts run states written before teachers existed (`"spec": {student spec}`).
#[derive(Deserialize)]
#[serde(untagged)]
enum ArchitectureRepr {
    Tagged(Architecture),
    Legacy(ModelSpec),
}

/// Deserialise an [`Architecture`], also from a bare student spec.
pub fn deserialize_architecture<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Architecture, D::Error> {
    Ok(match ArchitectureRepr::deserialize(d)? {
        ArchitectureRepr::Tagged(a) => a,
        ArchitectureRepr::Legacy(s) => Architecture::Student(s),
    })
}

/// A built network.
#[derive(Debug)]
pub enum Network {
    /// The deployable student.
    Student(Student),
    /// A teacher.
    Teacher(Teacher),
}

impl Network {
    /// What it is.
    pub fn architecture(&self) -> Architecture {
        match self {
            Self::Student(s) => Architecture::Student(s.spec().clone()),
            Self::Teacher(t) => Architecture::Teacher(t.config()),
        }
    }

    /// Frames `[B, 1, H, W]` (0–255) and token ids `[B, L]` → logits `[B, 1, H, W]` at the
    /// model input; `train` switches dropout and batch-norm statistics (the student has
    /// neither).
    pub fn forward_t(
        &self,
        frames: &Tensor,
        tokens: &Tensor,
        train: bool,
    ) -> Result<Tensor, ModelError> {
        Ok(match self {
            Self::Student(s) => s.forward(frames, tokens)?,
            Self::Teacher(t) => t.forward_t(frames, tokens, train)?,
        })
    }

    /// Model input (width, height), without building an [`Architecture`] (per-batch use).
    pub fn input(&self) -> (usize, usize) {
        match self {
            Self::Student(s) => (s.spec().input.width, s.spec().input.height),
            Self::Teacher(t) => (t.input(), t.input()),
        }
    }

    /// Probability threshold of its masks.
    pub fn threshold(&self) -> f32 {
        match self {
            Self::Student(_) => 0.5,
            Self::Teacher(t) => t.threshold(),
        }
    }

    /// The student, if this is it.
    pub fn as_student(&self) -> Option<&Student> {
        match self {
            Self::Student(s) => Some(s),
            Self::Teacher(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_run_states_read_as_students() {
        let spec = ModelSpec::tiny(10, 8);
        let legacy = serde_json::to_value(&spec).unwrap();
        #[derive(Deserialize)]
        struct S {
            #[serde(deserialize_with = "deserialize_architecture")]
            a: Architecture,
        }
        let s: S = serde_json::from_value(serde_json::json!({ "a": legacy })).unwrap();
        assert_eq!(s.a, Architecture::Student(spec.clone()));
        let tagged = serde_json::to_value(Architecture::Student(spec.clone())).unwrap();
        let s: S = serde_json::from_value(serde_json::json!({ "a": tagged })).unwrap();
        assert_eq!(s.a, Architecture::Student(spec));
    }
}
