//! libtorch runtime checks: which libtorch is linked and what it can do.

use tch::{Device, Tensor};

/// Errors of the libtorch runtime.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// libtorch raised an error.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// CUDA was asked for and cannot be used.
    #[error(
        "CUDA was asked for but is not available: {0}. Run with --device cpu, or put the lib folder of a CUDA build of torch 2.11 (e.g. site-packages/torch/lib) on LD_LIBRARY_PATH"
    )]
    NoCuda(String),
    /// An unknown device name.
    #[error("unknown device {0:?}: expected cpu, cuda, cuda:N or auto")]
    UnknownDevice(String),
}

/// Which device to train on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceRequest {
    /// The CPU.
    Cpu,
    /// CUDA device N (an error if absent).
    Cuda(usize),
    /// CUDA device 0 when usable, else the CPU.
    #[default]
    Auto,
}

impl std::str::FromStr for DeviceRequest {
    type Err = RuntimeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda(0)),
            "auto" => Ok(Self::Auto),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(Self::Cuda)
                .ok_or_else(|| RuntimeError::UnknownDevice(s.to_string())),
        }
    }
}

/// Load libtorch's CUDA library, which the linker drops (nothing references it directly), so
/// that one binary serves CPU and CUDA machines. Returns why it failed, if it did.
pub fn load_cuda() -> Result<(), String> {
    let name = c"libtorch_cuda.so";
    // SAFETY: dlopen with a valid NUL-terminated name; the handle is deliberately kept open
    // for the life of the process (libtorch registers its CUDA backend at load time).
    let handle = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
    if handle.is_null() {
        // SAFETY: dlerror returns a thread-local message or null.
        let msg = unsafe { libc::dlerror() };
        let text = if msg.is_null() {
            "dlopen failed".to_string()
        } else {
            // SAFETY: a non-null dlerror result is a valid C string.
            unsafe { std::ffi::CStr::from_ptr(msg) }
                .to_string_lossy()
                .into_owned()
        };
        return Err(text);
    }
    Ok(())
}

/// Resolve a request to a device, loading CUDA support when it is wanted.
pub fn select_device(req: DeviceRequest) -> Result<Device, RuntimeError> {
    match req {
        DeviceRequest::Cpu => Ok(Device::Cpu),
        DeviceRequest::Cuda(n) => {
            load_cuda().map_err(RuntimeError::NoCuda)?;
            let count = tch::Cuda::device_count();
            if !tch::Cuda::is_available() || (n as i64) >= count {
                return Err(RuntimeError::NoCuda(format!(
                    "libtorch_cuda.so loaded, {count} CUDA device(s) visible, device {n} asked"
                )));
            }
            Ok(Device::Cuda(n))
        }
        DeviceRequest::Auto => match load_cuda() {
            Ok(()) if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
            Ok(()) => {
                log::info!("libtorch_cuda.so loaded but no CUDA device: using the CPU");
                Ok(Device::Cpu)
            }
            Err(why) => {
                log::info!("no CUDA ({why}): using the CPU");
                Ok(Device::Cpu)
            }
        },
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_parse() {
        assert_eq!("cpu".parse::<DeviceRequest>().unwrap(), DeviceRequest::Cpu);
        assert_eq!(
            "cuda:1".parse::<DeviceRequest>().unwrap(),
            DeviceRequest::Cuda(1)
        );
        assert_eq!(
            "auto".parse::<DeviceRequest>().unwrap(),
            DeviceRequest::Auto
        );
        assert!("gpu".parse::<DeviceRequest>().is_err());
    }

    #[test]
    fn auto_always_gives_a_device_and_cuda_is_clear_when_absent() {
        let d = select_device(DeviceRequest::Auto).unwrap();
        if d == Device::Cpu {
            let e = select_device(DeviceRequest::Cuda(0))
                .unwrap_err()
                .to_string();
            assert!(e.contains("CUDA was asked for"), "{e}");
        }
    }
}
