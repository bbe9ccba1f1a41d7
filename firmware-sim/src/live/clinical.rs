//! The clinical side of a live run: what the library measured per frame
//! (`sb_result_get_measurements`) and per cardiac cycle (`sb_result_get_cycle`), scored
//! against the phantom's truth (its ejection fraction, heart rate and ED/ES frames), and a
//! picture of the LV area curve with the detected and true landmarks.

use super::source::{PhantomTruth, Source};
use crate::live::abi::sys::{
    SB_FLAG_INCONSISTENT, SB_FLAG_LOW_CONFIDENCE, SB_FLAG_NO_LV, SB_FLAG_UNCALIBRATED,
    SB_PHASE_SOURCE_INFERRED, SB_UNITS_MM, sb_cycle, sb_measurements,
};
use crate::live::abi::sys::{SB_PHASE_ED, SB_PHASE_ES, SB_VIEW_2CH, SB_VIEW_4CH};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use synboost_core::meta::Phase;
use synboost_data::metrics::Summary;

/// One measured frame.
#[derive(Debug, Clone, Copy)]
pub struct FrameRow {
    /// Sequence number.
    pub seq: u64,
    /// Time, seconds.
    pub time_s: f64,
    /// Source frame.
    pub frame: usize,
    /// `SB_VIEW_*` sent with it.
    pub view: u32,
    /// What the library measured.
    pub m: sb_measurements,
}

/// What the consumer collects.
#[derive(Debug, Default)]
pub struct ClinicalLog {
    /// Measured frames, in order.
    pub frames: Vec<FrameRow>,
    /// Completed cycles, in order.
    pub cycles: Vec<sb_cycle>,
}

/// One cycle in the report.
#[derive(Debug, Clone, Serialize)]
pub struct CycleRow {
    /// "2CH", "4CH" or "unknown".
    pub view: String,
    /// The view's cycle number.
    pub index: u64,
    /// ED frame.
    pub ed_seq: u64,
    /// ES frame.
    pub es_seq: u64,
    /// ED time, seconds.
    pub ed_time_s: f64,
    /// ES time, seconds.
    pub es_time_s: f64,
    /// Heart rate, bpm.
    pub heart_rate_bpm: Option<f64>,
    /// "ml" or "px3".
    pub volume_units: String,
    /// EDV, area–length.
    pub edv: f64,
    /// ESV, area–length.
    pub esv: f64,
    /// EF, percent, area–length.
    pub ef_percent: f64,
    /// EF, percent, single-plane Simpson.
    pub simpson_ef_percent: f64,
    /// EF, percent, biplane Simpson.
    pub biplane_ef_percent: Option<f64>,
    /// Whether the library calls it reliable.
    pub reliable: bool,
    /// Fraction of flagged frames between ED and ES.
    pub flagged_fraction: f64,
    /// Detected ED frame minus the true ED instant, in frames of the view (phantom; the
    /// detected frame is the true nearest frame or one of its neighbours when |error| ≤ 1.5).
    pub ed_frame_error: Option<f64>,
    /// Detected ES frame minus the true ES instant, in frames of the view (phantom).
    pub es_frame_error: Option<f64>,
}

/// The phantom's truth against the reliable cycles.
#[derive(Debug, Clone, Serialize)]
pub struct TruthCheck {
    /// The patient's true values.
    pub truth: PhantomTruth,
    /// Reliable cycles scored.
    pub cycles: usize,
    /// Mean area–length EF of the reliable cycles, percent.
    pub ef_mean: f64,
    /// `ef_mean − truth`, percentage points.
    pub ef_error: f64,
    /// Largest |EF − truth| of one cycle, points.
    pub ef_abs_error_max: f64,
    /// Mean single-plane Simpson EF − truth, points.
    pub simpson_ef_error: f64,
    /// Mean biplane Simpson EF − truth, points (biplane runs).
    pub biplane_ef_error: Option<f64>,
    /// Mean heart rate − truth, bpm.
    pub heart_rate_error: Option<f64>,
    /// Largest |ED frame error| over every cycle.
    pub ed_frame_error_max: f64,
    /// Largest |ES frame error| over every cycle.
    pub es_frame_error_max: f64,
    /// Fraction of ED landmarks within one frame of the true ED frame (|error| ≤ 1.5).
    pub ed_within_one_frame: f64,
    /// Fraction of ES landmarks within one frame of the true ES frame.
    pub es_within_one_frame: f64,
    /// Of the frames the library inferred to be ED or ES, the fraction within one frame of
    /// that true instant.
    pub inferred_phase_within_one_frame: Option<f64>,
}

