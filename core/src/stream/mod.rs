//! The real-time loop: frames in from the scanner thread, segmentations out, in order.
//!
//! ```text
//!  push(frame, meta) ──copy into a pooled buffer──▶ bounded queue ──▶ worker(s) (Engine each)
//!        │ (never blocks unless the policy is Block)                        │
//!        └──── dropped / discarded notices ──────────┐                      ▼
//!                                                    └──▶ delivery thread: reorder by sequence,
//!                                                         measure
//!                                                              │
//!                                                              ▼
//!                                   outbox (bounded: `results`) ──▶ poll, or the callback thread
//! ```
//!
//! - [`Stream::push`] copies the frame into one of a fixed set of buffers allocated at start
//!   (a buffer grows only when a frame is larger than any before it) and enqueues it. When the
//!   queue is full the [`QueuePolicy`] decides: drop the oldest queued frame (default), reject
//!   the new one, or wait (offline use).
//! - Every accepted frame gets a sequence number and exactly one [`FrameResult`], in sequence
//!   order: segmented, failed (the engine's error), or dropped (and why). So at any time
//!   `pushed = processed + failed + dropped + in flight`, where in flight means queued or in a
//!   worker.
//! - Finished results wait in a bounded outbox for the reader (poll, or the thread that calls
//!   the callback), so a slow reader never makes the stream hold more than
//!   [`StreamConfig::results`] of them: under drop-oldest and reject the oldest is dropped
//!   unread ([`StreamStats::unread_dropped`]; its sequence number is missing from what the
//!   reader sees); under block nothing is dropped and pushes wait for the reader instead.
//! - Each frame carries its own [`ScanMeta`]: a view switch or an unknown phase mid-stream only
//!   changes the prompts of the frames that carry it.
//! - [`Stream::stop`] drains (process what is queued) or discards (drop it), joins the threads
//!   and returns the final [`StreamStats`].

mod latency;
mod outbox;
mod reorder;

pub use latency::LatencyHistogram;

use crate::engine::{Engine, EngineError, Segmentation, Timings};
use crate::frame::{FrameView, PixelFormat};
use crate::measure::tracker::{
    CardiacTracker, FrameMeasurements, PhaseClock, PhaseSource, TrackerConfig, frame_time,
};
use crate::meta::ScanMeta;
use crate::structure::Structure;
use crossbeam_channel::{Receiver, Sender, TrySendError};
use outbox::{Outbox, Ready, Taken};
use reorder::{Delivered, Reorder};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

/// What [`Stream::push`] does when the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueuePolicy {
    /// Drop the oldest queued frame to make room (live scanning: the newest frame matters).
    #[default]
    DropOldest,
    /// Refuse the new frame ([`StreamError::QueueFull`]).
    Reject,
    /// Wait for room (offline processing: nothing may be lost; the caller's thread blocks)
    /// in the queue, and while [`StreamConfig::results`] results wait for the reader.
    Block,
}

/// How [`Stream::stop`] treats frames still queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StopMode {
    /// Process every queued frame before stopping.
    #[default]
    Drain,
    /// Drop queued frames (each still gets a [`Outcome::Dropped`] result); frames already in a
    /// worker finish. A callback stream also stops calling its callback: the results it has
    /// not been given are dropped ([`StreamStats::unread_dropped`]), so the stop waits for at
    /// most one frame in each worker and the callback already running.
    Discard,
}

/// Why a frame was not segmented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// Pushed out of a full queue by a newer frame ([`QueuePolicy::DropOldest`]).
    Overflow,
    /// Still queued when the stream stopped with [`StopMode::Discard`].
    Discarded,
}

