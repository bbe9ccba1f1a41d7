//! The bad-input matrix of the C ABI: every entry point, called with every kind of bad
//! argument, one `#[test]` per row. Each failing row checks the exact status, that
//! `sb_last_error()` (and the handle's `sb_*_last_error()`, where there is a handle) holds a
//! message that starts with the entry point's name, that out-pointers are NULL and out-structs
//! untouched, and that the object still works afterwards.
//!
//! | # | Row (test `row_…`) | Call | Expected |
//! |---|---|---|---|
//! | 1 | `version_abi_status_strings` | `sb_version`, `sb_abi_version`, `sb_status_string(42 / i32::MIN)` | static strings, never NULL; "unknown status" |
//! | 1 | `last_error_fresh_thread` | `sb_last_error` on a thread with no failure | `""`, not NULL |
//! | 1 | `defaults_null_out` | `sb_meta_defaults`, `sb_engine_options_defaults`, `sb_stream_config_defaults` (NULL) | `SB_ERR_NULL` |
//! | 1 | `engine_open_null_out` / `_null_path` | `sb_engine_open` | `SB_ERR_NULL`, `*out` NULL |
//! | 1 | `engine_open_null_options` | `sb_engine_open(path, NULL, &e)` | `SB_OK` (defaults) |
//! | 1 | `engine_open_pinned_null_arguments` | `sb_engine_open_pinned` with NULL out, path, digest | `SB_ERR_NULL`, `*out` NULL |
//! | 2 | `engine_open_pinned_not_a_digest` | digest "", 3, 63, 65 characters, non-hex | `SB_ERR_INVALID`, `*out` NULL |
//! | 6 | `engine_open_pinned_other_digest_refused` | a valid bundle, another pinned digest | `SB_ERR_BUNDLE` naming both digests |
//! | 6 | `engine_open_pinned_own_digest_opens` | the bundle's own digest (either case) | `SB_OK`; `sb_engine_bundle_digest` gives it back |
//! | 1 | `engine_bundle_digest_null` | `sb_engine_bundle_digest(NULL)` | NULL; a live engine: 64 lower-case hex digits |
//! | 1 | `engine_open_missing_bundle` / `_non_utf8_path` | `sb_engine_open` (a missing folder; "" is `SB_ERR_INVALID`, never the current folder) | `SB_ERR_BUNDLE` / `SB_ERR_INVALID`, `*out` NULL |
//! | 1 | `engine_close_null` | `sb_engine_close(NULL)`, `(&NULL)` | `SB_OK` |
//! | 1 | `engine_get_info_null_engine` / `_null_out` | `sb_engine_get_info` | `SB_ERR_NULL` |
//! | 1 | `engine_segment_null_{out,engine,frame,frame_data}` | `sb_engine_segment` | `SB_ERR_NULL`, `*out` NULL |
//! | 1 | `engine_segment_null_meta` | `sb_engine_segment(.., NULL meta, ..)` | `SB_OK` |
//! | 1 | `engine_last_error_null` | `sb_engine_last_error(NULL)`; fresh engine | NULL; `""` |
//! | 1 | `stream_start_null_{out,engine}` | `sb_stream_start` | `SB_ERR_NULL`, `*out` NULL |
//! | 1 | `stream_start_null_config` | `sb_stream_start(e, NULL, &s)` | `SB_OK` (defaults) |
//! | 1 | `stream_push_null_{stream,frame,frame_data}` | `sb_stream_push` | `SB_ERR_NULL`, `*seq` untouched |
//! | 1 | `stream_push_null_meta_and_seq` | `sb_stream_push(s, f, NULL, NULL)` | `SB_OK` |
//! | 1 | `stream_poll_null_{stream,out}` | `sb_stream_poll` | `SB_ERR_NULL`, `*out` NULL |
//! | 1 | `stream_get_stats_null_{stream,out}` | `sb_stream_get_stats` | `SB_ERR_NULL` |
//! | 1 | `stream_stop_null` | `sb_stream_stop(NULL, ..)` | `SB_ERR_NULL` |
//! | 1 | `stream_close_null` | `sb_stream_close(NULL)`, `(&NULL)` | `SB_OK` |
//! | 1 | `stream_last_error_null` | `sb_stream_last_error(NULL)`; fresh stream | NULL; `""` |
//! | 1 | `result_*_null_result` / `_null_out` / `copy_mask_null_dst` | `sb_result_get_info`, `_get_structure`, `_copy_mask`, `_get_measurements`, `_get_cycle` | `SB_ERR_NULL` |
//! | 1 | `result_free_null` | `sb_result_free(NULL)`, `(&NULL)` | `SB_OK` |
//! | 1 | `set_log_callback_null` | `sb_set_log_callback(NULL, ..)` | `SB_OK` (logging off) |
//! | 2 | `frame_width_{0,16385,u32_max}`, `frame_height_{0,16385,u32_max}` | segment and push | `SB_ERR_FRAME` |
//! | 2 | `frame_extreme_sizes_accepted` | 1×1, 16384×1, 1×16384 | `SB_OK` |
//! | 2 | `frame_data_size_{0,short_by_one}` | `data_size` < `stride × (h − 1) + w × bpp` | `SB_ERR_FRAME` |
//! | 2 | `frame_data_size_{usize_max,over_isize_max}` | `data_size` > `isize::MAX` (refused before slicing) | `SB_ERR_FRAME` |
//! | 2 | `frame_stride_usize_max`, `frame_stride_times_height_overflows` | `stride × (h − 1)` overflows | `SB_ERR_FRAME` |
//! | 2 | `copy_mask_dst_size_{0,short_by_one}` | `sb_result_copy_mask` | `SB_ERR_BUFFER`, `dst` untouched |
//! | 2 | `copy_mask_dst_stride_overflows` | `dst_stride` `usize::MAX` | `SB_ERR_INVALID` |
//! | 2 | `copy_mask_padded_stride_exact_size` | stride > width, exact size | `SB_OK`, padding untouched |
//! | 2 | `stream_config_queue_capacity_{0,4097}`, `_workers_{0,65}`, `_result_capacity_{0,65537}`, `_frame_bytes_over_max` | `sb_stream_start` | `SB_ERR_INVALID`, `*out` NULL |
//! | 2 | `stream_push_over_max_frame_bytes` | frame > `max_frame_bytes` | `SB_ERR_FRAME`; next small frame gets seq 0 |
//! | 2 | `engine_options_prompt_cache_{0,65537}`, `_threads_{0,65}` | `sb_engine_open` | `SB_ERR_INVALID`, `*out` NULL |
//! | 2 | `result_get_structure_index_out_of_range`, `copy_mask_index_out_of_range` | index = count, `u32::MAX` | `SB_ERR_INVALID`, nothing written |
//! | 2 | `meta_age_131`, `meta_spacing_{nan,inf,negative}`, `meta_one_spacing_only`, `meta_fps_10001`, `meta_heart_rate_401`, `meta_cycle_position_{1,nan}` | segment and push | `SB_ERR_INVALID` naming the field |
//! | 2 | `meta_extremes_accepted` | age 130, spacing 100, fps 10000, 400 bpm, cycle 0.999 | `SB_OK` |
//! | 3 | `frame_stride_short_{gray8,gray16,rgb8,bgra8}` | `stride = width × bpp − 1` | `SB_ERR_FRAME` |
//! | 3 | `frame_padded_stride_short_last_row_accepted` | stride > row, last row not padded | `SB_OK` |
//! | 3 | `copy_mask_dst_stride_short` | `dst_stride` = width − 1, 0 | `SB_ERR_INVALID` |
//! | 4 | `frame_format_{4,u32_max}` | `sb_frame.format` | `SB_ERR_INVALID` |
//! | 4 | `meta_{view_3,phase_3,sex_3,quality_4}` | `sb_meta` enums | `SB_ERR_INVALID` |
//! | 4 | `stream_config_policy_3`, `stream_config_structures_8` | `sb_stream_start` | `SB_ERR_INVALID` |
//! | 4 | `stream_stop_mode_2` | `sb_stream_stop(s, 2 / u32::MAX)` | `SB_ERR_INVALID`, stream still runs |
//! | 4 | `engine_options_variant_3`, `_largest_component_2`, `_fill_holes_2` | `sb_engine_open` | `SB_ERR_INVALID` |
//! | 4 | `set_log_callback_level_out_of_range` | `max_level` 6, `u32::MAX` | `SB_ERR_INVALID` |
//! | 4 | `engine_segment_structures_{8,all_bits}` | `structures` 8, `0xFFFF_FFFF` | `SB_ERR_INVALID` |
//! | 5 | `struct_size_{frame,meta,engine_options,stream_config}` | `struct_size` 0, 4, `sizeof − 1` | `SB_ERR_INVALID`, `*out` NULL; larger: `SB_OK` |
//! | 5 | `struct_size_{engine_info,stream_stats,result_info,structure_result,measurements,cycle}` | `struct_size` 0, 4, `sizeof − 1` | `SB_ERR_INVALID`, struct untouched; larger: accepted, tail untouched |
//! | 6 | `stream_push_after_stop` | push after `sb_stream_stop` | `SB_ERR_STOPPED` |
//! | 6 | `stream_stop_twice` | stop, stop | `SB_OK`, `SB_OK` |
//! | 6 | `stream_poll_after_stop_drains_then_end` | poll after a draining stop | every result, then `SB_END` (again and again, any timeout) |
//! | 6 | `stream_poll_nothing_pushed_times_out` | poll(0), poll(10) on an idle stream | `SB_TIMEOUT`, `*out` NULL |
//! | 6 | `stream_poll_on_callback_stream` | poll a callback stream | `SB_ERR_STATE` |
//! | 6 | `stream_close_twice`, `result_free_twice` | close / free, handle nulled, again | `SB_OK` |
//! | 6 | `stream_get_stats_after_stop_balanced` | stats after stop (drain and discard) | `SB_OK`; pushed = processed + failed + dropped + discarded |
//! | 6 | `engine_closed_while_stream_runs` | close the engine, keep pushing | stream segments every frame |
//! | 6 | `measurements_of_{dropped,discarded}_result` | `sb_result_get_measurements` / `_get_cycle` | `SB_NONE`, struct untouched |
//! | 6 | `measurements_of_engine_result` | on an `sb_engine_segment` result | measurements `SB_OK` (no IoU, heart rate, cycle); cycle `SB_NONE` |
//! | 6 | `stream_stop_from_callback` | `sb_stream_stop` in the stream's own callback | `SB_ERR_STATE`, nothing stopped (no deadlock; 5 s watchdog) |
//! | 6 | `stream_close_from_callback` | `sb_stream_close` in the stream's own callback | `SB_ERR_STATE`, handle kept, stream not freed |
//! | 7 | `threads_push_and_poll_one_stream` | 4 pushers (1000 pushes, ¼ bad), 1 poller | seqs unique, each comes back once; bad pushes `SB_ERR_FRAME` with the thread's own message |
//! | 7 | `threads_segment_one_engine` | 4 threads × `sb_engine_segment` | identical masks |
//! | 7 | `threads_stats_while_pushing` | `sb_stream_get_stats` during pushes | every snapshot balanced, `pushed` monotonic |
//! | 7 | `threads_set_log_callback_while_logging` | 2 threads swap the log callback while a third logs | no crash; logs arrive afterwards |
//! | 6 | `set_log_callback_from_the_log_callback` | the log callback makes a failing call and calls `sb_set_log_callback` | `SB_ERR_STATE` there, never re-entered, no deadlock (5 s watchdog) |
//! | – | `all_entry_points_covered` | every function of `include/synboost.h` | called in this file (28) |
//!
//! Found by this matrix and fixed (`ffi/src/stream.rs`): `sb_stream_stop` from the stream's own
//! result callback joined the delivery thread from itself (glibc refuses with `EDEADLK`: the
//! call panicked into `SB_ERR_INTERNAL`, having stopped the stream and detached its delivery
//! thread; elsewhere it could hang), and `sb_stream_close` there freed the stream under the
//! running callback. Both now return `SB_ERR_STATE` and leave the stream running. Likewise the
//! log callback (`ffi/src/log.rs`): a failing call made inside it re-entered it under its lock,
//! and `sb_set_log_callback` there waited for that lock; now the first is dropped and the
//! second is `SB_ERR_STATE`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ffi::{CString, c_char, c_void};
use std::mem::{MaybeUninit, size_of};
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError, mpsc};
use std::thread;
use std::time::Duration;

