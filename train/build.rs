//! 1. Embed the libtorch library folder as an rpath, so binaries and tests run without
//!    LD_LIBRARY_PATH. torch-sys exports the folder as `DEP_TCH_LIBTORCH_LIB`.
//! 2. Compile `csrc/autocast.cpp` (one libtorch call tch does not expose: the CUDA autocast
//!    dtype, for bf16 training) against libtorch's headers, with torch-sys's flags.
// A build script reports failure by panicking (cargo shows the message).
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    println!("cargo:rerun-if-env-changed=LIBTORCH_CXX11_ABI");
    println!("cargo:rerun-if-changed=csrc/autocast.cpp");
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        panic!("torch-sys did not export DEP_TCH_LIBTORCH_LIB (is LIBTORCH set?)");
    };
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    let root = PathBuf::from(&lib)
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(&lib));
    let abi = std::env::var("LIBTORCH_CXX11_ABI").unwrap_or_else(|_| "1".into());
    cc::Build::new()
        .cpp(true)
        .file("csrc/autocast.cpp")
        .include(root.join("include"))
        .include(root.join("include/torch/csrc/api/include"))
        .flag("-std=c++17")
        .flag(format!("-D_GLIBCXX_USE_CXX11_ABI={abi}"))
        .flag("-DGLOG_USE_GLOG_EXPORT")
        .warnings(false)
        .compile("synboost_autocast");
    println!("cargo:rustc-link-search=native={lib}");
    println!("cargo:rustc-link-lib=dylib=c10");
    println!("cargo:rustc-link-lib=dylib=torch_cpu");
}