/// Stream settings.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// Frames waiting for a worker, at most (≥ 1).
    pub queue: usize,
    /// What a push into a full queue does.
    pub policy: QueuePolicy,
    /// Worker threads, each with its own engine over shared plans (≥ 1).
    pub workers: usize,
    /// Structures segmented in every frame (empty: every structure of the model).
    pub structures: Vec<Structure>,
    /// Bytes preallocated per frame buffer (0: buffers grow to the first frames' size), at most
    /// [`MAX_FRAME_BYTES`]; the stream holds `queue + workers + 1` buffers.
    pub frame_bytes: usize,
    /// Largest frame accepted, bytes (tightly packed).
    pub max_frame_bytes: usize,
    /// Finished results waiting for the reader (poll or callback), at most; when full, the
    /// oldest is dropped (counted in [`StreamStats::unread_dropped`]), except under
    /// [`QueuePolicy::Block`], where pushes wait for the reader instead and nothing is dropped.
    pub results: usize,
    /// Clinical measurements on the delivery thread ([`crate::measure::tracker`]): areas,
    /// LV volumes, confidence and quality flags per frame, ED/ES, heart rate and EF per cycle,
    /// and the phase of frames for their prompts when the scanner sends none. `None`: off.
    pub measure: Option<TrackerConfig>,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            queue: 4,
            policy: QueuePolicy::DropOldest,
            workers: 1,
            structures: Vec::new(),
            frame_bytes: 0,
            max_frame_bytes: 64 << 20,
            results: 64,
            measure: Some(TrackerConfig::default()),
        }
    }
}

/// The largest frame there can be, bytes: [`crate::frame::MAX_DIM`]² pixels of 4 bytes.
pub const MAX_FRAME_BYTES: usize = crate::frame::MAX_DIM * crate::frame::MAX_DIM * 4;

/// Where results go.
pub enum Delivery {
    /// Kept for [`Stream::poll`].
    Poll,
    /// Handed to this function, in order, on a thread of its own (stack:
    /// [`crate::threads::stack_size`]). A slow callback holds back later results, not the
    /// scanner thread or the workers: results waiting for it are bounded like polled ones.
    Callback(Box<dyn FnMut(FrameResult) + Send>),
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Poll => "Poll",
            Self::Callback(_) => "Callback(..)",
        })
    }
}

/// Time spent on one frame, stage by stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameTimings {
    /// From push until a worker took the frame.
    pub queue: Duration,
    /// The engine's stages (preprocess, text, image model, postprocess).
    pub engine: Timings,
    /// From push until the result was delivered (callback about to be called, or result
    /// pollable).
    pub total: Duration,
}

/// What became of a frame.
#[derive(Debug)]
pub enum Outcome {
    /// Segmented.
    Segmented(Box<Segmentation>),
    /// The engine failed on this frame (the stream goes on).
    Failed(String),
    /// Never segmented.
    Dropped(DropReason),
}

/// One frame's result.
#[derive(Debug)]
pub struct FrameResult {
    /// Sequence number given by [`Stream::push`], from 0.
    pub seq: u64,
    /// The frame's capture time, µs, when it had one.
    pub timestamp_us: Option<i64>,
    /// The frame's size.
    pub width: usize,
    /// The frame's size.
    pub height: usize,
    /// The metadata the frame was segmented with: as pushed, plus the phase when the stream
    /// inferred it.
    pub meta: ScanMeta,
    /// Where `meta.phase` came from.
    pub phase_source: PhaseSource,
    /// Segmentation, failure or drop.
    pub outcome: Outcome,
    /// Stage timings (zero for dropped frames, except `total`).
    pub timings: FrameTimings,
    /// Clinical measurements of a segmented frame (when the stream measures).
    pub measurements: Option<Box<FrameMeasurements>>,
}

/// Stream counters and latency distribution.
#[derive(Debug, Clone, Default)]
pub struct StreamStats {
    /// Frames accepted by [`Stream::push`].
    pub pushed: u64,
    /// Frames refused by [`QueuePolicy::Reject`] (not counted in `pushed`).
    pub rejected: u64,
    /// Frames segmented.
    pub processed: u64,
    /// Frames the engine failed on.
    pub failed: u64,
    /// Frames dropped from a full queue.
    pub dropped_overflow: u64,
    /// Frames dropped at a discarding stop.
    pub discarded: u64,
    /// Results dropped before the reader took them (polled too late, a callback too slow, or
    /// a discarding stop of a callback stream); their frames count as processed, failed or
    /// dropped as they were.
    pub unread_dropped: u64,
    /// Frames queued or in a worker now.
    pub in_flight: u64,
    /// Finished results waiting for the reader now (at most [`StreamConfig::results`], plus
    /// under [`QueuePolicy::Block`] the frames that were in flight when it filled).
    pub undelivered: u64,
    /// Push-to-delivery latency of segmented frames that were delivered.
    pub latency: LatencyHistogram,
    /// Push-to-worker wait of segmented frames.
    pub queue_wait: LatencyHistogram,
    /// Sum of the engine's stage times over segmented frames (divide by `processed`).
    pub engine_total: Timings,
}

