//! Section 2 of the bad-input matrix: zero and huge sizes. Frame dimensions, data sizes and
//! strides that overflow, destination buffers, stream capacities, engine options, structure
//! indices and metadata values, at and past their limits.

use super::*;

#[test]
fn row_frame_width_0() {
    frame_refused(|f| f.width = 0, SB_ERR_FRAME, "out of range");
}

#[test]
fn row_frame_width_16385() {
    frame_refused(|f| f.width = 16385, SB_ERR_FRAME, "out of range");
}

#[test]
fn row_frame_width_u32_max() {
    frame_refused(|f| f.width = u32::MAX, SB_ERR_FRAME, "out of range");
}

#[test]
fn row_frame_height_0() {
    frame_refused(|f| f.height = 0, SB_ERR_FRAME, "out of range");
}

#[test]
fn row_frame_height_16385() {
    frame_refused(|f| f.height = 16385, SB_ERR_FRAME, "out of range");
}

#[test]
fn row_frame_height_u32_max() {
    frame_refused(|f| f.height = u32::MAX, SB_ERR_FRAME, "out of range");
}

#[test]
fn row_frame_extreme_sizes_accepted() {
    let (_g, e) = engine();
    for (w, h) in [(1, 1), (16384, 1), (1, 16384)] {
        let r = segment(e, &gray_frame(w, h));
        let i = info(r.0);
        assert_eq!((i.width, i.height), (w, h));
    }
}

#[test]
fn row_frame_data_size_0() {
    frame_refused(|f| f.data_size = 0, SB_ERR_FRAME, "buffer has 0 bytes");
}

#[test]
fn row_frame_data_size_short_by_one() {
    frame_refused(|f| f.data_size -= 1, SB_ERR_FRAME, "needs 192");
}

#[test]
fn row_frame_data_size_usize_max() {
    frame_refused(|f| f.data_size = usize::MAX, SB_ERR_FRAME, "too large");
}

#[test]
fn row_frame_data_size_over_isize_max() {
    frame_refused(
        |f| f.data_size = isize::MAX as usize + 1,
        SB_ERR_FRAME,
        "too large",
    );
}

#[test]
fn row_frame_stride_usize_max() {
    frame_refused(|f| f.stride = usize::MAX, SB_ERR_FRAME, "overflows");
}

#[test]
fn row_frame_stride_times_height_overflows() {
    frame_refused(
        |f| f.stride = usize::MAX / 11 + 1,
        SB_ERR_FRAME,
        "overflows",
    );
}

#[test]
fn row_copy_mask_dst_size_0() {
    let r = segmented();
    let mut dst = [FILL; 16 * 12];
    let st = unsafe { sb_result_copy_mask(r.0, 0, dst.as_mut_ptr(), 0, 16, 1) };
    expect_err(st, SB_ERR_BUFFER, "sb_result_copy_mask");
    assert!(dst.iter().all(|&b| b == FILL));
}

#[test]
fn row_copy_mask_dst_size_short_by_one() {
    let r = segmented();
    let mut dst = [FILL; 20 * 12];
    let needed = 20 * 11 + 16;
    let st = unsafe { sb_result_copy_mask(r.0, 0, dst.as_mut_ptr(), needed - 1, 20, 1) };
    expect_err(st, SB_ERR_BUFFER, "sb_result_copy_mask");
    assert!(last_error().contains(&format!("needs {needed}")));
    assert!(dst.iter().all(|&b| b == FILL));
}

#[test]
fn row_copy_mask_dst_stride_overflows() {
    let r = segmented();
    let mut dst = [FILL; 16 * 12];
    let st = unsafe { sb_result_copy_mask(r.0, 0, dst.as_mut_ptr(), dst.len(), usize::MAX, 1) };
    expect_err(st, SB_ERR_INVALID, "sb_result_copy_mask");
    assert!(dst.iter().all(|&b| b == FILL));
}

#[test]
fn row_copy_mask_padded_stride_exact_size() {
    let r = segmented();
    let mut s = filled::<sb_structure_result>(size_of::<sb_structure_result>() as u32);
    assert_eq!(
        unsafe { sb_result_get_structure(r.0, 0, s.as_mut_ptr()) },
        SB_OK
    );
    let s = unsafe { s.assume_init() };
    let mask = unsafe { std::slice::from_raw_parts(s.mask, 16 * 12) };
    let (stride, needed) = (20, 20 * 11 + 16);
    let mut dst = vec![FILL; needed + 8];
    let st = unsafe { sb_result_copy_mask(r.0, 0, dst.as_mut_ptr(), needed, stride, 7) };
    assert_eq!(st, SB_OK, "{}", last_error());
    for y in 0..12 {
        for x in 0..20 {
            let want = match (x < 16, mask.get(y * 16 + x)) {
                (true, Some(&m)) => 7 * m,
                _ => FILL,
            };
            assert_eq!(dst[y * stride + x], want, "({x}, {y})");
        }
    }
    assert!(dst[needed..].iter().all(|&b| b == FILL));
}

#[test]
fn row_stream_config_queue_capacity_0() {
    config_refused(|c| c.queue_capacity = 0, "queue");
}

#[test]
fn row_stream_config_queue_capacity_4097() {
    config_refused(|c| c.queue_capacity = 4097, "4096");
}

#[test]
fn row_stream_config_workers_0() {
    config_refused(|c| c.workers = 0, "workers");
}

