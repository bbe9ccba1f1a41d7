//! `sb_stream`: the real-time loop behind the C ABI.

use crate::engine::{engine_error, sb_engine};
use crate::result::{ms, sb_result};
use crate::status::{
    Error, HandleError, SB_END, SB_ERR_FRAME, SB_ERR_INVALID, SB_ERR_QUEUE_FULL, SB_ERR_STATE,
    SB_ERR_STOPPED, SB_OK, SB_TIMEOUT, guard, read_sized, sb_status, write_sized,
};
use crate::types::{frame_from, meta_from, sb_frame, sb_meta, sb_structures, structures_from};
use std::cell::Cell;
use std::ffi::{c_char, c_void};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use synboost_core::stream::{
    Delivery, FrameResult, LatencyHistogram, QueuePolicy, StopMode, Stream, StreamConfig,
    StreamError, StreamStats,
};

/// What a push into a full queue does (`SB_POLICY_*`).
pub type sb_queue_policy = u32;
/// Drop the oldest queued frame (live scanning; the default).
pub const SB_POLICY_DROP_OLDEST: sb_queue_policy = 0;
/// Refuse the new frame with `SB_ERR_QUEUE_FULL`.
pub const SB_POLICY_REJECT: sb_queue_policy = 1;
/// Wait for room (offline processing; the pushing thread blocks): in the queue, and while
/// `result_capacity` results wait for the reader. Nothing accepted is dropped: results are
/// back-pressure on the pushes. So a host that pushes and polls on one thread must poll what
/// is ready (timeout 0) between pushes, or its push waits for a reader that never comes.
pub const SB_POLICY_BLOCK: sb_queue_policy = 2;

/// How a stop treats queued frames (`SB_STOP_*`).
pub type sb_stop_mode = u32;
/// Process every queued frame first.
pub const SB_STOP_DRAIN: sb_stop_mode = 0;
/// Drop queued frames (each still gets a result with `SB_OUTCOME_DISCARDED`). A callback
/// stream also stops calling its callback: results it has not been given yet are dropped
/// (counted in `sb_stream_stats.unread_dropped`), so the stop waits for at most the frame in
/// each worker and the callback already running.
pub const SB_STOP_DISCARD: sb_stop_mode = 1;

/// Called with each result of a stream, in push order. The rules:
///
/// - **Thread**: one thread of the stream's own (never the host's, never two calls at once),
///   with a stack of at least 8 MiB (the soft `RLIMIT_STACK` when larger, up to 256 MiB), as
///   large as a thread the host starts itself. `user_data` is the config's.
/// - **The result** is lent for the call: valid until the callback returns, then freed by the
///   library. `sb_result_free` on it is `SB_ERR_STATE` (it stays valid); copy what you need
///   (`sb_result_copy_mask`).
/// - **May call**: the `sb_result_*` accessors on it; `sb_stream_push` into any stream, its
///   own included (under `SB_POLICY_BLOCK` a push into its own stream that would wait for
///   results is `SB_ERR_QUEUE_FULL`: it would wait for itself); `sb_stream_get_stats`;
///   `sb_engine_segment`; the `*_last_error` functions; anything on other streams and engines.
/// - **Must not**: `sb_stream_stop` or `sb_stream_close` of its own stream (`SB_ERR_STATE`,
///   nothing stopped: they wait for this thread); `sb_stream_poll` (`SB_ERR_STATE`: callback
///   streams are not polled); longjmp or throw out of it (return instead).
/// - **Pace**: a slow callback holds back only later results, never the scanner thread or the
///   workers. Results waiting for it are bounded by `result_capacity`: beyond that the oldest
///   is dropped unread (`unread_dropped`; its `seq` is missing from what the callback sees),
///   except under `SB_POLICY_BLOCK`, where pushes wait instead.
/// - **End**: once `sb_stream_stop` or `sb_stream_close` has returned, the callback is not
///   running and is never called again, so `user_data` may be freed.
pub type sb_result_callback =
    Option<unsafe extern "C" fn(result: *const sb_result, user_data: *mut c_void)>;

