//! What `SB_NODISCARD` and `SB_API` do to a host's build, with the system's C and C++
//! compilers on `include/synboost.h` (compile only: no library is needed): a status ignored
//! with `-Werror` does not compile in C99 (GCC's `warn_unused_result`), C23 and C++17
//! (`[[nodiscard]]`); a checked status, and an ignored destructor status, compile cleanly; a
//! host may define either macro away before including the header.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A translation unit that pushes a frame; `push` is the statement that calls `sb_stream_push`.
fn unit(prelude: &str, push: &str) -> String {
    format!(
        "{prelude}#include \"synboost.h\"\n\
         int push_one(sb_stream *s, const sb_frame *f);\n\
         int push_one(sb_stream *s, const sb_frame *f) {{\n\
         \x20   {push}\n\
         \x20   sb_stream_close(&s); /* a destructor: its status may be ignored */\n\
         \x20   return 0;\n\
         }}\n"
    )
}

/// Compiles `source` with `compiler` and `std`, warnings as errors; returns (ok, diagnostics).
fn compile(compiler: &str, std: &str, ext: &str, source: &str) -> (bool, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join(format!("unit.{ext}"));
    std::fs::write(&file, source).expect("write the unit");
    let out = Command::new(compiler)
        .args([std, "-Wall", "-Wextra", "-Werror", "-pedantic", "-c"])
        .arg(format!("-I{}", root().join("include").display()))
        .arg(&file)
        .arg("-o")
        .arg(dir.path().join("unit.o"))
        .output()
        .unwrap_or_else(|e| panic!("{compiler} does not run ({e}): scripts/test.sh installs it"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Whether `compiler` accepts `std` at all (C23 needs GCC 13 or clang 18 spellings).
fn supports(compiler: &str, std: &str, ext: &str) -> bool {
    compile(compiler, std, ext, "int x;\n").0
}

const IGNORED: &str = "sb_stream_push(s, f, NULL, NULL);";
const CHECKED: &str = "if (sb_stream_push(s, f, NULL, NULL) != SB_OK) { return 1; }";

#[test]
fn an_ignored_status_does_not_compile_in_c99() {
    let (ok, err) = compile("cc", "-std=c99", "c", &unit("", IGNORED));
    assert!(!ok, "ignoring sb_stream_push's status compiled:\n{err}");
    assert!(err.contains("sb_stream_push"), "{err}");
    let (ok, err) = compile("cc", "-std=c99", "c", &unit("", CHECKED));
    assert!(ok, "a checked status must compile:\n{err}");
}

#[test]
fn an_ignored_status_does_not_compile_in_cxx17() {
    let (ok, err) = compile("c++", "-std=c++17", "cpp", &unit("", IGNORED));
    assert!(!ok, "ignoring sb_stream_push's status compiled:\n{err}");
    assert!(err.contains("nodiscard") || err.contains("unused"), "{err}");
    let (ok, err) = compile("c++", "-std=c++17", "cpp", &unit("", CHECKED));
    assert!(ok, "a checked status must compile:\n{err}");
}

#[test]
fn an_ignored_status_does_not_compile_in_c23_where_supported() {
    // GCC 12 spells C23 -std=c2x; either spelling selects [[nodiscard]] from __STDC_VERSION__
    // only when the compiler reports 202311L, else the GCC attribute: both refuse.
    let std = ["-std=c23", "-std=c2x"]
        .into_iter()
        .find(|s| supports("cc", s, "c"))
        .expect("cc supports -std=c2x (GCC 9 and later)");
    let (ok, err) = compile("cc", std, "c", &unit("", IGNORED));
    assert!(
        !ok,
        "ignoring sb_stream_push's status compiled with {std}:\n{err}"
    );
}

#[test]
fn a_host_may_define_the_macros_away() {
    let prelude = "#define SB_NODISCARD\n#define SB_API\n";
    let (ok, err) = compile("cc", "-std=c99", "c", &unit(prelude, IGNORED));
    assert!(
        ok,
        "with SB_NODISCARD defined empty an ignored status compiles:\n{err}"
    );
}

#[test]
fn sb_api_marks_every_function_for_export() {
    let header = std::fs::read_to_string(root().join("include/synboost.h")).expect("header");
    let declarations: Vec<&str> = header
        .lines()
        .filter(|l| l.contains("sb_") && l.contains('(') && !l.starts_with([' ', '#', '/']))
        .filter(|l| !l.starts_with("typedef"))
        .collect();
    assert!(declarations.len() >= 28, "{declarations:#?}");
    for d in declarations {
        let d = d.strip_prefix("SB_NODISCARD ").unwrap_or(d);
        assert!(d.starts_with("SB_API "), "not marked SB_API: {d}");
    }
}