impl StreamStats {
    /// Frames that were accepted and not segmented: overflow plus discarded.
    pub fn dropped(&self) -> u64 {
        self.dropped_overflow + self.discarded
    }

    /// Whether every accepted frame is accounted for (`pushed = processed + failed + dropped
    /// + in flight`).
    pub fn balanced(&self) -> bool {
        self.pushed == self.processed + self.failed + self.dropped() + self.in_flight
    }
}

/// Stream errors.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The configuration cannot work.
    #[error("stream configuration: {0}")]
    Config(String),
    /// A structure the model does not segment, or too many.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The queue is full and the policy is [`QueuePolicy::Reject`].
    #[error("the queue is full ({0} frames): frame rejected")]
    QueueFull(usize),
    /// The frame is larger than [`StreamConfig::max_frame_bytes`].
    #[error("frame of {bytes} bytes is over the stream's limit of {max}")]
    FrameTooLarge {
        /// The frame's packed size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The stream was stopped (or is stopping): no more pushes.
    #[error("the stream is stopped")]
    Stopped,
    /// Polling a stream that delivers through a callback.
    #[error("this stream delivers results through its callback, not by polling")]
    NotPolled,
    /// A thread could not be started.
    #[error("starting a stream thread: {0}")]
    Thread(String),
    /// Memory for frame buffers could not be had.
    #[error("out of memory: {what} needs {bytes} bytes")]
    OutOfMemory {
        /// What it was for.
        what: &'static str,
        /// How much was asked for.
        bytes: usize,
    },
    /// A push under [`QueuePolicy::Block`] from the stream's own result callback while the
    /// results waiting for that callback are at capacity: waiting would wait for itself.
    #[error(
        "the stream's own result callback cannot wait for room: {0} results are waiting for \
         it (push from another thread, or again from a later callback)"
    )]
    CallbackWouldBlock(usize),
}

/// A frame copied out of the scanner's buffer.
struct Job {
    seq: u64,
    buf: Vec<u8>,
    format: PixelFormat,
    width: usize,
    height: usize,
    timestamp_us: Option<i64>,
    meta: ScanMeta,
    phase_source: PhaseSource,
    pushed: Instant,
}

/// A finished frame (segmented, failed or dropped) on its way to the delivery thread.
struct Event {
    result: Box<FrameResult>,
    pushed: Instant,
}

impl Job {
    /// The job's result with `outcome`, and its buffer for the pool.
    fn finish(self, outcome: Outcome, timings: FrameTimings) -> (Event, Vec<u8>) {
        let Job {
            seq,
            buf,
            width,
            height,
            timestamp_us,
            meta,
            phase_source,
            pushed,
            ..
        } = self;
        let result = Box::new(FrameResult {
            seq,
            timestamp_us,
            width,
            height,
            meta,
            phase_source,
            outcome,
            timings,
            measurements: None,
        });
        (Event { result, pushed }, buf)
    }

    /// Report the job as dropped for `reason` (counted now: it is no longer in flight); the
    /// buffer comes back.
    fn drop_into(self, reason: DropReason, events: &Sender<Event>, shared: &Shared) -> Vec<u8> {
        {
            let mut s = lock(&shared.stats);
            s.in_flight = s.in_flight.saturating_sub(1);
            match reason {
                DropReason::Overflow => s.dropped_overflow += 1,
                DropReason::Discarded => s.discarded += 1,
            }
        }
        let (ev, buf) = self.finish(Outcome::Dropped(reason), FrameTimings::default());
        let _ = events.send(ev);
        buf
    }
}

/// The producer side, behind one lock so that sequence order is queue order.
struct Producer {
    next_seq: u64,
    queue: Option<Sender<Job>>,
    events: Option<Sender<Event>>,
}

