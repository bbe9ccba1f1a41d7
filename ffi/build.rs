//! Link settings of libsynboost.so: its soname, so that programs record `libsynboost.so.0`
//! and keep working across compatible releases.
// A build script reports failure by panicking (cargo shows the message).
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libsynboost.so.0");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
