//! What the tracker reports: per-frame measurements (structures, LV, confidence, flags, phase)
//! and per-cycle reports (ED and ES frames, volumes by each method, heart rate).

use super::flags::QualityFlags;
use crate::measure::geometry::Units;
use crate::measure::volume::ejection_fraction;
use crate::meta::{Phase, View};
use crate::structure::Structure;
use serde::{Deserialize, Serialize};

/// Where a frame's phase came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseSource {
    /// No phase (the frame is between ED and ES, or nothing is known).
    #[default]
    None,
    /// The scanner sent it (ECG-gated).
    Scanner,
    /// Predicted by the stream from the cycles detected so far (no ECG).
    Inferred,
}

/// One structure's measurements in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StructureMeasure {
    /// The structure.
    pub structure: Structure,
    /// Area, mm² or pixels (see [`FrameMeasurements::units`]).
    pub area: f64,
    /// Mean probability margin inside the mask, `mean(2p − 1)`; 0 when empty.
    pub confidence: f64,
}

/// LV measurements of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LvMeasure {
    /// Long axis, apex to mid-annulus, mm or pixels.
    pub length: f64,
    /// Single-plane area–length volume, ml (mm) or cubic pixels.
    pub volume_area_length: f64,
    /// Single-plane Simpson volume, ml (mm) or cubic pixels.
    pub volume_simpson: f64,
}

/// Volumes at ED and ES by one method, and the ejection fraction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Volumes {
    /// End-diastolic volume, ml (calibrated) or cubic pixels.
    pub edv: f64,
    /// End-systolic volume, same units.
    pub esv: f64,
    /// Ejection fraction, percent.
    pub ef_percent: f64,
}

impl Volumes {
    /// Both volumes scaled to ml (from mm³) when calibrated, and their ejection fraction; none
    /// when either volume or the fraction is missing.
    pub(super) fn of(edv: Option<f64>, esv: Option<f64>, units: Units) -> Option<Self> {
        let (edv, esv) = (edv?, esv?);
        let s = if units == Units::Millimetres {
            1e-3
        } else {
            1.0
        };
        Some(Self {
            edv: edv * s,
            esv: esv * s,
            ef_percent: ejection_fraction(edv, esv)?,
        })
    }
}

/// An ED or ES frame of a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CycleFrame {
    /// Sequence number.
    pub seq: u64,
    /// Time, seconds.
    pub time_s: f64,
    /// LV area, mm² or pixels.
    pub area: f64,
    /// LV long axis, mm or pixels.
    pub length: f64,
}

/// Biplane volumes of a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Biplane {
    /// Simpson's biplane method of discs.
    pub simpson: Volumes,
    /// The other view's cycle ([`CycleReport::index`]) it was paired with.
    pub other_cycle: u64,
}

/// One cardiac cycle of one view, reported when its end-systole is confirmed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CycleReport {
    /// The view (unknown when the frames carried none).
    pub view: Option<View>,
    /// Cycles of this view reported before this one.
    pub index: u64,
    /// End-diastole.
    pub ed: CycleFrame,
    /// End-systole.
    pub es: CycleFrame,
    /// Latest ED-to-ED interval, seconds (none before the second ED, or without timing).
    pub rr_s: Option<f64>,
    /// Heart rate, bpm: 60 / the median of the last five RR intervals.
    pub heart_rate_bpm: Option<f64>,
    /// Units of areas, lengths and volumes.
    pub units: Units,
    /// Single-plane area–length.
    pub area_length: Volumes,
    /// Single-plane Simpson.
    pub simpson: Volumes,
    /// Biplane Simpson, when the other apical view has a cycle too.
    pub biplane: Option<Biplane>,
    /// Fraction of this view's frames from ED to ES that were flagged.
    pub flagged_fraction: f64,
    /// No more than
    /// [`TrackerConfig::max_flagged_fraction`](super::TrackerConfig::max_flagged_fraction)
    /// flagged, and the frames had times.
    pub reliable: bool,
}

/// What the stream measured in one segmented frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameMeasurements {
    /// Units of areas, lengths and volumes.
    pub units: Units,
    /// Per structure segmented, in the order segmented.
    pub structures: Vec<StructureMeasure>,
    /// LV cavity measurements (none when no LV was found).
    pub lv: Option<LvMeasure>,
    /// The frame's confidence (see the module documentation).
    pub confidence: f64,
    /// IoU of the LV mask with the previous frame's, when there is a recent one.
    pub temporal_iou: Option<f64>,
    /// Quality flags.
    pub flags: QualityFlags,
    /// The phase the prompts used.
    pub phase: Option<Phase>,
    /// Where that phase came from.
    pub phase_source: PhaseSource,
    /// The view's current heart rate estimate, bpm.
    pub heart_rate_bpm: Option<f64>,
    /// A cycle this frame completed (its ES was confirmed here; the ES frame is a few frames
    /// earlier).
    pub cycle: Option<CycleReport>,
}

impl FrameMeasurements {
    /// The measurements of `structure`, when segmented.
    pub fn structure(&self, structure: Structure) -> Option<&StructureMeasure> {
        self.structures.iter().find(|s| s.structure == structure)
    }
}
