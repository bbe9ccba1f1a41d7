//! Fuzz target `bundle`: see `synboost_tests::fuzz::bundle`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    synboost_tests::fuzz::bundle(data);
});
