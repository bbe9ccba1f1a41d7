//! The C ABI of `libsynboost.so` exactly as `include/synboost.h` declares it, generated at build
//! time by bindgen (`firmware-sim/build.rs`): the structs (with clang's layout asserts), the
//! `SB_*` constants, and [`Synboost`], the table of every `sb_*` entry point resolved from a
//! `dlopen`ed library (`Synboost::from_library` fails if any one is missing).
//!
//! Generated code: names follow C, and the table's wrappers are bindgen's own.
#![allow(
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    unsafe_op_in_unsafe_fn,
    dead_code,
    clippy::all,
    clippy::pedantic
)]

include!(concat!(env!("OUT_DIR"), "/synboost_sys.rs"));
