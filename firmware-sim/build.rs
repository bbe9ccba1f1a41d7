//! Generates `live::sys` from the kept C header `include/synboost.h` (bindgen, dynamic loading):
//! the C ABI's types and constants, and a table of every `sb_*` entry point resolved from a
//! `dlopen`ed `libsynboost.so`. The simulator's driver therefore uses the header exactly as a C
//! host does; a change to the header changes the driver's build, and clang's layout asserts
//! (generated with the bindings) check every struct as the header declares it.
//!
//! Needs libclang at build time (Debian: `libclang-dev`; `scripts/test.sh` installs it).

use bindgen::callbacks::{IntKind, ParseCallbacks};
use std::collections::HashMap;
use std::path::PathBuf;

/// Types the header's integer macros by the value list they belong to. bindgen would type a
/// `#define` by its value (`u32` for `SB_OK`, `i32` for `SB_ERR_NULL`); the kept header puts each
/// value list right after its `typedef <integer> name;`, so a macro takes the integer type of the
/// typedef above it (until the next typedef or function), when its value fits. Others
/// (`SB_ABI_VERSION`, the flag bits after their struct) are `u32`, or `i64` when they do not fit
/// (`SB_NO_TIMESTAMP`, `INT64_MIN`).
#[derive(Debug)]
struct MacroTypes(HashMap<String, IntKind>);

impl MacroTypes {
    fn from_header(text: &str) -> Self {
        let mut types = HashMap::new();
        let mut current = None;
        for line in text.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("typedef ") {
                current = match rest.split_whitespace().next() {
                    Some("int32_t") => Some(IntKind::I32),
                    Some("uint32_t") => Some(IntKind::U32),
                    Some("int64_t") => Some(IntKind::I64),
                    Some("uint64_t") => Some(IntKind::U64),
                    _ => None,
                };
            } else if line.starts_with("SB_API") || line.starts_with("SB_NODISCARD") {
                current = None;
            } else if let Some(rest) = line.strip_prefix("#define ")
                && let (Some(kind), Some(name)) = (current, rest.split_whitespace().next())
            {
                types.insert(name.to_string(), kind);
            }
        }
        Self(types)
    }
}

/// Whether `value` is representable in `kind` (the integer kinds `from_header` gives).
fn fits(kind: IntKind, value: i64) -> bool {
    match kind {
        IntKind::I32 => i32::try_from(value).is_ok(),
        IntKind::U32 => u32::try_from(value).is_ok(),
        IntKind::U64 => value >= 0,
        _ => true,
    }
}

impl ParseCallbacks for MacroTypes {
    fn int_macro(&self, name: &str, value: i64) -> Option<IntKind> {
        if !name.starts_with("SB_") {
            return None;
        }
        let kind = self.0.get(name).copied().unwrap_or(IntKind::U32);
        Some(if fits(kind, value) {
            kind
        } else {
            IntKind::I64
        })
    }
}

fn main() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let header = manifest.join("../include/synboost.h");
    println!("cargo:rerun-if-changed={}", header.display());
    println!("cargo:rerun-if-changed=build.rs");
    let text = match std::fs::read_to_string(&header) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", header.display());
            std::process::exit(1);
        }
    };
    // A missing libclang is the likely failure; say what to install rather than only panicking
    // deep inside clang-sys.
    let bindings = bindgen::Builder::default()
        .header(header.to_string_lossy())
        .clang_args(["-x", "c", "-std=c11"])
        .rust_edition(bindgen::RustEdition::Edition2024)
        .allowlist_function("sb_.*")
        .allowlist_type("sb_.*")
        .allowlist_var("SB_.*")
        .parse_callbacks(Box::new(MacroTypes::from_header(&text)))
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
