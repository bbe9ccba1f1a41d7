//! Clinical measurements over a stream: per frame (areas, LV length and volumes, confidence,
//! temporal consistency, quality flags) and per cardiac cycle (ED and ES frames, heart rate,
//! EDV, ESV and EF single-plane, and biplane when both apical views were streamed).
//!
//! A [`CardiacTracker`] sees every segmented frame of one stream in order. It keeps one track
//! per view (2CH, 4CH, or unknown): the view's LV area curve feeds a
//! [`CycleDetector`](crate::measure::cycle::CycleDetector); each
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

mod clock;
mod flags;
mod frame;
mod report;
#[cfg(test)]
mod tests;
mod track;

pub use clock::PhaseClock;
pub use flags::QualityFlags;
pub use frame::{margin, measure_frame};
pub use report::{
    Biplane, CycleFrame, CycleReport, FrameMeasurements, LvMeasure, PhaseSource, StructureMeasure,
    Volumes,
};

use super::cycle::CycleConfig;
use super::geometry::{CavityGeometry, Units};
use super::volume::simpson_biplane;
use crate::engine::Segmentation;
use crate::meta::{ScanMeta, View};
use serde::{Deserialize, Serialize};
use track::ViewTrack;

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
        if timestamp_us.is_some() && t.is_duplicate(time_s) {
            m.flags.0 |= QualityFlags::DUPLICATE;
            m.heart_rate_bpm = t.heart_rate();
            return m;
        }
        t.compare_lv(&mut m, seg, time_s, meta, cfg.min_temporal_iou);
        let area = geom.as_ref().map(|g| g.area);
        t.remember(seq, time_s, geom, !m.flags.reliable());
        let closed = t.detect(&mut m, seq, time_s, area, timed, &cfg.cycle);
        m.heart_rate_bpm = if timed { t.heart_rate() } else { None };
        let Some(closing) = closed.and_then(|(ed, es)| t.close(ed, es, timed)) else {
            return m;
        };
        let view = t.view;
        let biplane = self.biplane(view, &closing.cycle.ed, &closing.cycle.es, closing.units);
        m.cycle = Some(CycleReport {
            view,
            index: closing.cycle.index,
            ed: closing.ed,
            es: closing.es,
            rr_s: closing.rr_s,
            heart_rate_bpm: m.heart_rate_bpm,
            units: closing.units,
            area_length: closing.area_length,
            simpson: closing.simpson,
            biplane,
            flagged_fraction: closing.flagged_fraction,
            reliable: timed && closing.flagged_fraction <= cfg.max_flagged_fraction,
        });
        m
    }

    /// Biplane Simpson volumes of a cycle of `view` (ED and ES geometry `ed`, `es`) with the
    /// other apical view's latest cycle, when there is one.
    fn biplane(
        &self,
        view: Option<View>,
        ed: &CavityGeometry,
        es: &CavityGeometry,
        units: Units,
    ) -> Option<Biplane> {
        let other = match view {
            Some(View::TwoChamber) => View::FourChamber,
            Some(View::FourChamber) => View::TwoChamber,
            _ => return None,
        };
        let oc = self
            .tracks
            .iter()
            .find(|t| t.view == Some(other))?
            .closed
            .as_ref()?;
        let (two, four) = if view == Some(View::TwoChamber) {
            ((ed, es), (&oc.ed, &oc.es))
        } else {
            ((&oc.ed, &oc.es), (ed, es))
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
    }
}