use synboost::engine::*;
use synboost::log::*;
use synboost::measure::*;
use synboost::result::*;
use synboost::status::*;
use synboost::stream::*;
use synboost::types::*;
use synboost::{SB_ABI_VERSION, sb_abi_version, sb_version};

mod common;
use common::*;

// ---------------------------------------------------------------------------------------------
// ---------------------------------------------------------------------------------------------
// Helpers (the shared ones are in common/mod.rs)

/// `sb_engine_segment` refuses `f` / `meta` / `structures` with `expected` (thread and engine
/// messages name it, `*out` is NULL), then segments a good frame. Returns the message's text
/// after the entry point's name.
fn segment_refused(
    f: *const sb_frame,
    meta: *const sb_meta,
    structures: sb_structures,
    expected: sb_status,
) -> String {
    let (_g, e) = engine();
    let mut r = poisoned();
    let st = unsafe { sb_engine_segment(e, f, meta, structures, &mut r) };
    expect_engine_err(e, st, expected, "sb_engine_segment");
    assert!(r.is_null(), "*out not reset");
    drop(segment(e, &gray_frame(16, 12)));
    last_error()["sb_engine_segment: ".len()..].to_owned()
}

/// `sb_stream_push` refuses `f` / `meta` with `expected` (thread and stream messages name it,
/// `*seq` untouched); the next good frame gets sequence number 0. Returns the message's text
/// after the entry point's name.
fn push_refused(f: *const sb_frame, meta: *const sb_meta, expected: sb_status) -> String {
    let s = start(&config());
    let mut seq = u64::MAX;
    let st = unsafe { sb_stream_push(s.0, f, meta, &mut seq) };
    expect_stream_err(s.0, st, expected, "sb_stream_push");
    assert_eq!(seq, u64::MAX, "*seq written on failure");
    let msg = last_error()["sb_stream_push: ".len()..].to_owned();
    assert_eq!(push_ok(&s, &gray_frame(16, 12)), 0);
    msg
}

