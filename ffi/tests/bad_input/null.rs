//! Section 1 of the bad-input matrix: NULL pointers. Every pointer argument of every entry
//! point, NULL: required ones are `SB_ERR_NULL` with out-pointers reset, optional ones (meta,
//! options, config, `seq`) mean the defaults, and destroying NULL is a no-op.

use super::*;

#[test]
fn row_version_abi_status_strings() {
    assert_eq!(c_str(sb_version()), env!("CARGO_PKG_VERSION"));
    assert_eq!(sb_abi_version(), SB_ABI_VERSION);
    for s in -11..=3 {
        assert_ne!(status_name(s), "unknown status", "{s}");
    }
    for s in [42, -12, i32::MIN, i32::MAX] {
        assert_eq!(status_name(s), "unknown status");
    }
}

#[test]
fn row_last_error_fresh_thread() {
    let msg = thread::spawn(last_error).join().unwrap();
    assert_eq!(msg, "");
}

#[test]
fn row_defaults_null_out() {
    let st = unsafe { sb_meta_defaults(ptr::null_mut()) };
    expect_err(st, SB_ERR_NULL, "sb_meta_defaults");
    let st = unsafe { sb_engine_options_defaults(ptr::null_mut()) };
    expect_err(st, SB_ERR_NULL, "sb_engine_options_defaults");
    let st = unsafe { sb_stream_config_defaults(ptr::null_mut()) };
    expect_err(st, SB_ERR_NULL, "sb_stream_config_defaults");
}

#[test]
fn row_engine_open_null_out() {
    let st = unsafe { sb_engine_open(bundle().as_ptr(), ptr::null(), ptr::null_mut()) };
    expect_err(st, SB_ERR_NULL, "sb_engine_open");
    assert!(last_error().contains("out"));
}

#[test]
fn row_engine_open_null_path() {
    let mut e = poisoned();
    let st = unsafe { sb_engine_open(ptr::null(), ptr::null(), &mut e) };
    expect_err(st, SB_ERR_NULL, "sb_engine_open");
    assert!(last_error().contains("path"));
    assert!(e.is_null());
}

/// The default model's digest, from an engine that opened it.
fn default_digest() -> String {
    c_str(unsafe { sb_engine_bundle_digest(shared_engine()) })
}

#[test]
fn row_engine_open_pinned_null_arguments() {
    let pin = CString::new(default_digest()).unwrap();
    let st = unsafe {
        sb_engine_open_pinned(
            bundle().as_ptr(),
            pin.as_ptr(),
            ptr::null(),
            ptr::null_mut(),
        )
    };
    expect_err(st, SB_ERR_NULL, "sb_engine_open_pinned");
    let mut e = poisoned();
    let st = unsafe { sb_engine_open_pinned(ptr::null(), pin.as_ptr(), ptr::null(), &mut e) };
    expect_err(st, SB_ERR_NULL, "sb_engine_open_pinned");
    assert!(last_error().contains("path") && e.is_null());
    let mut e = poisoned();
    let st = unsafe { sb_engine_open_pinned(bundle().as_ptr(), ptr::null(), ptr::null(), &mut e) };
    expect_err(st, SB_ERR_NULL, "sb_engine_open_pinned");
    assert!(last_error().contains("expected_sha256") && e.is_null());
}

#[test]
fn row_engine_open_pinned_not_a_digest() {
    for bad in ["", "abc", &"g".repeat(64), &"0".repeat(63), &"0".repeat(65)] {
        let pin = CString::new(bad).unwrap();
        let mut e = poisoned();
        let st =
            unsafe { sb_engine_open_pinned(bundle().as_ptr(), pin.as_ptr(), ptr::null(), &mut e) };
        expect_err(st, SB_ERR_INVALID, "sb_engine_open_pinned");
        assert!(e.is_null(), "{bad}");
    }
}

#[test]
fn row_engine_open_pinned_other_digest_refused() {
    let digest = default_digest();
    assert_eq!(digest.len(), 64);
    let other = format!(
        "{}{}",
        if digest.starts_with('0') { "1" } else { "0" },
        &digest[1..]
    );
    let pin = CString::new(other.clone()).unwrap();
    let mut e = poisoned();
    let st = unsafe { sb_engine_open_pinned(bundle().as_ptr(), pin.as_ptr(), ptr::null(), &mut e) };
    let msg = expect_err(st, SB_ERR_BUNDLE, "sb_engine_open_pinned");
    assert!(msg.contains(&digest) && msg.contains(&other), "{msg}");
    assert!(e.is_null());
}

