//! Helpers shared by the C ABI tests (`bad_input/`, `hostile_host.rs`): the default
//! engine, frames, results and streams that clean up after themselves, error checks and a
//! deadlock watchdog.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(dead_code)]

use std::ffi::{CStr, CString, c_char};
use std::mem::{MaybeUninit, size_of};
use std::ptr;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError, mpsc};
use std::thread;
use std::time::Duration;

use synboost::engine::*;
use synboost::result::*;
use synboost::status::*;
use synboost::stream::*;
use synboost::types::*;

/// A handle shared between test threads (the library's handles may be used from any thread).
pub struct Shared<T>(pub *mut T);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Shared<T> {}
// SAFETY: see above.
unsafe impl<T> Send for Shared<T> {}
// SAFETY: see above.
unsafe impl<T> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// The pointer (a method, so that closures capture the whole `Shared`).
    pub fn get(self) -> *mut T {
        self.0
    }
}

pub fn bundle() -> CString {
    CString::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/default")).unwrap()
}

pub fn open(options: *const sb_engine_options) -> *mut sb_engine {
    let mut e = ptr::null_mut();
    let st = unsafe { sb_engine_open(bundle().as_ptr(), options, &mut e) };
    assert_eq!(st, SB_OK, "{}", last_error());
    assert!(!e.is_null());
    e
}

pub static ENGINE: OnceLock<Shared<sb_engine>> = OnceLock::new();
pub static ENGINE_LOCK: Mutex<()> = Mutex::new(());

/// The engine the tests share (never closed).
pub fn shared_engine() -> *mut sb_engine {
    ENGINE
        .get_or_init(|| {
            let o = options();
            Shared(open(&o))
        })
        .0
}

/// The shared engine, locked so that its `sb_engine_last_error` is this test's.
pub fn engine() -> (MutexGuard<'static, ()>, *mut sb_engine) {
    let e = shared_engine();
    (
        ENGINE_LOCK.lock().unwrap_or_else(PoisonError::into_inner),
        e,
    )
}

pub fn options() -> sb_engine_options {
    let mut o = MaybeUninit::uninit();
    assert_eq!(unsafe { sb_engine_options_defaults(o.as_mut_ptr()) }, SB_OK);
    let mut o = unsafe { o.assume_init() };
    o.variant = SB_VARIANT_F32;
    o
}

pub fn config() -> sb_stream_config {
    let mut c = MaybeUninit::uninit();
    assert_eq!(unsafe { sb_stream_config_defaults(c.as_mut_ptr()) }, SB_OK);
    unsafe { c.assume_init() }
}

pub fn meta() -> sb_meta {
    let mut m = MaybeUninit::uninit();
    assert_eq!(unsafe { sb_meta_defaults(m.as_mut_ptr()) }, SB_OK);
    unsafe { m.assume_init() }
}

pub fn c_str(p: *const c_char) -> String {
    assert!(!p.is_null());
    unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned()
}

/// The calling thread's `sb_last_error()`.
pub fn last_error() -> String {
    c_str(sb_last_error())
}

pub fn engine_error(e: *const sb_engine) -> String {
    c_str(unsafe { sb_engine_last_error(e) })
}

pub fn stream_error(s: *const sb_stream) -> String {
    c_str(unsafe { sb_stream_last_error(s) })
}

pub fn status_name(s: sb_status) -> String {
    c_str(sb_status_string(s))
}

/// `status` is `expected` and the thread's last error names `entry`; returns the message.
pub fn expect_err(status: sb_status, expected: sb_status, entry: &str) -> String {
    let msg = last_error();
    assert_eq!(
        status,
        expected,
        "{entry}: {} instead of {} ({msg})",
        status_name(status),
        status_name(expected)
    );
    let prefix = format!("{entry}: ");
    assert!(
        msg.starts_with(&prefix) && msg.len() > prefix.len(),
        "{entry}: message {msg:?}"
    );
    msg
}

/// [`expect_err`], and the engine's last error is the same message.
pub fn expect_engine_err(e: *const sb_engine, status: sb_status, expected: sb_status, entry: &str) {
    let msg = expect_err(status, expected, entry);
    assert_eq!(engine_error(e), msg);
}

/// [`expect_err`], and the stream's last error is the same message.
pub fn expect_stream_err(s: *const sb_stream, status: sb_status, expected: sb_status, entry: &str) {
    let msg = expect_err(status, expected, entry);
    assert_eq!(stream_error(s), msg);
}

/// A non-NULL pointer that must come back NULL.
pub fn poisoned<T>() -> *mut T {
    ptr::dangling_mut()
}

pub const BPP: [usize; 4] = [1, 2, 3, 4];

/// A frame and the bytes it points at.
pub struct Frame {
    /// The pixels `f` points at.
    pub _data: Vec<u8>,
    /// The frame.
    pub f: sb_frame,
}

impl Frame {
    pub fn p(&self) -> *const sb_frame {
        &self.f
    }
}