struct Shared {
    stats: Mutex<StreamStats>,
    /// The measured cycle timing per view, for the phases of frames being pushed.
    clocks: Mutex<Vec<PhaseClock>>,
    /// Set once a frame came with a phase: the scanner gates by ECG, nothing is inferred.
    scanner_phase: AtomicBool,
    /// The thread that calls the result callback (callback streams).
    callback_thread: OnceLock<ThreadId>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Counters stay meaningful after a panic elsewhere; never propagate poisoning.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running stream. Dropping it stops it, discarding queued frames.
pub struct Stream {
    producer: Mutex<Producer>,
    queue_rx: Receiver<Job>,
    pool_tx: Sender<Vec<u8>>,
    pool_rx: Receiver<Vec<u8>>,
    outbox: Arc<Outbox>,
    /// Results go to a callback (not polled).
    callback: bool,
    shared: Arc<Shared>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    delivery: Mutex<Option<JoinHandle<()>>>,
    caller: Mutex<Option<JoinHandle<()>>>,
    config: StreamConfig,
    structures: Vec<Structure>,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("config", &self.config)
            .field("structures", &self.structures)
            .finish_non_exhaustive()
    }
}

impl Stream {
    /// Start workers and delivery for `engine` (cloned per worker).
    pub fn start(
        engine: Engine,
        config: StreamConfig,
        delivery: Delivery,
    ) -> Result<Self, StreamError> {
        if config.queue == 0 || config.workers == 0 || config.results == 0 {
            return Err(StreamError::Config(format!(
                "queue ({}), workers ({}) and results ({}) must be at least 1",
                config.queue, config.workers, config.results
            )));
        }
        if config.workers > 64 || config.queue > 4096 || config.results > 1 << 16 {
            return Err(StreamError::Config(
                "at most 64 workers, a queue of 4096 and 65536 results".into(),
            ));
        }
        if config.frame_bytes > config.max_frame_bytes {
            return Err(StreamError::Config(format!(
                "frame_bytes {} is over max_frame_bytes {}",
                config.frame_bytes, config.max_frame_bytes
            )));
        }
        if config.frame_bytes > MAX_FRAME_BYTES {
            return Err(StreamError::Config(format!(
                "frame_bytes {} is over {MAX_FRAME_BYTES}, the largest frame there can be \
                 ({}² pixels of 4 bytes)",
                config.frame_bytes,
                crate::frame::MAX_DIM
            )));
        }
        let structures = if config.structures.is_empty() {
            engine.manifest().structures.clone()
        } else {
            config.structures.clone()
        };
        engine.check_structures(&structures)?;

        // Buffers: one per queue slot, one per worker and one being filled by the producer, so
        // a push never waits for memory.
        let (queue_tx, queue_rx) = crossbeam_channel::bounded::<Job>(config.queue);
        let n_buffers = config.queue + config.workers + 1;
        let (pool_tx, pool_rx) = crossbeam_channel::bounded::<Vec<u8>>(n_buffers);
        for _ in 0..n_buffers {
            let mut b = Vec::new();
            b.try_reserve_exact(config.frame_bytes)
                .map_err(|_| StreamError::OutOfMemory {
                    what: "a frame buffer of frame_bytes (the stream holds queue + workers + 1)",
                    bytes: config.frame_bytes,
                })?;
            // Cannot fail: the pool has room for every buffer.
            let _ = pool_tx.try_send(b);
        }
        let (events_tx, events_rx) = crossbeam_channel::unbounded::<Event>();
        let shared = Arc::new(Shared {
            stats: Mutex::new(StreamStats::default()),
            clocks: Mutex::new(Vec::new()),
            scanner_phase: AtomicBool::new(false),
            callback_thread: OnceLock::new(),
        });
        let outbox = Arc::new(Outbox::new(
            config.results,
            config.policy == QueuePolicy::Block,
        ));
        let callback = match delivery {
            Delivery::Poll => None,
            Delivery::Callback(cb) => Some(cb),
        };
        let is_callback = callback.is_some();
        // If a thread cannot start, those started before end by themselves: their channels'
        // other ends are dropped with this function's locals.

        let mut workers = Vec::with_capacity(config.workers);
        let mut engine = Some(engine);
        for w in 0..config.workers {
            let eng = match (w + 1 == config.workers, engine.as_ref()) {
                (true, _) => engine.take(),
                (false, Some(e)) => Some(e.try_clone()),
                (false, None) => None,
            };
            let Some(eng) = eng else {
                return Err(StreamError::Config("no engine for a worker".into()));
            };
            let worker = Worker {
                engine: eng,
                structures: structures.clone(),
                queue: queue_rx.clone(),
                pool: pool_tx.clone(),
                events: events_tx.clone(),
                shared: Arc::clone(&shared),
            };
            let h = crate::threads::spawn(format!("synboost-worker-{w}"), move || worker.run())
                .map_err(|e| StreamError::Thread(e.to_string()))?;
            workers.push(h);
        }

        let out = Output {
            outbox: Arc::clone(&outbox),
            callback: is_callback,
            shared: Arc::clone(&shared),
            tracker: config.measure.map(CardiacTracker::new),
        };
        let delivery =
            crate::threads::spawn("synboost-delivery".into(), move || deliver(events_rx, out))
                .map_err(|e| StreamError::Thread(e.to_string()))?;
        let caller = match callback {
            None => None,
            Some(cb) => {
                let (ob, sh) = (Arc::clone(&outbox), Arc::clone(&shared));
                let h = crate::threads::spawn("synboost-callback".into(), move || {
                    call_back(&ob, &sh, cb)
                })
                .map_err(|e| StreamError::Thread(e.to_string()))?;
                let _ = shared.callback_thread.set(h.thread().id());
                Some(h)
            }
        };
        Ok(Self {
            producer: Mutex::new(Producer {
                next_seq: 0,
                queue: Some(queue_tx),
                events: Some(events_tx),
            }),
            queue_rx,
            pool_tx,
            pool_rx,
            outbox,
            callback: is_callback,
            shared,
            workers: Mutex::new(workers),
            delivery: Mutex::new(Some(delivery)),
            caller: Mutex::new(caller),
            config,
            structures,
        })
    }

