//! A hostile host against the C ABI: the ten ways an earlier build could be crashed, starved or
//! misled (issue 24), one test each, written to fail on that build; then the lifecycle and
//! callback rows the bad-input matrix lacked (what a callback may call, stop and close from
//! other threads while calls are in flight, sizes that come from the config).
//!
//! | # | Test | Before | Now |
//! |---|---|---|---|
//! | 1 | `h1_freeing_a_callbacks_result_is_refused` | `SB_OK`, then a double free (SIGABRT) | `SB_ERR_STATE`, the result stays valid |
//! | 2 | `h2_a_slow_callback_is_bounded_and_stops_are_prompt` | 1797 in flight, close 92 s | in flight ≤ queue + workers, every frame one result or counted, stop within a frame and a callback |
//! | 3 | `h3_block_loses_nothing_the_reader_polls` | 136 of 200 results dropped at stop | all 200, pushes paced by the reader |
//! | 4 | `h4_handle_messages_stay_valid_on_their_thread` | pointer freed by another thread | a per-thread copy |
//! | 5 | `h5_oversized_bundle_files_are_refused_unread` | read whole (64 GiB asked for) | refused from the size |
//! | 6 | `h6_config_sizes_are_capped_and_allocated_fallibly` | "memory allocation failed", SIGABRT | `SB_ERR_INVALID` / `SB_ERR_NO_MEMORY` |
//! | 7 | `h7_callbacks_have_a_host_sized_stack` | 3 MiB local: stack overflow | ≥ 8 MiB |
//! | 8 | `h8_an_empty_path_is_invalid` | the current folder's bundle | `SB_ERR_INVALID` |
//! | 9 | `firmware-sim/tests/clinical.rs::resent_frames_keep_the_cycles` (a beating phantom) | 0 cycles | the clean stream's cycles, `SB_FLAG_DUPLICATE` |
//! | 10 | `h10_every_timestamp_but_none_stays_a_timestamp` | `INT64_MIN + 1` read back as none | rounded toward zero |
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ffi::{CString, c_void};
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use synboost::engine::*;
use synboost::result::*;
use synboost::status::*;
use synboost::stream::*;
use synboost::types::*;

mod common;
use common::*;

/// A callback's view of its results: what it was given and what it could do with them.
#[derive(Default)]
struct Seen {
    calls: AtomicU64,
    seqs: Mutex<Vec<u64>>,
    statuses: Mutex<Vec<(sb_status, String)>>,
    sleep_ms: AtomicU64,
    running: AtomicBool,
}

fn user<T>(ctx: &T) -> *mut c_void {
    (&raw const *ctx).cast_mut().cast()
}

/// # Safety
/// `user_data` is a live `Seen`.
unsafe fn seen<'a>(user_data: *mut c_void) -> &'a Seen {
    unsafe { &*user_data.cast::<Seen>() }
}

unsafe extern "C" fn record(result: *const sb_result, user_data: *mut c_void) {
    let s = unsafe { seen(user_data) };
    s.running.store(true, Ordering::SeqCst);
    s.seqs.lock().unwrap().push(info(result).seq);
    let ms = s.sleep_ms.load(Ordering::SeqCst);
    if ms > 0 {
        thread::sleep(Duration::from_millis(ms));
    }
    s.calls.fetch_add(1, Ordering::SeqCst);
    s.running.store(false, Ordering::SeqCst);
}

fn callback_stream(c: sb_stream_config, ctx: &Seen, cb: sb_result_callback) -> Stream {
    start(&sb_stream_config {
        callback: cb,
        user_data: user(ctx),
        ..c
    })
}

/// Three frames through a block-policy stream with callback `cb`, drained.
fn three_through(ctx: &Seen, cb: sb_result_callback) {
    let s = callback_stream(
        sb_stream_config {
            policy: SB_POLICY_BLOCK,
            ..config()
        },
        ctx,
        cb,
    );
    let f = gray_frame(16, 12);
    for _ in 0..3 {
        push_ok(&s, &f);
    }
    assert_eq!(unsafe { sb_stream_stop(s.0, SB_STOP_DRAIN) }, SB_OK);
}