#[test]
fn row_engine_open_pinned_own_digest_opens() {
    let digest = default_digest();
    for pin in [digest.clone(), digest.to_uppercase()] {
        let pin = CString::new(pin).unwrap();
        let mut e = ptr::null_mut();
        let st =
            unsafe { sb_engine_open_pinned(bundle().as_ptr(), pin.as_ptr(), ptr::null(), &mut e) };
        assert_eq!(st, SB_OK, "{}", last_error());
        assert_eq!(c_str(unsafe { sb_engine_bundle_digest(e) }), digest);
        assert_eq!(unsafe { sb_engine_close(&mut e) }, SB_OK);
    }
}

#[test]
fn row_engine_bundle_digest_null() {
    assert!(unsafe { sb_engine_bundle_digest(ptr::null()) }.is_null());
    let d = default_digest();
    assert!(
        d.len() == 64
            && d.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
}

#[test]
fn row_engine_open_null_options() {
    let mut e = open(ptr::null());
    let mut i = filled::<sb_engine_info>(size_of::<sb_engine_info>() as u32);
    assert_eq!(unsafe { sb_engine_get_info(e, i.as_mut_ptr()) }, SB_OK);
    let i = unsafe { i.assume_init() };
    assert!(i.variant == SB_VARIANT_F32 || i.variant == SB_VARIANT_INT8);
    assert_eq!(c_str(i.name), "synboost-default");
    assert_eq!(unsafe { sb_engine_close(&mut e) }, SB_OK);
    assert!(e.is_null());
}

#[test]
fn row_engine_open_missing_bundle() {
    let missing = CString::new(concat!(env!("CARGO_MANIFEST_DIR"), "/no/such/bundle")).unwrap();
    for (path, status) in [(missing.as_c_str(), SB_ERR_BUNDLE), (c"", SB_ERR_INVALID)] {
        let mut e = poisoned();
        let st = unsafe { sb_engine_open(path.as_ptr(), ptr::null(), &mut e) };
        expect_err(st, status, "sb_engine_open");
        assert!(e.is_null());
    }
}

#[test]
fn row_engine_open_non_utf8_path() {
    let mut e = poisoned();
    let st = unsafe { sb_engine_open(c"/tmp/\xff\xfe".as_ptr(), ptr::null(), &mut e) };
    expect_err(st, SB_ERR_INVALID, "sb_engine_open");
    assert!(e.is_null());
}

#[test]
fn row_engine_close_null() {
    assert_eq!(unsafe { sb_engine_close(ptr::null_mut()) }, SB_OK);
    let mut e: *mut sb_engine = ptr::null_mut();
    assert_eq!(unsafe { sb_engine_close(&mut e) }, SB_OK);
}

#[test]
fn row_engine_get_info_null_engine() {
    let mut i = filled::<sb_engine_info>(size_of::<sb_engine_info>() as u32);
    let st = unsafe { sb_engine_get_info(ptr::null(), i.as_mut_ptr()) };
    expect_err(st, SB_ERR_NULL, "sb_engine_get_info");
    assert!(bytes(&i)[4..].iter().all(|&b| b == FILL));
}

#[test]
fn row_engine_get_info_null_out() {
    let (_g, e) = engine();
    let st = unsafe { sb_engine_get_info(e, ptr::null_mut()) };
    expect_engine_err(e, st, SB_ERR_NULL, "sb_engine_get_info");
}

#[test]
fn row_engine_segment_null_out() {
    let f = gray_frame(16, 12);
    let (_g, e) = engine();
    let st = unsafe { sb_engine_segment(e, f.p(), ptr::null(), 0, ptr::null_mut()) };
    expect_engine_err(e, st, SB_ERR_NULL, "sb_engine_segment");
    drop(segment(e, &f));
}

#[test]
fn row_engine_segment_null_engine() {
    let f = gray_frame(16, 12);
    let mut r = poisoned();
    let st = unsafe { sb_engine_segment(ptr::null_mut(), f.p(), ptr::null(), 0, &mut r) };
    expect_err(st, SB_ERR_NULL, "sb_engine_segment");
    assert!(r.is_null());
}

#[test]
fn row_engine_segment_null_frame() {
    let msg = segment_refused(ptr::null(), ptr::null(), 0, SB_ERR_NULL);
    assert!(msg.contains("sb_frame"), "{msg}");
}

#[test]
fn row_engine_segment_null_frame_data() {
    let mut f = gray_frame(16, 12);
    f.f.data = ptr::null();
    let msg = segment_refused(f.p(), ptr::null(), 0, SB_ERR_NULL);
    assert!(msg.contains("sb_frame.data"), "{msg}");
}

#[test]
fn row_engine_segment_null_meta() {
    let r = segmented();
    let i = info(r.0);
    assert_eq!(
        (i.outcome, i.width, i.height),
        (SB_OUTCOME_SEGMENTED, 16, 12)
    );
    assert_eq!(i.structure_count, 3);
}

#[test]
fn row_engine_last_error_null() {
    assert!(unsafe { sb_engine_last_error(ptr::null()) }.is_null());
    let mut e = open(ptr::null());
    assert_eq!(engine_error(e), "");
    assert_eq!(unsafe { sb_engine_close(&mut e) }, SB_OK);
}

#[test]
fn row_stream_start_null_out() {
    let (_g, e) = engine();
    let st = unsafe { sb_stream_start(e, ptr::null(), ptr::null_mut()) };
    expect_engine_err(e, st, SB_ERR_NULL, "sb_stream_start");
}

#[test]
fn row_stream_start_null_engine() {
    let mut s = poisoned();
    let st = unsafe { sb_stream_start(ptr::null(), ptr::null(), &mut s) };
    expect_err(st, SB_ERR_NULL, "sb_stream_start");
    assert!(s.is_null());
}

#[test]
fn row_stream_start_null_config() {
    let (g, e) = engine();
    let mut s = poisoned();
    assert_eq!(unsafe { sb_stream_start(e, ptr::null(), &mut s) }, SB_OK);
    drop(g);
    let s = Stream(s);
    assert_eq!(push_ok(&s, &gray_frame(16, 12)), 0);
    let r = drain(&s);
    assert_eq!(r.len(), 1);
}

#[test]
fn row_stream_push_null_stream() {
    let f = gray_frame(16, 12);
    let mut seq = u64::MAX;
    let st = unsafe { sb_stream_push(ptr::null_mut(), f.p(), ptr::null(), &mut seq) };
    expect_err(st, SB_ERR_NULL, "sb_stream_push");
    assert_eq!(seq, u64::MAX);
}

#[test]
fn row_stream_push_null_frame() {
    let msg = push_refused(ptr::null(), ptr::null(), SB_ERR_NULL);
    assert!(msg.contains("sb_frame"), "{msg}");
}

#[test]
fn row_stream_push_null_frame_data() {
    let mut f = gray_frame(16, 12);
    f.f.data = ptr::null();
    let msg = push_refused(f.p(), ptr::null(), SB_ERR_NULL);
    assert!(msg.contains("sb_frame.data"), "{msg}");
}

#[test]
fn row_stream_push_null_meta_and_seq() {
    let s = lossless();
    let f = gray_frame(16, 12);
    let st = unsafe { sb_stream_push(s.0, f.p(), ptr::null(), ptr::null_mut()) };
    assert_eq!(st, SB_OK);
    assert_eq!(push_ok(&s, &f), 1);
    assert_eq!(drain(&s).len(), 2);
}

#[test]
fn row_stream_poll_null_stream() {
    let mut r = poisoned();
    let st = unsafe { sb_stream_poll(ptr::null_mut(), 0, &mut r) };
    expect_err(st, SB_ERR_NULL, "sb_stream_poll");
    assert!(r.is_null());
}

#[test]
fn row_stream_poll_null_out() {
    let s = lossless();
    push_ok(&s, &gray_frame(16, 12));
    let st = unsafe { sb_stream_poll(s.0, -1, ptr::null_mut()) };
    expect_stream_err(s.0, st, SB_ERR_NULL, "sb_stream_poll");
    assert_eq!(drain(&s).len(), 1, "the result is still there");
}

#[test]
fn row_stream_get_stats_null_stream() {
    let mut o = filled::<sb_stream_stats>(size_of::<sb_stream_stats>() as u32);
    let st = unsafe { sb_stream_get_stats(ptr::null(), o.as_mut_ptr()) };
    expect_err(st, SB_ERR_NULL, "sb_stream_get_stats");
    assert!(bytes(&o)[4..].iter().all(|&b| b == FILL));
}

#[test]
fn row_stream_get_stats_null_out() {
    let s = start(&config());
    let st = unsafe { sb_stream_get_stats(s.0, ptr::null_mut()) };
    expect_stream_err(s.0, st, SB_ERR_NULL, "sb_stream_get_stats");
}

#[test]
fn row_stream_stop_null() {
    let st = unsafe { sb_stream_stop(ptr::null_mut(), SB_STOP_DRAIN) };
    expect_err(st, SB_ERR_NULL, "sb_stream_stop");
}

#[test]
fn row_stream_close_null() {
    assert_eq!(unsafe { sb_stream_close(ptr::null_mut()) }, SB_OK);
    let mut s: *mut sb_stream = ptr::null_mut();
    assert_eq!(unsafe { sb_stream_close(&mut s) }, SB_OK);
}

#[test]
fn row_stream_last_error_null() {
    assert!(unsafe { sb_stream_last_error(ptr::null()) }.is_null());
    let s = start(&config());
    assert_eq!(stream_error(s.0), "");
}

#[test]
fn row_result_get_info_null_result() {
    let mut o = filled::<sb_result_info>(size_of::<sb_result_info>() as u32);
    let st = unsafe { sb_result_get_info(ptr::null(), o.as_mut_ptr()) };
    expect_err(st, SB_ERR_NULL, "sb_result_get_info");
    assert!(bytes(&o)[4..].iter().all(|&b| b == FILL));
}

#[test]
fn row_result_get_info_null_out() {
    let r = segmented();
    let st = unsafe { sb_result_get_info(r.0, ptr::null_mut()) };
    expect_err(st, SB_ERR_NULL, "sb_result_get_info");
}

#[test]
fn row_result_get_structure_null_result() {
    let mut o = filled::<sb_structure_result>(size_of::<sb_structure_result>() as u32);
    let st = unsafe { sb_result_get_structure(ptr::null(), 0, o.as_mut_ptr()) };
    expect_err(st, SB_ERR_NULL, "sb_result_get_structure");
    assert!(bytes(&o)[4..].iter().all(|&b| b == FILL));
}

#[test]
fn row_result_get_structure_null_out() {
    let r = segmented();
    let st = unsafe { sb_result_get_structure(r.0, 0, ptr::null_mut()) };
    expect_err(st, SB_ERR_NULL, "sb_result_get_structure");
}

#[test]
fn row_result_copy_mask_null_result() {
    let mut dst = [FILL; 16 * 12];
    let st = unsafe { sb_result_copy_mask(ptr::null(), 0, dst.as_mut_ptr(), dst.len(), 16, 1) };
    expect_err(st, SB_ERR_NULL, "sb_result_copy_mask");
    assert!(dst.iter().all(|&b| b == FILL));
}

#[test]
fn row_result_copy_mask_null_dst() {
    let r = segmented();
    let st = unsafe { sb_result_copy_mask(r.0, 0, ptr::null_mut(), 16 * 12, 16, 1) };
    expect_err(st, SB_ERR_NULL, "sb_result_copy_mask");
    assert!(last_error().contains("dst"));
}

#[test]
fn row_result_free_null() {
    assert_eq!(unsafe { sb_result_free(ptr::null_mut()) }, SB_OK);
    let mut r: *mut sb_result = ptr::null_mut();
    assert_eq!(unsafe { sb_result_free(&mut r) }, SB_OK);
}

#[test]
fn row_result_get_measurements_null_result() {
    let mut o = filled::<sb_measurements>(size_of::<sb_measurements>() as u32);
    let st = unsafe { sb_result_get_measurements(ptr::null(), o.as_mut_ptr()) };
    expect_err(st, SB_ERR_NULL, "sb_result_get_measurements");
    assert!(bytes(&o)[4..].iter().all(|&b| b == FILL));
}

#[test]
fn row_result_get_measurements_null_out() {
    let r = segmented();
    let st = unsafe { sb_result_get_measurements(r.0, ptr::null_mut()) };
    expect_err(st, SB_ERR_NULL, "sb_result_get_measurements");
}

#[test]
fn row_result_get_cycle_null_result() {
    let mut o = filled::<sb_cycle>(size_of::<sb_cycle>() as u32);
    let st = unsafe { sb_result_get_cycle(ptr::null(), o.as_mut_ptr()) };
    expect_err(st, SB_ERR_NULL, "sb_result_get_cycle");
    assert!(bytes(&o)[4..].iter().all(|&b| b == FILL));
}

#[test]
fn row_result_get_cycle_null_out() {
    let r = segmented();
    let st = unsafe { sb_result_get_cycle(r.0, ptr::null_mut()) };
    expect_err(st, SB_ERR_NULL, "sb_result_get_cycle");
}

#[test]
fn row_set_log_callback_null() {
    let _g = LOG_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    let st = unsafe { sb_set_log_callback(None, SB_LOG_TRACE, ptr::null_mut()) };
    assert_eq!(st, SB_OK, "{}", last_error());
    let st = unsafe { sb_set_log_callback(Some(count_log), SB_LOG_OFF, ptr::null_mut()) };
    assert_eq!(st, SB_OK, "{}", last_error());
}
