//! One view's track: its frame history, previous LV mask, cycle detector and the intervals
//! behind its heart rate and phase clock, and the per-frame steps that update them.

use super::clock::PhaseClock;
use super::flags::QualityFlags;
use super::report::{CycleFrame, FrameMeasurements, Volumes};
use crate::engine::Segmentation;
use crate::measure::cycle::{CycleConfig, CycleDetector, Landmark};
use crate::measure::geometry::{CavityGeometry, Units};
use crate::measure::volume::{area_length_of, simpson_single};
use crate::meta::{Phase, ScanMeta, View};
use crate::raster::Mask;
use crate::structure::Structure;
use std::collections::VecDeque;

#[derive(Debug, Clone)]
struct FrameRecord {
    seq: u64,
    time_s: f64,
    geometry: Option<CavityGeometry>,
    flagged: bool,
}

/// A closed cycle's geometry, for pairing with the other view.
#[derive(Debug, Clone)]
pub(super) struct ClosedCycle {
    /// The cycle's index among the view's cycles.
    pub(super) index: u64,
    /// The LV at end-diastole.
    pub(super) ed: CavityGeometry,
    /// The LV at end-systole.
    pub(super) es: CavityGeometry,
}

/// A cycle a view has just closed: what its report needs from the view.
#[derive(Debug, Clone)]
pub(super) struct Closing {
    /// The ED and ES geometry, as kept for the other view.
    pub(super) cycle: ClosedCycle,
    /// The end-diastolic frame.
    pub(super) ed: CycleFrame,
    /// The end-systolic frame.
    pub(super) es: CycleFrame,
    /// Latest ED-to-ED interval, seconds, when the frames had times.
    pub(super) rr_s: Option<f64>,
    /// Units of areas, lengths and volumes.
    pub(super) units: Units,
    /// Single-plane area–length volumes.
    pub(super) area_length: Volumes,
    /// Single-plane Simpson volumes.
    pub(super) simpson: Volumes,
    /// Fraction of the view's frames from ED to ES that were flagged.
    pub(super) flagged_fraction: f64,
}