/// Both `sb_engine_segment` and `sb_stream_push` refuse the frame / metadata with `expected`
/// and the same message, which contains `needle`.
fn refused(f: *const sb_frame, meta: *const sb_meta, expected: sb_status, needle: &str) {
    let a = segment_refused(f, meta, 0, expected);
    let b = push_refused(f, meta, expected);
    assert_eq!(a, b);
    assert!(a.contains(needle), "{a:?} lacks {needle:?}");
}

/// A frame `edit` spoils, refused by segment and push.
fn frame_refused(edit: impl FnOnce(&mut sb_frame), expected: sb_status, needle: &str) {
    let mut f = gray_frame(16, 12);
    edit(&mut f.f);
    refused(f.p(), ptr::null(), expected, needle);
}

/// Metadata `edit` spoils, refused by segment and push with `SB_ERR_INVALID`.
fn meta_refused(edit: impl FnOnce(&mut sb_meta), needle: &str) {
    let f = gray_frame(16, 12);
    let mut m = meta();
    edit(&mut m);
    refused(f.p(), &m, SB_ERR_INVALID, needle);
}

/// `sb_stream_start` refuses the config `edit` spoils with `SB_ERR_INVALID`, `*out` NULL.
fn config_refused(edit: impl FnOnce(&mut sb_stream_config), needle: &str) {
    let mut c = config();
    edit(&mut c);
    let (_g, e) = engine();
    let mut s = poisoned();
    let st = unsafe { sb_stream_start(e, &c, &mut s) };
    expect_engine_err(e, st, SB_ERR_INVALID, "sb_stream_start");
    assert!(s.is_null(), "*out not reset");
    assert!(
        last_error().contains(needle),
        "{} lacks {needle:?}",
        last_error()
    );
}

/// `sb_engine_open` refuses the options `edit` spoils with `SB_ERR_INVALID`, `*out` NULL.
fn options_refused(edit: impl FnOnce(&mut sb_engine_options), needle: &str) {
    let mut o = options();
    edit(&mut o);
    let mut e = poisoned();
    let st = unsafe { sb_engine_open(bundle().as_ptr(), &o, &mut e) };
    expect_err(st, SB_ERR_INVALID, "sb_engine_open");
    assert!(e.is_null(), "*out not reset");
    assert!(
        last_error().contains(needle),
        "{} lacks {needle:?}",
        last_error()
    );
}

const FILL: u8 = 0xA5;

