//! The losses and the dice of training: binary cross-entropy + soft dice ([`loss`]) and the
//! thresholded dice of validation.

use super::TrainError;
use tch::{Device, Kind, Tensor};

/// Binary cross-entropy + soft dice, averaged over the batch.
pub fn loss(logits: &Tensor, masks: &Tensor) -> Tensor {
    let logits = logits.to_kind(Kind::Float);
    let bce =
        logits.binary_cross_entropy_with_logits::<Tensor>(masks, None, None, tch::Reduction::Mean);
    let p = logits.sigmoid().flatten(1, -1);
    let t = masks.flatten(1, -1);
    let inter = (&p * &t).sum_dim_intlist(&[1i64][..], false, Kind::Float);
    let denom = p.sum_dim_intlist(&[1i64][..], false, Kind::Float)
        + t.sum_dim_intlist(&[1i64][..], false, Kind::Float);
    let dice = (inter * 2.0 + 1.0) / (denom + 1.0);
    let soft: Tensor = 1.0 - dice;
    bce + soft.mean(Kind::Float)
}

/// Dice per pair of thresholded logits (above `logit`, the threshold's logit) against masks;
/// both empty counts as 1.
pub(super) fn hard_dice(
    logits: &Tensor,
    masks: &Tensor,
    logit: f64,
) -> Result<Vec<f64>, TrainError> {
    let p = logits.gt(logit).to_kind(Kind::Float).flatten(1, -1);
    let t = masks.flatten(1, -1);
    let inter = (&p * &t).sum_dim_intlist(&[1i64][..], false, Kind::Double);
    let denom = p.sum_dim_intlist(&[1i64][..], false, Kind::Double)
        + t.sum_dim_intlist(&[1i64][..], false, Kind::Double);
    let inter = Vec::<f64>::try_from(inter.to_device(Device::Cpu))?;
    let denom = Vec::<f64>::try_from(denom.to_device(Device::Cpu))?;
    Ok(inter
        .iter()
        .zip(&denom)
        .map(|(i, d)| if *d == 0.0 { 1.0 } else { 2.0 * i / d })
        .collect())
}
