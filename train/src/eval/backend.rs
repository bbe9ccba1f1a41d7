//! [`Backend`]: what computes an evaluation's logits, a tch network or a bundle in core's
//! engine.

use super::EvalError;
use super::run::Pending;
use crate::model::Network;
use synboost_core::engine::Engine;
use tch::{Device, Kind, Tensor};

/// What computes the logits of an evaluation.
pub enum Backend<'a> {
    /// A tch network (its variables on the device).
    Torch(&'a Network, Device),
    /// A model bundle in core's engine (tract): the f32 or int8 graph as it ships.
    Bundle(&'a mut Engine),
}

/// Logits of the queued pairs from a tch network, flattened.
pub(super) fn torch_logits(
    model: &Network,
    device: Device,
    queue: &[Pending],
    (mw, mh): (usize, usize),
    len: usize,
) -> Result<Vec<f32>, EvalError> {
    let b = queue.len();
    let mut frames = Vec::with_capacity(b * mw * mh);
    let mut tokens = Vec::with_capacity(b * len);
    for p in queue {
        frames.extend_from_slice(&p.sample.input);
        tokens.extend_from_slice(&p.tokens);
    }
    let dims = [b as i64, 1, mh as i64, mw as i64];
    let ft = Tensor::from_slice(&frames)
        .f_view(dims)?
        .f_to_device(device)?;
    let tt = Tensor::from_slice(&tokens)
        .f_view([b as i64, len as i64])?
        .f_to_device(device)?;
    let logits = model.forward_t(&ft, &tt, false)?;
    if logits.size() != dims {
        return Err(EvalError::LogitShape {
            expected: dims.to_vec(),
            found: logits.size(),
        });
    }
    let flat = logits
        .f_to_device(Device::Cpu)?
        .f_to_kind(Kind::Float)?
        .f_flatten(0, -1)?;
    Ok(Vec::<f32>::try_from(&flat)?)
}
