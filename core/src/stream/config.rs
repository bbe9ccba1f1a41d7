//! Stream settings: the queue policy, the stop mode, where results go, and the limits a
//! configuration is checked against.

use super::{FrameResult, StreamError};
use crate::measure::tracker::TrackerConfig;
use crate::structure::Structure;

/// What [`Stream::push`](super::Stream::push) does when the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueuePolicy {
    /// Drop the oldest queued frame to make room (live scanning: the newest frame matters).
    #[default]
    DropOldest,
    /// Refuse the new frame ([`StreamError::QueueFull`](super::StreamError::QueueFull)).
    Reject,
    /// Wait for room (offline processing: nothing may be lost; the caller's thread blocks)
    /// in the queue, and while [`StreamConfig::results`] results wait for the reader.
    Block,
}

/// How [`Stream::stop`](super::Stream::stop) treats frames still queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StopMode {
    /// Process every queued frame before stopping.
    #[default]
    Drain,
    /// Drop queued frames (each still gets a [`Outcome::Dropped`](super::Outcome::Dropped) result);
    /// frames already in a worker finish. A callback stream also stops calling its callback: the
    /// results it has not been given are dropped
    /// ([`StreamStats::unread_dropped`](super::StreamStats::unread_dropped)), so the stop waits for
    /// at most one frame in each worker and the callback already running.
    Discard,
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
    /// Finished results waiting for the reader (poll or callback), at most; when full, the oldest
    /// is dropped (counted in [`StreamStats::unread_dropped`](super::StreamStats::unread_dropped)),
    /// except under [`QueuePolicy::Block`], where pushes wait for the reader instead and nothing is
    /// dropped.
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
    /// Kept for [`Stream::poll`](super::Stream::poll).
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

impl StreamConfig {
    /// Whether the configuration can work: at least one queue slot, worker and result, within
    /// the limits (64 workers, a queue of 4096, 65536 results), and frame buffers no larger
    /// than the largest frame taken or there can be.
    pub(super) fn check(&self) -> Result<(), StreamError> {
        if self.queue == 0 || self.workers == 0 || self.results == 0 {
            return Err(StreamError::Config(format!(
                "queue ({}), workers ({}) and results ({}) must be at least 1",
                self.queue, self.workers, self.results
            )));
        }
        if self.workers > 64 || self.queue > 4096 || self.results > 1 << 16 {
            return Err(StreamError::Config(
                "at most 64 workers, a queue of 4096 and 65536 results".into(),
            ));
        }
        if self.frame_bytes > self.max_frame_bytes {
            return Err(StreamError::Config(format!(
                "frame_bytes {} is over max_frame_bytes {}",
                self.frame_bytes, self.max_frame_bytes
            )));
        }
        if self.frame_bytes > MAX_FRAME_BYTES {
            return Err(StreamError::Config(format!(
                "frame_bytes {} is over {MAX_FRAME_BYTES}, the largest frame there can be \
                 ({}² pixels of 4 bytes)",
                self.frame_bytes,
                crate::frame::MAX_DIM
            )));
        }
        Ok(())
    }
}
