//! [`Prediction`]: one scored pair kept for pictures.

use synboost_core::prompt::PromptKind;
use synboost_core::raster::{GrayImage, Mask};
use synboost_core::structure::Structure;

/// One kept prediction, at the sample's resolution (for overlay pictures).
#[derive(Debug, Clone)]
pub struct Prediction {
    /// Sample id.
    pub id: String,
    /// Structure.
    pub structure: Structure,
    /// Prompt kind.
    pub kind: PromptKind,
    /// Dice of this pair, in [0, 1].
    pub dice: f64,
    /// The sample's image.
    pub image: GrayImage,
    /// Ground truth.
    pub truth: Mask,
    /// Prediction after postprocessing.
    pub predicted: Mask,
}
