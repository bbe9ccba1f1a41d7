//! `libsynboost.so`: the C ABI over `synboost-core`. Handles, streams and results arrive with
//! the streaming issue; this crate starts with the version query every client calls first.
#![deny(missing_docs)]

use std::ffi::c_char;

/// NUL-terminated version string of the library, e.g. `0.1.0`.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The library version as a static NUL-terminated string; never NULL, never to be freed.
#[unsafe(no_mangle)]
pub extern "C" fn sb_version() -> *const c_char {
    VERSION.as_ptr().cast()
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_is_nul_terminated() {
        let s = unsafe { std::ffi::CStr::from_ptr(super::sb_version()) };
        assert_eq!(s.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
