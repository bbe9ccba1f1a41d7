//! Section 6 of the bad-input matrix: calls in the wrong order. After a stop, twice, on the
//! wrong kind of stream or result, from the stream's own result callback, and from inside the
//! log callback.

use super::*;

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