    /// The structures segmented in every frame.
    pub fn structures(&self) -> &[Structure] {
        &self.structures
    }

    /// The configuration the stream runs with.
    pub fn config(&self) -> &StreamConfig {
        &self.config
    }

    /// Copy a frame into the stream and return its sequence number. Never blocks unless the
    /// policy is [`QueuePolicy::Block`]: then it waits for room in the queue and while
    /// [`StreamConfig::results`] results wait for the reader, until the stream is stopped
    /// ([`StreamError::Stopped`], the frame not taken). From the stream's own callback it does
    /// not wait for the reader (itself): [`StreamError::CallbackWouldBlock`].
    pub fn push(&self, frame: &FrameView<'_>, meta: &ScanMeta) -> Result<u64, StreamError> {
        let bpp = frame.format().bytes_per_pixel();
        let row = frame.width() * bpp;
        let bytes = row * frame.height();
        if bytes > self.config.max_frame_bytes {
            return Err(StreamError::FrameTooLarge {
                bytes,
                max: self.config.max_frame_bytes,
            });
        }
        let pushed = Instant::now();
        let mut p = lock(&self.producer);
        let (Some(queue), Some(events)) = (p.queue.clone(), p.events.clone()) else {
            return Err(StreamError::Stopped);
        };
        if self.config.policy == QueuePolicy::Block {
            // Back-pressure from the reader: results nobody has read yet are bounded.
            let own = self.shared.callback_thread.get() == Some(&std::thread::current().id());
            if own {
                if self.outbox.full() {
                    return Err(StreamError::CallbackWouldBlock(self.config.results));
                }
            } else if self.outbox.wait_for_room().is_err() {
                return Err(StreamError::Stopped);
            }
        }
        // A buffer: free in the pool by construction (one more than can be queued or in
        // workers); under another producer's race, take the oldest queued frame's.
        let mut buf = match self.pool_rx.try_recv() {
            Ok(b) => b,
            Err(_) => match self.config.policy {
                QueuePolicy::Block => self.pool_rx.recv().map_err(|_| StreamError::Stopped)?,
                QueuePolicy::Reject => {
                    lock(&self.shared.stats).rejected += 1;
                    return Err(StreamError::QueueFull(self.config.queue));
                }
                QueuePolicy::DropOldest => match self.queue_rx.try_recv() {
                    Ok(old) => old.drop_into(DropReason::Overflow, &events, &self.shared),
                    Err(_) => self.pool_rx.recv().map_err(|_| StreamError::Stopped)?,
                },
            },
        };
        buf.clear();
        if buf.capacity() < bytes {
            log::debug!("stream buffer grows to {bytes} bytes");
            if buf.try_reserve_exact(bytes).is_err() {
                let _ = self.pool_tx.try_send(buf);
                return Err(StreamError::OutOfMemory {
                    what: "a copy of the frame",
                    bytes,
                });
            }
        }
        for y in 0..frame.height() {
            if let Some(r) = frame.row(y) {
                buf.extend_from_slice(&r[..row]);
            }
        }
        {
            // Counted before it is queued, so that a fast worker never finishes it first.
            let mut s = lock(&self.shared.stats);
            s.pushed += 1;
            s.in_flight += 1;
        }
        let unpush = |rejected: bool| {
            let mut s = lock(&self.shared.stats);
            s.pushed -= 1;
            s.in_flight -= 1;
            if rejected {
                s.rejected += 1;
            }
        };
        let (meta, phase_source) = self.phase_of(p.next_seq, frame.timestamp_us(), meta);
        let mut job = Job {
            seq: p.next_seq,
            buf,
            format: frame.format(),
            width: frame.width(),
            height: frame.height(),
            timestamp_us: frame.timestamp_us(),
            meta,
            phase_source,
            pushed,
        };
        loop {
            match queue.try_send(job) {
                Ok(()) => break,
                Err(TrySendError::Disconnected(j)) => {
                    let _ = self.pool_tx.try_send(j.buf);
                    unpush(false);
                    return Err(StreamError::Stopped);
                }
                Err(TrySendError::Full(j)) => match self.config.policy {
                    QueuePolicy::Reject => {
                        let _ = self.pool_tx.try_send(j.buf);
                        unpush(true);
                        return Err(StreamError::QueueFull(self.config.queue));
                    }
                    QueuePolicy::Block => {
                        if let Err(e) = queue.send(j) {
                            let _ = self.pool_tx.try_send(e.into_inner().buf);
                            unpush(false);
                            return Err(StreamError::Stopped);
                        }
                        break;
                    }
                    QueuePolicy::DropOldest => {
                        if let Ok(old) = self.queue_rx.try_recv() {
                            let b = old.drop_into(DropReason::Overflow, &events, &self.shared);
                            let _ = self.pool_tx.try_send(b);
                        }
                        job = j;
                    }
                },
            }
        }
        let seq = p.next_seq;
        p.next_seq += 1;
        Ok(seq)
    }

