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
    // Under the first version, or a size that ends inside a newer field: refused (no field is
    // ever read in part).
    let v1 = std::mem::offset_of!(sb_engine_options, backend);
    for size in [
        0,
        4,
        v1 - 1,
        v1 + 4,
        v1 + 12,
        size_of::<sb_engine_options>() - 1,
    ] {
        options_refused(
            |o| *o = with_size(*o, size),
            "sb_engine_options.struct_size",
        );
    }
    // A host built against the first header: what follows its struct (here garbage) is never
    // read; the newer fields take their defaults.
    let mut old = filled::<sb_engine_options>(v1 as u32);
    let v1_fields = with_size(options(), v1);
    unsafe {
        std::ptr::copy_nonoverlapping(
            (&raw const v1_fields).cast::<u8>(),
            old.as_mut_ptr().cast::<u8>(),
            v1,
        )
    };
    let mut e = open(old.as_ptr());
    let mut info = filled::<sb_engine_info>(size_of::<sb_engine_info>() as u32);
    assert_eq!(unsafe { sb_engine_get_info(e, info.as_mut_ptr()) }, SB_OK);
    assert_eq!(unsafe { info.assume_init_ref() }.backend, SB_BACKEND_TRACT);
    assert_eq!(unsafe { sb_engine_close(&mut e) }, SB_OK);
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
    let call = |p: *mut sb_engine_info| {
        let st = unsafe { sb_engine_get_info(e, p) };
        if st < 0 {
            assert_eq!(engine_error(e), last_error());
        }
        st
    };
    // Below the first version's struct (up to `licence`): refused, nothing written.
    let v1 = std::mem::offset_of!(sb_engine_info, variant_reason) as u32;
    for size in [0, 4, v1 - 1] {
        let mut v = filled::<sb_engine_info>(size);
        let msg = expect_err(call(v.as_mut_ptr()), SB_ERR_INVALID, "sb_engine_get_info");
        assert!(
            msg.contains(&format!("sb_engine_info.struct_size is {size}")),
            "{msg}"
        );
        assert!(
            bytes(&v)[4..].iter().all(|&b| b == FILL),
            "refused struct written"
        );
    }
    // A host built against the first header: its fields written, not one byte more.
    let mut old = filled::<sb_engine_info>(v1);
    assert_eq!(call(old.as_mut_ptr()), SB_OK, "{}", last_error());
    assert_eq!(&bytes(&old)[..4], v1.to_ne_bytes());
    assert!(
        bytes(&old)[v1 as usize..].iter().all(|&b| b == FILL),
        "wrote past an old host's struct"
    );
    let info = unsafe { old.assume_init_ref() };
    assert!(!info.licence.is_null() && !info.name.is_null());
    // This header's struct and a larger one: everything, the reason included.
    let n = size_of::<sb_engine_info>() as u32;
    let mut cur = filled::<sb_engine_info>(n);
    assert_eq!(call(cur.as_mut_ptr()), SB_OK);
    let info = unsafe { cur.assume_init_ref() };
    let reason = unsafe { std::ffi::CStr::from_ptr(info.variant_reason) };
    let reason = reason.to_str().unwrap();
    assert!(
        reason.starts_with("f32: ") || reason.starts_with("int8: "),
        "{reason:?}"
    );
    assert_eq!(info.backend, SB_BACKEND_TRACT);
    let runtime = unsafe { std::ffi::CStr::from_ptr(info.runtime) };
    assert!(
        runtime.to_str().unwrap().starts_with("tract 0."),
        "{runtime:?}"
    );
    let big_size = size_of::<Larger<sb_engine_info>>() as u32;
    let mut big = filled::<Larger<sb_engine_info>>(big_size);
    assert_eq!(call(big.as_mut_ptr().cast()), SB_OK);
    assert_eq!(&bytes(&big)[..4], big_size.to_ne_bytes());
    assert!(
        bytes(&big)[n as usize..].iter().all(|&b| b == FILL),
        "tail written"
    );
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
