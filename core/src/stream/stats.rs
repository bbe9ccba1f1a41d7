//! A stream's counters and latency distributions.

use super::LatencyHistogram;
use crate::engine::Timings;

/// Stream counters and latency distribution.
#[derive(Debug, Clone, Default)]
pub struct StreamStats {
    /// Frames accepted by [`Stream::push`](super::Stream::push).
    pub pushed: u64,
    /// Frames refused by [`QueuePolicy::Reject`](super::QueuePolicy::Reject) (not counted in
    /// `pushed`).
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
    /// Finished results waiting for the reader now (at most
    /// [`StreamConfig::results`](super::StreamConfig::results), plus under
    /// [`QueuePolicy::Block`](super::QueuePolicy::Block) the frames that were in flight when it
    /// filled).
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
