//! Fuzz target `abi_frame`: see `synboost_tests::fuzz::abi_frame`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    synboost_tests::fuzz::abi_frame(data);
});
