//! One frame's result as the C side sees it: an opaque `sb_result` with accessors.

use crate::status::{
    Error, Result, SB_ERR_BUFFER, SB_ERR_INVALID, SB_ERR_STATE, SB_OK, guard, sb_status,
    write_sized,
};
use crate::types::{SB_NO_TIMESTAMP, sb_structures, structure_bit};
use std::ffi::{CString, c_char};
use std::time::Duration;
use synboost_core::ScanMeta;
use synboost_core::engine::Segmentation;
use synboost_core::measure::{FrameMeasurements, PhaseSource, measure_frame};
use synboost_core::stream::{DropReason, FrameResult, FrameTimings, Outcome};

/// What became of a frame (`SB_OUTCOME_*`).
pub type sb_outcome = u32;
/// Segmented: the structures are there.
pub const SB_OUTCOME_SEGMENTED: sb_outcome = 0;
/// The engine failed on the frame; `sb_result_info.error` says why.
pub const SB_OUTCOME_FAILED: sb_outcome = 1;
/// Dropped from a full queue (`SB_POLICY_DROP_OLDEST`).
pub const SB_OUTCOME_DROPPED: sb_outcome = 2;
/// Still queued when the stream stopped with `SB_STOP_DISCARD`.
pub const SB_OUTCOME_DISCARDED: sb_outcome = 3;

/// A frame's result. Owned by the caller after `sb_stream_poll` or `sb_engine_segment` (free
/// it with `sb_result_free`); borrowed for the duration of a result callback (the library
/// frees it when the callback returns; `sb_result_free` on it is refused).
pub struct sb_result {
    /// Lent to a result callback: the library frees it, the host may not.
    borrowed: bool,
    seq: u64,
    timestamp_ns: i64,
    outcome: sb_outcome,
    width: u32,
    height: u32,
    timings: FrameTimings,
    error: Option<CString>,
    structures: Vec<StructureOut>,
    spacing: Option<(f64, f64)>,
    measurements: Option<Box<FrameMeasurements>>,
}

struct StructureOut {
    bit: sb_structures,
    name: CString,
    prompt: CString,
    kind: u32,
    mask: Vec<u8>,
    area_px: u64,
    confidence: f64,
    max_probability: f64,
}

/// A frame's timestamp back in nanoseconds. The microseconds came from `sb_frame.timestamp_ns`
/// rounded toward zero, so the product never overflows and is never `SB_NO_TIMESTAMP`
/// (`INT64_MIN`); saturation only guards timestamps that came from elsewhere.
pub(crate) fn timestamp_ns(timestamp_us: Option<i64>) -> i64 {
    timestamp_us.map_or(SB_NO_TIMESTAMP, |t| {
        t.saturating_mul(1000).max(SB_NO_TIMESTAMP + 1)
    })
}

/// A duration in milliseconds, as the C structs report them.
pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

impl sb_result {
    /// From a stream's result; `borrowed` when it is lent to a result callback.
    pub(crate) fn from_frame(r: FrameResult, borrowed: bool) -> Box<Self> {
        let spacing = r.meta.pixel_spacing.map(|p| (p.col_mm, p.row_mm));
        let mut out = Self {
            borrowed,
            seq: r.seq,
            timestamp_ns: timestamp_ns(r.timestamp_us),
            outcome: SB_OUTCOME_SEGMENTED,
            width: r.width as u32,
            height: r.height as u32,
            timings: r.timings,
            error: None,
            structures: Vec::new(),
            spacing,
            measurements: r.measurements,
        };
        match r.outcome {
            Outcome::Segmented(seg) => out.structures = structures(*seg),
            Outcome::Failed(msg) => {
                out.outcome = SB_OUTCOME_FAILED;
                out.error = Some(crate::status::c_string(&msg));
            }
            Outcome::Dropped(DropReason::Overflow) => out.outcome = SB_OUTCOME_DROPPED,
            Outcome::Dropped(DropReason::Discarded) => out.outcome = SB_OUTCOME_DISCARDED,
        }
        Box::new(out)
    }

