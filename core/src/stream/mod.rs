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

mod config;
mod delivery;
mod error;
mod job;
mod latency;
mod outbox;
mod reorder;
mod result;
mod stats;
mod worker;

pub use config::{Delivery, MAX_FRAME_BYTES, QueuePolicy, StopMode, StreamConfig};
pub use error::StreamError;
pub use latency::LatencyHistogram;
pub use result::{DropReason, FrameResult, FrameTimings, Outcome};
pub use stats::StreamStats;

use crate::engine::Engine;
use crate::frame::FrameView;
use crate::measure::tracker::{CardiacTracker, PhaseClock, PhaseSource, frame_time};
use crate::meta::ScanMeta;
use crate::structure::Structure;
use crossbeam_channel::{Receiver, Sender, TrySendError};
use delivery::{Output, call_back, deliver};
use job::{Event, Job, buffer_pool};
use outbox::{Outbox, Taken};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};
use worker::spawn_workers;

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
        config.check()?;
        let structures = if config.structures.is_empty() {
            engine.manifest().structures.clone()
        } else {
            config.structures.clone()
        };
        engine.check_structures(&structures)?;

        let (queue_tx, queue_rx) = crossbeam_channel::bounded::<Job>(config.queue);
        // Buffers: one per queue slot, one per worker and one being filled by the producer, so
        // a push never waits for memory.
        let (pool_tx, pool_rx) =
            buffer_pool(config.queue + config.workers + 1, config.frame_bytes)?;
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
        let workers = spawn_workers(
            engine,
            config.workers,
            &structures,
            &queue_rx,
            &pool_tx,
            &events_tx,
            &shared,
        )?;
        let out = Output {
            outbox: Arc::clone(&outbox),
            callback: is_callback,
            shared: Arc::clone(&shared),
            tracker: config.measure.map(CardiacTracker::new),
        };
        let delivery =
            crate::threads::spawn("synboost-delivery".into(), move || deliver(events_rx, out))
                .map_err(thread_error)?;
        let caller = match callback {
            None => None,
            Some(cb) => {
                let (ob, sh) = (Arc::clone(&outbox), Arc::clone(&shared));
                let h = crate::threads::spawn("synboost-callback".into(), move || {
                    call_back(&ob, &sh, cb)
                })
                .map_err(thread_error)?;
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
        let row = frame.width() * frame.format().bytes_per_pixel();
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
            self.wait_for_reader()?;
        }
        let buf = self.take_buffer(&events)?;
        let buf = self.copy_frame(buf, frame, row, bytes)?;
        // Counted before it is queued, so that a fast worker never finishes it first.
        self.count_push();
        let (meta, phase_source) = self.phase_of(p.next_seq, frame.timestamp_us(), meta);
        let job = Job {
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
        self.enqueue(&queue, &events, job)?;
        let seq = p.next_seq;
        p.next_seq += 1;
        Ok(seq)
    }

    /// Back-pressure from the reader under [`QueuePolicy::Block`]: results nobody has read yet
    /// are bounded, so wait for room among them, except on the stream's own callback thread
    /// (the reader itself), which is refused instead when they are at capacity.
    fn wait_for_reader(&self) -> Result<(), StreamError> {
        let own = self.shared.callback_thread.get() == Some(&std::thread::current().id());
        if own {
            if self.outbox.full() {
                return Err(StreamError::CallbackWouldBlock(self.config.results));
            }
        } else if self.outbox.wait_for_room().is_err() {
            return Err(StreamError::Stopped);
        }
        Ok(())
    }

    /// A buffer for the next frame: free in the pool by construction (one more than can be
    /// queued or in workers); under another producer's race, the policy decides: wait for one,
    /// refuse the frame, or take the oldest queued frame's.
    fn take_buffer(&self, events: &Sender<Event>) -> Result<Vec<u8>, StreamError> {
        if let Ok(b) = self.pool_rx.try_recv() {
            return Ok(b);
        }
        match self.config.policy {
            QueuePolicy::Block => self.pool_rx.recv().map_err(|_| StreamError::Stopped),
            QueuePolicy::Reject => {
                lock(&self.shared.stats).rejected += 1;
                Err(StreamError::QueueFull(self.config.queue))
            }
            QueuePolicy::DropOldest => match self.queue_rx.try_recv() {
                Ok(old) => Ok(old.drop_into(DropReason::Overflow, events, &self.shared)),
                Err(_) => self.pool_rx.recv().map_err(|_| StreamError::Stopped),
            },
        }
    }

    /// Copy the frame's rows, `row` bytes each (`bytes` in all), tightly packed into `buf`,
    /// growing it when the frame is larger than any before. Without the memory to grow, the
    /// buffer goes back to the pool.
    fn copy_frame(
        &self,
        mut buf: Vec<u8>,
        frame: &FrameView<'_>,
        row: usize,
        bytes: usize,
    ) -> Result<Vec<u8>, StreamError> {
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
        Ok(buf)
    }

    /// Count a frame as pushed and in flight.
    fn count_push(&self) {
        let mut s = lock(&self.shared.stats);
        s.pushed += 1;
        s.in_flight += 1;
    }

    /// Take back the count of a frame that was not queued after all; `rejected`: count it as
    /// refused instead.
    fn uncount_push(&self, rejected: bool) {
        let mut s = lock(&self.shared.stats);
        s.pushed -= 1;
        s.in_flight -= 1;
        if rejected {
            s.rejected += 1;
        }
    }

    /// Queue `job`; when the queue is full the policy decides: refuse it, wait for room, or
    /// drop the oldest queued frame and try again. A job that is not queued gives its buffer
    /// back to the pool and its push is uncounted.
    fn enqueue(
        &self,
        queue: &Sender<Job>,
        events: &Sender<Event>,
        mut job: Job,
    ) -> Result<(), StreamError> {
        loop {
            match queue.try_send(job) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(j)) => {
                    let _ = self.pool_tx.try_send(j.buf);
                    self.uncount_push(false);
                    return Err(StreamError::Stopped);
                }
                Err(TrySendError::Full(j)) => match self.config.policy {
                    QueuePolicy::Reject => {
                        let _ = self.pool_tx.try_send(j.buf);
                        self.uncount_push(true);
                        return Err(StreamError::QueueFull(self.config.queue));
                    }
                    QueuePolicy::Block => {
                        if let Err(e) = queue.send(j) {
                            let _ = self.pool_tx.try_send(e.into_inner().buf);
                            self.uncount_push(false);
                            return Err(StreamError::Stopped);
                        }
                        return Ok(());
                    }
                    QueuePolicy::DropOldest => {
                        if let Ok(old) = self.queue_rx.try_recv() {
                            let b = old.drop_into(DropReason::Overflow, events, &self.shared);
                            let _ = self.pool_tx.try_send(b);
                        }
                        job = j;
                    }
                },
            }
        }
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

/// A thread that could not be started, as a stream error.
fn thread_error(e: std::io::Error) -> StreamError {
    StreamError::Thread(e.to_string())
}
