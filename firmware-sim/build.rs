//! Generates `live::sys` from the kept C header `include/synboost.h` (bindgen, dynamic loading):
//! the C ABI's types and constants, and a table of every `sb_*` entry point resolved from a
//! `dlopen`ed `libsynboost.so`. The simulator's driver therefore uses the header exactly as a C
//! host does; a change to the header changes the driver's build, and clang's layout asserts
//! (generated with the bindings) check every struct as the header declares it.
//!
//! Needs libclang at build time (Debian: `libclang-dev`; `scripts/test.sh` installs it).

use bindgen::callbacks::{IntKind, ParseCallbacks};
use std::path::PathBuf;

/// Types the header's integer macros by the value list they belong to. bindgen would type a
/// `#define` by its value (`u32` for `SB_OK`, `i32` for `SB_ERR_NULL`); the header's value
/// lists sit beside their typedefs, and these are those typedefs' integer types.
#[derive(Debug)]
struct MacroTypes;

impl ParseCallbacks for MacroTypes {
    fn int_macro(&self, name: &str, _value: i64) -> Option<IntKind> {
        let status = ["SB_OK", "SB_TIMEOUT", "SB_END", "SB_NONE"];
        if status.contains(&name) || name.starts_with("SB_ERR_") {
            Some(IntKind::I32) // sb_status
        } else if name == "SB_NO_TIMESTAMP" {
            Some(IntKind::I64) // sb_frame.timestamp_ns
        } else if name.starts_with("SB_") {
            Some(IntKind::U32) // every other value list is a uint32_t typedef
        } else {
            None
        }
    }
}

fn main() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let header = manifest.join("../include/synboost.h");
    println!("cargo:rerun-if-changed={}", header.display());
    println!("cargo:rerun-if-changed=build.rs");
    // A missing libclang is the likely failure; say what to install rather than only panicking
    // deep inside clang-sys.
    let bindings = bindgen::Builder::default()
        .header(header.to_string_lossy())
        .clang_args(["-x", "c", "-std=c11"])
        .rust_edition(bindgen::RustEdition::Edition2024)
        .allowlist_function("sb_.*")
        .allowlist_type("sb_.*")
        .allowlist_var("SB_.*")
        .parse_callbacks(Box::new(MacroTypes))
        // Macros cexpr cannot evaluate (`SB_NO_TIMESTAMP` is `INT64_MIN`) are evaluated by clang.
        .clang_macro_fallback()
        // `SB_NODISCARD` (warn_unused_result) becomes `#[must_use]` on the entry points.
        .enable_function_attribute_detection()
        .dynamic_library_name("Synboost")
        // Every entry point must resolve at load: a missing one fails `Synboost::new`, not a
        // call made later in the run.
        .dynamic_link_require_all(true)
        .derive_default(true)
        .derive_debug(true)
        .derive_copy(true)
        .generate_comments(true)
        .layout_tests(true)
        .generate();
    let bindings = match bindings {
        Ok(b) => b,
        Err(e) => {
            eprintln!(
                "error: bindgen could not read {}: {e}\n(needs libclang: apt install libclang-dev, \
                 or set LIBCLANG_PATH)",
                header.display()
            );
            std::process::exit(1);
        }
    };
    let out =
        PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("synboost_sys.rs");
    if let Err(e) = bindings.write_to_file(&out) {
        eprintln!("error: cannot write {}: {e}", out.display());
        std::process::exit(1);
    }
}
