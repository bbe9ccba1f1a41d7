//! Unit tests of the tracker: synthetic beating ellipses streamed frame by frame.

use super::*;
use crate::engine::{StructureResult, Timings, Variant};
use crate::meta::{Phase, PixelSpacing};
use crate::postprocess::ProbStats;
use crate::preprocess::{Fit, Geometry};
use crate::prompt::PromptKind;
use crate::raster::Mask;
use crate::structure::Structure;

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
