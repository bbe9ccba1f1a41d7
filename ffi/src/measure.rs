//! Clinical measurements of a result: per frame (`sb_measurements`) and per completed cardiac
//! cycle (`sb_cycle`). See `synboost_core::measure` for the methods.

use crate::result::sb_result;
use crate::status::{Error, SB_OK, guard, sb_status, write_sized};
use crate::types::{
    SB_PHASE_ED, SB_PHASE_ES, SB_PHASE_UNKNOWN, SB_VIEW_2CH, SB_VIEW_4CH, SB_VIEW_UNKNOWN,
    sb_phase, sb_view,
};
use synboost_core::Structure;
use synboost_core::measure::{CycleReport, FrameMeasurements, PhaseSource, Units};
use synboost_core::meta::{Phase, View};

/// Units of areas, lengths and volumes (`SB_UNITS_*`).
pub type sb_units = u32;
/// Millimetres: areas in mm², lengths in mm, volumes in ml (the frame had a pixel spacing).
pub const SB_UNITS_MM: sb_units = 0;
/// Pixels: areas in pixels, lengths in pixel widths, volumes in cubic pixels (no pixel spacing;
/// only ratios such as the ejection fraction are meaningful).
pub const SB_UNITS_PIXELS: sb_units = 1;

/// The frame's confidence is below the stream's minimum (0.6).
pub const SB_FLAG_LOW_CONFIDENCE: u32 = 1;
/// The LV mask changed too much since the previous frame (IoU below 0.7).
pub const SB_FLAG_INCONSISTENT: u32 = 2;
/// No LV cavity was found (or it was not segmented).
pub const SB_FLAG_NO_LV: u32 = 4;
/// No pixel spacing: measurements are in pixels (informational).
pub const SB_FLAG_UNCALIBRATED: u32 = 8;
/// The frame has the same timestamp as the previous frame of its view (the scanner re-sent
/// it): segmented and measured, but not counted again for cycles, heart rate or temporal
/// consistency (informational).
pub const SB_FLAG_DUPLICATE: u32 = 16;
/// Cycle detection of the frame's view started over here: its timestamp went backwards, or it
/// came more than 1 s after the previous frame of its view. Heart rate and cycles are measured
/// afresh from this frame on (informational).
pub const SB_FLAG_RESTARTED: u32 = 32;
/// The flags that do not make a frame unreliable: `SB_FLAG_UNCALIBRATED | SB_FLAG_DUPLICATE |
/// SB_FLAG_RESTARTED`.
pub const SB_FLAGS_INFORMATIONAL: u32 = 8 | 16 | 32;

/// Where a frame's phase came from (`SB_PHASE_SOURCE_*`).
pub type sb_phase_source = u32;
/// No phase: between ED and ES, or unknown.
pub const SB_PHASE_SOURCE_NONE: sb_phase_source = 0;
/// Sent by the scanner with the frame.
pub const SB_PHASE_SOURCE_SCANNER: sb_phase_source = 1;
/// Predicted by the stream from the cycles it detected (the scanner sent no phases).
pub const SB_PHASE_SOURCE_INFERRED: sb_phase_source = 2;