    /// From a direct segmentation of a frame with `meta` (measured on its own: no temporal
    /// consistency, heart rate or cycle).
    pub(crate) fn from_segmentation(
        seg: Segmentation,
        (width, height): (usize, usize),
        timestamp_us: Option<i64>,
        meta: &ScanMeta,
    ) -> Box<Self> {
        let total = seg.timings.total;
        let source = if meta.phase.is_some() {
            PhaseSource::Scanner
        } else {
            PhaseSource::None
        };
        let min_confidence = synboost_core::measure::TrackerConfig::default().min_confidence;
        let (m, _) = measure_frame(&seg, meta, source, min_confidence);
        Box::new(Self {
            borrowed: false,
            seq: 0,
            timestamp_ns: timestamp_ns(timestamp_us),
            outcome: SB_OUTCOME_SEGMENTED,
            width: width as u32,
            height: height as u32,
            timings: FrameTimings {
                queue: Duration::ZERO,
                engine: seg.timings,
                total,
            },
            error: None,
            structures: structures(seg),
            spacing: meta.pixel_spacing.map(|p| (p.col_mm, p.row_mm)),
            measurements: Some(Box::new(m)),
        })
    }

    /// The measurements of a segmented frame.
    pub(crate) fn measurements(&self) -> Option<&FrameMeasurements> {
        self.measurements.as_deref()
    }

    fn structure(&self, index: u32) -> Result<&StructureOut> {
        self.structures.get(index as usize).ok_or_else(|| {
            Error::new(
                SB_ERR_INVALID,
                format!(
                    "structure index {index}: the result has {}",
                    self.structures.len()
                ),
            )
        })
    }
}

fn structures(seg: Segmentation) -> Vec<StructureOut> {
    seg.structures
        .into_iter()
        .map(|s| {
            let area_px = s.mask.count() as u64;
            StructureOut {
                bit: structure_bit(s.structure),
                name: crate::status::c_string(structure_name(s.structure)),
                prompt: crate::status::c_string(&s.prompt),
                kind: s.kind.index() as u32,
                mask: s.mask.data().to_vec(),
                area_px,
                confidence: f64::from(s.stats.mean_prob_inside),
                max_probability: f64::from(s.stats.max_prob),
            }
        })
        .collect()
}

/// The C name of a structure.
pub(crate) fn structure_name(s: synboost_core::structure::Structure) -> &'static str {
    use synboost_core::structure::Structure;
    match s {
        Structure::LvCavity => "lv_cavity",
        Structure::Myocardium => "myocardium",
        Structure::LaCavity => "la_cavity",
    }
}

/// A result's frame-level facts.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sb_result_info {
    /// `sizeof(sb_result_info)`.
    pub struct_size: u32,
    /// `SB_OUTCOME_*`.
    pub outcome: sb_outcome,
    /// Sequence number the push returned (0 for `sb_engine_segment`).
    pub seq: u64,
    /// The frame's timestamp rounded toward zero to whole microseconds, or `SB_NO_TIMESTAMP`
    /// (only when the frame had none).
    pub timestamp_ns: i64,
    /// Frame (and mask) width.
    pub width: u32,
    /// Frame (and mask) height.
    pub height: u32,
    /// Structures in the result (0 unless segmented).
    pub structure_count: u32,
    /// Queue wait, ms.
    pub queue_ms: f64,
    /// Preprocessing, ms.
    pub preprocess_ms: f64,
    /// Prompt conditioning (text model or cache), ms.
    pub text_ms: f64,
    /// Image model, ms.
    pub model_ms: f64,
    /// Postprocessing, ms.
    pub postprocess_ms: f64,
    /// Push (or call) to result, ms.
    pub total_ms: f64,
    /// Why the frame failed (`SB_OUTCOME_FAILED`), else NULL; owned by the result.
    pub error: *const c_char,
}

/// One structure of a segmented frame. Pointers are owned by the result.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sb_structure_result {
    /// `sizeof(sb_structure_result)`.
    pub struct_size: u32,
    /// `SB_STRUCTURE_*` (one bit).
    pub structure: sb_structures,
    /// Short name: "lv_cavity", "myocardium" or "la_cavity".
    pub name: *const c_char,
    /// The prompt the model was given.
    pub prompt: *const c_char,
    /// Its kind, 0 to 7 (P0–P7; lower when the metadata did not support the configured kind).
    pub prompt_kind: u32,
    /// Mask width (the frame's).
    pub mask_width: u32,
    /// Mask height (the frame's).
    pub mask_height: u32,
    /// Mask pixels, `mask_width × mask_height` bytes, rows packed, 1 inside and 0 outside.
    pub mask: *const u8,
    /// Pixels inside the mask.
    pub area_px: u64,
    /// Area in mm² from the frame's pixel spacing; negative when the spacing is unknown.
    pub area_mm2: f64,
    /// Mean probability inside the mask (0 when empty). See `sb_measurements` for the
    /// probability margin the stream flags frames by.
    pub confidence: f64,
    /// Highest probability anywhere in the frame.
    pub max_probability: f64,
}

