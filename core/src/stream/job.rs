//! A frame on its way through the stream: copied into a pooled buffer at the push (a job), and
//! finished (an event) on its way to the delivery thread.

use super::{DropReason, FrameResult, FrameTimings, Outcome, Shared, StreamError, lock};
use crate::frame::PixelFormat;
use crate::measure::tracker::PhaseSource;
use crate::meta::ScanMeta;
use crossbeam_channel::{Receiver, Sender};
use std::time::Instant;

/// A frame copied out of the scanner's buffer.
pub(super) struct Job {
    pub(super) seq: u64,
    pub(super) buf: Vec<u8>,
    pub(super) format: PixelFormat,
    pub(super) width: usize,
    pub(super) height: usize,
    pub(super) timestamp_us: Option<i64>,
    pub(super) meta: ScanMeta,
    pub(super) phase_source: PhaseSource,
    pub(super) pushed: Instant,
}

/// A finished frame (segmented, failed or dropped) on its way to the delivery thread.
pub(super) struct Event {
    pub(super) result: Box<FrameResult>,
    pub(super) pushed: Instant,
}

impl Job {
    /// The job's result with `outcome`, and its buffer for the pool.
    pub(super) fn finish(self, outcome: Outcome, timings: FrameTimings) -> (Event, Vec<u8>) {
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
    pub(super) fn drop_into(
        self,
        reason: DropReason,
        events: &Sender<Event>,
        shared: &Shared,
    ) -> Vec<u8> {
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

/// The two ends of the pool of frame buffers.
type BufferPool = (Sender<Vec<u8>>, Receiver<Vec<u8>>);

/// The stream's `n` frame buffers, `frame_bytes` each, allocated fallibly and waiting in the
/// pool they come back to.
pub(super) fn buffer_pool(n: usize, frame_bytes: usize) -> Result<BufferPool, StreamError> {
    let (pool_tx, pool_rx) = crossbeam_channel::bounded::<Vec<u8>>(n);
    for _ in 0..n {
        let mut b = Vec::new();
        b.try_reserve_exact(frame_bytes)
            .map_err(|_| StreamError::OutOfMemory {
                what: "a frame buffer of frame_bytes (the stream holds queue + workers + 1)",
                bytes: frame_bytes,
            })?;
        // Cannot fail: the pool has room for every buffer.
        let _ = pool_tx.try_send(b);
    }
    Ok((pool_tx, pool_rx))
}
