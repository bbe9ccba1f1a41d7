//! Fuzz target `prompt`: see `synboost_tests::fuzz::prompt`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    synboost_tests::fuzz::prompt(data);
});
