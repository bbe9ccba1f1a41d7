//! Clinical measurements over a stream: per frame (areas, LV length and volumes, confidence,
//! temporal consistency, quality flags) and per cardiac cycle (ED and ES frames, heart rate,
//! EDV, ESV and EF single-plane, and biplane when both apical views were streamed).
//!
//! A [`CardiacTracker`] sees every segmented frame of one stream in order. It keeps one track
//! per view (2CH, 4CH, or unknown): the view's LV area curve feeds a [`CycleDetector`]; each
//! end-systole closes a cycle that began at the end-diastole before it, and the cycle's volumes
//! come from the geometry of those two frames. When the other apical view has a closed cycle
//! too (interleaved biplane frames, or one view after the other), the cycle also carries the
//! biplane Simpson volumes of the two.
//!
//! **Confidence** of a structure is the mean probability margin inside its mask, `mean(2p − 1)`
//! over the mask's pixels at model resolution (1: every pixel certain, 0: at the threshold;
//! 0 for an empty mask). A frame's confidence is its LV cavity's when segmented, else the lowest
//! of its structures.
//!
//! **Temporal consistency** is the IoU of the LV mask with the previous segmented frame of the
//! same view, when that frame is at most 100 ms (or 2.5 frame periods) older.

use super::cycle::{CycleConfig, CycleDetector, Landmark};
use super::geometry::{Calibration, CavityGeometry, Units, cavity_geometry};
use super::volume::{area_length_of, ejection_fraction, simpson_biplane, simpson_single};
use crate::engine::Segmentation;
use crate::meta::{Phase, ScanMeta, View};
use crate::raster::Mask;
use crate::structure::Structure;
use serde::{Deserialize, Serialize, Serializer};
use std::collections::VecDeque;

/// Quality flags of a frame (bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub struct QualityFlags(pub u32);