/// The measurement state of one view (2CH, 4CH or unknown) of a stream.
#[derive(Debug, Clone)]
pub(super) struct ViewTrack {
    /// The view.
    pub(super) view: Option<View>,
    detector: CycleDetector,
    history: VecDeque<FrameRecord>,
    prev_lv: Option<(f64, Mask)>,
    last_ed: Option<Landmark>,
    rr: VecDeque<f64>,
    ed_es: VecDeque<f64>,
    cycles: u64,
    /// The view's latest closed cycle.
    pub(super) closed: Option<ClosedCycle>,
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

/// Append `x` to `v`, keeping the last [`MEDIAN_OF`] values.
fn push_interval(v: &mut VecDeque<f64>, x: f64) {
    v.push_back(x);
    if v.len() > MEDIAN_OF {
        v.pop_front();
    }
}

impl ViewTrack {
    /// An empty track of `view`.
    pub(super) fn new(view: Option<View>, cfg: CycleConfig) -> Self {
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

    /// The view's heart rate, bpm: 60 / the median of its last RR intervals.
    pub(super) fn heart_rate(&self) -> Option<f64> {
        median(&self.rr).map(|rr| 60.0 / rr)
    }

    fn record(&self, seq: u64) -> Option<&FrameRecord> {
        self.history.iter().find(|r| r.seq == seq)
    }

    /// The view's phase clock, once it has the intervals for one.
    pub(super) fn clock(&self) -> Option<PhaseClock> {
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

    /// Whether a frame stamped at `time_s` is a re-sent one: the same timestamp as the view's
    /// previous frame. Otherwise the time is remembered for the next frame.
    pub(super) fn is_duplicate(&mut self, time_s: f64) -> bool {
        if self.last_stamp_s == Some(time_s) {
            return true;
        }
        self.last_stamp_s = Some(time_s);
        false
    }

    /// Temporal consistency against the previous LV of this view: sets `m.temporal_iou` (and
    /// [`QualityFlags::INCONSISTENT`] below `min_iou`) when that LV is recent, and keeps this
    /// frame's LV as the next reference.
    pub(super) fn compare_lv(
        &mut self,
        m: &mut FrameMeasurements,
        seg: &Segmentation,
        time_s: f64,
        meta: &ScanMeta,
        min_iou: f64,
    ) {
        let lv_mask = seg
            .structures
            .iter()
            .find(|s| s.structure == Structure::LvCavity)
            .map(|s| &s.mask);
        if let (Some(mask), Some((pt, prev))) = (lv_mask, self.prev_lv.as_ref()) {
            let dt = time_s - pt;
            let recent = meta
                .frame_time_ms
                .map_or(0.1, |ms| (2.5 * ms * 1e-3).max(0.1));
            if dt > 0.0 && dt <= recent {
                // (A size change mid-stream leaves it undefined.)
                m.temporal_iou = mask.overlap(prev).map(|(_, iou)| iou);
                if m.temporal_iou.is_some_and(|v| v < min_iou) {
                    m.flags.0 |= QualityFlags::INCONSISTENT;
                }
            }
        }
        // An empty LV is no reference for the next frame.
        if let Some(mk) = lv_mask.filter(|mk| !mk.is_empty()) {
            self.prev_lv = Some((time_s, mk.clone()));
        }
    }

    /// Keep frame `seq`'s record, dropping those older than [`HISTORY_S`] (or from the future,
    /// after time went backwards).
    pub(super) fn remember(
        &mut self,
        seq: u64,
        time_s: f64,
        geometry: Option<CavityGeometry>,
        flagged: bool,
    ) {
        self.history.push_back(FrameRecord {
            seq,
            time_s,
            geometry,
            flagged,
        });
        while self
            .history
            .front()
            .is_some_and(|r| time_s - r.time_s > HISTORY_S || r.time_s > time_s)
        {
            self.history.pop_front();
        }
    }

    /// Feed the frame's LV area to the cycle detector (flagging [`QualityFlags::RESTARTED`] when
    /// detection starts over) and take in the landmark it confirms. An end-diastole adds an RR
    /// interval (when `timed` and within `cfg`'s range); an end-systole after an ED of the same
    /// run closes a cycle: its (ED, ES) pair is returned.
    pub(super) fn detect(
        &mut self,
        m: &mut FrameMeasurements,
        seq: u64,
        time_s: f64,
        area: Option<f64>,
        timed: bool,
        cfg: &CycleConfig,
    ) -> Option<(Landmark, Landmark)> {
        let epoch = self.detector.epoch();
        let landmark = area.and_then(|a| self.detector.push(seq, time_s, a));
        if self.detector.epoch() != epoch {
            m.flags.0 |= QualityFlags::RESTARTED;
        }
        let l = landmark?;
        if l.phase == Phase::EndDiastole {
            if let Some(prev) = self.last_ed.filter(|p| p.epoch == l.epoch) {
                let rr = l.peak_time_s - prev.peak_time_s;
                if timed && rr >= cfg.min_rr_s && rr <= cfg.max_rr_s {
                    push_interval(&mut self.rr, rr);
                }
            }
            self.last_ed = Some(l);
            self.detector.set_rr(median(&self.rr));
            return None;
        }
        let ed = self.last_ed.filter(|p| p.epoch == l.epoch)?;
        let span = l.peak_time_s - ed.peak_time_s;
        if span > 0.05 && span < 0.8 * cfg.max_rr_s {
            push_interval(&mut self.ed_es, span);
            return Some((ed, l));
        }
        None
    }

    /// Close the cycle from `ed` to `es` when both frames are still in the history with an LV
    /// and both volume methods give volumes: it becomes the view's latest cycle and is counted.
    /// `None` (nothing counted) otherwise.
    pub(super) fn close(&mut self, ed: Landmark, es: Landmark, timed: bool) -> Option<Closing> {
        let (edr, esr) = (self.record(ed.seq)?, self.record(es.seq)?);
        let (edg, esg) = (edr.geometry.clone()?, esr.geometry.clone()?);
        let window: Vec<&FrameRecord> = self
            .history
            .iter()
            .filter(|r| r.seq >= ed.seq && r.seq <= es.seq)
            .collect();
        let flagged_fraction =
            window.iter().filter(|r| r.flagged).count() as f64 / window.len().max(1) as f64;
        let units = edg.units;
        let area_length = Volumes::of(area_length_of(&edg), area_length_of(&esg), units)?;
        let simpson = Volumes::of(simpson_single(&edg), simpson_single(&esg), units)?;
        let index = self.cycles;
        self.cycles += 1;
        let frame = |l: &Landmark, g: &CavityGeometry| CycleFrame {
            seq: l.seq,
            time_s: l.time_s,
            area: g.area,
            length: g.length,
        };
        let closing = Closing {
            ed: frame(&ed, &edg),
            es: frame(&es, &esg),
            cycle: ClosedCycle {
                index,
                ed: edg,
                es: esg,
            },
            rr_s: if timed { self.rr.back().copied() } else { None },
            units,
            area_length,
            simpson,
            flagged_fraction,
        };
        self.closed = Some(closing.cycle.clone());
        Some(closing)
    }
}
