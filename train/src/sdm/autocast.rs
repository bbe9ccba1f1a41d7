//! Mixed precision for the denoiser on CUDA: autocast in bfloat16 (no loss scaling needed,
//! unlike fp16). On the CPU, or when turned off, the closure runs in f32 as is.

use std::cell::Cell;

unsafe extern "C" {
    fn synboost_autocast_cuda_bf16(enable: i32) -> i32;
}

thread_local! {
    /// Whether this thread's CUDA autocast dtype was set (libtorch keeps it per thread).
    static BF16_SET: Cell<Option<bool>> = const { Cell::new(None) };
}

/// Run `f` under CUDA autocast in bf16 when `enabled` (and CUDA is present), else as is.
pub fn bf16<T>(enabled: bool, f: impl FnOnce() -> T) -> T {
    if !enabled || !tch::Cuda::is_available() {
        return f();
    }
    // SAFETY: a plain C function compiled in build.rs; it catches every C++ exception.
    let ok = BF16_SET.with(|c| {
        let v = c
            .get()
            .unwrap_or_else(|| unsafe { synboost_autocast_cuda_bf16(1) } == 0);
        c.set(Some(v));
        v
    });
    if !ok {
        log::warn!("could not set the autocast dtype to bf16; training in f32");
        return f();
    }
    tch::autocast(true, f)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_shim_links_and_runs() {
        // Setting the CUDA autocast dtype works without a GPU (it is a thread-local setting).
        // SAFETY: see `bf16`.
        assert_eq!(unsafe { super::synboost_autocast_cuda_bf16(1) }, 0);
        assert_eq!(super::bf16(true, || 3), 3);
    }
}