#[test]
fn row_stream_config_workers_65() {
    config_refused(|c| c.workers = 65, "64 workers");
}

#[test]
fn row_stream_config_result_capacity_0() {
    config_refused(|c| c.result_capacity = 0, "results");
}

#[test]
fn row_stream_config_result_capacity_65537() {
    config_refused(|c| c.result_capacity = 65537, "65536 results");
}

#[test]
fn row_stream_config_frame_bytes_over_max() {
    config_refused(
        |c| {
            c.frame_bytes = 1000;
            c.max_frame_bytes = 999;
        },
        "max_frame_bytes",
    );
}

#[test]
fn row_stream_push_over_max_frame_bytes() {
    let s = start(&sb_stream_config {
        max_frame_bytes: 16 * 12 - 1,
        ..config()
    });
    let f = gray_frame(16, 12);
    let mut seq = u64::MAX;
    let st = unsafe { sb_stream_push(s.0, f.p(), ptr::null(), &mut seq) };
    expect_stream_err(s.0, st, SB_ERR_FRAME, "sb_stream_push");
    assert!(last_error().contains("191"));
    assert_eq!(seq, u64::MAX);
    assert_eq!(push_ok(&s, &gray_frame(8, 8)), 0);
    assert_eq!(stats(s.0).pushed, 1);
}

#[test]
fn row_engine_options_prompt_cache_0() {
    options_refused(|o| o.prompt_cache = 0, "prompt_cache");
}

#[test]
fn row_engine_options_prompt_cache_65537() {
    options_refused(|o| o.prompt_cache = 65537, "prompt_cache");
}

#[test]
fn row_engine_options_threads_0() {
    options_refused(|o| o.threads = 0, "threads");
}

#[test]
fn row_engine_options_threads_65() {
    options_refused(|o| o.threads = 65, "threads");
}

#[test]
fn row_result_get_structure_index_out_of_range() {
    let r = segmented();
    for index in [3, u32::MAX] {
        let mut o = filled::<sb_structure_result>(size_of::<sb_structure_result>() as u32);
        let st = unsafe { sb_result_get_structure(r.0, index, o.as_mut_ptr()) };
        expect_err(st, SB_ERR_INVALID, "sb_result_get_structure");
        assert!(last_error().contains(&format!("index {index}")));
        assert!(bytes(&o)[4..].iter().all(|&b| b == FILL));
    }
}

#[test]
fn row_copy_mask_index_out_of_range() {
    let r = segmented();
    let mut dst = [FILL; 16 * 12];
    for index in [3, u32::MAX] {
        let st = unsafe { sb_result_copy_mask(r.0, index, dst.as_mut_ptr(), dst.len(), 16, 1) };
        expect_err(st, SB_ERR_INVALID, "sb_result_copy_mask");
        assert!(dst.iter().all(|&b| b == FILL));
    }
}

#[test]
fn row_meta_age_131() {
    meta_refused(|m| m.age_years = 131, "age_years");
}

#[test]
fn row_meta_spacing_nan() {
    meta_refused(
        |m| {
            m.pixel_spacing_x_mm = f64::NAN;
            m.pixel_spacing_y_mm = 0.3;
        },
        "pixel_spacing_x_mm",
    );
}

#[test]
fn row_meta_spacing_inf() {
    meta_refused(
        |m| {
            m.pixel_spacing_x_mm = 0.3;
            m.pixel_spacing_y_mm = f64::INFINITY;
        },
        "pixel_spacing_y_mm",
    );
}

#[test]
fn row_meta_spacing_negative() {
    meta_refused(
        |m| {
            m.pixel_spacing_x_mm = -0.3;
            m.pixel_spacing_y_mm = 0.3;
        },
        "pixel_spacing_x_mm",
    );
}

#[test]
fn row_meta_one_spacing_only() {
    meta_refused(|m| m.pixel_spacing_x_mm = 0.3, "both pixel spacings");
}

#[test]
fn row_meta_fps_10001() {
    meta_refused(|m| m.fps = 10001.0, "fps");
}

#[test]
fn row_meta_heart_rate_401() {
    meta_refused(|m| m.heart_rate_bpm = 401.0, "heart_rate_bpm");
}

#[test]
fn row_meta_cycle_position_1() {
    meta_refused(|m| m.cycle_position = 1.0, "cycle_position");
}

#[test]
fn row_meta_cycle_position_nan() {
    meta_refused(|m| m.cycle_position = f64::NAN, "cycle_position");
}

#[test]
fn row_meta_extremes_accepted() {
    let m = sb_meta {
        age_years: 130,
        pixel_spacing_x_mm: 100.0,
        pixel_spacing_y_mm: 100.0,
        fps: 10000.0,
        heart_rate_bpm: 400.0,
        cycle_position: 0.999,
        ..meta()
    };
    let f = gray_frame(16, 12);
    let (g, e) = engine();
    let mut r = poisoned();
    let st = unsafe { sb_engine_segment(e, f.p(), &m, 0, &mut r) };
    assert_eq!(st, SB_OK, "{}", last_error());
    drop((Res(r), g));
    let s = lossless();
    let mut seq = u64::MAX;
    assert_eq!(unsafe { sb_stream_push(s.0, f.p(), &m, &mut seq) }, SB_OK);
    assert_eq!(seq, 0);
}