/// A `T` of `FILL` bytes whose leading `struct_size` is `size`.
fn filled<T>(size: u32) -> MaybeUninit<T> {
    let mut v = MaybeUninit::<T>::uninit();
    unsafe {
        v.as_mut_ptr()
            .cast::<u8>()
            .write_bytes(FILL, size_of::<T>());
        v.as_mut_ptr().cast::<u32>().write_unaligned(size);
    }
    v
}

fn bytes<T>(v: &MaybeUninit<T>) -> &[u8] {
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), size_of::<T>()) }
}

/// A struct as a newer caller sees it: ours plus fields this library does not know.
#[repr(C)]
#[derive(Clone, Copy)]
struct Larger<T> {
    inner: T,
    tail: [u8; 24],
}

/// Set a struct's leading `struct_size`.
fn with_size<T>(mut v: T, size: usize) -> T {
    unsafe { (&raw mut v).cast::<u32>().write(size as u32) };
    v
}

/// The `struct_size` rows of an out-struct: 0, 4 and `sizeof − 1` are refused with
/// `SB_ERR_INVALID` naming `entry` and `what`, nothing written; a larger size is answered
/// `larger` and the bytes past ours are left alone.
fn out_struct_rows<T>(
    entry: &str,
    what: &str,
    larger: sb_status,
    mut call: impl FnMut(*mut T) -> sb_status,
) {
    let n = size_of::<T>() as u32;
    for size in [0, 4, n - 1] {
        let mut v = filled::<T>(size);
        let st = call(v.as_mut_ptr());
        let msg = expect_err(st, SB_ERR_INVALID, entry);
        assert!(
            msg.contains(&format!("{what}.struct_size is {size}")),
            "{msg}"
        );
        assert_eq!(&bytes(&v)[..4], size.to_ne_bytes());
        assert!(
            bytes(&v)[4..].iter().all(|&b| b == FILL),
            "{entry} wrote a refused {what}"
        );
    }
    let big_size = size_of::<Larger<T>>() as u32;
    let mut big = filled::<Larger<T>>(big_size);
    let st = call(big.as_mut_ptr().cast());
    assert_eq!(st, larger, "{entry} with a larger {what}: {}", last_error());
    assert_eq!(&bytes(&big)[..4], big_size.to_ne_bytes());
    assert!(
        bytes(&big)[n as usize..].iter().all(|&b| b == FILL),
        "tail written"
    );
}

// ---------------------------------------------------------------------------------------------
// 1. NULL pointers

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

/// Serialises the tests that install log callbacks.
static LOG_LOCK: Mutex<()> = Mutex::new(());

#[test]
fn row_set_log_callback_null() {
    let _g = LOG_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    let st = unsafe { sb_set_log_callback(None, SB_LOG_TRACE, ptr::null_mut()) };
    assert_eq!(st, SB_OK, "{}", last_error());
    let st = unsafe { sb_set_log_callback(Some(count_log), SB_LOG_OFF, ptr::null_mut()) };
    assert_eq!(st, SB_OK, "{}", last_error());
}

// ---------------------------------------------------------------------------------------------
// 2. Zero and huge sizes

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

// ---------------------------------------------------------------------------------------------
// 3. Strides smaller than a row

fn stride_short(format: sb_pixel_format) {
    let mut f = frame(format, 16, 12);
    f.f.stride = 16 * BPP[format as usize] - 1;
    refused(f.p(), ptr::null(), SB_ERR_FRAME, "stride");
}

#[test]
fn row_frame_stride_short_gray8() {
    stride_short(SB_PIXEL_GRAY8);
}

#[test]
fn row_frame_stride_short_gray16() {
    stride_short(SB_PIXEL_GRAY16);
}

#[test]
fn row_frame_stride_short_rgb8() {
    stride_short(SB_PIXEL_RGB8);
}

#[test]
fn row_frame_stride_short_bgra8() {
    stride_short(SB_PIXEL_BGRA8);
}

#[test]
fn row_frame_padded_stride_short_last_row_accepted() {
    let s = lossless();
    let (g, e) = engine();
    for format in [
        SB_PIXEL_GRAY8,
        SB_PIXEL_GRAY16,
        SB_PIXEL_RGB8,
        SB_PIXEL_BGRA8,
    ] {
        let f = frame_with_stride(format, 16, 12, 16 * BPP[format as usize] + 3);
        drop(segment(e, &f));
        push_ok(&s, &f);
    }
    drop(g);
    assert_eq!(drain(&s).len(), 4);
}

