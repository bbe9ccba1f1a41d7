//! Quality flags of a frame: why its measurements may not be trusted, and informational marks.

use serde::{Deserialize, Serialize, Serializer};

/// Quality flags of a frame (bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub struct QualityFlags(pub u32);

impl QualityFlags {
    /// The frame's confidence is below
    /// [`TrackerConfig::min_confidence`](super::TrackerConfig::min_confidence).
    pub const LOW_CONFIDENCE: u32 = 1;
    /// The LV mask changed more than
    /// [`TrackerConfig::min_temporal_iou`](super::TrackerConfig::min_temporal_iou) allows since
    /// the previous frame.
    pub const INCONSISTENT: u32 = 2;
    /// No LV cavity was found (or it was not segmented).
    pub const NO_LV: u32 = 4;
    /// No pixel spacing: areas are in pixels and no volumes in ml (informational).
    pub const UNCALIBRATED: u32 = 8;
    /// The frame has the same timestamp as the previous frame of its view: a re-sent frame.
    /// It is measured on its own, but not used again for cycles, heart rate or temporal
    /// consistency (informational).
    pub const DUPLICATE: u32 = 16;
    /// Cycle detection of the view started over at this frame: its time went backwards, or it
    /// came after a gap longer than [`crate::measure::cycle::CycleConfig::max_gap_s`]. Cycles
    /// and heart rate are measured afresh from here (informational).
    pub const RESTARTED: u32 = 32;
    /// The flags that do not make a frame unreliable.
    pub const INFORMATIONAL: u32 = Self::UNCALIBRATED | Self::DUPLICATE | Self::RESTARTED;

    const NAMES: [(u32, &'static str); 6] = [
        (Self::LOW_CONFIDENCE, "low_confidence"),
        (Self::INCONSISTENT, "inconsistent"),
        (Self::NO_LV, "no_lv"),
        (Self::UNCALIBRATED, "uncalibrated"),
        (Self::DUPLICATE, "duplicate"),
        (Self::RESTARTED, "restarted"),
    ];

    /// Whether `bit` is set.
    pub fn has(self, bit: u32) -> bool {
        self.0 & bit != 0
    }

    /// Whether the measurements of the frame can be trusted: no flag other than the
    /// [`Self::INFORMATIONAL`] ones.
    pub fn reliable(self) -> bool {
        self.0 & !Self::INFORMATIONAL == 0
    }

    /// Names of the flags set.
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .filter(|(b, _)| self.has(*b))
            .map(|(_, n)| *n)
            .collect()
    }
}

impl Serialize for QualityFlags {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.names().serialize(s)
    }
}
