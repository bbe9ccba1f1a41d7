//! `libsynboost.so` as C and C++ programs use it: the C99 client (`tests/c/client.c`) and the
//! C++17 client over `include/synboost.hpp` (`tests/cpp/client.cpp`) are compiled with warnings
//! as errors and run on a random-weight bundle and a corrupted copy of it; the library exports
//! nothing but `sb_*` and carries its soname; `scripts/install-lib.sh` installs a prefix that
//! `pkg-config` finds and a C program builds and runs against.
//!
//! The library is the cdylib cargo builds for this crate's dev-dependency on `synboost`, beside
//! this test executable (`target/<profile>/deps/`, or `target/<profile>/` when newer); the C
//! compilers, binutils and pkg-config are the system's (scripts/test.sh installs them).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;
use synboost_core::model::spec::ModelSpec;
use synboost_core::{Tokenizer, Vocab};
use synboost_export::student::{BundleInfo, write_random_student};
use synboost_tests::clients::{compile, link_flags, stage_library};
use synboost_tests::elf::exported_globals;
use synboost_tests::process::{require_tool, run, run_ok, summary_line};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// `target/<profile>/`, from this executable's path `target/<profile>/deps/c_clients-<hash>`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().expect("the test executable is in a folder");
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.parent().expect("deps/ has a parent").to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

fn modified(p: &Path) -> SystemTime {
    std::fs::metadata(p)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// The newest source file under `dir` (recursively), with its time.
fn newest_source(dir: &Path) -> Option<(SystemTime, PathBuf)> {
    let mut best: Option<(SystemTime, PathBuf)> = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let p = entry.path();
        let candidate = if p.is_dir() {
            newest_source(&p)
        } else if p.extension().is_some_and(|e| e == "rs" || e == "toml") {
            Some((modified(&p), p))
        } else {
            None
        };
        if let Some(c) = candidate
            && best.as_ref().is_none_or(|b| c.0 > b.0)
        {
            best = Some(c);
        }
    }
    best
}

/// The folder holding an up-to-date `libsynboost.so`, and the file.
///
/// For the dev-dependency on `synboost`, cargo builds the cdylib as `target/<profile>/deps/
/// libsynboost.so` (no hash in the name) but does not copy it up to `target/<profile>/`; only
/// `cargo build -p synboost` does. So the newer of the two is used, and it must be newer than
/// every source of the library; otherwise the test fails with what to run.
fn lib_dir() -> PathBuf {
    let profile = profile_dir();
    let candidates = [profile.join("deps"), profile.clone()];
    let dir = candidates
        .iter()
        .filter(|d| d.join("libsynboost.so").is_file())
        .max_by_key(|d| modified(&d.join("libsynboost.so")))
        .unwrap_or_else(|| {
            panic!(
                "no libsynboost.so in {} or its deps/: build it with `cargo build -p synboost` \
                 (same profile and CARGO_TARGET_DIR as the tests)",
                profile.display()
            )
        })
        .clone();
    let so = dir.join("libsynboost.so");
    let built = modified(&so);
    for src in [
        "ffi/src",
        "ffi/build.rs",
        "ffi/Cargo.toml",
        "core/src",
        "core/Cargo.toml",
    ] {
        let p = root().join(src);
        let newest = if p.is_dir() {
            newest_source(&p)
        } else {
            Some((modified(&p), p))
        };
        if let Some((t, path)) = newest {
            assert!(
                t <= built,
                "{} is older than {}: rebuild it with `cargo build -p synboost`",
                so.display(),
                path.display()
            );
        }
    }
    dir
}

/// A random-weight tiny student bundle, and a copy whose image graph has flipped bytes.
struct Bundles {
    good: tempfile::TempDir,
    corrupted: tempfile::TempDir,
}

fn bundles() -> Bundles {
    let good = tempfile::tempdir().expect("tempdir");
    let spec = ModelSpec::tiny(Vocab::builtin().len(), Tokenizer::DEFAULT_MAX_LEN);
    write_random_student(
        good.path(),
        BundleInfo::new("random-student", "test weights, no data", 3),
        &spec,
        7,
        &[],
    )
    .expect("write the random-weight bundle");
    let corrupted = tempfile::tempdir().expect("tempdir");
    for entry in std::fs::read_dir(good.path())
        .expect("read the bundle")
        .flatten()
    {
        let to = corrupted.path().join(entry.file_name());
        std::fs::copy(entry.path(), &to).expect("copy a bundle file");
    }
    let image = corrupted.path().join("image.onnx");
    let mut bytes = std::fs::read(&image).expect("the bundle has image.onnx");
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 16] {
        *b ^= 0x5A;
    }
    std::fs::write(&image, bytes).expect("write the corrupted image.onnx");
    Bundles { good, corrupted }
}

/// A folder in `work` with `libsynboost.so` and its soname linking to the built library.
fn staged_lib(work: &Path) -> PathBuf {
    stage_library(&lib_dir().join("libsynboost.so"), work)
}