impl QualityFlags {
    /// The frame's confidence is below [`TrackerConfig::min_confidence`].
    pub const LOW_CONFIDENCE: u32 = 1;
    /// The LV mask changed more than [`TrackerConfig::min_temporal_iou`] allows since the
    /// previous frame.
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

/// Settings of [`CardiacTracker`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrackerConfig {
    /// ED/ES detection.
    pub cycle: CycleConfig,
    /// A frame below this confidence is flagged [`QualityFlags::LOW_CONFIDENCE`].
    pub min_confidence: f64,
    /// A frame whose LV IoU with the previous one is below this is flagged
    /// [`QualityFlags::INCONSISTENT`].
    pub min_temporal_iou: f64,
    /// A cycle with more than this fraction of flagged frames between ED and ES is not
    /// [`CycleReport::reliable`].
    pub max_flagged_fraction: f64,
    /// Predict the phase of frames (for the prompts) from the detected cycles when the scanner
    /// sends none.
    pub infer_phase: bool,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            cycle: CycleConfig::default(),
            min_confidence: 0.6,
            min_temporal_iou: 0.7,
            max_flagged_fraction: 0.25,
            infer_phase: true,
        }
    }
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
    fn of(edv: Option<f64>, esv: Option<f64>, units: Units) -> Option<Self> {
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
    /// No more than [`TrackerConfig::max_flagged_fraction`] flagged, and the frames had times.
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

/// Mean probability margin `mean(2p − 1)` from the mean probability inside a mask.
pub fn margin(mean_prob_inside: f32, empty: bool) -> f64 {
    if empty {
        0.0
    } else {
        (2.0 * f64::from(mean_prob_inside) - 1.0).clamp(-1.0, 1.0)
    }
}

/// The measurements of one frame on its own (no temporal consistency, no cycle), and the LV
/// geometry behind them.
pub fn measure_frame(
    seg: &Segmentation,
    meta: &ScanMeta,
    phase_source: PhaseSource,
    min_confidence: f64,
) -> (FrameMeasurements, Option<CavityGeometry>) {
    let cal = Calibration::from_spacing(meta.pixel_spacing);
    let mut structures = Vec::with_capacity(seg.structures.len());
    let mut lv_geom = None;
    let mut lv_conf = None;
    for s in &seg.structures {
        let count = s.mask.count();
        let confidence = margin(s.stats.mean_prob_inside, count == 0);
        structures.push(StructureMeasure {
            structure: s.structure,
            area: count as f64 * cal.pixel_area(),
            confidence,
        });
        if s.structure == Structure::LvCavity {
            lv_geom = cavity_geometry(&s.mask, cal);
            lv_conf = Some(confidence);
        }
    }
    let lv = lv_geom.as_ref().and_then(|g| {
        let s = if cal.units == Units::Millimetres {
            1e-3
        } else {
            1.0
        };
        Some(LvMeasure {
            length: g.length,
            volume_area_length: area_length_of(g)? * s,
            volume_simpson: simpson_single(g)? * s,
        })
    });
    let confidence = lv_conf.unwrap_or_else(|| {
        structures
            .iter()
            .map(|s| s.confidence)
            .fold(f64::INFINITY, f64::min)
            .min(1.0)
    });
    let confidence = if confidence.is_finite() {
        confidence
    } else {
        0.0
    };
    let mut flags = 0;
    if confidence < min_confidence {
        flags |= QualityFlags::LOW_CONFIDENCE;
    }
    if lv.is_none() {
        flags |= QualityFlags::NO_LV;
    }
    if cal.units == Units::Pixels {
        flags |= QualityFlags::UNCALIBRATED;
    }
    let m = FrameMeasurements {
        units: cal.units,
        structures,
        lv,
        confidence,
        temporal_iou: None,
        flags: QualityFlags(flags),
        phase: meta.phase,
        phase_source,
        heart_rate_bpm: None,
        cycle: None,
    };
    (m, lv_geom)
}

/// The predicted timing of a view's cycles, for phases of frames not yet segmented.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhaseClock {
    /// The view.
    pub view: Option<View>,
    /// Time of the latest end-diastole, seconds.
    pub last_ed_s: f64,
    /// Median RR interval, seconds.
    pub rr_s: f64,
    /// Median ED-to-ES interval, seconds.
    pub es_offset_s: f64,
    /// Median interval between the view's frames, seconds (interleaved views each have a
    /// fraction of the stream's frames).
    pub frame_s: f64,
}

impl PhaseClock {
    /// The phase of the view's frame at `time_s`: ED or ES when the predicted instant is
    /// nearer to it than to its neighbours (`frame_s` apart), else `None`.
    pub fn phase_at(&self, time_s: f64) -> Option<Phase> {
        let frame_s = self.frame_s;
        if !(time_s.is_finite() && frame_s > 0.0 && self.rr_s > 0.0) {
            return None;
        }
        let near = |offset: f64| {
            let x = (time_s - self.last_ed_s - offset).rem_euclid(self.rr_s);
            x.min(self.rr_s - x) < frame_s / 2.0
        };
        // Predictions beyond three cycles are not trusted.
        if time_s - self.last_ed_s > 3.0 * self.rr_s {
            return None;
        }
        if near(0.0) {
            Some(Phase::EndDiastole)
        } else if near(self.es_offset_s) {
            Some(Phase::EndSystole)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone)]
struct FrameRecord {
    seq: u64,
    time_s: f64,
    geometry: Option<CavityGeometry>,
    flagged: bool,
}

/// A closed cycle's geometry, for pairing with the other view.
#[derive(Debug, Clone)]
struct ClosedCycle {
    index: u64,
    ed: CavityGeometry,
    es: CavityGeometry,
}

#[derive(Debug, Clone)]
struct ViewTrack {
    view: Option<View>,
    detector: CycleDetector,
    history: VecDeque<FrameRecord>,
    prev_lv: Option<(f64, Mask)>,
    last_ed: Option<Landmark>,
    rr: VecDeque<f64>,
    ed_es: VecDeque<f64>,
    cycles: u64,
    closed: Option<ClosedCycle>,
    /// Time of the view's latest frame that was not a duplicate, when it had a timestamp.
    last_stamp_s: Option<f64>,
}

/// Seconds of frame records kept per view.
const HISTORY_S: f64 = 5.0;
/// Intervals kept for the medians.
const MEDIAN_OF: usize = 5;

fn median(v: &VecDeque<f64>) -> Option<f64> {
    let mut s: Vec<f64> = v.iter().copied().collect();
    s.sort_by(f64::total_cmp);
    (!s.is_empty()).then(|| s[s.len() / 2])
}

impl ViewTrack {
    fn new(view: Option<View>, cfg: CycleConfig) -> Self {
        Self {
            view,
            detector: CycleDetector::new(cfg),
            history: VecDeque::new(),
            prev_lv: None,
            last_ed: None,
            rr: VecDeque::new(),
            ed_es: VecDeque::new(),
            cycles: 0,
            closed: None,
            last_stamp_s: None,
        }
    }

