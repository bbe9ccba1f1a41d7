//! Section 7 of the bad-input matrix: several threads at once on one stream, one engine and
//! the log callback.

use super::*;

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