/// The report section.
#[derive(Debug, Clone, Serialize)]
pub struct Clinical {
    /// Frames measured.
    pub frames: usize,
    /// Frames with each quality flag.
    pub flagged: BTreeMap<String, usize>,
    /// Frame confidence (mean probability margin of the LV).
    pub confidence: Summary,
    /// LV IoU with the previous frame.
    pub temporal_iou: Summary,
    /// Frames whose ED/ES phase the library inferred (no ECG).
    pub inferred_phase_frames: usize,
    /// Completed cycles.
    pub cycles: Vec<CycleRow>,
    /// Area–length EF over the reliable cycles, percent.
    pub ef_percent: Summary,
    /// Single-plane Simpson EF over the reliable cycles, percent.
    pub simpson_ef_percent: Summary,
    /// Biplane Simpson EF over the reliable cycles, percent (when both views were streamed).
    pub biplane_ef_percent: Option<Summary>,
    /// Heart rate over the cycles, bpm.
    pub heart_rate_bpm: Summary,
    /// Against the phantom's truth.
    pub truth: Option<TruthCheck>,
    /// The LV area curve with the landmarks (PNG).
    pub plot: Option<String>,
}

fn view_name(v: u32) -> &'static str {
    match v {
        SB_VIEW_2CH => "2CH",
        SB_VIEW_4CH => "4CH",
        _ => "unknown",
    }
}

fn pos(v: f64) -> Option<f64> {
    (v >= 0.0 && v.is_finite()).then_some(v)
}

/// Views streamed (two when interleaved).
fn view_count(log: &ClinicalLog) -> usize {
    let views: std::collections::BTreeSet<u32> = log.frames.iter().map(|f| f.view).collect();
    views.len().max(1)
}

/// Signed distance, in frames of the view, from the frame shown at `seq` to the true instant
/// of `target` (cycle position) nearest to it: the phantom knows each frame's exact cycle
/// position, so this is exact even when the true instant falls between two frames.
fn frame_error(
    src: &Source,
    pushed: &[(u64, usize, f64)],
    seq: u64,
    target: f64,
    frames_per_cycle_view: f64,
) -> Option<f64> {
    let (_, idx, _) = pushed.iter().find(|(s, _, _)| *s == seq)?;
    let pos = src.frames.get(*idx)?.truth_cycle?;
    let d = (pos - target + 0.5).rem_euclid(1.0) - 0.5;
    Some(d * frames_per_cycle_view)
}

/// The report section from what the consumer collected. `pushed` lists every pushed frame as
/// `(seq, source frame, time s)`, for the true landmarks. Also writes `lv-area.csv` and
/// `lv-area.png` into `out` (a failure there is a warning).
pub fn summarise(
    src: &Source,
    log: &ClinicalLog,
    pushed: &[(u64, usize, f64)],
    out: &Path,
) -> Clinical {
    let per_view = view_count(log) as f64;
    let cycles = cycle_rows(src, log, pushed, per_view);
    let reliable: Vec<&CycleRow> = cycles.iter().filter(|c| c.reliable).collect();
    let efs = Efs::of(&cycles, &reliable);
    let inferred: Vec<&FrameRow> = log
        .frames
        .iter()
        .filter(|f| f.m.phase_source == SB_PHASE_SOURCE_INFERRED)
        .collect();
    let scored = Scored {
        src,
        pushed,
        cycles: &cycles,
        reliable: &reliable,
        inferred: &inferred,
        per_view,
    };
    let truth = src
        .truth
        .filter(|_| !reliable.is_empty())
        .map(|t| scored.truth_check(t, &efs));
    let plot = write_outputs(src, log, pushed, out);
    Clinical {
        frames: log.frames.len(),
        flagged: flagged(log),
        confidence: Summary::of(log.frames.iter().map(|f| Some(f.m.confidence))),
        temporal_iou: Summary::of(log.frames.iter().map(|f| pos(f.m.temporal_iou))),
        inferred_phase_frames: inferred.len(),
        cycles,
        ef_percent: efs.ef,
        simpson_ef_percent: efs.simpson,
        biplane_ef_percent: efs.biplane,
        heart_rate_bpm: efs.heart_rate,
        truth,
        plot,
    }
}