    /// The metadata to segment frame `seq` with: `meta`, and where it has no phase, the phase
    /// predicted from the cycles measured so far (unless the scanner has sent phases before, or
    /// measuring or inference is off).
    fn phase_of(
        &self,
        seq: u64,
        timestamp_us: Option<i64>,
        meta: &ScanMeta,
    ) -> (ScanMeta, PhaseSource) {
        let mut meta = meta.clone();
        if meta.phase.is_some() {
            self.shared.scanner_phase.store(true, Ordering::Relaxed);
            return (meta, PhaseSource::Scanner);
        }
        let infer = self.config.measure.is_some_and(|m| m.infer_phase)
            && !self.shared.scanner_phase.load(Ordering::Relaxed);
        if !infer {
            return (meta, PhaseSource::None);
        }
        let clock = lock(&self.shared.clocks)
            .iter()
            .find(|c| c.view == meta.view)
            .copied();
        let Some(clock) = clock else {
            return (meta, PhaseSource::None);
        };
        let (t, _) = frame_time(seq, timestamp_us, &meta);
        meta.phase = clock.phase_at(t);
        let source = if meta.phase.is_some() {
            PhaseSource::Inferred
        } else {
            PhaseSource::None
        };
        (meta, source)
    }

    /// The next result in sequence order: waits up to `timeout` (`None`: forever). `Ok(None)`
    /// on timeout; [`StreamError::Stopped`] once the stream has stopped and every result was
    /// read.
    pub fn poll(&self, timeout: Option<Duration>) -> Result<Option<FrameResult>, StreamError> {
        self.take(timeout)
    }

