//! `libsynboost.so`: the stable C ABI over `synboost-core` (header: `include/synboost.h`,
//! generated from this crate by cbindgen and checked in CI; C++17 wrapper:
//! `include/synboost.hpp`).
//!
//! Conventions (after ONNX Runtime, TurboJPEG and tract-ffi):
//! - opaque handles (`sb_engine`, `sb_stream`, `sb_result`) are created through an `**out`
//!   argument and destroyed through `**p`, which is set to NULL (destroying NULL is a no-op);
//! - every call returns an `sb_status`; the message of a failure is in the thread-local
//!   `sb_last_error()` and in the handle's `sb_*_last_error()`;
//! - structs passed in or filled start with `struct_size` (set it to `sizeof`, or get
//!   defaults from the `*_defaults` functions), so they can grow without breaking callers;
//! - every entry point checks its pointers, sizes, strides and enum values, and catches
//!   panics: the host is never aborted.
#![deny(missing_docs)]
#![allow(non_camel_case_types)]

pub mod engine;
pub mod log;
pub mod measure;
pub mod result;
pub mod status;
pub mod stream;
pub mod types;

use std::ffi::c_char;

/// Version of the C ABI: bumped when a function or struct changes incompatibly.
pub const SB_ABI_VERSION: u32 = 1;

/// NUL-terminated version string of the library, e.g. `0.1.0`.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The library's version, e.g. "0.1.0".
///
/// @return A static NUL-terminated string; never NULL, never to be freed.
#[unsafe(no_mangle)]
pub extern "C" fn sb_version() -> *const c_char {
    VERSION.as_ptr().cast()
}

/// The C ABI version this library implements.
///
/// A host compares it with the SB_ABI_VERSION of the header it was compiled with: a library
/// with another ABI version is not compatible with that host.
///
/// @return The SB_ABI_VERSION of the library's own header.
#[unsafe(no_mangle)]
pub extern "C" fn sb_abi_version() -> u32 {
    SB_ABI_VERSION
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_is_nul_terminated() {
        let s = unsafe { std::ffi::CStr::from_ptr(super::sb_version()) };
        assert_eq!(s.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
        assert_eq!(super::sb_abi_version(), super::SB_ABI_VERSION);
    }
}