/// Frames with each quality flag.
fn flagged(log: &ClinicalLog) -> BTreeMap<String, usize> {
    [
        (SB_FLAG_LOW_CONFIDENCE, "low_confidence"),
        (SB_FLAG_INCONSISTENT, "inconsistent"),
        (SB_FLAG_NO_LV, "no_lv"),
        (SB_FLAG_UNCALIBRATED, "uncalibrated"),
    ]
    .into_iter()
    .map(|(bit, name)| {
        let n = log.frames.iter().filter(|f| f.m.flags & bit != 0).count();
        (name.to_string(), n)
    })
    .collect()
}

/// The report's row of each completed cycle, with its landmark errors against a phantom's
/// truth (`per_view`: views streamed).
fn cycle_rows(
    src: &Source,
    log: &ClinicalLog,
    pushed: &[(u64, usize, f64)],
    per_view: f64,
) -> Vec<CycleRow> {
    log.cycles
        .iter()
        .map(|c| {
            let (ed_err, es_err) = match src.truth {
                Some(t) => {
                    let fpc = t.frames_per_cycle / per_view;
                    (
                        frame_error(src, pushed, c.ed_seq, 0.0, fpc),
                        frame_error(src, pushed, c.es_seq, t.es_phase, fpc),
                    )
                }
                None => (None, None),
            };
            CycleRow {
                view: view_name(c.view).into(),
                index: c.index,
                ed_seq: c.ed_seq,
                es_seq: c.es_seq,
                ed_time_s: c.ed_time_s,
                es_time_s: c.es_time_s,
                heart_rate_bpm: pos(c.heart_rate_bpm),
                volume_units: if c.units == SB_UNITS_MM { "ml" } else { "px3" }.into(),
                edv: c.edv,
                esv: c.esv,
                ef_percent: c.ef_percent,
                simpson_ef_percent: c.simpson_ef_percent,
                biplane_ef_percent: (c.has_biplane != 0).then_some(c.biplane_ef_percent),
                reliable: c.reliable != 0,
                flagged_fraction: c.flagged_fraction,
                ed_frame_error: ed_err,
                es_frame_error: es_err,
            }
        })
        .collect()
}

/// Ejection fractions over the reliable cycles, and the heart rate over every cycle.
struct Efs {
    ef: Summary,
    simpson: Summary,
    biplane: Option<Summary>,
    heart_rate: Summary,
}

impl Efs {
    fn of(cycles: &[CycleRow], reliable: &[&CycleRow]) -> Self {
        Self {
            ef: Summary::of(reliable.iter().map(|c| Some(c.ef_percent))),
            simpson: Summary::of(reliable.iter().map(|c| Some(c.simpson_ef_percent))),
            biplane: reliable
                .iter()
                .any(|c| c.biplane_ef_percent.is_some())
                .then(|| Summary::of(reliable.iter().map(|c| c.biplane_ef_percent))),
            heart_rate: Summary::of(cycles.iter().map(|c| c.heart_rate_bpm)),
        }
    }
}

/// What is scored against a phantom's truth.
struct Scored<'a> {
    src: &'a Source,
    pushed: &'a [(u64, usize, f64)],
    cycles: &'a [CycleRow],
    reliable: &'a [&'a CycleRow],
    /// Frames whose phase the library inferred.
    inferred: &'a [&'a FrameRow],
    /// Views streamed.
    per_view: f64,
}

