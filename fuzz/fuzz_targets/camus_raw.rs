//! Fuzz target `camus_raw`: see `synboost_tests::fuzz::camus_raw`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    synboost_tests::fuzz::camus_raw(data);
});