/// Run a compiled client on the bundles; the library is found through its rpath only.
fn run_client(exe: &Path, b: &Bundles) -> String {
    let out = run_ok(
        Command::new(exe)
            .arg(b.good.path())
            .arg(b.corrupted.path())
            .env_remove("LD_LIBRARY_PATH"),
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("{stdout}");
    stdout
}

#[test]
fn c_client_passes_every_check() {
    require_tool("cc", "--version", "gcc");
    let work = tempfile::tempdir().expect("tempdir");
    let dir = staged_lib(work.path());
    let b = bundles();
    let exe = work.path().join("client_c");
    compile(
        "cc",
        "-std=c99",
        "tests/c/client.c",
        &exe,
        &link_flags(&dir),
    );
    let stdout = run_client(&exe, &b);
    let line = summary_line(&stdout, "C client:");
    assert!(line.ends_with(" 0 failed"), "{line}");
    assert!(!stdout.contains("FAIL "), "{stdout}");
    // CI gives the client an ONNX Runtime (scripts/test.sh): the backend must have been run.
    let ort = summary_line(&stdout, "ONNX Runtime:");
    if std::env::var("SYNBOOST_REQUIRE_DATA").as_deref() == Ok("1") {
        assert!(ort.starts_with("ONNX Runtime: tested"), "{ort}");
    }
}

/// The C client again, under valgrind's memcheck: every check must still pass, with no memory
/// error (invalid read or write, use of uninitialised values, bad free) and no definitely lost
/// block, in the library or the client.
#[test]
fn c_client_is_clean_under_valgrind() {
    require_tool("cc", "--version", "gcc");
    require_tool("valgrind", "--version", "valgrind");
    let work = tempfile::tempdir().expect("tempdir");
    let dir = staged_lib(work.path());
    let b = bundles();
    let exe = work.path().join("client_c_valgrind");
    let mut link = link_flags(&dir);
    link.push("-g".into());
    compile("cc", "-std=c99", "tests/c/client.c", &exe, &link);
    let log = work.path().join("memcheck.log");
    let out = run(Command::new("valgrind")
        .args([
            "--tool=memcheck",
            "--error-exitcode=99",
            "--leak-check=full",
            "--show-leak-kinds=definite",
            "--errors-for-leak-kinds=definite",
            "--num-callers=30",
            // The client's result callback keeps a 3 MiB array on its stack (the library's
            // threads have 8 MiB): tell memcheck such a frame is a frame, not a stack switch.
            "--max-stackframe=4194304",
        ])
        .arg(format!("--log-file={}", log.display()))
        .arg(&exe)
        .arg(b.good.path())
        .arg(b.corrupted.path())
        .env_remove("LD_LIBRARY_PATH")
        // Memcheck judges this library, not ONNX Runtime's (c_client_passes_every_check runs
        // that part).
        .env_remove("SYNBOOST_ONNXRUNTIME"));
    let report = std::fs::read_to_string(&log).unwrap_or_default();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}");
    let summary: Vec<&str> = report
        .lines()
        .filter(|l| {
            l.contains("ERROR SUMMARY")
                || l.contains("definitely lost")
                || l.contains("indirectly lost")
                || l.contains("in use at exit")
        })
        .collect();
    eprintln!("valgrind:\n{}", summary.join("\n"));
    assert!(
        out.status.success(),
        "the client under valgrind exited with {:?} (99: memcheck found errors):\n{report}",
        out.status.code()
    );
    assert!(
        report.contains("ERROR SUMMARY: 0 errors"),
        "memcheck errors:\n{report}"
    );
    assert!(
        !report.contains("definitely lost: ") || report.contains("definitely lost: 0 bytes"),
        "definite leaks:\n{report}"
    );
    let line = summary_line(&stdout, "C client:");
    assert!(line.ends_with(" 0 failed"), "{line}");
}

#[test]
fn cpp_client_passes_every_check() {
    require_tool("c++", "--version", "g++");
    let work = tempfile::tempdir().expect("tempdir");
    let dir = staged_lib(work.path());
    let b = bundles();
    let exe = work.path().join("client_cpp");
    compile(
        "c++",
        "-std=c++17",
        "tests/cpp/client.cpp",
        &exe,
        &link_flags(&dir),
    );
    let stdout = run_client(&exe, &b);
    let line = summary_line(&stdout, "C++ client:");
    assert!(line.ends_with(" 0 failed"), "{line}");
    assert!(!stdout.contains("FAIL "), "{stdout}");
}

