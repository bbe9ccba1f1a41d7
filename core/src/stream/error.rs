//! Why a stream cannot start or take a frame.

use crate::engine::EngineError;

/// Stream errors.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The configuration cannot work.
    #[error("stream configuration: {0}")]
    Config(String),
    /// A structure the model does not segment, or too many.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The queue is full and the policy is [`QueuePolicy::Reject`](super::QueuePolicy::Reject).
    #[error("the queue is full ({0} frames): frame rejected")]
    QueueFull(usize),
    /// The frame is larger than
    /// [`StreamConfig::max_frame_bytes`](super::StreamConfig::max_frame_bytes).
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
    /// A push under [`QueuePolicy::Block`](super::QueuePolicy::Block) from the stream's own result
    /// callback while the results waiting for that callback are at capacity: waiting would wait for
    /// itself.
    #[error(
        "the stream's own result callback cannot wait for room: {0} results are waiting for \
         it (push from another thread, or again from a later callback)"
    )]
    CallbackWouldBlock(usize),
}