/// Stream settings; get the defaults from `sb_stream_config_defaults`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sb_stream_config {
    /// `sizeof(sb_stream_config)`.
    pub struct_size: u32,
    /// `SB_POLICY_*` (default `SB_POLICY_DROP_OLDEST`).
    pub policy: sb_queue_policy,
    /// Frames waiting for a worker, 1 to 4096 (default 4). The stream holds at most
    /// `queue_capacity + workers` frames in flight.
    pub queue_capacity: u32,
    /// Worker threads, 1 to 64 (default 1).
    pub workers: u32,
    /// Structures to segment (`SB_STRUCTURE_*` bits; default 0: all the model has).
    pub structures: sb_structures,
    /// Finished results waiting for the reader (`sb_stream_poll`, or the callback), 1 to 65536
    /// (default 64); when full the oldest unread is dropped (`unread_dropped`), except under
    /// `SB_POLICY_BLOCK`, where pushes wait for the reader instead.
    pub result_capacity: u32,
    /// Bytes preallocated per frame buffer, at most `max_frame_bytes` and 1 GiB (default 0:
    /// sized by the first frames). The stream holds `queue_capacity + workers + 1` buffers,
    /// allocated fallibly: more than the machine has is `SB_ERR_NO_MEMORY`.
    pub frame_bytes: usize,
    /// Largest frame taken, bytes packed (default 64 MiB).
    pub max_frame_bytes: usize,
    /// Result callback; NULL (default): results are polled.
    pub callback: sb_result_callback,
    /// Passed to the callback.
    pub user_data: *mut c_void,
}

impl Default for sb_stream_config {
    fn default() -> Self {
        let d = StreamConfig::default();
        Self {
            struct_size: std::mem::size_of::<Self>() as u32,
            policy: SB_POLICY_DROP_OLDEST,
            queue_capacity: d.queue as u32,
            workers: d.workers as u32,
            structures: 0,
            result_capacity: d.results as u32,
            frame_bytes: d.frame_bytes,
            max_frame_bytes: d.max_frame_bytes,
            callback: None,
            user_data: std::ptr::null_mut(),
        }
    }
}

/// Stream counters and latencies (ms).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct sb_stream_stats {
    /// `sizeof(sb_stream_stats)`.
    pub struct_size: u32,
    /// Frames taken by `sb_stream_push`.
    pub pushed: u64,
    /// Frames refused (`SB_POLICY_REJECT`), not counted in `pushed`.
    pub rejected: u64,
    /// Frames segmented.
    pub processed: u64,
    /// Frames the model failed on.
    pub failed: u64,
    /// Frames dropped from a full queue.
    pub dropped: u64,
    /// Frames dropped by a discarding stop.
    pub discarded: u64,
    /// Results dropped before the reader had them: not polled in time, a callback too slow
    /// for `result_capacity`, or a discarding stop of a callback stream. Their frames count in
    /// `processed`, `failed`, `dropped` or `discarded` as they were.
    pub unread_dropped: u64,
    /// Frames queued or being segmented now (at most `queue_capacity + workers`); finished
    /// results waiting for the reader are not in flight.
    pub in_flight: u64,
    /// Push-to-delivery latency (result pollable, or callback called) of segmented frames
    /// that were delivered: median.
    pub latency_p50_ms: f64,
    /// 90th percentile.
    pub latency_p90_ms: f64,
    /// 99th percentile.
    pub latency_p99_ms: f64,
    /// Maximum.
    pub latency_max_ms: f64,
    /// Mean.
    pub latency_mean_ms: f64,
    /// Push-to-worker wait: median.
    pub queue_wait_p50_ms: f64,
    /// Push-to-worker wait: 99th percentile.
    pub queue_wait_p99_ms: f64,
    /// Mean preprocessing time per segmented frame.
    pub preprocess_mean_ms: f64,
    /// Mean model time (text conditioning + image model) per segmented frame.
    pub model_mean_ms: f64,
    /// Mean postprocessing time per segmented frame.
    pub postprocess_mean_ms: f64,
}

fn q(h: &LatencyHistogram, p: f64) -> f64 {
    ms(h.quantile(p))
}

impl sb_stream_stats {
    fn from_core(s: &StreamStats, struct_size: u32) -> Self {
        let n = s.processed.max(1) as f64;
        let t = &s.engine_total;
        Self {
            struct_size,
            pushed: s.pushed,
            rejected: s.rejected,
            processed: s.processed,
            failed: s.failed,
            dropped: s.dropped_overflow,
            discarded: s.discarded,
            unread_dropped: s.unread_dropped,
            in_flight: s.in_flight,
            latency_p50_ms: q(&s.latency, 0.5),
            latency_p90_ms: q(&s.latency, 0.9),
            latency_p99_ms: q(&s.latency, 0.99),
            latency_max_ms: ms(s.latency.max()),
            latency_mean_ms: ms(s.latency.mean()),
            queue_wait_p50_ms: q(&s.queue_wait, 0.5),
            queue_wait_p99_ms: q(&s.queue_wait, 0.99),
            preprocess_mean_ms: ms(t.preprocess) / n,
            model_mean_ms: (ms(t.text) + ms(t.image)) / n,
            postprocess_mean_ms: ms(t.postprocess) / n,
        }
    }
}