#[test]
fn row_copy_mask_dst_stride_short() {
    let r = segmented();
    let mut dst = [FILL; 16 * 12];
    for stride in [15, 0] {
        let st = unsafe { sb_result_copy_mask(r.0, 0, dst.as_mut_ptr(), dst.len(), stride, 1) };
        expect_err(st, SB_ERR_INVALID, "sb_result_copy_mask");
        assert!(last_error().contains("dst_stride"));
        assert!(dst.iter().all(|&b| b == FILL));
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Unknown enum values

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
fn row_engine_options_variant_3() {
    options_refused(|o| o.variant = 3, "SB_VARIANT_");
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

// ---------------------------------------------------------------------------------------------
// 5. Wrong struct_size

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

// ---------------------------------------------------------------------------------------------
// 6. Calls in the wrong order

#[test]
fn row_stream_push_after_stop() {
    let s = lossless();
    push_ok(&s, &gray_frame(16, 12));
    assert_eq!(unsafe { sb_stream_stop(s.0, SB_STOP_DRAIN) }, SB_OK);
    let f = gray_frame(16, 12);
    let mut seq = u64::MAX;
    let st = unsafe { sb_stream_push(s.0, f.p(), ptr::null(), &mut seq) };
    expect_stream_err(s.0, st, SB_ERR_STOPPED, "sb_stream_push");
    assert_eq!(seq, u64::MAX);
    assert_eq!(stats(s.0).pushed, 1);
}

#[test]
fn row_stream_stop_twice() {
    let s = lossless();
    push_ok(&s, &gray_frame(16, 12));
    assert_eq!(unsafe { sb_stream_stop(s.0, SB_STOP_DRAIN) }, SB_OK);
    assert_eq!(unsafe { sb_stream_stop(s.0, SB_STOP_DISCARD) }, SB_OK);
    assert_eq!(stats(s.0).processed, 1);
}

#[test]
fn row_stream_poll_after_stop_drains_then_end() {
    let s = lossless();
    for i in 0..3 {
        assert_eq!(push_ok(&s, &gray_frame(16, 12)), i);
    }
    let results = drain(&s);
    let seqs: Vec<u64> = results.iter().map(|r| info(r.0).seq).collect();
    assert_eq!(seqs, [0, 1, 2]);
    assert!(
        results
            .iter()
            .all(|r| info(r.0).outcome == SB_OUTCOME_SEGMENTED)
    );
    for timeout in [0, 10, -1, 0] {
        let mut r = poisoned();
        assert_eq!(unsafe { sb_stream_poll(s.0, timeout, &mut r) }, SB_END);
        assert!(r.is_null());
    }
}

#[test]
fn row_stream_poll_nothing_pushed_times_out() {
    let s = start(&config());
    for timeout in [0, 10] {
        let mut r = poisoned();
        assert_eq!(unsafe { sb_stream_poll(s.0, timeout, &mut r) }, SB_TIMEOUT);
        assert!(r.is_null());
    }
}

unsafe extern "C" fn count_results(_result: *const sb_result, user: *mut c_void) {
    // SAFETY: the tests pass a live AtomicUsize.
    unsafe { &*user.cast::<AtomicUsize>() }.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn row_stream_poll_on_callback_stream() {
    let n = AtomicUsize::new(0);
    let s = start(&sb_stream_config {
        policy: SB_POLICY_BLOCK,
        callback: Some(count_results),
        user_data: (&raw const n).cast_mut().cast(),
        ..config()
    });
    push_ok(&s, &gray_frame(16, 12));
    for timeout in [0, 10, -1] {
        let mut r = poisoned();
        let st = unsafe { sb_stream_poll(s.0, timeout, &mut r) };
        expect_stream_err(s.0, st, SB_ERR_STATE, "sb_stream_poll");
        assert!(last_error().contains("callback"));
        assert!(r.is_null());
    }
    assert_eq!(unsafe { sb_stream_stop(s.0, SB_STOP_DRAIN) }, SB_OK);
    assert_eq!(n.load(Ordering::SeqCst), 1);
}

#[test]
fn row_stream_close_twice() {
    let mut s = lossless();
    push_ok(&s, &gray_frame(16, 12));
    assert_eq!(unsafe { sb_stream_close(&mut s.0) }, SB_OK);
    assert!(s.0.is_null());
    assert_eq!(unsafe { sb_stream_close(&mut s.0) }, SB_OK);
}

#[test]
fn row_result_free_twice() {
    let mut r = segmented();
    assert_eq!(unsafe { sb_result_free(&mut r.0) }, SB_OK);
    assert!(r.0.is_null());
    assert_eq!(unsafe { sb_result_free(&mut r.0) }, SB_OK);
}

#[test]
fn row_stream_get_stats_after_stop_balanced() {
    let f = gray_frame(16, 12);
    for mode in [SB_STOP_DRAIN, SB_STOP_DISCARD] {
        let s = start(&sb_stream_config {
            queue_capacity: 2,
            ..config()
        });
        for _ in 0..20 {
            push_ok(&s, &f);
        }
        assert_eq!(unsafe { sb_stream_stop(s.0, mode) }, SB_OK);
        let t = stats(s.0);
        assert_eq!(t.pushed, 20);
        assert_eq!(t.in_flight, 0);
        assert_eq!(t.pushed, t.processed + t.failed + t.dropped + t.discarded);
        if mode == SB_STOP_DRAIN {
            assert!(t.processed >= 2 && t.discarded == 0, "{t:?}");
        }
    }
}

#[test]
fn row_engine_closed_while_stream_runs() {
    let mut e = open(ptr::null());
    let mut s = poisoned();
    let c = sb_stream_config {
        policy: SB_POLICY_BLOCK,
        ..config()
    };
    assert_eq!(unsafe { sb_stream_start(e, &c, &mut s) }, SB_OK);
    let s = Stream(s);
    push_ok(&s, &gray_frame(16, 12));
    assert_eq!(unsafe { sb_engine_close(&mut e) }, SB_OK);
    assert!(e.is_null());
    for i in 1..4 {
        assert_eq!(push_ok(&s, &gray_frame(16, 12)), i);
    }
    let results = drain(&s);
    assert_eq!(results.len(), 4);
    assert!(
        results
            .iter()
            .all(|r| info(r.0).outcome == SB_OUTCOME_SEGMENTED)
    );
}

/// Measurements and cycle of an unsegmented result: `SB_NONE`, structs untouched; and no
/// structures.
fn unsegmented_rows(r: *const sb_result) {
    assert_eq!(info(r).structure_count, 0);
    let mut m = filled::<sb_measurements>(size_of::<sb_measurements>() as u32);
    assert_eq!(
        unsafe { sb_result_get_measurements(r, m.as_mut_ptr()) },
        SB_NONE
    );
    assert!(bytes(&m)[4..].iter().all(|&b| b == FILL));
    let mut c = filled::<sb_cycle>(size_of::<sb_cycle>() as u32);
    assert_eq!(unsafe { sb_result_get_cycle(r, c.as_mut_ptr()) }, SB_NONE);
    assert!(bytes(&c)[4..].iter().all(|&b| b == FILL));
    let mut s = filled::<sb_structure_result>(size_of::<sb_structure_result>() as u32);
    let st = unsafe { sb_result_get_structure(r, 0, s.as_mut_ptr()) };
    expect_err(st, SB_ERR_INVALID, "sb_result_get_structure");
    let mut dst = [0u8; 16 * 12];
    let st = unsafe { sb_result_copy_mask(r, 0, dst.as_mut_ptr(), dst.len(), 16, 1) };
    expect_err(st, SB_ERR_INVALID, "sb_result_copy_mask");
}

#[test]
fn row_measurements_of_dropped_result() {
    let s = start(&sb_stream_config {
        queue_capacity: 1,
        result_capacity: 256,
        ..config()
    });
    let f = gray_frame(16, 12);
    for _ in 0..30 {
        push_ok(&s, &f);
    }
    let results = drain(&s);
    assert_eq!(results.len(), 30);
    let dropped: Vec<_> = results
        .iter()
        .filter(|r| info(r.0).outcome == SB_OUTCOME_DROPPED)
        .collect();
    assert!(!dropped.is_empty());
    for r in dropped {
        unsegmented_rows(r.0);
    }
}

#[test]
fn row_measurements_of_discarded_result() {
    let s = start(&sb_stream_config {
        queue_capacity: 64,
        result_capacity: 256,
        ..config()
    });
    let f = gray_frame(16, 12);
    for _ in 0..30 {
        push_ok(&s, &f);
    }
    assert_eq!(unsafe { sb_stream_stop(s.0, SB_STOP_DISCARD) }, SB_OK);
    let results = drain(&s);
    assert_eq!(results.len(), 30);
    let discarded: Vec<_> = results
        .iter()
        .filter(|r| info(r.0).outcome == SB_OUTCOME_DISCARDED)
        .collect();
    assert!(!discarded.is_empty());
    for r in discarded {
        unsegmented_rows(r.0);
    }
}

#[test]
fn row_measurements_of_engine_result() {
    let r = segmented();
    let mut m = filled::<sb_measurements>(size_of::<sb_measurements>() as u32);
    assert_eq!(
        unsafe { sb_result_get_measurements(r.0, m.as_mut_ptr()) },
        SB_OK
    );
    let m = unsafe { m.assume_init() };
    assert_eq!(m.units, SB_UNITS_PIXELS);
    assert_ne!(m.flags & SB_FLAG_UNCALIBRATED, 0);
    assert_eq!(m.has_cycle, 0);
    assert!(m.temporal_iou < 0.0 && m.heart_rate_bpm < 0.0);
    assert!(m.lv_area >= 0.0 && m.myocardium_area >= 0.0 && m.la_area >= 0.0);
    let mut c = filled::<sb_cycle>(size_of::<sb_cycle>() as u32);
    assert_eq!(unsafe { sb_result_get_cycle(r.0, c.as_mut_ptr()) }, SB_NONE);
    assert!(bytes(&c)[4..].iter().all(|&b| b == FILL));
}

/// What a result callback that calls back into its own stream saw.
struct Reentry {
    stream: AtomicPtr<sb_stream>,
    close: bool,
    /// Per call: status, `sb_last_error()`, `sb_stream_last_error()`, whether `*stream` was
    /// left alone.
    seen: Mutex<Vec<(sb_status, String, String, bool)>>,
}

unsafe extern "C" fn reenter(_result: *const sb_result, user: *mut c_void) {
    // SAFETY: the tests pass a leaked Reentry.
    let c = unsafe { &*user.cast::<Reentry>() };
    let s = c.stream.load(Ordering::SeqCst);
    let (st, kept) = if c.close {
        let mut p = s;
        let st = unsafe { sb_stream_close(&mut p) };
        (st, p == s)
    } else {
        (unsafe { sb_stream_stop(s, SB_STOP_DRAIN) }, true)
    };
    // Only a stream that was not freed has a last error to read.
    let handle = if st == SB_OK && !kept {
        String::new()
    } else {
        stream_error(s)
    };
    let seen = (st, last_error(), handle, kept);
    c.seen.lock().unwrap().push(seen);
}

/// Push two frames into a stream whose callback stops or closes it; the stream goes on. Runs
/// under a 5 s watchdog.
fn reentry_rows(close: bool) -> Vec<(sb_status, String, String, bool)> {
    within(5, "a stream stopped from its own callback", move || {
        let ctx: &'static Reentry = Box::leak(Box::new(Reentry {
            stream: AtomicPtr::new(ptr::null_mut()),
            close,
            seen: Mutex::new(Vec::new()),
        }));
        let mut s = start(&sb_stream_config {
            policy: SB_POLICY_BLOCK,
            callback: Some(reenter),
            user_data: (&raw const *ctx).cast_mut().cast(),
            ..config()
        });
        ctx.stream.store(s.0, Ordering::SeqCst);
        let f = gray_frame(16, 12);
        push_ok(&s, &f);
        while ctx.seen.lock().unwrap().is_empty() {
            thread::sleep(Duration::from_millis(2));
        }
        let seen = ctx.seen.lock().unwrap().clone();
        if seen.iter().any(|x| x.0 == SB_OK && !x.3) {
            // The callback freed the stream: never touch it again.
            s.0 = ptr::null_mut();
            return seen;
        }
        assert_eq!(push_ok(&s, &f), 1, "the stream still takes frames");
        assert_eq!(unsafe { sb_stream_stop(s.0, SB_STOP_DRAIN) }, SB_OK);
        assert_eq!(stats(s.0).processed, 2);
        drop(s);
        ctx.seen.lock().unwrap().clone()
    })
}

#[test]
fn row_stream_stop_from_callback() {
    let seen = reentry_rows(false);
    assert_eq!(seen.len(), 2);
    for (st, msg, handle, _) in seen {
        assert_eq!(st, SB_ERR_STATE, "{msg}");
        assert!(
            msg.starts_with("sb_stream_stop: ") && msg.contains("callback"),
            "{msg}"
        );
        assert_eq!(handle, msg);
    }
}

#[test]
fn row_stream_close_from_callback() {
    let seen = reentry_rows(true);
    assert_eq!(seen.len(), 2);
    for (st, msg, handle, kept) in seen {
        assert_eq!(st, SB_ERR_STATE, "{msg}");
        assert!(
            msg.starts_with("sb_stream_close: ") && msg.contains("callback"),
            "{msg}"
        );
        assert_eq!(handle, msg);
        assert!(
            kept,
            "*stream was set to NULL although the stream was not closed"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 7. Several threads at once

#[test]
fn row_threads_push_and_poll_one_stream() {
    let s = start(&sb_stream_config {
        queue_capacity: 4,
        result_capacity: 1024,
        ..config()
    });
    let sh = Shared(s.0);
    let poller = thread::spawn(move || {
        let mut seqs = Vec::new();
        loop {
            let mut r = poisoned();
            match unsafe { sb_stream_poll(sh.get(), 50, &mut r) } {
                SB_OK => seqs.push(info(Res(r).0).seq),
                SB_TIMEOUT => {}
                SB_END => break,
                st => panic!("poll: {}", status_name(st)),
            }
        }
        (seqs, last_error())
    });
    let pushers: Vec<_> = (0..4)
        .map(|t| {
            thread::spawn(move || {
                let good = gray_frame(16, 12);
                let mut bad = gray_frame(16, 12);
                bad.f.data_size = t + 1;
                let own = format!("sb_stream_push: sb_frame: buffer has {} bytes", t + 1);
                let mut seqs = Vec::new();
                for k in 0..250 {
                    let mut seq = u64::MAX;
                    if k % 4 == 3 {
                        let st =
                            unsafe { sb_stream_push(sh.get(), bad.p(), ptr::null(), &mut seq) };
                        assert_eq!(st, SB_ERR_FRAME);
                        assert!(last_error().starts_with(&own), "{}", last_error());
                        assert_eq!(seq, u64::MAX);
                    } else {
                        let st =
                            unsafe { sb_stream_push(sh.get(), good.p(), ptr::null(), &mut seq) };
                        assert_eq!(st, SB_OK, "{}", last_error());
                        seqs.push(seq);
                        // A success leaves the thread's last error alone: still its own.
                        let expected = if k < 3 { "" } else { own.as_str() };
                        assert!(last_error().starts_with(expected), "{}", last_error());
                    }
                }
                seqs
            })
        })
        .collect();
    let mut pushed: Vec<u64> = pushers
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert_eq!(unsafe { sb_stream_stop(s.0, SB_STOP_DRAIN) }, SB_OK);
    let (polled, poller_error) = poller.join().unwrap();
    assert_eq!(poller_error, "", "the poller never failed");
    pushed.sort_unstable();
    let n = pushed.len();
    pushed.dedup();
    assert_eq!(pushed.len(), n, "a sequence number was given twice");
    // 1000 pushes, one in four bad: 752 frames taken, numbered from 0 without a gap.
    assert!(pushed.iter().copied().eq(0..752), "{n} frames: {pushed:?}");
    assert!(
        polled == pushed,
        "every frame's result, once, in order: {polled:?}"
    );
    let t = stats(s.0);
    assert_eq!(t.pushed, 752);
    assert_eq!(t.unread_dropped, 0);
    assert!(balanced(&t));
}

fn masks(r: *const sb_result) -> Vec<Vec<u8>> {
    let i = info(r);
    let (w, h) = (i.width as usize, i.height as usize);
    (0..i.structure_count)
        .map(|k| {
            let mut m = vec![0u8; w * h];
            let st = unsafe { sb_result_copy_mask(r, k, m.as_mut_ptr(), m.len(), w, 1) };
            assert_eq!(st, SB_OK);
            m
        })
        .collect()
}

#[test]
fn row_threads_segment_one_engine() {
    let e = Shared(shared_engine());
    let reference = masks(segmented().0);
    assert_eq!(reference.len(), 3);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            thread::spawn(move || {
                let f = gray_frame(16, 12);
                (0..3)
                    .map(|_| masks(segment(e.get(), &f).0))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for h in threads {
        for m in h.join().unwrap() {
            assert_eq!(m, reference);
        }
    }
}

#[test]
fn row_threads_stats_while_pushing() {
    let s = start(&config());
    let sh = Shared(s.0);
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let done = done.clone();
            thread::spawn(move || {
                let (mut last, mut reads) = (0, 0);
                while !done.load(Ordering::SeqCst) || reads == 0 {
                    let t = stats(sh.get());
                    assert!(balanced(&t), "{t:?}");
                    assert!(t.pushed >= last, "pushed went back");
                    last = t.pushed;
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    let pushers: Vec<_> = (0..2)
        .map(|_| {
            thread::spawn(move || {
                let f = gray_frame(16, 12);
                for _ in 0..200 {
                    let st =
                        unsafe { sb_stream_push(sh.get(), f.p(), ptr::null(), ptr::null_mut()) };
                    assert_eq!(st, SB_OK);
                }
            })
        })
        .collect();
    for h in pushers {
        h.join().unwrap();
    }
    done.store(true, Ordering::SeqCst);
    for h in readers {
        assert!(h.join().unwrap() > 0);
    }
    assert_eq!(unsafe { sb_stream_stop(s.0, SB_STOP_DRAIN) }, SB_OK);
    let t = stats(s.0);
    assert_eq!((t.pushed, t.in_flight), (400, 0));
    assert!(balanced(&t));
}

unsafe extern "C" fn count_log(
    _level: sb_log_level,
    _target: *const c_char,
    _message: *const c_char,
    user: *mut c_void,
) {
    if !user.is_null() {
        // SAFETY: the tests pass a static AtomicUsize.
        unsafe { &*user.cast::<AtomicUsize>() }.fetch_add(1, Ordering::SeqCst);
    }
}

unsafe extern "C" fn other_log(
    level: sb_log_level,
    target: *const c_char,
    message: *const c_char,
    user: *mut c_void,
) {
    // SAFETY: forwarded.
    unsafe { count_log(level, target, message, user) };
}

#[test]
fn row_threads_set_log_callback_while_logging() {
    static LOGS: AtomicUsize = AtomicUsize::new(0);
    let _g = LOG_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    let user = Shared((&raw const LOGS).cast_mut().cast::<c_void>());
    let logger = thread::spawn(move || {
        let e = shared_engine();
        let f = gray_frame(16, 12);
        for _ in 0..10 {
            drop(segment(e, &f));
            // A failing call logs its message at debug level.
            assert_eq!(unsafe { sb_meta_defaults(ptr::null_mut()) }, SB_ERR_NULL);
        }
    });
    let setters: Vec<_> = (0..2)
        .map(|t| {
            thread::spawn(move || {
                for k in 0..200 {
                    let cb: sb_log_callback = match (k + t) % 3 {
                        0 => Some(count_log),
                        1 => Some(other_log),
                        _ => None,
                    };
                    let st = unsafe { sb_set_log_callback(cb, SB_LOG_TRACE, user.get()) };
                    assert_eq!(st, SB_OK, "{}", last_error());
                }
            })
        })
        .collect();
    for h in setters {
        h.join().unwrap();
    }
    logger.join().unwrap();
    assert_eq!(
        unsafe { sb_set_log_callback(Some(count_log), SB_LOG_DEBUG, user.get()) },
        SB_OK
    );
    let before = LOGS.load(Ordering::SeqCst);
    assert_eq!(unsafe { sb_meta_defaults(ptr::null_mut()) }, SB_ERR_NULL);
    assert!(
        LOGS.load(Ordering::SeqCst) > before,
        "the failure was not logged"
    );
    assert_eq!(
        unsafe { sb_set_log_callback(None, SB_LOG_OFF, ptr::null_mut()) },
        SB_OK
    );
}

/// What the re-entering log callback saw: the status of its own `sb_set_log_callback`, and how
/// many times it was entered at once (more than 1: re-entered).
static REENTRY_STATUS: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);
static REENTRY_DEPTH: AtomicUsize = AtomicUsize::new(0);
static REENTRY_MAX: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn reentering_log(
    _level: sb_log_level,
    _target: *const c_char,
    _message: *const c_char,
    _user: *mut c_void,
) {
    let depth = REENTRY_DEPTH.fetch_add(1, Ordering::SeqCst) + 1;
    REENTRY_MAX.fetch_max(depth, Ordering::SeqCst);
    // A failing call logs: it must not come back into this callback.
    // SAFETY: NULL is a checked argument.
    unsafe { sb_meta_defaults(ptr::null_mut()) };
    // Changing the callback from inside it would wait for the lock it runs under.
    // SAFETY: plain arguments.
    let st = unsafe { sb_set_log_callback(None, SB_LOG_OFF, ptr::null_mut()) };
    REENTRY_STATUS.store(st, Ordering::SeqCst);
    REENTRY_DEPTH.fetch_sub(1, Ordering::SeqCst);
}

#[test]
fn row_set_log_callback_from_the_log_callback() {
    let _g = LOG_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    assert_eq!(
        unsafe { sb_set_log_callback(Some(reentering_log), SB_LOG_DEBUG, ptr::null_mut()) },
        SB_OK
    );
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        // A failing call logs once, at debug level.
        let st = unsafe { sb_meta_defaults(ptr::null_mut()) };
        let _ = tx.send(st);
    });
    let st = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("the log callback deadlocked");
    assert_eq!(st, SB_ERR_NULL);
    assert_eq!(REENTRY_STATUS.load(Ordering::SeqCst), SB_ERR_STATE);
    assert_eq!(
        REENTRY_MAX.load(Ordering::SeqCst),
        1,
        "the callback was re-entered"
    );
    assert_eq!(
        unsafe { sb_set_log_callback(None, SB_LOG_OFF, ptr::null_mut()) },
        SB_OK
    );
}

#[test]
fn row_all_entry_points_covered() {
    // Every function of the header is called in this file: a new entry point needs its rows.
    let header = include_str!("../../include/synboost.h");
    let this = include_str!("bad_input.rs");
    let mut names = Vec::new();
    for line in header.lines() {
        let Some((head, _)) = line.split_once('(') else {
            continue;
        };
        let name = head.rsplit([' ', '*']).next().unwrap_or("");
        if line.starts_with(|c: char| c.is_ascii_lowercase())
            && !line.starts_with("typedef")
            && name.starts_with("sb_")
        {
            assert!(this.contains(&format!("{name}(")), "{name} has no row");
            names.push(name);
        }
    }
    assert_eq!(names.len(), 28, "{names:?}");
}