/// A result's frame-level facts: outcome, sequence number, timestamp, size, timings.
///
/// @param result The result; not NULL.
/// @param out    The caller's struct to fill, with `struct_size` set (at least
///               sizeof(sb_result_info)); not NULL. Its `error` string is owned by the result.
/// @return SB_OK;
///         SB_ERR_NULL when `result` or `out` is NULL;
///         SB_ERR_INVALID when `out->struct_size` is too small (nothing written);
///         SB_ERR_INTERNAL on an internal error.
///
/// # Safety
/// `result` is NULL or a live result; `out` is NULL or a writable `sb_result_info` with
/// `struct_size` set.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_result_get_info(
    result: *const sb_result,
    out: *mut sb_result_info,
) -> sb_status {
    guard("sb_result_get_info", None, || {
        // SAFETY: NULL or live, per the contract.
        let r = unsafe { result.as_ref() }.ok_or_else(|| Error::null("result"))?;
        // SAFETY: forwarded contract.
        let o = unsafe { write_sized(out, "sb_result_info") }?;
        let t = &r.timings;
        *o = sb_result_info {
            struct_size: o.struct_size,
            outcome: r.outcome,
            seq: r.seq,
            timestamp_ns: r.timestamp_ns,
            width: r.width,
            height: r.height,
            structure_count: r.structures.len() as u32,
            queue_ms: ms(t.queue),
            preprocess_ms: ms(t.engine.preprocess),
            text_ms: ms(t.engine.text),
            model_ms: ms(t.engine.image),
            postprocess_ms: ms(t.engine.postprocess),
            total_ms: ms(t.total),
            error: r.error.as_ref().map_or(std::ptr::null(), |e| e.as_ptr()),
        };
        Ok(SB_OK)
    })
}

/// One structure of a segmented result: its name, prompt, mask, area and confidence.
///
/// @param result The result; not NULL.
/// @param index  Which structure, 0 to sb_result_info.structure_count − 1.
/// @param out    The caller's struct to fill, with `struct_size` set (at least
///               sizeof(sb_structure_result)); not NULL. Its pointers (name, prompt, mask)
///               are owned by the result and valid until it is freed.
/// @return SB_OK;
///         SB_ERR_NULL when `result` or `out` is NULL;
///         SB_ERR_INVALID when `out->struct_size` is too small or `index` is out of range
///         (nothing written);
///         SB_ERR_INTERNAL on an internal error.
///
/// # Safety
/// `result` is NULL or a live result; `out` is NULL or a writable `sb_structure_result` with
/// `struct_size` set.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_result_get_structure(
    result: *const sb_result,
    index: u32,
    out: *mut sb_structure_result,
) -> sb_status {
    guard("sb_result_get_structure", None, || {
        // SAFETY: NULL or live, per the contract.
        let r = unsafe { result.as_ref() }.ok_or_else(|| Error::null("result"))?;
        // SAFETY: forwarded contract.
        let o = unsafe { write_sized(out, "sb_structure_result") }?;
        let s = r.structure(index)?;
        *o = sb_structure_result {
            struct_size: o.struct_size,
            structure: s.bit,
            name: s.name.as_ptr(),
            prompt: s.prompt.as_ptr(),
            prompt_kind: s.kind,
            mask_width: r.width,
            mask_height: r.height,
            mask: s.mask.as_ptr(),
            area_px: s.area_px,
            area_mm2: r
                .spacing
                .map_or(-1.0, |(sx, sy)| s.area_px as f64 * sx * sy),
            confidence: s.confidence,
            max_probability: s.max_probability,
        };
        Ok(SB_OK)
    })
}