/// A running stream of frames through a model.
pub struct sb_stream {
    stream: Stream,
    error: HandleError,
    /// Tells this stream's callback thread apart (`IN_CALLBACK`).
    id: u64,
}

/// The next stream's id (ids start at 1; 0 means "no stream").
static NEXT_STREAM_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The id of the stream whose result callback this thread is running now, 0 when none.
    static IN_CALLBACK: Cell<u64> = const { Cell::new(0) };
}

/// Refuse a stop or close of `s` from its own result callback: both wait for the delivery
/// thread the callback runs on (a self-join), and a close would free the stream under it.
fn not_in_own_callback(s: &sb_stream) -> Result<(), Error> {
    if IN_CALLBACK.get() == s.id {
        return Err(Error::new(
            SB_ERR_STATE,
            "called from the stream's own result callback, which runs on the delivery thread \
             this call waits for: stop or close the stream from another thread",
        ));
    }
    Ok(())
}

fn stream_error(e: StreamError) -> Error {
    let status = match &e {
        StreamError::Config(_) => SB_ERR_INVALID,
        StreamError::Engine(_) => SB_ERR_INVALID,
        StreamError::QueueFull(_) => SB_ERR_QUEUE_FULL,
        StreamError::FrameTooLarge { .. } => SB_ERR_FRAME,
        StreamError::Stopped => SB_ERR_STOPPED,
        StreamError::NotPolled => SB_ERR_STATE,
        StreamError::Thread(_) => crate::status::SB_ERR_INTERNAL,
        StreamError::OutOfMemory { .. } => crate::status::SB_ERR_NO_MEMORY,
        StreamError::CallbackWouldBlock(_) => SB_ERR_QUEUE_FULL,
    };
    Error::new(status, e.to_string())
}

/// The callback and its user data, moved to the delivery thread.
struct Callback {
    f: unsafe extern "C" fn(*const sb_result, *mut c_void),
    user: *mut c_void,
    /// The id of the stream it belongs to.
    stream: u64,
}

/// Marks the thread as inside a stream's callback; restores the previous mark when dropped.
struct CallbackScope(u64);

impl CallbackScope {
    fn enter(stream: u64) -> Self {
        Self(IN_CALLBACK.replace(stream))
    }
}

impl Drop for CallbackScope {
    fn drop(&mut self) {
        IN_CALLBACK.set(self.0);
    }
}

// SAFETY: the caller of sb_stream_start promises the callback and its user data may be used
// from the library's delivery thread (documented on sb_result_callback).
unsafe impl Send for Callback {}

impl Callback {
    fn call(&self, r: FrameResult) {
        let res = sb_result::from_frame(r, true);
        let _scope = CallbackScope::enter(self.stream);
        // SAFETY: a valid function pointer given by the caller; the result outlives the call.
        unsafe { (self.f)(&*res, self.user) };
    }
}

/// Fill an sb_stream_config with the defaults.
///
/// Sets every field, `struct_size` to sizeof(sb_stream_config) included: drop the oldest
/// frame of a full queue of 4, one worker, every structure, 64 results waiting for the reader,
/// frames up to 64 MiB, results polled (no callback).
///
/// @param out The caller's struct to fill; not NULL.
/// @return SB_OK;
///         SB_ERR_NULL when `out` is NULL.
///
/// # Safety
/// `out` is NULL or points to a writable `sb_stream_config`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_stream_config_defaults(out: *mut sb_stream_config) -> sb_status {
    guard("sb_stream_config_defaults", None, || {
        if out.is_null() {
            return Err(Error::null("out"));
        }
        // SAFETY: non-null; the caller provides a writable struct.
        unsafe { out.write(sb_stream_config::default()) };
        Ok(SB_OK)
    })
}