/// Measurements of one segmented frame. Negative values mean "not available".
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sb_measurements {
    /// `sizeof(sb_measurements)`.
    pub struct_size: u32,
    /// `SB_UNITS_*` of every area, length and volume below.
    pub units: sb_units,
    /// `SB_FLAG_*` bits; the frame is reliable when no bit outside `SB_FLAGS_INFORMATIONAL` is
    /// set.
    pub flags: u32,
    /// The phase the prompts used (`SB_PHASE_*`).
    pub phase: sb_phase,
    /// Where it came from (`SB_PHASE_SOURCE_*`).
    pub phase_source: sb_phase_source,
    /// 1 when this result completes a cardiac cycle (`sb_result_get_cycle`), else 0.
    pub has_cycle: u32,
    /// LV cavity area (negative: not segmented).
    pub lv_area: f64,
    /// Myocardium area (negative: not segmented).
    pub myocardium_area: f64,
    /// Left atrium area (negative: not segmented).
    pub la_area: f64,
    /// LV long axis, apex to mid-annulus (negative: no LV).
    pub lv_length: f64,
    /// Single-plane area–length LV volume, ml or cubic pixels (negative: no LV).
    pub lv_volume_area_length: f64,
    /// Single-plane Simpson (20 discs) LV volume, ml or cubic pixels (negative: no LV).
    pub lv_volume_simpson: f64,
    /// The frame's confidence: its LV cavity's, else the lowest of its structures.
    pub confidence: f64,
    /// LV cavity confidence: mean probability margin `mean(2p − 1)` inside the mask, 0 when
    /// empty (negative: not segmented).
    pub lv_confidence: f64,
    /// Myocardium confidence (negative: not segmented).
    pub myocardium_confidence: f64,
    /// Left atrium confidence (negative: not segmented).
    pub la_confidence: f64,
    /// IoU of the LV mask with the previous frame of the same view within 100 ms (negative:
    /// none, or a single-frame result).
    pub temporal_iou: f64,
    /// The view's heart rate estimate, bpm (negative: unknown yet).
    pub heart_rate_bpm: f64,
}

/// One cardiac cycle of one view, reported with the frame that confirmed its end-systole.
/// Volumes are ml (`SB_UNITS_MM`) or cubic pixels; negative values mean "not available".
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sb_cycle {
    /// `sizeof(sb_cycle)`.
    pub struct_size: u32,
    /// The view of the cycle's frames (`SB_VIEW_*`).
    pub view: sb_view,
    /// `SB_UNITS_*`.
    pub units: sb_units,
    /// 1 when at most a quarter of the frames from ED to ES were flagged and the frames had
    /// times; 0 otherwise.
    pub reliable: u32,
    /// 1 when the biplane fields are set (the other apical view had a cycle too).
    pub has_biplane: u32,
    /// Cycles of this view reported before this one.
    pub index: u64,
    /// Sequence number of the end-diastolic frame.
    pub ed_seq: u64,
    /// Sequence number of the end-systolic frame.
    pub es_seq: u64,
    /// Time of the ED frame, seconds (from its timestamp, or sequence × frame time).
    pub ed_time_s: f64,
    /// Time of the ES frame, seconds.
    pub es_time_s: f64,
    /// Latest ED-to-ED interval, seconds (negative: not yet known).
    pub rr_s: f64,
    /// Heart rate, bpm: 60 / median of the last five RR intervals (negative: not yet known).
    pub heart_rate_bpm: f64,
    /// LV area at ED.
    pub ed_area: f64,
    /// LV area at ES.
    pub es_area: f64,
    /// LV long axis at ED.
    pub ed_length: f64,
    /// LV long axis at ES.
    pub es_length: f64,
    /// End-diastolic volume, single-plane area–length.
    pub edv: f64,
    /// End-systolic volume, single-plane area–length.
    pub esv: f64,
    /// Ejection fraction, percent, single-plane area–length.
    pub ef_percent: f64,
    /// End-diastolic volume, single-plane Simpson.
    pub simpson_edv: f64,
    /// End-systolic volume, single-plane Simpson.
    pub simpson_esv: f64,
    /// Ejection fraction, percent, single-plane Simpson.
    pub simpson_ef_percent: f64,
    /// End-diastolic volume, biplane Simpson (negative: no biplane).
    pub biplane_edv: f64,
    /// End-systolic volume, biplane Simpson.
    pub biplane_esv: f64,
    /// Ejection fraction, percent, biplane Simpson.
    pub biplane_ef_percent: f64,
    /// The other view's cycle index it was paired with.
    pub biplane_other_cycle: u64,
    /// Fraction of this view's frames from ED to ES that were flagged.
    pub flagged_fraction: f64,
}

fn units(u: Units) -> sb_units {
    match u {
        Units::Millimetres => SB_UNITS_MM,
        Units::Pixels => SB_UNITS_PIXELS,
    }
}

fn phase(p: Option<Phase>) -> sb_phase {
    match p {
        Some(Phase::EndDiastole) => SB_PHASE_ED,
        Some(Phase::EndSystole) => SB_PHASE_ES,
        None => SB_PHASE_UNKNOWN,
    }
}

