//! [`Distillation`]: a trained teacher's logits as a second target of the student.

use super::TrainError;
use crate::model::Network;
use crate::provenance::Provenance;
use tch::{Kind, Tensor};

/// Distillation from a trained teacher into the network being trained.
#[derive(Debug)]
pub struct Distillation {
    /// The teacher (its weights are not changed).
    pub teacher: Network,
    /// Softening temperature T (≥ 1 softens).
    pub temperature: f64,
    /// Weight w of the teacher term, in [0, 1].
    pub weight: f64,
    /// What the teacher's weights were made from: the student's weights are made from it too.
    pub provenance: Provenance,
}

impl Distillation {
    /// The teacher's logits for a batch at the student's input size, shifted so that its
    /// threshold maps to probability 0.5.
    pub(super) fn targets(&self, images: &Tensor, tokens: &Tensor) -> Result<Tensor, TrainError> {
        let (tw, th) = self.teacher.input();
        let s = images.size();
        let (h, w) = (s[2], s[3]);
        let frames = images.to_kind(Kind::Float);
        let frames = if (tw as i64, th as i64) == (w, h) {
            frames
        } else {
            frames.upsample_bilinear2d([th as i64, tw as i64], false, None, None)
        };
        let t = tch::no_grad(|| self.teacher.forward_t(&frames, tokens, false))?;
        let t = if t.size()[2..] == [h, w] {
            t
        } else {
            t.upsample_bilinear2d([h, w], false, None, None)
        };
        let thr = f64::from(self.teacher.threshold());
        Ok(t.to_kind(Kind::Float) - (thr / (1.0 - thr)).ln())
    }

    /// `T² · BCE(s / T, σ(t / T))`, averaged.
    pub(super) fn loss(&self, student: &Tensor, teacher: &Tensor) -> Tensor {
        let t = self.temperature;
        let soft = (teacher / t).sigmoid();
        (student.to_kind(Kind::Float) / t).binary_cross_entropy_with_logits::<Tensor>(
            &soft,
            None,
            None,
            tch::Reduction::Mean,
        ) * (t * t)
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return Err(format!("temperature {} must be > 0", self.temperature));
        }
        if !(0.0..=1.0).contains(&self.weight) {
            return Err(format!(
                "distillation weight {} must be in [0, 1]",
                self.weight
            ));
        }
        Ok(())
    }
}