/// Copy a structure's mask into the caller's buffer, one byte per pixel.
///
/// Writes the mask's `width` bytes of each of its `height` rows (the frame's size, from
/// sb_result_info) and nothing else: the padding at the end of each row is left alone.
///
/// @param result     The result; not NULL.
/// @param index      Which structure, 0 to sb_result_info.structure_count − 1.
/// @param dst        The caller's buffer; not NULL.
/// @param dst_size   Bytes writable at `dst`: at least `dst_stride × (height − 1) + width`.
/// @param dst_stride Bytes from the start of one row of `dst` to the next; at least `width`.
/// @param value      Written for pixels inside the mask; 0 is written outside.
/// @return SB_OK;
///         SB_ERR_NULL when `result` or `dst` is NULL;
///         SB_ERR_INVALID when `index` is out of range, or `dst_stride` is under `width` or so
///         large that the size overflows;
///         SB_ERR_BUFFER when `dst_size` is too small (nothing written);
///         SB_ERR_INTERNAL on an internal error.
///
/// # Safety
/// `result` is NULL or a live result; `dst` is NULL or has `dst_size` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_result_copy_mask(
    result: *const sb_result,
    index: u32,
    dst: *mut u8,
    dst_size: usize,
    dst_stride: usize,
    value: u8,
) -> sb_status {
    guard("sb_result_copy_mask", None, || {
        // SAFETY: NULL or live, per the contract.
        let r = unsafe { result.as_ref() }.ok_or_else(|| Error::null("result"))?;
        if dst.is_null() {
            return Err(Error::null("dst"));
        }
        let s = r.structure(index)?;
        let (w, h) = (r.width as usize, r.height as usize);
        if dst_stride < w {
            return Err(Error::invalid(format!(
                "dst_stride {dst_stride} is less than the mask width {w}"
            )));
        }
        let needed = dst_stride
            .checked_mul(h.saturating_sub(1))
            .and_then(|v| v.checked_add(w))
            .ok_or_else(|| Error::invalid("dst_stride × height overflows"))?;
        if dst_size < needed {
            return Err(Error::new(
                SB_ERR_BUFFER,
                format!(
                    "dst_size {dst_size}: the mask needs {needed} bytes at stride {dst_stride}"
                ),
            ));
        }
        // SAFETY: the caller provides dst_size writable bytes; we write at most `needed`.
        let out = unsafe { std::slice::from_raw_parts_mut(dst, needed) };
        for (y, row) in s.mask.chunks_exact(w.max(1)).enumerate().take(h) {
            let start = y * dst_stride;
            for (d, &m) in out[start..start + w].iter_mut().zip(row) {
                *d = if m != 0 { value } else { 0 };
            }
        }
        Ok(SB_OK)
    })
}

/// Free a result and set the caller's handle to NULL.
///
/// Only results the caller owns are freed: those of sb_stream_poll and sb_engine_segment. The
/// result a result callback is given is lent by the library, which frees it when the callback
/// returns.
///
/// @param result The caller's handle variable. NULL, or a handle that is NULL, is a no-op, so
///               freeing twice is harmless.
/// @return SB_OK;
///         SB_ERR_STATE when the result is a callback's lent result (it stays valid until the
///         callback returns, and `*result` is left alone);
///         SB_ERR_INTERNAL on an internal error.
///
/// # Safety
/// `result` is NULL or points to NULL, to a result from `sb_stream_poll` or
/// `sb_engine_segment` not yet freed, or to the result of the result callback running now.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_result_free(result: *mut *mut sb_result) -> sb_status {
    guard("sb_result_free", None, || {
        if result.is_null() {
            return Ok(SB_OK);
        }
        // SAFETY: non-null pointer to the caller's handle variable.
        let p = unsafe { result.read() };
        // SAFETY: NULL or a live result, per the contract.
        if let Some(r) = unsafe { p.as_ref() }
            && r.borrowed
        {
            return Err(Error::new(
                SB_ERR_STATE,
                "this result is lent to the result callback and freed by the library when the \
                 callback returns; copy what you need from it (sb_result_copy_mask) instead",
            ));
        }
        // SAFETY: as above.
        unsafe { result.write(std::ptr::null_mut()) };
        if !p.is_null() {
            // SAFETY: created by Box::into_raw in this library and not freed before.
            drop(unsafe { Box::from_raw(p) });
        }
        Ok(SB_OK)
    })
}