fn push_status(s: *mut sb_stream, f: &Frame) -> sb_status {
    unsafe { sb_stream_push(s, f.p(), ptr::null(), ptr::null_mut()) }
}

// ---------------------------------------------------------------------------------------------
// 1. sb_result_free on a callback's result

unsafe extern "C" fn free_the_lent_result(result: *const sb_result, user_data: *mut c_void) {
    let s = unsafe { seen(user_data) };
    let mut r = result.cast_mut();
    let st = unsafe { sb_result_free(&mut r) };
    let msg = last_error();
    // Still valid: the library frees it after the callback, once.
    let mut i = MaybeUninit::<sb_result_info>::zeroed();
    unsafe { (*i.as_mut_ptr()).struct_size = size_of_u32::<sb_result_info>() };
    let after = unsafe { sb_result_get_info(result, i.as_mut_ptr()) };
    let kept = r == result.cast_mut();
    s.statuses
        .lock()
        .unwrap()
        .push((st, format!("{msg}|{after}|{kept}")));
    s.calls.fetch_add(1, Ordering::SeqCst);
}

fn size_of_u32<T>() -> u32 {
    std::mem::size_of::<T>() as u32
}

#[test]
fn h1_freeing_a_callbacks_result_is_refused() {
    let ctx = Seen::default();
    three_through(&ctx, Some(free_the_lent_result));
    let statuses = ctx.statuses.lock().unwrap();
    assert_eq!(statuses.len(), 3);
    for (st, m) in statuses.iter() {
        assert_eq!(*st, SB_ERR_STATE, "{m}");
        assert!(
            m.starts_with("sb_result_free: ") && m.contains("lent to the result callback"),
            "{m}"
        );
        assert!(
            m.ends_with(&format!("|{SB_OK}|true")),
            "still valid, handle kept: {m}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 2. A slow result callback

/// Push 512² frames at `fps` for `secs` into a stream configured as `watch`, checking that
/// in_flight never exceeds queue + workers; returns (pushed, the largest in_flight seen).
fn flood(s: &Stream, fps: u64, secs: f64, watch: &sb_stream_config) -> (u64, u64) {
    let f = gray_frame(512, 512);
    let period = Duration::from_micros(1_000_000 / fps);
    let t0 = Instant::now();
    let mut pushed: u32 = 0;
    let mut most = 0;
    while t0.elapsed().as_secs_f64() < secs {
        let st = push_status(s.0, &f);
        assert!(st == SB_OK, "{} {}", status_name(st), last_error());
        pushed += 1;
        let now = stats(s.0);
        most = most.max(now.in_flight);
        assert!(
            now.in_flight <= u64::from(watch.queue_capacity + watch.workers),
            "in flight {} with a queue of {} and {} worker(s)",
            now.in_flight,
            watch.queue_capacity,
            watch.workers
        );
        thread::sleep((t0 + period * pushed).saturating_duration_since(Instant::now()));
    }
    (u64::from(pushed), most)
}

#[test]
fn h2_a_slow_callback_is_bounded_and_stops_are_prompt() {
    for mode in [SB_STOP_DISCARD, SB_STOP_DRAIN] {
        let ctx = Seen::default();
        ctx.sleep_ms.store(50, Ordering::SeqCst);
        let c = sb_stream_config {
            policy: SB_POLICY_DROP_OLDEST,
            queue_capacity: 4,
            result_capacity: 8,
            ..config()
        };
        let s = callback_stream(c, &ctx, Some(record));
        let (pushed, _) = flood(&s, 200, 1.5, &c);
        // The callback can take 20 results a second: most of them cannot be delivered.
        let before = stats(s.0);
        let frame_s =
            (before.preprocess_mean_ms + before.model_mean_ms + before.postprocess_mean_ms) / 1e3;
        let t = Instant::now();
        assert_eq!(unsafe { sb_stream_stop(s.0, mode) }, SB_OK);
        let took = t.elapsed();
        let st = stats(s.0);
        let calls = ctx.calls.load(Ordering::SeqCst);
        // Discard: the frame in the worker and the callback running (50 ms). Drain: also
        // the 4 queued frames and at most 13 callbacks of 50 ms (the 8 results waiting and the
        // 5 frames in flight). Plus 0.5 s of slack for a busy machine; frame times as measured
        // (they are ten times longer under ThreadSanitizer).
        let bound = if mode == SB_STOP_DISCARD {
            frame_s + 0.05 + 0.5
        } else {
            5.0 * frame_s + 13.0 * 0.05 + 0.5
        };
        assert!(
            took.as_secs_f64() < bound,
            "stop mode {mode} took {took:?} ({calls} callbacks, {pushed} pushed)"
        );
        assert_eq!(st.pushed, pushed);
        assert_eq!(st.in_flight, 0);
        assert!(balanced(&st), "{st:?}");
        assert_eq!(
            calls + st.unread_dropped,
            pushed,
            "every frame: one result, delivered or counted ({st:?})"
        );
        assert!(st.unread_dropped > pushed / 2, "{st:?}");
        let seqs = ctx.seqs.lock().unwrap().clone();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order");
        if mode == SB_STOP_DRAIN {
            assert_eq!(
                seqs.last(),
                Some(&(pushed - 1)),
                "drain delivers the newest"
            );
        }
        // Once stop returned the callback is done with.
        thread::sleep(Duration::from_millis(120));
        assert_eq!(ctx.calls.load(Ordering::SeqCst), calls);
        drop(s);
    }
}

#[test]
fn h2_close_of_a_flooded_callback_stream_is_prompt() {
    let ctx = Seen::default();
    ctx.sleep_ms.store(50, Ordering::SeqCst);
    let c = sb_stream_config {
        queue_capacity: 4,
        ..config()
    };
    let mut s = callback_stream(c, &ctx, Some(record));
    flood(&s, 200, 1.0, &c);
    let t = Instant::now();
    assert_eq!(unsafe { sb_stream_close(&mut s.0) }, SB_OK);
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "close took {:?}",
        t.elapsed()
    );
    assert!(
        !ctx.running.load(Ordering::SeqCst),
        "the callback is not running"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. SB_POLICY_BLOCK

#[test]
fn h3_block_loses_nothing_the_reader_polls() {
    let c = sb_stream_config {
        policy: SB_POLICY_BLOCK,
        ..config()
    };
    let s = start(&c);
    let h = Shared(s.0);
    let most_ahead = Arc::new(AtomicU64::new(0));
    let ahead = Arc::clone(&most_ahead);
    // A slow reader: one result every 5 ms, from its own thread, until SB_END.
    let reader = thread::spawn(move || {
        let mut seqs = Vec::new();
        loop {
            let mut r = ptr::null_mut();
            match unsafe { sb_stream_poll(h.get(), 0, &mut r) } {
                SB_OK => {
                    let r = Res(r);
                    seqs.push(info(r.0).seq);
                    let st = stats(h.get());
                    ahead.fetch_max(st.pushed - seqs.len() as u64, Ordering::SeqCst);
                }
                SB_TIMEOUT => {}
                SB_END => return seqs,
                st => panic!("poll: {}", status_name(st)),
            }
            thread::sleep(Duration::from_millis(5));
        }
    });
    let f = gray_frame(16, 12);
    for k in 0..200 {
        assert_eq!(push_ok(&s, &f), k);
    }
    assert_eq!(unsafe { sb_stream_stop(s.0, SB_STOP_DRAIN) }, SB_OK);
    let seqs = reader.join().unwrap();
    assert_eq!(
        seqs,
        (0..200).collect::<Vec<u64>>(),
        "every result, in order"
    );
    let st = stats(s.0);
    assert_eq!((st.processed, st.unread_dropped), (200, 0));
    // The reader paced the pushes: never more than results + queue + workers + one ahead.
    let bound = u64::from(c.result_capacity + c.queue_capacity + c.workers) + 1;
    let worst = most_ahead.load(Ordering::SeqCst);
    assert!(
        worst <= bound,
        "the pusher got {worst} frames ahead of the reader"
    );
}

#[test]
fn h3_a_push_waiting_for_the_reader_gives_up_at_stop() {
    let s = start(&sb_stream_config {
        policy: SB_POLICY_BLOCK,
        result_capacity: 2,
        ..config()
    });
    let h = Shared(s.0);
    let pushes = Arc::new(AtomicU64::new(0));
    let last = Arc::new(AtomicI32::new(SB_OK));
    let (n, l) = (Arc::clone(&pushes), Arc::clone(&last));
    // Nobody polls: the pusher must end up waiting, and a stop must release it.
    let pusher = thread::spawn(move || {
        let f = gray_frame(16, 12);
        loop {
            let st = unsafe { sb_stream_push(h.get(), f.p(), ptr::null(), ptr::null_mut()) };
            if st != SB_OK {
                l.store(st, Ordering::SeqCst);
                return last_error();
            }
            n.fetch_add(1, Ordering::SeqCst);
        }
    });
    let mut before = u64::MAX;
    for _ in 0..100 {
        thread::sleep(Duration::from_millis(50));
        let now = pushes.load(Ordering::SeqCst);
        if now == before {
            break;
        }
        before = now;
    }
    assert!(before <= 2 + 4 + 1 + 1, "{before} pushes without a reader");
    let msg = within(5, "stop while a push waits for the reader", move || {
        assert_eq!(unsafe { sb_stream_stop(h.get(), SB_STOP_DRAIN) }, SB_OK);
        pusher.join().unwrap()
    });
    assert_eq!(last.load(Ordering::SeqCst), SB_ERR_STOPPED, "{msg}");
    // What was taken is still there for the reader, all of it.
    let results = drain(&s);
    assert_eq!(results.len() as u64, pushes.load(Ordering::SeqCst));
    assert_eq!(stats(s.0).unread_dropped, 0);
}

// ---------------------------------------------------------------------------------------------
// 4. Handle messages read while another thread fails on the same handle

#[test]
fn h4_handle_messages_stay_valid_on_their_thread() {
    let s = start(&config());
    let h = Shared(s.0);
    let mut zero = gray_frame(16, 12);
    zero.f.width = 0;
    let mut no_data = gray_frame(16, 12);
    no_data.f.data = ptr::null();
    for _ in 0..200 {
        assert_ne!(push_status(s.0, &zero), SB_OK);
        let p = unsafe { sb_stream_last_error(s.0) };
        let mine = c_str(p);
        assert!(mine.contains("width") || mine.contains("size"), "{mine}");
        // Another thread fails on the same stream with another message.
        let other = thread::spawn(move || {
            let mut f = gray_frame(16, 12);
            f.f.data = ptr::null();
            let st = unsafe { sb_stream_push(h.get(), f.p(), ptr::null(), ptr::null_mut()) };
            assert_eq!(st, SB_ERR_NULL);
            c_str(unsafe { sb_stream_last_error(h.get()) })
        })
        .join()
        .unwrap();
        assert_ne!(other, mine);
        assert_eq!(
            c_str(p),
            mine,
            "the pointer this thread holds was changed under it"
        );
    }
    assert_ne!(push_status(s.0, &no_data), SB_OK);
    // The same for an engine's message.
    let o = options();
    let e = Shared(open(&o));
    let mut r = ptr::null_mut();
    let st = unsafe { sb_engine_segment(e.get(), zero.p(), ptr::null(), 0, &mut r) };
    assert_ne!(st, SB_OK);
    let p = unsafe { sb_engine_last_error(e.get()) };
    let mine = c_str(p);
    thread::spawn(move || {
        let mut r = ptr::null_mut();
        let f = gray_frame(16, 12);
        let st = unsafe { sb_engine_segment(e.get(), f.p(), ptr::null(), 0xFF, &mut r) };
        assert_eq!(st, SB_ERR_INVALID);
    })
    .join()
    .unwrap();
    assert_eq!(
        c_str(p),
        mine,
        "the engine message this thread holds was changed under it"
    );
    // A fresh read gives the other thread's message (and replaces this thread's copy).
    assert_ne!(c_str(unsafe { sb_engine_last_error(e.get()) }), mine);
    let mut ee = e.get();
    assert_eq!(unsafe { sb_engine_close(&mut ee) }, SB_OK);
}

#[test]
fn h4_handle_messages_under_concurrent_failures() {
    // Two threads failing on one stream and reading its message, many times: each reads a
    // whole message of its own kind or the other's, never freed memory.
    let s = start(&config());
    let h = Shared(s.0);
    let workers: Vec<_> = (0..2)
        .map(|t| {
            thread::spawn(move || {
                let mut f = gray_frame(16, 12);
                if t == 0 {
                    f.f.width = 0;
                } else {
                    f.f.data = ptr::null();
                }
                for _ in 0..2000 {
                    let st =
                        unsafe { sb_stream_push(h.get(), f.p(), ptr::null(), ptr::null_mut()) };
                    assert_ne!(st, SB_OK);
                    let p = unsafe { sb_stream_last_error(h.get()) };
                    let m = c_str(p);
                    assert!(m.starts_with("sb_stream_push: "), "{m:?}");
                    thread::yield_now();
                    assert_eq!(c_str(p), m);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Oversized bundle files

fn bundle_copy() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/default");
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), d.path().join(e.file_name())).unwrap();
        }
    }
    d
}

fn open_status(dir: &std::path::Path, pin: Option<&str>) -> (sb_status, String) {
    let path = CString::new(dir.to_str().unwrap()).unwrap();
    let mut e = poisoned();
    let st = match pin {
        None => unsafe { sb_engine_open(path.as_ptr(), ptr::null(), &mut e) },
        Some(p) => {
            let p = CString::new(p).unwrap();
            unsafe { sb_engine_open_pinned(path.as_ptr(), p.as_ptr(), ptr::null(), &mut e) }
        }
    };
    let msg = last_error();
    if st == SB_OK {
        unsafe { sb_engine_close(&mut e) };
    } else {
        assert!(e.is_null());
    }
    (st, msg)
}

#[test]
fn h5_oversized_bundle_files_are_refused_unread() {
    let d = bundle_copy();
    let digest = synboost_core::model::bundle::sha256_hex(
        &std::fs::read(d.path().join("manifest.json")).unwrap(),
    );
    // A sparse 64 GiB image model: nothing on disk, and nothing of it is read.
    std::fs::File::options()
        .write(true)
        .open(d.path().join("image.onnx"))
        .unwrap()
        .set_len(64 << 30)
        .unwrap();
    for pin in [None, Some(digest.as_str())] {
        let (st, msg) = open_status(d.path(), pin);
        assert_eq!(st, SB_ERR_BUNDLE, "{msg}");
        assert!(
            msg.contains("image.onnx: 68719476736 bytes, the manifest says"),
            "{msg}"
        );
    }
    // A sparse 8 GiB manifest.
    std::fs::File::options()
        .write(true)
        .open(d.path().join("manifest.json"))
        .unwrap()
        .set_len(8 << 30)
        .unwrap();
    let (st, msg) = open_status(d.path(), None);
    assert_eq!(st, SB_ERR_BUNDLE, "{msg}");
    assert!(
        msg.contains("8589934592 bytes") && msg.contains("refused unread"),
        "{msg}"
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Sizes from the config

#[test]
fn h6_config_sizes_are_capped_and_allocated_fallibly() {
    let (_g, e) = engine();
    for (frame_bytes, max) in [(64usize << 30, usize::MAX), ((1 << 30) + 1, usize::MAX)] {
        let c = sb_stream_config {
            frame_bytes,
            max_frame_bytes: max,
            ..config()
        };
        let mut s = poisoned();
        let st = unsafe { sb_stream_start(e, &c, &mut s) };
        let msg = expect_err(st, SB_ERR_INVALID, "sb_stream_start");
        assert!(s.is_null());
        assert!(
            msg.contains("frame_bytes") && msg.contains("largest frame"),
            "{msg}"
        );
    }
    // Allocation failure itself: in a child process limited to 3 GiB of address space, six
    // buffers of 1 GiB cannot all be had.
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "h6_child_out_of_memory",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SYNBOOST_H6_CHILD", "1")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if text.contains("ThreadSanitizer: out of memory") {
        // Under ThreadSanitizer its own allocator cannot live in 3 GiB of address space; the
        // plain build (CI) runs this check.
        println!("skipped under ThreadSanitizer: {text}");
        return;
    }
    assert!(out.status.success(), "the child failed: {text}");
    assert!(text.contains("h6 child: SB_ERR_NO_MEMORY"), "{text}");
}

/// Run by [`h6_config_sizes_are_capped_and_allocated_fallibly`] in a child process.
#[test]
fn h6_child_out_of_memory() {
    if std::env::var_os("SYNBOOST_H6_CHILD").is_none() {
        return;
    }
    let e = shared_engine();
    let limit = libc::rlimit {
        rlim_cur: 3 << 30,
        rlim_max: libc::RLIM_INFINITY,
    };
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) }, 0);
    let c = sb_stream_config {
        frame_bytes: 1 << 30,
        max_frame_bytes: 1 << 30,
        ..config()
    };
    let mut s = poisoned();
    let st = unsafe { sb_stream_start(e, &c, &mut s) };
    let msg = expect_err(st, SB_ERR_NO_MEMORY, "sb_stream_start");
    assert!(s.is_null());
    assert!(
        msg.contains("out of memory") && msg.contains("1073741824"),
        "{msg}"
    );
    // The library goes on: a stream of ordinary size starts and segments.
    let s = start(&sb_stream_config {
        policy: SB_POLICY_BLOCK,
        ..config()
    });
    push_ok(&s, &gray_frame(16, 12));
    assert_eq!(drain(&s).len(), 1);
    println!("h6 child: SB_ERR_NO_MEMORY ({msg})");
}

// ---------------------------------------------------------------------------------------------
// 7. The callback's stack

unsafe extern "C" fn deep(result: *const sb_result, user_data: *mut c_void) {
    // 3 MiB of locals, as a host's image-processing callback may have.
    let mut buf = [0u8; 3 << 20];
    let seq = info(result).seq;
    for (i, b) in buf.iter_mut().enumerate().step_by(4096) {
        *b = (i as u64 ^ seq) as u8;
    }
    let sum: u64 = std::hint::black_box(&buf)
        .iter()
        .map(|&b| u64::from(b))
        .sum();
    let s = unsafe { seen(user_data) };
    s.seqs.lock().unwrap().push(sum);
    s.calls.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn h7_callbacks_have_a_host_sized_stack() {
    assert!(synboost_core::threads::stack_size() >= 8 << 20);
    let ctx = Seen::default();
    three_through(&ctx, Some(deep));
    assert_eq!(ctx.calls.load(Ordering::SeqCst), 3);
}

// ---------------------------------------------------------------------------------------------
// 8. An empty path

#[test]
fn h8_an_empty_path_is_invalid() {
    let empty = CString::new("").unwrap();
    let mut e = poisoned();
    let st = unsafe { sb_engine_open(empty.as_ptr(), ptr::null(), &mut e) };
    let msg = expect_err(st, SB_ERR_INVALID, "sb_engine_open");
    assert!(e.is_null() && msg.contains("empty"), "{msg}");
    let digest = CString::new("0".repeat(64)).unwrap();
    let mut e = poisoned();
    let st = unsafe { sb_engine_open_pinned(empty.as_ptr(), digest.as_ptr(), ptr::null(), &mut e) };
    expect_err(st, SB_ERR_INVALID, "sb_engine_open_pinned");
    assert!(e.is_null());
}

// ---------------------------------------------------------------------------------------------
// 10. Timestamps at the ends of the range

#[test]
fn h10_every_timestamp_but_none_stays_a_timestamp() {
    let cases = [
        i64::MIN + 1,
        i64::MIN + 999,
        i64::MIN + 1000,
        -1_000_001,
        -1,
        0,
        1,
        999,
        i64::MAX,
    ];
    let s = start(&sb_stream_config {
        policy: SB_POLICY_BLOCK,
        ..config()
    });
    let mut f = gray_frame(16, 12);
    for t in cases {
        f.f.timestamp_ns = t;
        push_ok(&s, &f);
    }
    let results = drain(&s);
    let (_g, e) = engine();
    for (t, r) in cases.iter().zip(&results) {
        let want = t / 1000 * 1000;
        assert_eq!(info(r.0).timestamp_ns, want, "pushed {t}");
        assert_ne!(info(r.0).timestamp_ns, SB_NO_TIMESTAMP);
        f.f.timestamp_ns = *t;
        assert_eq!(info(segment(e, &f).0).timestamp_ns, want, "segmented {t}");
    }
    f.f.timestamp_ns = SB_NO_TIMESTAMP;
    assert_eq!(info(segment(e, &f).0).timestamp_ns, SB_NO_TIMESTAMP);
}

// ---------------------------------------------------------------------------------------------
// Lifecycle and callback rows

/// What a callback may call, called from inside one: accessors, stats, pushes into its own
/// stream, a direct segmentation; and what it may not (poll, stop, close) is refused.
unsafe extern "C" fn busy(result: *const sb_result, user_data: *mut c_void) {
    let ctx = unsafe { &*user_data.cast::<Busy>() };
    let s = ctx.stream.load(Ordering::SeqCst);
    let mut out = Vec::new();
    out.push(("info", {
        let mut i = MaybeUninit::<sb_result_info>::zeroed();
        unsafe { (*i.as_mut_ptr()).struct_size = size_of_u32::<sb_result_info>() };
        unsafe { sb_result_get_info(result, i.as_mut_ptr()) }
    }));
    let mut st = sb_stream_stats {
        struct_size: size_of_u32::<sb_stream_stats>(),
        ..Default::default()
    };
    out.push(("stats", unsafe { sb_stream_get_stats(s, &mut st) }));
    let mut r = ptr::null_mut();
    out.push(("poll", unsafe { sb_stream_poll(s, 0, &mut r) }));
    let f = gray_frame(16, 12);
    let e = ctx.engine.load(Ordering::SeqCst);
    let mut seg = ptr::null_mut();
    out.push(("segment", unsafe {
        sb_engine_segment(e, f.p(), ptr::null(), 0, &mut seg)
    }));
    unsafe { sb_result_free(&mut seg) };
    if ctx.pushes.fetch_add(1, Ordering::SeqCst) < 2 {
        out.push(("push", push_status(s, &f)));
    }
    // Under block with the results at capacity, a push from here cannot wait for itself.
    if ctx.fill.load(Ordering::SeqCst) {
        let mut last = SB_OK;
        for _ in 0..40 {
            last = push_status(s, &f);
            if last != SB_OK {
                break;
            }
        }
        out.push(("push_full", last));
        ctx.fill.store(false, Ordering::SeqCst);
    }
    out.push(("stop", unsafe { sb_stream_stop(s, SB_STOP_DRAIN) }));
    ctx.seen.lock().unwrap().push(out);
}

struct Busy {
    stream: std::sync::atomic::AtomicPtr<sb_stream>,
    engine: std::sync::atomic::AtomicPtr<sb_engine>,
    pushes: AtomicUsize,
    fill: AtomicBool,
    seen: Mutex<Vec<Vec<(&'static str, sb_status)>>>,
}

#[test]
fn l1_what_a_callback_may_and_may_not_call() {
    let ctx = Busy {
        stream: Default::default(),
        engine: Default::default(),
        pushes: AtomicUsize::new(0),
        fill: AtomicBool::new(true),
        seen: Mutex::new(Vec::new()),
    };
    ctx.engine.store(shared_engine(), Ordering::SeqCst);
    let rows = within(20, "a busy callback", move || {
        let (_g, e) = engine();
        let mut s = poisoned();
        let c = sb_stream_config {
            policy: SB_POLICY_BLOCK,
            result_capacity: 2,
            callback: Some(busy),
            user_data: user(&ctx),
            ..config()
        };
        assert_eq!(unsafe { sb_stream_start(e, &c, &mut s) }, SB_OK);
        ctx.stream.store(s, Ordering::SeqCst);
        let f = gray_frame(16, 12);
        assert_eq!(push_status(s, &f), SB_OK);
        // The callback pushes more; wait until they are through.
        let t = Instant::now();
        while stats(s).pushed > ctx.seen.lock().unwrap().len() as u64
            && t.elapsed() < Duration::from_secs(10)
        {
            thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(unsafe { sb_stream_stop(s, SB_STOP_DRAIN) }, SB_OK);
        let st = stats(s);
        assert_eq!(unsafe { sb_stream_close(&mut s) }, SB_OK);
        (ctx.seen.into_inner().unwrap(), st)
    });
    let (rows, st) = rows;
    assert_eq!(rows.len() as u64, st.pushed, "one callback per frame");
    assert_eq!(st.unread_dropped, 0);
    let first = &rows[0];
    let status = |name: &str| first.iter().find(|(n, _)| *n == name).map(|x| x.1);
    assert_eq!(status("info"), Some(SB_OK));
    assert_eq!(status("stats"), Some(SB_OK));
    assert_eq!(status("poll"), Some(SB_ERR_STATE));
    assert_eq!(status("segment"), Some(SB_OK));
    assert_eq!(status("push"), Some(SB_OK));
    assert_eq!(status("push_full"), Some(SB_ERR_QUEUE_FULL));
    assert_eq!(status("stop"), Some(SB_ERR_STATE));
}

#[test]
fn l2_stop_from_another_thread_ends_a_poll_waiting_forever() {
    let s = start(&config());
    let h = Shared(s.0);
    push_ok(&s, &gray_frame(16, 12));
    let poller = thread::spawn(move || {
        let mut got = 0;
        loop {
            let mut r = ptr::null_mut();
            match unsafe { sb_stream_poll(h.get(), -1, &mut r) } {
                SB_OK => {
                    drop(Res(r));
                    got += 1;
                }
                SB_END => return got,
                st => panic!("{}", status_name(st)),
            }
        }
    });
    thread::sleep(Duration::from_millis(200));
    let got = within(5, "a poll(-1) across a stop", move || {
        assert_eq!(unsafe { sb_stream_stop(h.get(), SB_STOP_DRAIN) }, SB_OK);
        poller.join().unwrap()
    });
    assert_eq!(got, 1);
}

#[test]
fn l3_close_waits_for_a_running_callback_and_it_is_never_called_again() {
    let ctx = Seen::default();
    ctx.sleep_ms.store(300, Ordering::SeqCst);
    let mut s = callback_stream(config(), &ctx, Some(record));
    push_ok(&s, &gray_frame(16, 12));
    push_ok(&s, &gray_frame(16, 12));
    let t = Instant::now();
    while !ctx.running.load(Ordering::SeqCst) && t.elapsed() < Duration::from_secs(10) {
        thread::sleep(Duration::from_millis(2));
    }
    assert!(ctx.running.load(Ordering::SeqCst));
    assert_eq!(unsafe { sb_stream_close(&mut s.0) }, SB_OK);
    // Close returned: the running callback has finished, the second result was discarded.
    assert!(!ctx.running.load(Ordering::SeqCst));
    let calls = ctx.calls.load(Ordering::SeqCst);
    assert_eq!(calls, 1);
    thread::sleep(Duration::from_millis(400));
    assert_eq!(ctx.calls.load(Ordering::SeqCst), calls);
}

#[test]
fn l4_stats_in_flight_counts_only_queued_and_working_frames() {
    // A callback of 1 s: finished results wait for it, and they
    // are not in flight.
    let ctx = Seen::default();
    ctx.sleep_ms.store(1000, Ordering::SeqCst);
    let s = callback_stream(
        sb_stream_config {
            queue_capacity: 2,
            result_capacity: 16,
            ..config()
        },
        &ctx,
        Some(record),
    );
    let f = gray_frame(16, 12);
    for _ in 0..6 {
        push_ok(&s, &f);
        thread::sleep(Duration::from_millis(30));
    }
    // Wait for the worker (whatever the machine's speed) while the callback is still busy.
    let t = Instant::now();
    while stats(s.0).in_flight > 0 && t.elapsed() < Duration::from_secs(30) {
        thread::sleep(Duration::from_millis(5));
    }
    let st = stats(s.0);
    assert_eq!(st.in_flight, 0, "{st:?}");
    assert_eq!(st.processed + st.dropped, 6);
    assert!(
        st.pushed - st.in_flight > ctx.calls.load(Ordering::SeqCst) + 1,
        "finished results wait for the callback outside in_flight: {st:?}"
    );
    assert!(balanced(&st));
    assert_eq!(unsafe { sb_stream_stop(s.0, SB_STOP_DISCARD) }, SB_OK);
    let st = stats(s.0);
    assert_eq!(ctx.calls.load(Ordering::SeqCst) + st.unread_dropped, 6);
}