/// Start a real-time stream of frames through an engine's model.
///
/// The stream runs on threads of its own with its own copy of the model: the engine may be
/// closed while it runs. Every frame pushed gets exactly one result, in push order, polled
/// (sb_stream_poll) or given to the config's callback.
///
/// @param engine The engine whose model the stream runs; not NULL.
/// @param config Stream settings (see sb_stream_config_defaults), read during the call; NULL
///               for the defaults.
/// @param out    Receives the stream, owned by the caller (close it with sb_stream_close);
///               set to NULL on failure. Not NULL.
/// @return SB_OK, with `*out` the stream;
///         SB_ERR_NULL when `engine` or `out` is NULL;
///         SB_ERR_INVALID when `config` has a `struct_size` under sizeof(sb_stream_config), a
///         value out of its range, or a structure the model does not segment;
///         SB_ERR_NO_MEMORY when the frame buffers of `frame_bytes` cannot be allocated;
///         SB_ERR_INTERNAL when a thread cannot be started, or on an internal error.
///
/// # Safety
/// `engine` is NULL or live; `config` is NULL or a readable `sb_stream_config`; `out` is NULL
/// or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_stream_start(
    engine: *const sb_engine,
    config: *const sb_stream_config,
    out: *mut *mut sb_stream,
) -> sb_status {
    // SAFETY: NULL or live per the contract.
    let e = unsafe { engine.as_ref() };
    guard("sb_stream_start", e.map(|e| &e.error), || {
        if out.is_null() {
            return Err(Error::null("out"));
        }
        // SAFETY: non-null, writable per the contract.
        unsafe { out.write(std::ptr::null_mut()) };
        let e = e.ok_or_else(|| Error::null("engine"))?;
        let c = if config.is_null() {
            sb_stream_config::default()
        } else {
            // SAFETY: forwarded contract.
            *unsafe { read_sized(config, "sb_stream_config") }?
        };
        let policy = match c.policy {
            SB_POLICY_DROP_OLDEST => QueuePolicy::DropOldest,
            SB_POLICY_REJECT => QueuePolicy::Reject,
            SB_POLICY_BLOCK => QueuePolicy::Block,
            v => {
                return Err(Error::invalid(format!(
                    "sb_stream_config.policy = {v} is no SB_POLICY_*"
                )));
            }
        };
        let cfg = StreamConfig {
            queue: c.queue_capacity as usize,
            policy,
            workers: c.workers as usize,
            structures: structures_from(c.structures)?,
            frame_bytes: c.frame_bytes,
            max_frame_bytes: c.max_frame_bytes,
            results: c.result_capacity as usize,
            // Streams always measure (a few passes over the LV mask per frame): per-frame and
            // per-cycle results through sb_result_get_measurements / sb_result_get_cycle.
            measure: Some(synboost_core::measure::TrackerConfig::default()),
        };
        let id = NEXT_STREAM_ID.fetch_add(1, Ordering::Relaxed);
        let delivery = match c.callback {
            None => Delivery::Poll,
            Some(f) => {
                let cb = Callback {
                    f,
                    user: c.user_data,
                    stream: id,
                };
                Delivery::Callback(Box::new(move |r| cb.call(r)))
            }
        };
        let engine = e.lock().try_clone();
        let stream = Stream::start(engine, cfg, delivery).map_err(|err| match err {
            StreamError::Engine(x) => engine_error(x),
            x => stream_error(x),
        })?;
        let h = Box::new(sb_stream {
            stream,
            error: HandleError::default(),
            id,
        });
        // SAFETY: as above.
        unsafe { out.write(Box::into_raw(h)) };
        Ok(SB_OK)
    })
}