impl Scored<'_> {
    /// The phantom's truth `t` against the cycles and the inferred phases.
    fn truth_check(&self, t: PhantomTruth, efs: &Efs) -> TruthCheck {
        let cycles = self.cycles;
        let within = |f: fn(&CycleRow) -> Option<f64>| {
            let e: Vec<f64> = cycles.iter().filter_map(f).collect();
            e.iter().filter(|x| x.abs() <= 1.5).count() as f64 / e.len().max(1) as f64
        };
        let max_abs = |f: fn(&CycleRow) -> Option<f64>| {
            cycles
                .iter()
                .filter_map(f)
                .map(f64::abs)
                .fold(0.0, f64::max)
        };
        TruthCheck {
            truth: t,
            cycles: self.reliable.len(),
            ef_mean: efs.ef.mean,
            ef_error: efs.ef.mean - t.ef_percent,
            ef_abs_error_max: self
                .reliable
                .iter()
                .map(|c| (c.ef_percent - t.ef_percent).abs())
                .fold(0.0, f64::max),
            simpson_ef_error: efs.simpson.mean - t.ef_percent,
            biplane_ef_error: efs.biplane.as_ref().map(|b| b.mean - t.ef_percent),
            heart_rate_error: (efs.heart_rate.n > 0)
                .then_some(efs.heart_rate.mean - t.heart_rate_bpm),
            ed_frame_error_max: max_abs(|c| c.ed_frame_error),
            es_frame_error_max: max_abs(|c| c.es_frame_error),
            ed_within_one_frame: within(|c| c.ed_frame_error),
            es_within_one_frame: within(|c| c.es_frame_error),
            inferred_phase_within_one_frame: (!self.inferred.is_empty())
                .then(|| self.inferred_phases_ok(t) as f64 / self.inferred.len() as f64),
        }
    }

    /// Of the frames the library inferred to be ED or ES, those within one frame of that true
    /// instant.
    fn inferred_phases_ok(&self, t: PhantomTruth) -> usize {
        let fpc = t.frames_per_cycle / self.per_view;
        self.inferred
            .iter()
            .filter(|f| {
                let target = match f.m.phase {
                    SB_PHASE_ED => 0.0,
                    SB_PHASE_ES => t.es_phase,
                    _ => return false,
                };
                frame_error(self.src, self.pushed, f.seq, target, fpc)
                    .is_some_and(|e| e.abs() <= 1.5)
            })
            .count()
    }
}

/// Write `lv-area.csv` and `lv-area.png` into `out`; the chart's path when it was drawn.
fn write_outputs(
    src: &Source,
    log: &ClinicalLog,
    pushed: &[(u64, usize, f64)],
    out: &Path,
) -> Option<String> {
    let csv_path = out.join("lv-area.csv");
    if let Err(e) = write_csv(src, log, &csv_path) {
        log::warn!("{}: {e}", csv_path.display());
    }
    let plot_path = out.join("lv-area.png");
    match super::curve::draw(src, log, pushed, &plot_path) {
        Ok(()) => Some(plot_path.display().to_string()),
        Err(e) => {
            log::warn!("no LV area plot: {e}");
            None
        }
    }
}

/// `lv-area.csv`: one row per measured frame (time, view, LV area and length, volumes,
/// confidence, IoU with the previous frame, flags, phase and its source, and the true phase of
/// a phantom frame), for analysis outside.
fn write_csv(src: &Source, log: &ClinicalLog, path: &Path) -> std::io::Result<()> {
    use std::fmt::Write as _;
    let mut s = String::from(
        "seq,time_s,view,lv_area,lv_length,lv_volume_area_length,lv_volume_simpson,confidence,temporal_iou,flags,phase,phase_source,truth_phase\n",
    );
    for f in &log.frames {
        let m = &f.m;
        let truth = match src.frames.get(f.frame).and_then(|x| x.truth_phase) {
            Some(Phase::EndDiastole) => "ED",
            Some(Phase::EndSystole) => "ES",
            None => "",
        };
        let _ = writeln!(
            s,
            "{},{:.6},{},{:.3},{:.3},{:.4},{:.4},{:.4},{:.4},{},{},{},{}",
            f.seq,
            f.time_s,
            view_name(f.view),
            m.lv_area,
            m.lv_length,
            m.lv_volume_area_length,
            m.lv_volume_simpson,
            m.confidence,
            m.temporal_iou,
            m.flags,
            m.phase,
            m.phase_source,
            truth
        );
    }
    std::fs::write(path, s)
}