fn view(v: Option<View>) -> sb_view {
    match v {
        Some(View::TwoChamber) => SB_VIEW_2CH,
        Some(View::FourChamber) => SB_VIEW_4CH,
        _ => SB_VIEW_UNKNOWN,
    }
}

fn neg(v: Option<f64>) -> f64 {
    v.filter(|x| x.is_finite()).unwrap_or(-1.0)
}

/// The C form of a frame's measurements.
pub(crate) fn measurements(m: &FrameMeasurements) -> sb_measurements {
    let area = |s| neg(m.structure(s).map(|x| x.area));
    let conf = |s| neg(m.structure(s).map(|x| x.confidence.max(0.0)));
    sb_measurements {
        struct_size: std::mem::size_of::<sb_measurements>() as u32,
        units: units(m.units),
        flags: m.flags.0,
        phase: phase(m.phase),
        phase_source: match m.phase_source {
            PhaseSource::None => SB_PHASE_SOURCE_NONE,
            PhaseSource::Scanner => SB_PHASE_SOURCE_SCANNER,
            PhaseSource::Inferred => SB_PHASE_SOURCE_INFERRED,
        },
        has_cycle: u32::from(m.cycle.is_some()),
        lv_area: area(Structure::LvCavity),
        myocardium_area: area(Structure::Myocardium),
        la_area: area(Structure::LaCavity),
        lv_length: neg(m.lv.map(|l| l.length)),
        lv_volume_area_length: neg(m.lv.map(|l| l.volume_area_length)),
        lv_volume_simpson: neg(m.lv.map(|l| l.volume_simpson)),
        confidence: m.confidence.max(0.0),
        lv_confidence: conf(Structure::LvCavity),
        myocardium_confidence: conf(Structure::Myocardium),
        la_confidence: conf(Structure::LaCavity),
        temporal_iou: neg(m.temporal_iou),
        heart_rate_bpm: neg(m.heart_rate_bpm),
    }
}

/// The C form of a cycle.
pub(crate) fn cycle(c: &CycleReport) -> sb_cycle {
    let b = c.biplane.as_ref();
    sb_cycle {
        struct_size: std::mem::size_of::<sb_cycle>() as u32,
        view: view(c.view),
        units: units(c.units),
        reliable: u32::from(c.reliable),
        has_biplane: u32::from(b.is_some()),
        index: c.index,
        ed_seq: c.ed.seq,
        es_seq: c.es.seq,
        ed_time_s: c.ed.time_s,
        es_time_s: c.es.time_s,
        rr_s: neg(c.rr_s),
        heart_rate_bpm: neg(c.heart_rate_bpm),
        ed_area: c.ed.area,
        es_area: c.es.area,
        ed_length: c.ed.length,
        es_length: c.es.length,
        edv: c.area_length.edv,
        esv: c.area_length.esv,
        ef_percent: c.area_length.ef_percent,
        simpson_edv: c.simpson.edv,
        simpson_esv: c.simpson.esv,
        simpson_ef_percent: c.simpson.ef_percent,
        biplane_edv: neg(b.map(|b| b.simpson.edv)),
        biplane_esv: neg(b.map(|b| b.simpson.esv)),
        biplane_ef_percent: neg(b.map(|b| b.simpson.ef_percent)),
        biplane_other_cycle: b.map_or(0, |b| b.other_cycle),
        flagged_fraction: c.flagged_fraction,
    }
}

/// The clinical measurements of a segmented frame.
///
/// Areas, LV length and volumes, confidence, quality flags, phase and heart rate. Results of
/// sb_engine_segment have no temporal IoU, heart rate or cycle.
///
/// @param result The result; not NULL.
/// @param out    The caller's struct to fill, with `struct_size` set (at least
///               sizeof(sb_measurements)); not NULL.
/// @return SB_OK;
///         SB_NONE when the frame was not segmented (`out` left alone);
///         SB_ERR_NULL when `result` or `out` is NULL;
///         SB_ERR_INVALID when `out->struct_size` is too small (nothing written);
///         SB_ERR_INTERNAL on an internal error.
///
/// # Safety
/// `result` is NULL or a live result; `out` is NULL or a writable `sb_measurements` with
/// `struct_size` set.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_result_get_measurements(
    result: *const sb_result,
    out: *mut sb_measurements,
) -> sb_status {
    guard("sb_result_get_measurements", None, || {
        // SAFETY: NULL or live, per the contract.
        let r = unsafe { result.as_ref() }.ok_or_else(|| Error::null("result"))?;
        // SAFETY: forwarded contract.
        let o = unsafe { write_sized(out, "sb_measurements") }?;
        let Some(m) = r.measurements() else {
            return Ok(crate::status::SB_NONE);
        };
        *o = sb_measurements {
            struct_size: o.struct_size,
            ..measurements(m)
        };
        Ok(SB_OK)
    })
}