    fn heart_rate(&self) -> Option<f64> {
        median(&self.rr).map(|rr| 60.0 / rr)
    }

    fn record(&self, seq: u64) -> Option<&FrameRecord> {
        self.history.iter().find(|r| r.seq == seq)
    }

    fn clock(&self) -> Option<PhaseClock> {
        let ed = self.last_ed?;
        let n = self.history.len();
        let gaps: VecDeque<f64> = (n.saturating_sub(16).max(1)..n)
            .map(|i| self.history[i].time_s - self.history[i - 1].time_s)
            .filter(|d| *d > 0.0)
            .collect();
        Some(PhaseClock {
            view: self.view,
            last_ed_s: ed.peak_time_s,
            rr_s: median(&self.rr)?,
            es_offset_s: median(&self.ed_es)?,
            frame_s: median(&gaps)?,
        })
    }
}

/// Measurements over one stream's frames (see the module documentation).
#[derive(Debug, Clone)]
pub struct CardiacTracker {
    cfg: TrackerConfig,
    tracks: Vec<ViewTrack>,
}

/// The timing of a frame: its time in seconds and whether it is real (from a timestamp or the
/// frame time) or nominal (sequence number × 20 ms).
pub fn frame_time(seq: u64, timestamp_us: Option<i64>, meta: &ScanMeta) -> (f64, bool) {
    if let Some(t) = timestamp_us {
        return (t as f64 * 1e-6, true);
    }
    match meta.frame_time_ms.filter(|t| t.is_finite() && *t > 0.0) {
        Some(ms) => (seq as f64 * ms * 1e-3, true),
        None => (seq as f64 * 0.02, false),
    }
}

impl CardiacTracker {
    /// A tracker with `cfg`.
    pub fn new(cfg: TrackerConfig) -> Self {
        Self {
            cfg,
            tracks: Vec::new(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &TrackerConfig {
        &self.cfg
    }

    fn track(&mut self, view: Option<View>) -> usize {
        if let Some(i) = self.tracks.iter().position(|t| t.view == view) {
            return i;
        }
        self.tracks.push(ViewTrack::new(view, self.cfg.cycle));
        self.tracks.len() - 1
    }

    /// The phase clocks of the views with at least two cycles.
    pub fn clocks(&self) -> Vec<PhaseClock> {
        self.tracks.iter().filter_map(ViewTrack::clock).collect()
    }

    /// Measure segmented frame `seq` (frames must come in sequence order; skipped ones count
    /// as missing). A frame with the same timestamp as the view's previous one is a re-sent
    /// frame ([`QualityFlags::DUPLICATE`]): measured, not tracked. One that makes cycle
    /// detection start over says so ([`QualityFlags::RESTARTED`]).
    pub fn observe(
        &mut self,
        seq: u64,
        timestamp_us: Option<i64>,
        meta: &ScanMeta,
        seg: &Segmentation,
        phase_source: PhaseSource,
    ) -> FrameMeasurements {
        let (mut m, geom) = measure_frame(seg, meta, phase_source, self.cfg.min_confidence);
        let (time_s, timed) = frame_time(seq, timestamp_us, meta);
        let cfg = self.cfg;
        let i = self.track(meta.view);
        let t = &mut self.tracks[i];
        if timestamp_us.is_some() {
            if t.last_stamp_s == Some(time_s) {
                m.flags.0 |= QualityFlags::DUPLICATE;
                m.heart_rate_bpm = t.heart_rate();
                return m;
            }
            t.last_stamp_s = Some(time_s);
        }

        // Temporal consistency against the previous LV of this view.
        let lv_mask = seg
            .structures
            .iter()
            .find(|s| s.structure == Structure::LvCavity)
            .map(|s| &s.mask);
        if let (Some(mask), Some((pt, prev))) = (lv_mask, t.prev_lv.as_ref()) {
            let dt = time_s - pt;
            let recent = meta
                .frame_time_ms
                .map_or(0.1, |ms| (2.5 * ms * 1e-3).max(0.1));
            if dt > 0.0 && dt <= recent {
                // (A size change mid-stream leaves it undefined.)
                m.temporal_iou = mask.overlap(prev).map(|(_, iou)| iou);
                if m.temporal_iou.is_some_and(|v| v < cfg.min_temporal_iou) {
                    m.flags.0 |= QualityFlags::INCONSISTENT;
                }
            }
        }
        // An empty LV is no reference for the next frame.
        if let Some(mk) = lv_mask.filter(|mk| !mk.is_empty()) {
            t.prev_lv = Some((time_s, mk.clone()));
        }

        t.history.push_back(FrameRecord {
            seq,
            time_s,
            geometry: geom.clone(),
            flagged: !m.flags.reliable(),
        });
        while t
            .history
            .front()
            .is_some_and(|r| time_s - r.time_s > HISTORY_S || r.time_s > time_s)
        {
            t.history.pop_front();
        }

        let epoch = t.detector.epoch();
        let landmark = geom
            .as_ref()
            .and_then(|g| t.detector.push(seq, time_s, g.area));
        if t.detector.epoch() != epoch {
            m.flags.0 |= QualityFlags::RESTARTED;
        }
        let mut closed = None;
        match landmark {
            Some(l) if l.phase == Phase::EndDiastole => {
                if let Some(prev) = t.last_ed.filter(|p| p.epoch == l.epoch) {
                    let rr = l.peak_time_s - prev.peak_time_s;
                    if timed && rr >= cfg.cycle.min_rr_s && rr <= cfg.cycle.max_rr_s {
                        t.rr.push_back(rr);
                        if t.rr.len() > MEDIAN_OF {
                            t.rr.pop_front();
                        }
                    }
                }
                t.last_ed = Some(l);
                t.detector.set_rr(median(&t.rr));
            }
            Some(es) => {
                if let Some(ed) = t.last_ed.filter(|p| p.epoch == es.epoch) {
                    let span = es.peak_time_s - ed.peak_time_s;
                    if span > 0.05 && span < 0.8 * cfg.cycle.max_rr_s {
                        t.ed_es.push_back(span);
                        if t.ed_es.len() > MEDIAN_OF {
                            t.ed_es.pop_front();
                        }
                        closed = Some((ed, es));
                    }
                }
            }
            None => {}
        }
        m.heart_rate_bpm = if timed { t.heart_rate() } else { None };
        let Some((ed, es)) = closed else {
            return m;
        };
        let (Some(edr), Some(esr)) = (t.record(ed.seq), t.record(es.seq)) else {
            return m;
        };
        let (Some(edg), Some(esg)) = (edr.geometry.clone(), esr.geometry.clone()) else {
            return m;
        };
        let window: Vec<&FrameRecord> = t
            .history
            .iter()
            .filter(|r| r.seq >= ed.seq && r.seq <= es.seq)
            .collect();
        let flagged =
            window.iter().filter(|r| r.flagged).count() as f64 / window.len().max(1) as f64;
        let units = edg.units;
        let (Some(area_length), Some(simpson)) = (
            Volumes::of(area_length_of(&edg), area_length_of(&esg), units),
            Volumes::of(simpson_single(&edg), simpson_single(&esg), units),
        ) else {
            return m;
        };
        let index = t.cycles;
        t.cycles += 1;
        let rr_s = if timed { t.rr.back().copied() } else { None };
        let view = t.view;
        t.closed = Some(ClosedCycle {
            index,
            ed: edg.clone(),
            es: esg.clone(),
        });
        let frame = |l: &Landmark, g: &CavityGeometry| CycleFrame {
            seq: l.seq,
            time_s: l.time_s,
            area: g.area,
            length: g.length,
        };
        // Biplane with the other apical view's latest cycle.
        let other = match view {
            Some(View::TwoChamber) => Some(View::FourChamber),
            Some(View::FourChamber) => Some(View::TwoChamber),
            _ => None,
        };
        let biplane = other
            .and_then(|o| self.tracks.iter().find(|t| t.view == Some(o)))
            .and_then(|o| o.closed.as_ref())
            .and_then(|oc| {
                let (two, four) = if view == Some(View::TwoChamber) {
                    ((&edg, &esg), (&oc.ed, &oc.es))
                } else {
                    ((&oc.ed, &oc.es), (&edg, &esg))
                };
                let v = Volumes::of(
                    simpson_biplane(two.0, four.0),
                    simpson_biplane(two.1, four.1),
                    units,
                )?;
                Some(Biplane {
                    simpson: v,
                    other_cycle: oc.index,
                })
            });
        m.cycle = Some(CycleReport {
            view,
            index,
            ed: frame(&ed, &edg),
            es: frame(&es, &esg),
            rr_s,
            heart_rate_bpm: m.heart_rate_bpm,
            units,
            area_length,
            simpson,
            biplane,
            flagged_fraction: flagged,
            reliable: timed && flagged <= cfg.max_flagged_fraction,
        });
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{StructureResult, Timings, Variant};
    use crate::meta::PixelSpacing;
    use crate::postprocess::ProbStats;
    use crate::preprocess::{Fit, Geometry};
    use crate::prompt::PromptKind;

    const SIZE: usize = 160;
    const PX_MM: f64 = 0.8;

    /// An LV-like truncated ellipse (apex near the top) scaled radially by `sr` and along the
    /// axis by `sl`, with half-width `r` mm at ED, shifted right by `dx` pixels.
    fn lv_mask(sr: f64, sl: f64, r: f64, dx: f64) -> Mask {
        let (le, kappa) = (40.0 * sl, 1.7);
        let mut data = vec![0u8; SIZE * SIZE];
        for j in 0..SIZE {
            for i in 0..SIZE {
                let x = (i as f64 + 0.5 - dx) * PX_MM - 64.0;
                let t = (j as f64 + 0.5) * PX_MM - 10.0;
                let inside = t >= 0.0
                    && t <= kappa * le
                    && ((t - le) / le).powi(2) + (x / (r * sr)).powi(2) <= 1.0;
                data[j * SIZE + i] = u8::from(inside);
            }
        }
        Mask::new(SIZE, SIZE, data).unwrap()
    }

    fn seg(mask: Mask, mean_prob: f32) -> Segmentation {
        Segmentation {
            structures: vec![StructureResult {
                structure: Structure::LvCavity,
                prompt: String::new(),
                kind: PromptKind::P2,
                stats: ProbStats {
                    mean_prob_inside: mean_prob,
                    max_prob: mean_prob,
                    area_model_px: mask.count(),
                    components: 1,
                    kept_fraction: 1.0,
                },
                mask,
            }],
            geometry: Geometry::new((SIZE, SIZE), None, (SIZE, SIZE), Fit::Stretch).unwrap(),
            timings: Timings::default(),
            variant: Variant::F32,
        }
    }

    fn meta(view: View, calibrated: bool) -> ScanMeta {
        ScanMeta {
            view: Some(view),
            pixel_spacing: calibrated.then(|| PixelSpacing::new(PX_MM, PX_MM).unwrap()),
            frame_time_ms: Some(20.0),
            ..ScanMeta::default()
        }
    }

    /// Contraction over a cycle: raised cosine down to ES at 0.4, back up by 0.7.
    fn contraction(p: f64) -> f64 {
        let p = p.rem_euclid(1.0);
        let rc = |x: f64| 0.5 * (1.0 - (std::f64::consts::PI * x).cos());
        if p < 0.4 {
            rc(p / 0.4)
        } else if p < 0.7 {
            1.0 - rc((p - 0.4) / 0.3)
        } else {
            0.0
        }
    }

    /// Stream `frames` frames at 50 fps of a heart with radial shortening `sr_es` and
    /// longitudinal `sl_es` at ES, beating at `bpm`; `views` alternate frame by frame.
    fn run(
        views: &[(View, f64)],
        bpm: f64,
        sr_es: f64,
        sl_es: f64,
        frames: u64,
    ) -> Vec<FrameMeasurements> {
        let mut tr = CardiacTracker::new(TrackerConfig::default());
        let mut out = Vec::new();
        for k in 0..frames {
            let t = k as f64 * 0.02;
            let c = contraction(t * bpm / 60.0 + 0.2);
            let (view, r) = views[(k as usize) % views.len()];
            let m = lv_mask(1.0 - c * (1.0 - sr_es), 1.0 - c * (1.0 - sl_es), r, 0.0);
            out.push(tr.observe(
                k,
                Some((t * 1e6) as i64),
                &meta(view, true),
                &seg(m, 0.97),
                PhaseSource::None,
            ));
        }
        out
    }

    #[test]
    fn a_beating_ellipse_gives_cycles_with_its_ef_and_heart_rate() {
        let (sr, sl) = (0.78, 0.9);
        let truth = 100.0 * (1.0 - sr * sr * sl);
        let ms = run(&[(View::FourChamber, 22.0)], 72.0, sr, sl, 500);
        let cycles: Vec<&CycleReport> = ms.iter().filter_map(|m| m.cycle.as_ref()).collect();
        assert!(cycles.len() >= 8, "{} cycles", cycles.len());
        for c in &cycles {
            assert_eq!(c.units, Units::Millimetres);
            assert!(
                (c.area_length.ef_percent - truth).abs() < 3.0,
                "{c:?} vs {truth}"
            );
            assert!(
                (c.simpson.ef_percent - truth).abs() < 3.0,
                "{c:?} vs {truth}"
            );
            assert!(c.es.seq > c.ed.seq && c.reliable && c.biplane.is_none());
            assert!(
                c.area_length.edv > 50.0 && c.area_length.edv < 300.0,
                "{c:?}"
            );
        }
        let late = cycles.last().unwrap();
        assert!(
            (late.heart_rate_bpm.unwrap() - 72.0).abs() < 1.5,
            "{late:?}"
        );
        assert!(
            ms.iter().skip(100).all(|m| m.flags.reliable()),
            "no flags on clean frames"
        );
        assert!(ms[10].temporal_iou.is_some_and(|v| v > 0.9));
        assert!(
            ms[10]
                .lv
                .is_some_and(|l| (l.length - 1.7 * 40.0).abs() < 8.0)
        );
    }

    /// 60 bpm for 6 s at 50 fps; `resend(k)` says whether frame k is sent twice.
    fn run_resent(resend: impl Fn(u64) -> bool, reverse_at: Option<u64>) -> Vec<FrameMeasurements> {
        let mut tr = CardiacTracker::new(TrackerConfig::default());
        let mut out = Vec::new();
        let mut seq = 0;
        for k in 0..300u64 {
            let mut t = k as f64 * 0.02;
            if reverse_at.is_some_and(|r| k >= r) {
                t -= 0.5;
            }
            let c = contraction(t + 0.2);
            let m = lv_mask(1.0 - c * 0.22, 1.0 - c * 0.1, 22.0, 0.0);
            for _ in 0..if resend(k) { 2 } else { 1 } {
                out.push(tr.observe(
                    seq,
                    Some((t * 1e6).round() as i64),
                    &meta(View::FourChamber, true),
                    &seg(m.clone(), 0.97),
                    PhaseSource::None,
                ));
                seq += 1;
            }
        }
        out
    }

    #[test]
    fn a_resent_frame_is_a_duplicate_not_time_going_backwards() {
        let cycles = |ms: &[FrameMeasurements]| ms.iter().filter(|m| m.cycle.is_some()).count();
        let clean = run_resent(|_| false, None);
        let resent = run_resent(|k| k % 40 == 39, None);
        assert!(cycles(&clean) >= 5, "{} cycles", cycles(&clean));
        assert_eq!(
            cycles(&resent),
            cycles(&clean),
            "re-sent frames cost no cycle"
        );
        let dups: Vec<&FrameMeasurements> = resent
            .iter()
            .filter(|m| m.flags.has(QualityFlags::DUPLICATE))
            .collect();
        assert_eq!(dups.len(), 7, "one in 40 of 300 frames");
        assert!(dups.iter().all(|m| m.flags.reliable() && m.lv.is_some()));
        assert!(resent.iter().all(|m| !m.flags.has(QualityFlags::RESTARTED)));
        let hr = resent.iter().rev().find_map(|m| m.heart_rate_bpm).unwrap();
        assert!((hr - 60.0).abs() < 1.5, "{hr}");
        assert!(dups.last().unwrap().heart_rate_bpm.is_some());
        // Time that really goes backwards restarts detection, and the frame says so.
        let back = run_resent(|_| false, Some(150));
        let flagged: Vec<usize> = back
            .iter()
            .enumerate()
            .filter(|(_, m)| m.flags.has(QualityFlags::RESTARTED))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(flagged, vec![150]);
        assert_eq!(back[150].flags.names(), vec!["restarted"]);
    }

    #[test]
    fn interleaved_views_give_biplane_volumes() {
        let (sr, sl) = (0.75, 0.9);
        let truth = 100.0 * (1.0 - sr * sr * sl);
        let ms = run(
            &[(View::FourChamber, 24.0), (View::TwoChamber, 19.0)],
            65.0,
            sr,
            sl,
            700,
        );
        let with_biplane: Vec<&CycleReport> = ms
            .iter()
            .filter_map(|m| m.cycle.as_ref())
            .filter(|c| c.biplane.is_some())
            .collect();
        assert!(with_biplane.len() >= 6, "{}", with_biplane.len());
        let views: std::collections::BTreeSet<_> = with_biplane.iter().map(|c| c.view).collect();
        assert_eq!(views.len(), 2);
        for c in with_biplane {
            let b = c.biplane.unwrap().simpson;
            assert!((b.ef_percent - truth).abs() < 3.0, "{b:?} vs {truth}");
            // The elliptic discs lie between the two views' circular ones.
            assert!(b.edv > 0.0);
        }
    }

    #[test]
    fn flags_mark_uncertain_jumping_missing_and_uncalibrated_frames() {
        let mut tr = CardiacTracker::new(TrackerConfig::default());
        let good = lv_mask(1.0, 1.0, 20.0, 0.0);
        let m = tr.observe(
            0,
            Some(0),
            &meta(View::FourChamber, true),
            &seg(good.clone(), 0.95),
            PhaseSource::None,
        );
        assert!(m.flags.reliable() && (m.confidence - 0.9).abs() < 1e-6);
        let m = tr.observe(
            1,
            Some(20_000),
            &meta(View::FourChamber, true),
            &seg(good.clone(), 0.7),
            PhaseSource::None,
        );
        assert!(m.flags.has(QualityFlags::LOW_CONFIDENCE), "{:?}", m.flags);
        let shifted = lv_mask(1.0, 1.0, 20.0, 30.0);
        let m = tr.observe(
            2,
            Some(40_000),
            &meta(View::FourChamber, true),
            &seg(shifted, 0.95),
            PhaseSource::None,
        );
        assert!(
            m.flags.has(QualityFlags::INCONSISTENT),
            "{:?} {:?}",
            m.flags,
            m.temporal_iou
        );
        let m = tr.observe(
            3,
            Some(60_000),
            &meta(View::FourChamber, true),
            &seg(Mask::zeros(SIZE, SIZE).unwrap(), 0.0),
            PhaseSource::None,
        );
        assert!(m.flags.has(QualityFlags::NO_LV) && m.lv.is_none());
        let mut fresh = CardiacTracker::new(TrackerConfig::default());
        let m = fresh.observe(
            4,
            None,
            &meta(View::FourChamber, false),
            &seg(good, 0.95),
            PhaseSource::None,
        );
        assert!(m.flags.has(QualityFlags::UNCALIBRATED) && m.flags.reliable());
        assert_eq!(m.units, Units::Pixels);
        assert_eq!(m.flags.names(), vec!["uncalibrated"]);
        assert_eq!(
            serde_json::to_value(QualityFlags(5)).unwrap(),
            serde_json::json!(["low_confidence", "no_lv"])
        );
    }

    #[test]
    fn the_phase_clock_predicts_ed_and_es_frames() {
        let c = PhaseClock {
            view: None,
            last_ed_s: 1.0,
            rr_s: 0.8,
            es_offset_s: 0.3,
            frame_s: 0.02,
        };
        assert_eq!(c.phase_at(1.8), Some(Phase::EndDiastole));
        assert_eq!(c.phase_at(1.805), Some(Phase::EndDiastole));
        assert_eq!(c.phase_at(1.82), None);
        assert_eq!(c.phase_at(2.1), Some(Phase::EndSystole));
        assert_eq!(c.phase_at(1.5), None);
        assert_eq!(c.phase_at(10.0), None, "too far ahead");
        assert_eq!(c.phase_at(f64::NAN), None);
        // Interleaved views: each view's clock has its own frame interval.
        let mut tr = CardiacTracker::new(TrackerConfig::default());
        for k in 0..600u64 {
            let t = k as f64 * 0.02;
            let c = contraction(t * 70.0 / 60.0);
            let (view, r) = if k % 2 == 0 {
                (View::FourChamber, 22.0)
            } else {
                (View::TwoChamber, 18.0)
            };
            let m = lv_mask(1.0 - 0.2 * c, 1.0 - 0.1 * c, r, 0.0);
            tr.observe(
                k,
                Some((t * 1e6) as i64),
                &meta(view, true),
                &seg(m, 0.97),
                PhaseSource::None,
            );
        }
        let clocks = tr.clocks();
        assert_eq!(clocks.len(), 2);
        for c in clocks {
            assert!((c.frame_s - 0.04).abs() < 1e-9, "{c:?}");
            // (This curve has a flat diastole, so ED wanders over it: RR within 6 %.)
            assert!((c.rr_s - 60.0 / 70.0).abs() < 0.05, "{c:?}");
        }
    }
}