    /// The next result if one is ready.
    pub fn try_poll(&self) -> Result<Option<FrameResult>, StreamError> {
        self.take(Some(Duration::ZERO))
    }

    fn take(&self, timeout: Option<Duration>) -> Result<Option<FrameResult>, StreamError> {
        if self.callback {
            return Err(StreamError::NotPolled);
        }
        match self.outbox.take(timeout) {
            Taken::Result(r) => Ok(Some(r.result)),
            Taken::Timeout => Ok(None),
            Taken::End => Err(StreamError::Stopped),
        }
    }

    /// Counters and latencies so far.
    pub fn stats(&self) -> StreamStats {
        let mut s = lock(&self.shared.stats).clone();
        let (undelivered, unread_dropped) = self.outbox.counts();
        s.undelivered = undelivered as u64;
        s.unread_dropped = unread_dropped;
        s
    }

    /// Whether [`Stream::stop`] has been called.
    pub fn is_stopped(&self) -> bool {
        lock(&self.producer).queue.is_none()
    }

    /// Stop: no more pushes (one waiting under [`QueuePolicy::Block`] gives up); queued frames
    /// are processed ([`StopMode::Drain`]) or dropped ([`StopMode::Discard`]); threads are
    /// joined. Polled results already finished stay pollable. Calling it again returns the
    /// same final stats. Safe to call from any thread but the callback's own (it would wait
    /// for itself), also while another thread pushes (its push then fails with
    /// [`StreamError::Stopped`]) or polls.
    pub fn stop(&self, mode: StopMode) -> StreamStats {
        self.stop_with(mode, self.callback && mode == StopMode::Discard)
    }

    /// [`Stream::stop`]; `discard_ready`: drop the results not yet delivered too.
    fn stop_with(&self, mode: StopMode, discard_ready: bool) -> StreamStats {
        self.outbox.stop(discard_ready);
        let events = {
            let mut p = lock(&self.producer);
            p.queue = None;
            p.events.take()
        };
        if let (StopMode::Discard, Some(events)) = (mode, events.as_ref()) {
            while let Ok(job) = self.queue_rx.try_recv() {
                let _ = self.pool_tx.try_send(job.drop_into(
                    DropReason::Discarded,
                    events,
                    &self.shared,
                ));
            }
        }
        drop(events);
        let workers: Vec<JoinHandle<()>> = lock(&self.workers).drain(..).collect();
        for h in workers {
            if h.join().is_err() {
                log::error!("a stream worker panicked outside a frame");
            }
        }
        let delivery = lock(&self.delivery).take();
        if let Some(h) = delivery
            && h.join().is_err()
        {
            log::error!("the stream delivery thread panicked");
            self.outbox.close();
        }
        let caller = lock(&self.caller).take();
        if let Some(h) = caller
            && h.join().is_err()
        {
            log::error!("the stream callback thread panicked");
        }
        self.stats()
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        // Nobody will read what is left.
        self.stop_with(StopMode::Discard, true);
    }
}

struct Worker {
    engine: Engine,
    structures: Vec<Structure>,
    queue: Receiver<Job>,
    pool: Sender<Vec<u8>>,
    events: Sender<Event>,
    shared: Arc<Shared>,
}

impl Worker {
    fn run(mut self) {
        while let Ok(job) = self.queue.recv() {
            let started = Instant::now();
            let outcome = self.segment(&job);
            let timings = FrameTimings {
                queue: started - job.pushed,
                engine: match &outcome {
                    Outcome::Segmented(s) => s.timings,
                    _ => Timings::default(),
                },
                total: Duration::ZERO,
            };
            {
                // Counted as it leaves the worker: no longer in flight.
                let mut s = lock(&self.shared.stats);
                s.in_flight = s.in_flight.saturating_sub(1);
                match &outcome {
                    Outcome::Segmented(seg) => {
                        s.processed += 1;
                        s.queue_wait.record(timings.queue);
                        let t = &mut s.engine_total;
                        t.preprocess += seg.timings.preprocess;
                        t.text += seg.timings.text;
                        t.image += seg.timings.image;
                        t.postprocess += seg.timings.postprocess;
                        t.total += seg.timings.total;
                    }
                    _ => s.failed += 1,
                }
            }
            let (ev, buf) = job.finish(outcome, timings);
            let _ = self.pool.try_send(buf);
            if self.events.send(ev).is_err() {
                break;
            }
        }
    }