#[test]
fn library_exports_only_sb_symbols_and_has_its_soname() {
    require_tool("nm", "--version", "binutils");
    require_tool("readelf", "--version", "binutils");
    let so = lib_dir().join("libsynboost.so");
    let mut exported = Vec::new();
    let mut offenders = Vec::new();
    for e in exported_globals(&so) {
        if e.name.starts_with("sb_") {
            exported.push(e.name);
        } else {
            offenders.push(e.line);
        }
    }
    assert!(
        offenders.is_empty(),
        "libsynboost.so exports symbols outside the sb_ namespace:\n{}",
        offenders.join("\n")
    );
    for needed in [
        "sb_version",
        "sb_abi_version",
        "sb_last_error",
        "sb_status_string",
        "sb_set_log_callback",
        "sb_meta_defaults",
        "sb_engine_open",
        "sb_engine_close",
        "sb_engine_segment",
        "sb_stream_start",
        "sb_stream_push",
        "sb_stream_poll",
        "sb_stream_stop",
        "sb_stream_close",
        "sb_result_copy_mask",
        "sb_result_free",
    ] {
        assert!(
            exported.iter().any(|e| e == needed),
            "{needed} is not exported; exported: {exported:?}"
        );
    }
    // Every function the header declares is exported.
    let header = std::fs::read_to_string(root().join("include/synboost.h")).expect("header");
    for e in &exported {
        assert!(
            header.contains(&format!("{e}(")),
            "{e} is exported but not declared in include/synboost.h (regenerate it with \
             `SYNBOOST_BLESS=1 cargo test -p synboost --test header`)"
        );
    }

    let out = run_ok(Command::new("readelf").arg("-d").arg(&so));
    let dynamic = String::from_utf8_lossy(&out.stdout);
    assert!(
        dynamic
            .lines()
            .any(|l| l.contains("(SONAME)") && l.contains("[libsynboost.so.0]")),
        "no SONAME libsynboost.so.0 in the dynamic section of {}:\n{dynamic}",
        so.display()
    );
}

#[test]
fn installed_prefix_builds_with_pkg_config() {
    require_tool("cc", "--version", "gcc");
    require_tool(
        "pkg-config",
        "--version",
        "pkgconf (scripts/test.sh must install `pkgconf`)",
    );
    let so = lib_dir().join("libsynboost.so");
    let prefix = tempfile::tempdir().expect("tempdir");
    // A prefix path with a space would need quoting in the .pc file; a plain one here.
    run_ok(
        Command::new("bash")
            .current_dir(root())
            .arg("scripts/install-lib.sh")
            .arg(prefix.path())
            .arg("--lib")
            .arg(&so),
    );
    let version = env!("CARGO_PKG_VERSION");
    let lib = prefix.path().join("lib");
    let real = lib.join(format!("libsynboost.so.{version}"));
    assert!(real.is_file() && !real.is_symlink(), "{}", real.display());
    for (link, to) in [
        ("libsynboost.so.0", format!("libsynboost.so.{version}")),
        ("libsynboost.so", "libsynboost.so.0".to_string()),
    ] {
        let target = std::fs::read_link(lib.join(link))
            .unwrap_or_else(|e| panic!("lib/{link} is not a symlink: {e}"));
        assert_eq!(target, Path::new(&to), "lib/{link}");
    }
    for f in [
        "include/synboost.h",
        "include/synboost.hpp",
        "lib/pkgconfig/synboost.pc",
    ] {
        assert!(prefix.path().join(f).is_file(), "{f} not installed");
    }
    assert_eq!(
        std::fs::read(prefix.path().join("include/synboost.h")).expect("installed header"),
        std::fs::read(root().join("include/synboost.h")).expect("header"),
    );

    let pkg = |args: &[&str]| {
        let out = run_ok(
            Command::new("pkg-config")
                .args(args)
                .env("PKG_CONFIG_PATH", lib.join("pkgconfig"))
                .env_remove("PKG_CONFIG_LIBDIR"),
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(pkg(&["--modversion", "synboost"]), version);
    let flags = pkg(&["--cflags", "--libs", "synboost"]);
    assert!(flags.contains("-lsynboost"), "{flags}");
    let mut link: Vec<String> = flags.split_whitespace().map(String::from).collect();
    link.push(format!("-Wl,-rpath,{}", lib.display()));

    // Compile outside the repository so that only the installed header can be found.
    let work = tempfile::tempdir().expect("tempdir");
    let source = work.path().join("client.c");
    std::fs::copy(root().join("tests/c/client.c"), &source).expect("copy client.c");
    let exe = work.path().join("client_pc");
    let mut cmd = Command::new("cc");
    cmd.current_dir(work.path())
        .args([
            "-std=c99",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-pthread",
        ])
        .arg(&source)
        .arg("-o")
        .arg(&exe)
        .args(&link)
        .arg("-lm");
    run_ok(&mut cmd);

    // It loads the installed library, through the soname link.
    if Command::new("ldd").arg("--version").output().is_ok() {
        let out = run_ok(Command::new("ldd").arg(&exe).env_remove("LD_LIBRARY_PATH"));
        let deps = String::from_utf8_lossy(&out.stdout);
        let wanted = lib.join("libsynboost.so.0");
        assert!(
            deps.lines()
                .any(|l| l.contains("libsynboost.so.0") && l.contains(&*wanted.to_string_lossy())),
            "the client does not load {}:\n{deps}",
            wanted.display()
        );
    }
    let b = bundles();
    let stdout = run_client(&exe, &b);
    let line = summary_line(&stdout, "C client:");
    assert!(line.ends_with(" 0 failed"), "{line}");
}