/// Copy a frame into a stream's queue.
///
/// Returns at once, except under SB_POLICY_BLOCK: then it waits while the queue is full or
/// `result_capacity` results wait for the reader, until there is room or another thread stops
/// the stream. Any thread may push, also the stream's own result callback; pushes are ordered
/// by the time they take the queue.
///
/// @param stream The stream; not NULL.
/// @param frame  The frame, copied before the call returns; not NULL, nor its `data`.
/// @param meta   What is known about the frame, copied; NULL when nothing is.
/// @param seq    Receives the frame's sequence number (0 for the first frame, then one more
///               per frame taken); may be NULL. Left alone on failure.
/// @return SB_OK, the frame taken;
///         SB_ERR_NULL when `stream`, `frame` or `frame->data` is NULL;
///         SB_ERR_INVALID when a `struct_size` is too small or an enum or `meta` field is out
///         of range;
///         SB_ERR_FRAME when the frame's size, stride or `data_size` do not fit, or it is over
///         the stream's `max_frame_bytes`;
///         SB_ERR_QUEUE_FULL when the queue is full under SB_POLICY_REJECT, or when the
///         stream's own callback pushes under SB_POLICY_BLOCK while `result_capacity` results
///         wait for it (it would wait for itself);
///         SB_ERR_STOPPED when the stream is stopped, or is stopped while the push waits;
///         SB_ERR_NO_MEMORY when there is no memory to copy the frame;
///         SB_ERR_INTERNAL on an internal error. On failure the frame is not taken.
///
/// # Safety
/// `stream` is NULL or live; `frame` is NULL or a readable `sb_frame` with readable data;
/// `meta` is NULL or a readable `sb_meta`; `seq` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_stream_push(
    stream: *mut sb_stream,
    frame: *const sb_frame,
    meta: *const sb_meta,
    seq: *mut u64,
) -> sb_status {
    // SAFETY: NULL or live per the contract.
    let s = unsafe { stream.as_ref() };
    guard("sb_stream_push", s.map(|s| &s.error), || {
        let s = s.ok_or_else(|| Error::null("stream"))?;
        // SAFETY: forwarded contracts.
        let view = unsafe { frame_from(frame) }?;
        // SAFETY: forwarded contract.
        let meta = unsafe { meta_from(meta) }?;
        let n = s.stream.push(&view, &meta).map_err(stream_error)?;
        if !seq.is_null() {
            // SAFETY: non-null, writable per the contract.
            unsafe { seq.write(n) };
        }
        Ok(SB_OK)
    })
}

/// Take a stream's next result, in push order, waiting for it up to a timeout.
///
/// One thread may poll while others push, get stats or stop the stream: a poll waiting forever
/// returns the remaining results and then SB_END when another thread stops the stream.
///
/// @param stream     The stream; not NULL. Its config has no callback.
/// @param timeout_ms How long to wait, milliseconds: negative waits forever, 0 does not wait.
/// @param out        Receives the result, owned by the caller (free it with sb_result_free);
///                   set to NULL when there is none. Not NULL.
/// @return SB_OK, with `*out` the result;
///         SB_TIMEOUT when no result came within the timeout;
///         SB_END once the stream has stopped and every result was read;
///         SB_ERR_NULL when `stream` or `out` is NULL;
///         SB_ERR_STATE when the stream delivers its results to a callback;
///         SB_ERR_INTERNAL on an internal error.
///
/// # Safety
/// `stream` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_stream_poll(
    stream: *mut sb_stream,
    timeout_ms: i32,
    out: *mut *mut sb_result,
) -> sb_status {
    // SAFETY: NULL or live per the contract.
    let s = unsafe { stream.as_ref() };
    guard("sb_stream_poll", s.map(|s| &s.error), || {
        if out.is_null() {
            return Err(Error::null("out"));
        }
        // SAFETY: non-null, writable per the contract.
        unsafe { out.write(std::ptr::null_mut()) };
        let s = s.ok_or_else(|| Error::null("stream"))?;
        let r = match timeout_ms {
            t if t < 0 => s.stream.poll(None),
            0 => s.stream.try_poll(),
            t => s
                .stream
                .poll(Some(Duration::from_millis(u64::from(t.unsigned_abs())))),
        };
        match r {
            Ok(Some(r)) => {
                // SAFETY: as above.
                unsafe { out.write(Box::into_raw(sb_result::from_frame(r, false))) };
                Ok(SB_OK)
            }
            Ok(None) => Ok(SB_TIMEOUT),
            Err(StreamError::Stopped) => Ok(SB_END),
            Err(e) => Err(stream_error(e)),
        }
    })
}

/// A stream's counters and latencies so far.
///
/// May be called from any thread while others push, poll or stop the stream.
///
/// @param stream The stream; not NULL.
/// @param out    The caller's struct to fill, with `struct_size` set (at least
///               sizeof(sb_stream_stats)); not NULL.
/// @return SB_OK;
///         SB_ERR_NULL when `stream` or `out` is NULL;
///         SB_ERR_INVALID when `out->struct_size` is too small (nothing written);
///         SB_ERR_INTERNAL on an internal error.
///
/// # Safety
/// `stream` is NULL or live; `out` is NULL or a writable `sb_stream_stats` with `struct_size`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_stream_get_stats(
    stream: *const sb_stream,
    out: *mut sb_stream_stats,
) -> sb_status {
    // SAFETY: NULL or live per the contract.
    let s = unsafe { stream.as_ref() };
    guard("sb_stream_get_stats", s.map(|s| &s.error), || {
        let s = s.ok_or_else(|| Error::null("stream"))?;
        // SAFETY: forwarded contract.
        let o = unsafe { write_sized(out, "sb_stream_stats") }?;
        *o = sb_stream_stats::from_core(&s.stream.stats(), o.struct_size);
        Ok(SB_OK)
    })
}

