//! What a stream gives back for each frame: its outcome (segmented, failed or dropped), timings
//! and measurements.

use crate::engine::{Segmentation, Timings};
use crate::measure::tracker::{FrameMeasurements, PhaseSource};
use crate::meta::ScanMeta;
use std::time::Duration;

/// Why a frame was not segmented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// Pushed out of a full queue by a newer frame
    /// ([`QueuePolicy::DropOldest`](super::QueuePolicy::DropOldest)).
    Overflow,
    /// Still queued when the stream stopped with [`StopMode::Discard`](super::StopMode::Discard).
    Discarded,
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
    /// Sequence number given by [`Stream::push`](super::Stream::push), from 0.
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
