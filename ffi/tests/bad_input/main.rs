//! The bad-input matrix of the C ABI: every entry point, called with every kind of bad
//! argument, one `#[test]` per row. Each failing row checks the exact status, that
//! `sb_last_error()` (and the handle's `sb_*_last_error()`, where there is a handle) holds a
//! message that starts with the entry point's name, that out-pointers are NULL and out-structs
//! untouched, and that the object still works afterwards.
//!
//! The column # is the section, one file each: 1 `null.rs`, 2 `sizes.rs`, 3 `strides.rs`,
//! 4 `enums.rs`, 5 `struct_size.rs`, 6 `order.rs`, 7 `threads.rs`; the helpers of several
//! sections and the coverage row (–) are here.
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
//! | 4 | `engine_options_variant_4`, `_largest_component_2`, `_fill_holes_2` | `sb_engine_open` | `SB_ERR_INVALID` |
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
//! | – | `all_entry_points_covered` | every function of `include/synboost.h` | called in this matrix (28) |
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

#[path = "../common/mod.rs"]
mod common;
use common::*;

mod enums;
mod null;
mod order;
mod sizes;
mod strides;
mod struct_size;
mod threads;

// ---------------------------------------------------------------------------------------------
// Helpers of several sections (the ones shared with the other C ABI tests are in common/mod.rs)

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

/// Serialises the tests that install log callbacks.
static LOG_LOCK: Mutex<()> = Mutex::new(());

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

// ---------------------------------------------------------------------------------------------
// The whole matrix

#[test]
fn row_all_entry_points_covered() {
    // Every function of the header is called in this matrix: a new entry point needs its rows.
    let header = include_str!("../../../include/synboost.h");
    let this = [
        include_str!("main.rs"),
        include_str!("null.rs"),
        include_str!("sizes.rs"),
        include_str!("strides.rs"),
        include_str!("enums.rs"),
        include_str!("struct_size.rs"),
        include_str!("order.rs"),
        include_str!("threads.rs"),
    ]
    .concat();
    let mut names = Vec::new();
    for line in header.lines() {
        // A declaration starts its line, after the header's export and must-use macros.
        let decl = line.trim_start_matches("SB_NODISCARD ");
        let decl = decl.trim_start_matches("SB_API ");
        let Some((head, _)) = decl.split_once('(') else {
            continue;
        };
        let name = head.rsplit([' ', '*']).next().unwrap_or("");
        if decl.starts_with(|c: char| c.is_ascii_lowercase())
            && !decl.starts_with("typedef")
            && name.starts_with("sb_")
        {
            assert!(this.contains(&format!("{name}(")), "{name} has no row");
            names.push(name);
        }
    }
    assert_eq!(names.len(), 28, "{names:?}");
}
