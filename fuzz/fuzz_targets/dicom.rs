//! Fuzz target `dicom`: see `synboost_tests::fuzz::dicom`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    synboost_tests::fuzz::dicom(data);
});