    fn segment(&mut self, job: &Job) -> Outcome {
        let bpp = job.format.bytes_per_pixel();
        let frame =
            match FrameView::new(job.format, job.width, job.height, job.width * bpp, &job.buf) {
                Ok(f) => f,
                Err(e) => return Outcome::Failed(e.to_string()),
            };
        let frame = match job.timestamp_us {
            Some(t) => frame.with_timestamp_us(t),
            None => frame,
        };
        let (engine, structures, meta) = (&mut self.engine, &self.structures, &job.meta);
        match catch_unwind(AssertUnwindSafe(|| {
            engine.segment(&frame, meta, structures)
        })) {
            Ok(Ok(s)) => Outcome::Segmented(Box::new(s)),
            Ok(Err(e)) => Outcome::Failed(e.to_string()),
            Err(p) => {
                let msg = crate::panics::panic_message(p.as_ref());
                log::error!("the engine panicked on frame {}: {msg}", job.seq);
                Outcome::Failed(format!(
                    "internal error: the engine panicked on this frame: {msg}"
                ))
            }
        }
    }
}

/// The delivery thread's ends.
struct Output {
    outbox: Arc<Outbox>,
    /// A callback thread takes from the outbox (it records the delivery time itself).
    callback: bool,
    shared: Arc<Shared>,
    tracker: Option<CardiacTracker>,
}

/// A result is delivered: its push-to-delivery time, and the latency of a segmented frame.
fn delivered(r: &mut FrameResult, pushed: Instant, shared: &Shared) {
    r.timings.total = pushed.elapsed();
    if matches!(r.outcome, Outcome::Segmented(_)) {
        lock(&shared.stats).latency.record(r.timings.total);
    }
}

impl Output {
    /// Measure a segmented frame (in sequence order, on the delivery thread).
    fn measure(&mut self, r: &mut FrameResult) {
        let (Some(tracker), Outcome::Segmented(seg)) = (self.tracker.as_mut(), &r.outcome) else {
            return;
        };
        let m = tracker.observe(r.seq, r.timestamp_us, &r.meta, seg, r.phase_source);
        r.measurements = Some(Box::new(m));
        let clocks = tracker.clocks();
        let mut shared = lock(&self.shared.clocks);
        if *shared != clocks {
            *shared = clocks;
        }
    }

    fn emit(&mut self, mut r: FrameResult, pushed: Instant) {
        if catch_unwind(AssertUnwindSafe(|| self.measure(&mut r))).is_err() {
            log::error!("measuring frame {} panicked; it has no measurements", r.seq);
            r.measurements = None;
        }
        if !self.callback {
            // Pollable from now on.
            delivered(&mut r, pushed, &self.shared);
        }
        self.outbox.put(Ready { result: r, pushed });
    }
}

fn deliver(events: Receiver<Event>, mut out: Output) {
    let mut order = Reorder::new();
    for ev in events.iter() {
        order.insert(ev.result.seq, ev);
        while let Some(Delivered(ev)) = order.next() {
            out.emit(*ev.result, ev.pushed);
        }
    }
    // Every sender is gone: whatever is left (there should be nothing) goes out in order.
    for ev in order.rest() {
        out.emit(*ev.result, ev.pushed);
    }
    out.outbox.close();
}

/// The callback thread: hands every result the outbox gives to the callback, in order, until
/// the stream has stopped and the outbox is empty (or discarded).
fn call_back(outbox: &Outbox, shared: &Shared, mut cb: Box<dyn FnMut(FrameResult) + Send>) {
    loop {
        match outbox.take(None) {
            Taken::Result(ready) => {
                let Ready { mut result, pushed } = *ready;
                delivered(&mut result, pushed, shared);
                if catch_unwind(AssertUnwindSafe(|| cb(result))).is_err() {
                    log::error!("the result callback panicked");
                }
            }
            Taken::Timeout => {}
            Taken::End => return,
        }
    }
}