/// A `w`×`h` frame of `format` with rows `stride` bytes apart (the last row unpadded): a bright
/// disc on a dark background.
pub fn frame_with_stride(format: sb_pixel_format, w: u32, h: u32, stride: usize) -> Frame {
    let bpp = BPP[format as usize];
    let (wu, hu) = (w as usize, h as usize);
    let mut data = vec![0u8; stride * (hu - 1) + wu * bpp];
    for y in 0..hu {
        for x in 0..wu {
            let (dx, dy) = (x as f64 / wu as f64 - 0.5, y as f64 / hu as f64 - 0.5);
            let v = if dx * dx + dy * dy < 0.1 { 200 } else { 30 };
            let at = y * stride + x * bpp;
            data[at..at + bpp].fill(v);
        }
    }
    let f = sb_frame {
        struct_size: size_of::<sb_frame>() as u32,
        format,
        width: w,
        height: h,
        stride,
        data: data.as_ptr().cast(),
        data_size: data.len(),
        timestamp_ns: SB_NO_TIMESTAMP,
    };
    Frame { _data: data, f }
}

pub fn frame(format: sb_pixel_format, w: u32, h: u32) -> Frame {
    frame_with_stride(format, w, h, w as usize * BPP[format as usize])
}

pub fn gray_frame(w: u32, h: u32) -> Frame {
    frame(SB_PIXEL_GRAY8, w, h)
}

/// A result, freed on drop.
pub struct Res(pub *mut sb_result);

impl Drop for Res {
    fn drop(&mut self) {
        assert_eq!(unsafe { sb_result_free(&mut self.0) }, SB_OK);
    }
}

pub fn segment(e: *mut sb_engine, f: &Frame) -> Res {
    let mut r = poisoned();
    let st = unsafe { sb_engine_segment(e, f.p(), ptr::null(), 0, &mut r) };
    assert_eq!(st, SB_OK, "{}", last_error());
    assert!(!r.is_null());
    Res(r)
}

/// A 16×12 frame segmented by the shared engine.
pub fn segmented() -> Res {
    let (_g, e) = engine();
    segment(e, &gray_frame(16, 12))
}

pub fn info(r: *const sb_result) -> sb_result_info {
    let mut i = MaybeUninit::<sb_result_info>::zeroed();
    unsafe { (*i.as_mut_ptr()).struct_size = size_of::<sb_result_info>() as u32 };
    assert_eq!(unsafe { sb_result_get_info(r, i.as_mut_ptr()) }, SB_OK);
    unsafe { i.assume_init() }
}

/// A stream, closed on drop.
pub struct Stream(pub *mut sb_stream);

impl Drop for Stream {
    fn drop(&mut self) {
        assert_eq!(unsafe { sb_stream_close(&mut self.0) }, SB_OK);
    }
}

pub fn start(c: &sb_stream_config) -> Stream {
    let (_g, e) = engine();
    let mut s = poisoned();
    let st = unsafe { sb_stream_start(e, c, &mut s) };
    assert_eq!(st, SB_OK, "{}", last_error());
    assert!(!s.is_null());
    Stream(s)
}

/// A stream that keeps every frame and result (queue and results of 256, pushes wait).
pub fn lossless() -> Stream {
    start(&sb_stream_config {
        policy: SB_POLICY_BLOCK,
        queue_capacity: 256,
        result_capacity: 256,
        ..config()
    })
}

pub fn push_ok(s: &Stream, f: &Frame) -> u64 {
    let mut seq = u64::MAX;
    let st = unsafe { sb_stream_push(s.0, f.p(), ptr::null(), &mut seq) };
    assert_eq!(st, SB_OK, "{}", last_error());
    seq
}

/// Stop (draining) and poll every result until `SB_END`.
pub fn drain(s: &Stream) -> Vec<Res> {
    assert_eq!(unsafe { sb_stream_stop(s.0, SB_STOP_DRAIN) }, SB_OK);
    let mut out = Vec::new();
    loop {
        let mut r = poisoned();
        match unsafe { sb_stream_poll(s.0, 0, &mut r) } {
            SB_OK => out.push(Res(r)),
            SB_END => {
                assert!(r.is_null());
                return out;
            }
            st => panic!("poll: {} ({})", status_name(st), last_error()),
        }
    }
}

pub fn stats(s: *const sb_stream) -> sb_stream_stats {
    let mut o = sb_stream_stats {
        struct_size: size_of::<sb_stream_stats>() as u32,
        ..Default::default()
    };
    assert_eq!(unsafe { sb_stream_get_stats(s, &mut o) }, SB_OK);
    o
}

/// Run `f` on its own thread; fail if it does not answer within `secs` (a deadlock).
pub fn within<T: Send + 'static>(
    secs: u64,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    let h = thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(v) => {
            h.join().unwrap();
            v
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(h.join().unwrap_err())
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: no answer within {secs} s (deadlock)")
        }
    }
}

/// Every accepted frame is accounted for.
pub fn balanced(s: &sb_stream_stats) -> bool {
    s.pushed == s.processed + s.failed + s.dropped + s.discarded + s.in_flight
}