/// Stop a stream: take no more frames, finish or drop the queued ones, wait for its threads.
///
/// Results stay pollable until SB_END. Stopping twice is harmless. Any thread may stop the
/// stream while others push (a push waiting under SB_POLICY_BLOCK returns SB_ERR_STOPPED),
/// poll or get stats, but not the stream's own result callback (the stop would wait for the
/// thread the callback runs on). Returns within the time of one frame per worker plus the
/// callback already running (SB_STOP_DISCARD), or once every queued frame was processed and,
/// for a callback stream, delivered (SB_STOP_DRAIN).
///
/// @param stream The stream; not NULL.
/// @param mode   SB_STOP_DRAIN to process the queued frames first, SB_STOP_DISCARD to drop
///               them.
/// @return SB_OK;
///         SB_ERR_NULL when `stream` is NULL;
///         SB_ERR_INVALID when `mode` is no SB_STOP_* (nothing stopped);
///         SB_ERR_STATE when called from the stream's own result callback (nothing stopped);
///         SB_ERR_INTERNAL on an internal error.
///
/// # Safety
/// `stream` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_stream_stop(stream: *mut sb_stream, mode: sb_stop_mode) -> sb_status {
    // SAFETY: NULL or live per the contract.
    let s = unsafe { stream.as_ref() };
    guard("sb_stream_stop", s.map(|s| &s.error), || {
        let s = s.ok_or_else(|| Error::null("stream"))?;
        not_in_own_callback(s)?;
        let mode = match mode {
            SB_STOP_DRAIN => StopMode::Drain,
            SB_STOP_DISCARD => StopMode::Discard,
            v => return Err(Error::invalid(format!("mode {v} is no SB_STOP_*"))),
        };
        s.stream.stop(mode);
        Ok(SB_OK)
    })
}

/// Close a stream and set the caller's handle to NULL.
///
/// Stops the stream if it still runs, discarding queued frames and results nobody has read,
/// and frees it; returns within the time of one frame per worker plus the callback already
/// running. No other call on the stream may be in progress or start (stop it first from the
/// thread that closes, if others may still call).
///
/// @param stream The caller's handle variable. NULL, or a handle that is NULL, is a no-op, so
///               closing twice is harmless.
/// @return SB_OK;
///         SB_ERR_STATE when called from the stream's own result callback (the stream is
///         neither stopped nor freed, and `*stream` is left alone);
///         SB_ERR_INTERNAL on an internal error.
///
/// # Safety
/// `stream` is NULL or points to NULL or to a stream from `sb_stream_start` not yet closed,
/// with no other call on it in progress.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_stream_close(stream: *mut *mut sb_stream) -> sb_status {
    // SAFETY: NULL, or pointing to NULL or to a live stream, per the contract.
    let live = unsafe { stream.as_ref().and_then(|p| p.as_ref()) };
    if let Some(s) = live
        && let Err(e) = not_in_own_callback(s)
    {
        return guard("sb_stream_close", Some(&s.error), || Err(e));
    }
    guard("sb_stream_close", None, || {
        if stream.is_null() {
            return Ok(SB_OK);
        }
        // SAFETY: non-null pointer to the caller's handle variable.
        let p = unsafe { std::ptr::replace(stream, std::ptr::null_mut()) };
        if !p.is_null() {
            // SAFETY: from Box::into_raw in sb_stream_start, not closed before.
            drop(unsafe { Box::from_raw(p) });
        }
        Ok(SB_OK)
    })
}

/// The last error message of any call on a stream, from any thread.
///
/// The message is copied for the calling thread: other threads' failures change the stream's
/// message, not this copy.
///
/// @param stream The stream; may be NULL.
/// @return A NUL-terminated string, "" when no call on the stream has failed yet; NULL only
///         when `stream` is NULL. Never to be freed; valid until this thread calls
///         sb_stream_last_error or sb_engine_last_error again.
///
/// # Safety
/// `stream` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_stream_last_error(stream: *const sb_stream) -> *const c_char {
    // SAFETY: NULL or live per the contract.
    match unsafe { stream.as_ref() } {
        Some(s) => s.error.as_ptr(),
        None => std::ptr::null(),
    }
}
