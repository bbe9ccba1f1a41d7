//! Section 5 of the bad-input matrix: wrong `struct_size`. Every struct passed in or filled,
//! with a size too small (refused, nothing written) and larger than ours (accepted, the tail
//! untouched).

use super::*;

#[test]
fn row_struct_size_frame() {
    let f = gray_frame(16, 12);
    for size in [0, 4, size_of::<sb_frame>() - 1] {
        let bad = with_size(f.f, size);
        refused(&bad, ptr::null(), SB_ERR_INVALID, "sb_frame.struct_size");
    }
    let big = Larger {
        inner: with_size(f.f, size_of::<Larger<sb_frame>>()),
        tail: [FILL; 24],
    };
    let p: *const sb_frame = (&raw const big).cast();
    let (g, e) = engine();
    let mut r = poisoned();
    assert_eq!(
        unsafe { sb_engine_segment(e, p, ptr::null(), 0, &mut r) },
        SB_OK
    );
    drop((Res(r), g));
    let s = lossless();
    assert_eq!(
        unsafe { sb_stream_push(s.0, p, ptr::null(), ptr::null_mut()) },
        SB_OK
    );
}

#[test]
fn row_struct_size_meta() {
    let f = gray_frame(16, 12);
    for size in [0, 4, size_of::<sb_meta>() - 1] {
        let bad = with_size(meta(), size);
        refused(f.p(), &bad, SB_ERR_INVALID, "sb_meta.struct_size");
    }
    let big = Larger {
        inner: with_size(meta(), size_of::<Larger<sb_meta>>()),
        tail: [FILL; 24],
    };
    let p: *const sb_meta = (&raw const big).cast();
    let (g, e) = engine();
    let mut r = poisoned();
    assert_eq!(unsafe { sb_engine_segment(e, f.p(), p, 0, &mut r) }, SB_OK);
    drop((Res(r), g));
    let s = lossless();
    assert_eq!(
        unsafe { sb_stream_push(s.0, f.p(), p, ptr::null_mut()) },
        SB_OK
    );
}

#[test]
fn row_struct_size_engine_options() {
    for size in [0, 4, size_of::<sb_engine_options>() - 1] {
        options_refused(
            |o| *o = with_size(*o, size),
            "sb_engine_options.struct_size",
        );
    }
    let big = Larger {
        inner: with_size(options(), size_of::<Larger<sb_engine_options>>()),
        tail: [FILL; 24],
    };
    let mut e = open((&raw const big).cast());
    assert_eq!(unsafe { sb_engine_close(&mut e) }, SB_OK);
}

#[test]
fn row_struct_size_stream_config() {
    for size in [0, 4, size_of::<sb_stream_config>() - 1] {
        config_refused(|c| *c = with_size(*c, size), "sb_stream_config.struct_size");
    }
    let big = Larger {
        inner: with_size(config(), size_of::<Larger<sb_stream_config>>()),
        tail: [FILL; 24],
    };
    let (g, e) = engine();
    let mut s = poisoned();
    let st = unsafe { sb_stream_start(e, (&raw const big).cast(), &mut s) };
    assert_eq!(st, SB_OK, "{}", last_error());
    drop((Stream(s), g));
}

#[test]
fn row_struct_size_engine_info() {
    let (_g, e) = engine();
    out_struct_rows("sb_engine_get_info", "sb_engine_info", SB_OK, |p| {
        let st = unsafe { sb_engine_get_info(e, p) };
        if st < 0 {
            assert_eq!(engine_error(e), last_error());
        }
        st
    });
}

#[test]
fn row_struct_size_stream_stats() {
    let s = start(&config());
    out_struct_rows("sb_stream_get_stats", "sb_stream_stats", SB_OK, |p| {
        let st = unsafe { sb_stream_get_stats(s.0, p) };
        if st < 0 {
            assert_eq!(stream_error(s.0), last_error());
        }
        st
    });
}

#[test]
fn row_struct_size_result_info() {
    let r = segmented();
    out_struct_rows("sb_result_get_info", "sb_result_info", SB_OK, |p| unsafe {
        sb_result_get_info(r.0, p)
    });
}

#[test]
fn row_struct_size_structure_result() {
    let r = segmented();
    out_struct_rows(
        "sb_result_get_structure",
        "sb_structure_result",
        SB_OK,
        |p| unsafe { sb_result_get_structure(r.0, 0, p) },
    );
}

#[test]
fn row_struct_size_measurements() {
    let r = segmented();
    out_struct_rows(
        "sb_result_get_measurements",
        "sb_measurements",
        SB_OK,
        |p| unsafe { sb_result_get_measurements(r.0, p) },
    );
}

#[test]
fn row_struct_size_cycle() {
    let r = segmented();
    out_struct_rows("sb_result_get_cycle", "sb_cycle", SB_NONE, |p| unsafe {
        sb_result_get_cycle(r.0, p)
    });
}