/// The cardiac cycle a stream's result completes.
///
/// A cycle is reported with the frame that confirmed its end-systole; its ED and ES frames are
/// earlier ones, named by their sequence numbers. sb_measurements.has_cycle says whether a
/// result has one.
///
/// @param result The result; not NULL.
/// @param out    The caller's struct to fill, with `struct_size` set (at least
///               sizeof(sb_cycle)); not NULL.
/// @return SB_OK;
///         SB_NONE when the result completes no cycle (`out` left alone);
///         SB_ERR_NULL when `result` or `out` is NULL;
///         SB_ERR_INVALID when `out->struct_size` is too small (nothing written);
///         SB_ERR_INTERNAL on an internal error.
///
/// # Safety
/// `result` is NULL or a live result; `out` is NULL or a writable `sb_cycle` with
/// `struct_size` set.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_result_get_cycle(
    result: *const sb_result,
    out: *mut sb_cycle,
) -> sb_status {
    guard("sb_result_get_cycle", None, || {
        // SAFETY: NULL or live, per the contract.
        let r = unsafe { result.as_ref() }.ok_or_else(|| Error::null("result"))?;
        // SAFETY: forwarded contract.
        let o = unsafe { write_sized(out, "sb_cycle") }?;
        let Some(c) = r.measurements().and_then(|m| m.cycle.as_ref()) else {
            return Ok(crate::status::SB_NONE);
        };
        *o = sb_cycle {
            struct_size: o.struct_size,
            ..cycle(c)
        };
        Ok(SB_OK)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{SB_ERR_INVALID, SB_ERR_NULL, SB_NONE};
    use synboost_core::ScanMeta;
    use synboost_core::stream::{DropReason, FrameResult, FrameTimings, Outcome};

    fn dropped() -> Box<sb_result> {
        sb_result::from_frame(
            FrameResult {
                seq: 3,
                timestamp_us: None,
                width: 8,
                height: 8,
                meta: ScanMeta::default(),
                phase_source: PhaseSource::None,
                outcome: Outcome::Dropped(DropReason::Overflow),
                timings: FrameTimings::default(),
                measurements: None,
            },
            false,
        )
    }

    #[test]
    fn unsegmented_results_have_none_and_bad_arguments_are_refused() {
        let r = dropped();
        // SAFETY: plain C structs; zero is valid for every field.
        let mut m: sb_measurements = unsafe { std::mem::zeroed() };
        let mut c: sb_cycle = unsafe { std::mem::zeroed() };
        let p: *const sb_result = &*r;
        // SAFETY (all calls): a live result or NULL, and writable structs or NULL.
        unsafe {
            assert_eq!(sb_result_get_measurements(p, &mut m), SB_ERR_INVALID);
            assert_eq!(sb_result_get_cycle(p, &mut c), SB_ERR_INVALID);
            m.struct_size = std::mem::size_of::<sb_measurements>() as u32;
            c.struct_size = std::mem::size_of::<sb_cycle>() as u32;
            assert_eq!(sb_result_get_measurements(p, &mut m), SB_NONE);
            assert_eq!(sb_result_get_cycle(p, &mut c), SB_NONE);
            assert_eq!(m.units, 0, "left alone");
            assert_eq!(
                sb_result_get_measurements(std::ptr::null(), &mut m),
                SB_ERR_NULL
            );
            assert_eq!(sb_result_get_cycle(p, std::ptr::null_mut()), SB_ERR_NULL);
        }
    }
}
