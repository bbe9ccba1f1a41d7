//! libtorch runtime checks: which libtorch is linked and what it can do.

use tch::{Device, Tensor};

/// Errors of the libtorch runtime.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// libtorch raised an error.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

/// A one-line description of the linked libtorch, e.g. for `--version` output and logs.
pub fn describe() -> String {
    format!(
        "libtorch (tch {}) threads={} cuda={} devices={}",
        TCH_VERSION,
        tch::get_num_threads(),
        tch::Cuda::is_available(),
        tch::Cuda::device_count()
    )
}

/// Version of the tch crate this binary was built with.
pub const TCH_VERSION: &str = "0.24.0";

/// Run a small matrix product on `device` and return the result's sum, to prove libtorch works.
pub fn smoke(device: Device) -> Result<f64, RuntimeError> {
    let a = Tensor::f_arange(6i64, (tch::Kind::Float, device))?.f_reshape([2, 3])?;
    let b = a.f_transpose(0, 1)?;
    let c = a.f_matmul(&b)?;
    Ok(c.f_sum(tch::Kind::Double)?.f_double_value(&[])?)
}
