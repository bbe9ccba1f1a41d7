//! The library's threads: every thread it starts (stream workers, delivery, the result
//! callback's thread, tract's inference pool) gets the same stack as a thread the host would
//! start itself, so that host code called back on them (result and log callbacks) has the
//! room it has on its own threads.
//!
//! Rust starts threads with 2 MiB; glibc gives a new pthread the soft `RLIMIT_STACK` (usually
//! 8 MiB). [`stack_size`] is the larger of [`MIN_STACK_BYTES`] and that limit, capped at
//! [`MAX_STACK_BYTES`]. The memory is reserved, not touched: a thread uses only what it needs.

use std::io;
use std::thread::{Builder, JoinHandle};

/// The least stack a library thread gets: 8 MiB, glibc's usual default for new threads.
pub const MIN_STACK_BYTES: usize = 8 << 20;
/// The most: 256 MiB, whatever `RLIMIT_STACK` says (an unlimited limit gets this).
pub const MAX_STACK_BYTES: usize = 256 << 20;

/// The stack size of every thread the library starts (see the module documentation).
pub fn stack_size() -> usize {
    platform_stack().clamp(MIN_STACK_BYTES, MAX_STACK_BYTES)
}

#[cfg(unix)]
fn platform_stack() -> usize {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut r) } != 0 {
        return MIN_STACK_BYTES;
    }
    if r.rlim_cur == libc::RLIM_INFINITY {
        return MAX_STACK_BYTES;
    }
    usize::try_from(r.rlim_cur).unwrap_or(MAX_STACK_BYTES)
}

#[cfg(not(unix))]
fn platform_stack() -> usize {
    MIN_STACK_BYTES
}

/// Start a named library thread with [`stack_size`].
pub fn spawn<F, T>(name: String, f: F) -> io::Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Builder::new().name(name).stack_size(stack_size()).spawn(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_get_at_least_eight_mib_and_can_use_them() {
        assert!(stack_size() >= MIN_STACK_BYTES);
        // 6 MiB on the stack: a 2 MiB thread (Rust's default) would overflow.
        let h = spawn("stack-test".into(), || {
            let buf = [7u8; 6 << 20];
            std::hint::black_box(&buf)
                .iter()
                .map(|&b| u64::from(b))
                .sum::<u64>()
        })
        .unwrap();
        assert_eq!(h.join().unwrap(), 7 * (6 << 20));
    }
}
