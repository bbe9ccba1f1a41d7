//! Section 4 of the bad-input matrix: unknown enum values. Pixel formats, metadata enums,
//! queue policies, stop modes, variants, option flags, log levels and structure bits that are
//! none of the header's values.

use super::*;

#[test]
fn row_frame_format_4() {
    frame_refused(|f| f.format = 4, SB_ERR_INVALID, "SB_PIXEL_");
}

#[test]
fn row_frame_format_u32_max() {
    frame_refused(|f| f.format = u32::MAX, SB_ERR_INVALID, "SB_PIXEL_");
}

#[test]
fn row_meta_view_3() {
    meta_refused(|m| m.view = 3, "SB_VIEW_");
}

#[test]
fn row_meta_phase_3() {
    meta_refused(|m| m.phase = 3, "SB_PHASE_");
}

#[test]
fn row_meta_sex_3() {
    meta_refused(|m| m.sex = 3, "SB_SEX_");
}

#[test]
fn row_meta_quality_4() {
    meta_refused(|m| m.quality = 4, "SB_QUALITY_");
}

#[test]
fn row_stream_config_policy_3() {
    config_refused(|c| c.policy = 3, "SB_POLICY_");
}

#[test]
fn row_stream_config_structures_8() {
    config_refused(|c| c.structures = 8, "SB_STRUCTURE_");
}

#[test]
fn row_stream_stop_mode_2() {
    let s = lossless();
    for mode in [2, u32::MAX] {
        let st = unsafe { sb_stream_stop(s.0, mode) };
        expect_stream_err(s.0, st, SB_ERR_INVALID, "sb_stream_stop");
        assert!(last_error().contains("SB_STOP_"));
    }
    assert_eq!(push_ok(&s, &gray_frame(16, 12)), 0, "still running");
    assert_eq!(drain(&s).len(), 1);
}

#[test]
fn row_engine_options_variant_4() {
    options_refused(|o| o.variant = 4, "SB_VARIANT_");
}

#[test]
fn row_engine_options_backend_2() {
    for b in [2, u32::MAX] {
        options_refused(|o| o.backend = b, "SB_BACKEND_");
    }
}

#[test]
fn row_engine_options_onnxruntime_library_empty_or_not_utf8() {
    options_refused(
        |o| {
            o.backend = SB_BACKEND_ONNXRUNTIME;
            o.onnxruntime_library = c"".as_ptr();
        },
        "onnxruntime_library",
    );
    options_refused(
        |o| {
            o.backend = SB_BACKEND_ONNXRUNTIME;
            o.onnxruntime_library = c"/tmp/\xff.so".as_ptr();
        },
        "not UTF-8",
    );
}

#[test]
fn row_engine_options_onnxruntime_library_missing() {
    // A library that is not there is the model's failure to load, named in the message; with
    // the tract backend the field is ignored.
    let mut o = options();
    o.backend = SB_BACKEND_ONNXRUNTIME;
    o.onnxruntime_library = c"/nonexistent/libonnxruntime.so.1".as_ptr();
    let mut e = poisoned();
    let st = unsafe { sb_engine_open(bundle().as_ptr(), &o, &mut e) };
    expect_err(st, SB_ERR_MODEL, "sb_engine_open");
    assert!(e.is_null(), "*out not reset");
    let msg = last_error();
    assert!(
        msg.contains("loading ONNX Runtime") && msg.contains("/nonexistent/libonnxruntime.so.1"),
        "{msg}"
    );
    o.backend = SB_BACKEND_TRACT;
    let mut e = open(&o);
    assert_eq!(unsafe { sb_engine_close(&mut e) }, SB_OK);
}

#[test]
fn row_engine_options_largest_component_2() {
    options_refused(|o| o.largest_component = 2, "largest_component");
}

#[test]
fn row_engine_options_fill_holes_2() {
    options_refused(|o| o.fill_holes = 2, "fill_holes");
}

#[test]
fn row_set_log_callback_level_out_of_range() {
    for level in [SB_LOG_TRACE + 1, u32::MAX] {
        let st = unsafe { sb_set_log_callback(Some(count_log), level, ptr::null_mut()) };
        expect_err(st, SB_ERR_INVALID, "sb_set_log_callback");
        assert!(last_error().contains("SB_LOG_"));
    }
}

#[test]
fn row_engine_segment_structures_8() {
    let f = gray_frame(16, 12);
    let msg = segment_refused(f.p(), ptr::null(), 8, SB_ERR_INVALID);
    assert!(msg.contains("SB_STRUCTURE_"), "{msg}");
}

#[test]
fn row_engine_segment_structures_all_bits() {
    let f = gray_frame(16, 12);
    let msg = segment_refused(f.p(), ptr::null(), 0xFFFF_FFFF, SB_ERR_INVALID);
    assert!(msg.contains("SB_STRUCTURE_"), "{msg}");
}
