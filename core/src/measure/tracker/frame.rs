//! The measurements of one frame on its own: areas, confidence, LV geometry and volumes, and
//! the flags that need no other frame.

use super::flags::QualityFlags;
use super::report::{FrameMeasurements, LvMeasure, PhaseSource, StructureMeasure};
use crate::engine::Segmentation;
use crate::measure::geometry::{Calibration, CavityGeometry, Units, cavity_geometry};
use crate::measure::volume::{area_length_of, simpson_single};
use crate::meta::ScanMeta;
use crate::structure::Structure;

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
