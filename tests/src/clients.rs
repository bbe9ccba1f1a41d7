//! C and C++ clients of `libsynboost.so` as the client tests build them: the library staged
//! under its soname, the flags that find it, and a compile with warnings as errors.
// Test support: a client that does not compile must fail the test that built it.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use crate::process::run_ok;
use crate::workspace::root;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A folder `work/lib` with `libsynboost.so` and `libsynboost.so.0` linking to `so`: programs
/// record its soname, `libsynboost.so.0`, which cargo does not create.
pub fn stage_library(so: &Path, work: &Path) -> PathBuf {
    let dir = work.join("lib");
    std::fs::create_dir_all(&dir).expect("create the staging folder");
    for name in ["libsynboost.so", "libsynboost.so.0"] {
        std::os::unix::fs::symlink(so, dir.join(name)).expect("symlink the library");
    }
    dir
}

/// The flags that compile against the repository's headers and link the library staged in
/// `dir`, found at run time through the rpath.
pub fn link_flags(dir: &Path) -> Vec<String> {
    vec![
        "-Iinclude".into(),
        format!("-L{}", dir.display()),
        "-lsynboost".into(),
        format!("-Wl,-rpath,{}", dir.display()),
    ]
}

/// Compile `source` (relative to the repository root) with `compiler` (`cc` or `c++`) at
/// language standard `std`, warnings as errors; `link` are the flags that find the library.
pub fn compile(compiler: &str, std: &str, source: &str, out: &Path, link: &[String]) {
    let mut cmd = Command::new(compiler);
    cmd.current_dir(root())
        .args([
            std,
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-pthread",
            "-O1",
        ])
        .arg(source)
        .arg("-o")
        .arg(out)
        .args(link);
    if compiler == "cc" {
        cmd.arg("-lm");
    }
    run_ok(&mut cmd);
}
