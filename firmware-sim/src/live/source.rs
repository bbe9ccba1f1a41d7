//! What `live` streams: phantom frames rendered ahead (with their truth) or a DICOM cine, each
//! frame with the `sb_meta` a scanner would send with it.

use crate::live::abi::sys::{
    SB_PHASE_ED, SB_PHASE_ES, SB_PHASE_UNKNOWN, SB_QUALITY_GOOD, SB_QUALITY_MEDIUM,
    SB_QUALITY_POOR, SB_QUALITY_UNKNOWN, SB_SEX_FEMALE, SB_SEX_MALE, SB_SEX_UNKNOWN, SB_VIEW_2CH,
    SB_VIEW_4CH, SB_VIEW_UNKNOWN, sb_meta,
};
use std::path::Path;
use synboost_core::meta::{ImageQuality, Phase, ScanMeta, Sex, View};
use synboost_core::raster::{GrayImage, Mask};
use synboost_dicom::{DicomError, ReadOptions, read_cine};
use synboost_phantom::{Phantom, PhantomConfig, PhantomError};

/// Errors preparing frames.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The phantom could not be set up or rendered.
    #[error("phantom: {0}")]
    Phantom(#[from] PhantomError),
    /// The DICOM file could not be read.
    #[error(transparent)]
    Dicom(#[from] DicomError),
    /// The file has no frames.
    #[error("{0}: no frames to stream")]
    NoFrames(String),
    /// A rendering thread panicked.
    #[error("a rendering thread panicked")]
    Thread,
}

/// One frame ready to push.
#[derive(Debug, Clone)]
pub struct SourceFrame {
    /// The pixels.
    pub image: GrayImage,
    /// What the scanner sends with it.
    pub meta: sb_meta,
    /// Ground truth masks (LV cavity, myocardium, LA) for phantom frames.
    pub truth: Option<[Mask; 3]>,
    /// The true phase of a phantom frame (ED, ES or neither), sent or not.
    pub truth_phase: Option<Phase>,
    /// The true cycle position of a phantom frame (0 at ED, in [0, 1)).
    pub truth_cycle: Option<f64>,
}

/// A loop of frames and the rate to stream them at.
#[derive(Debug, Clone)]
pub struct Source {
    /// The frames, streamed in order and repeated.
    pub frames: Vec<SourceFrame>,
    /// Frames per second.
    pub fps: f64,
    /// What the frames are, for the report.
    pub description: serde_json::Value,
    /// The patient's true cardiac values (phantoms).
    pub truth: Option<PhantomTruth>,
}

/// A phantom patient's true values (single-plane area–length volumes of its geometry).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PhantomTruth {
    /// Ejection fraction, percent.
    pub ef_percent: f64,
    /// Heart rate, bpm.
    pub heart_rate_bpm: f64,
    /// End-diastolic volume, ml (of the configured view).
    pub edv_ml: f64,
    /// End-systolic volume, ml.
    pub esv_ml: f64,
    /// Cycle position of end-systole.
    pub es_phase: f64,
    /// Frames per cycle of the whole stream (each view has half of them when interleaved).
    pub frames_per_cycle: f64,
}

/// The C metadata of a core `ScanMeta` (values the C ABI cannot carry become unknown).
pub fn sb_meta_of(m: &ScanMeta) -> sb_meta {
    // bindgen's `Default` is all zeros: the size must be set, as a C host sets it.
    let d = sb_meta {
        struct_size: std::mem::size_of::<sb_meta>() as u32,
        ..sb_meta::default()
    };
    sb_meta {
        view: match m.view {
            Some(View::TwoChamber) => SB_VIEW_2CH,
            Some(View::FourChamber) => SB_VIEW_4CH,
            // A view the C ABI has no code for (View is non-exhaustive) is sent as unknown.
            _ => SB_VIEW_UNKNOWN,
        },
        phase: match m.phase {
            Some(Phase::EndDiastole) => SB_PHASE_ED,
            Some(Phase::EndSystole) => SB_PHASE_ES,
            None => SB_PHASE_UNKNOWN,
        },
        sex: match m.sex {
            Some(Sex::Female) => SB_SEX_FEMALE,
            Some(Sex::Male) => SB_SEX_MALE,
            None => SB_SEX_UNKNOWN,
        },
        age_years: m.age_years.filter(|a| *a <= 130).map_or(-1, i32::from),
        quality: match m.quality {
            Some(ImageQuality::Good) => SB_QUALITY_GOOD,
            Some(ImageQuality::Medium) => SB_QUALITY_MEDIUM,
            Some(ImageQuality::Poor) => SB_QUALITY_POOR,
            None => SB_QUALITY_UNKNOWN,
        },
        pixel_spacing_x_mm: m.pixel_spacing.map_or(0.0, |p| p.col_mm),
        pixel_spacing_y_mm: m.pixel_spacing.map_or(0.0, |p| p.row_mm),
        fps: m.fps().unwrap_or(0.0),
        heart_rate_bpm: m.heart_rate_bpm.unwrap_or(0.0),
        cycle_position: m
            .cycle_position
            .filter(|c| (0.0..1.0).contains(c))
            .map_or(-1.0, f64::from),
        ..d
    }
}

/// How a phantom is streamed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhantomPlan {
    /// Cardiac cycles rendered ahead (and looped).
    pub cycles: f64,
    /// Rendering threads.
    pub threads: usize,
    /// Send the ED/ES phase with the frames (an ECG-gated scanner).
    pub ecg: bool,
    /// Interleave the patient's two-chamber view with the configured view.
    pub biplane: bool,
}

/// Render `plan.cycles` cardiac cycles of a phantom at `config.fps` (and of its other apical
/// view, interleaved, with `plan.biplane`), on `plan.threads` threads.
pub fn phantom(config: PhantomConfig, plan: &PhantomPlan) -> Result<Source, SourceError> {
    let ph = Phantom::new(config.clone())?;
    let other = if plan.biplane {
        let view = match config.view {
            View::TwoChamber => View::FourChamber,
            _ => View::TwoChamber,
        };
        Some(Phantom::new(PhantomConfig { view, ..config })?)
    } else {
        None
    };
    let n = ((plan.cycles * ph.frames_per_cycle()).round() as usize).max(1);
    let threads = plan.threads.clamp(1, n);
    let mut slots: Vec<Option<Result<SourceFrame, PhantomError>>> = (0..n).map(|_| None).collect();
    let chunk = n.div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = slots
            .chunks_mut(chunk)
            .enumerate()
            .map(|(c, out)| {
                let (ph, other) = (&ph, other.as_ref());
                s.spawn(move || {
                    for (i, slot) in out.iter_mut().enumerate() {
                        let index = (c * chunk + i) as u64;
                        // Odd frames show the other view when interleaving.
                        let p = match other {
                            Some(o) if index % 2 == 1 => o,
                            _ => ph,
                        };
                        *slot = Some(p.frame(index).map(|f| {
                            let truth_phase = f.meta.phase;
                            let mut meta = f.meta;
                            if !plan.ecg {
                                meta.phase = None;
                            }
                            SourceFrame {
                                meta: sb_meta_of(&meta),
                                image: f.image,
                                truth: Some(f.masks),
                                truth_phase,
                                truth_cycle: Some(p.cycle_position(index)),
                            }
                        }));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| SourceError::Thread))
            .collect::<Result<Vec<()>, _>>()
    })?;
    let frames = slots
        .into_iter()
        .map(|s| match s {
            Some(Ok(f)) => Ok(f),
            Some(Err(e)) => Err(SourceError::Phantom(e)),
            None => Err(SourceError::Thread),
        })
        .collect::<Result<Vec<_>, SourceError>>()?;
    let c = ph.config();
    let p = ph.patient();
    let description = serde_json::json!({
        "kind": "phantom",
        "view": c.view.code(),
        "biplane": other.as_ref().map(|o| o.config().view.code()),
        "ecg": plan.ecg,
        "quality": c.quality,
        "seed": c.seed,
        "width": c.width,
        "height": c.height,
        "pixel_mm": ph.pixel_mm(),
        "frames_per_cycle": ph.frames_per_cycle(),
        "prerendered_frames": frames.len(),
        "patient": {
            "sex": p.sex,
            "age_years": p.age_years,
            "ef_percent": p.ef_percent,
            "edv_ml": p.edv_ml,
            "esv_ml": p.esv_ml,
            "heart_rate_bpm": p.heart_rate_bpm,
        },
    });
    Ok(Source {
        frames,
        fps: c.fps,
        description,
        truth: Some(PhantomTruth {
            ef_percent: p.ef_percent,
            heart_rate_bpm: p.heart_rate_bpm,
            edv_ml: p.edv_ml,
            esv_ml: p.esv_ml,
            es_phase: p.es_phase,
            frames_per_cycle: ph.frames_per_cycle(),
        }),
    })
}

/// The frames of a DICOM cine with the file's metadata, at `fps` or else the file's frame
/// rate (or else `fallback_fps`, with a warning).
pub fn dicom(
    path: &Path,
    opts: &ReadOptions,
    fps: Option<f64>,
    fallback_fps: f64,
) -> Result<Source, SourceError> {
    let cine = read_cine(path, opts)?;
    if cine.frames.is_empty() {
        return Err(SourceError::NoFrames(path.display().to_string()));
    }
    let fps = match (fps, cine.fps()) {
        (Some(f), _) => f,
        (None, Some(f)) => f,
        (None, None) => {
            log::warn!(
                "{}: no frame time in the file; streaming at {fallback_fps} fps (give --fps)",
                path.display()
            );
            fallback_fps
        }
    };
    let mut meta = cine.meta.clone();
    meta.frame_time_ms = Some(1000.0 / fps);
    let m = sb_meta_of(&meta);
    let (w, h) = (cine.frames[0].width(), cine.frames[0].height());
    let description = serde_json::json!({
        "kind": "dicom",
        "file": path.display().to_string(),
        "frames": cine.frames.len(),
        "width": w,
        "height": h,
        "file_fps": cine.fps(),
        "cropped_to_region": cine.cropped,
        "stored_width": cine.stored_width,
        "stored_height": cine.stored_height,
        "meta": cine.meta,
        "transfer_syntax": cine.transfer_syntax,
        "warnings": cine.warnings,
    });
    let frames = cine
        .frames
        .into_iter()
        .map(|image| SourceFrame {
            image,
            meta: m,
            truth: None,
            truth_phase: None,
            truth_cycle: None,
        })
        .collect();
    Ok(Source {
        frames,
        fps,
        description,
        truth: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use synboost_core::meta::PixelSpacing;

    #[test]
    fn metadata_maps_to_the_c_values() {
        let m = ScanMeta {
            view: Some(View::TwoChamber),
            phase: Some(Phase::EndSystole),
            sex: Some(Sex::Male),
            age_years: Some(200),
            quality: Some(ImageQuality::Poor),
            pixel_spacing: PixelSpacing::new(0.3, 0.2).ok(),
            frame_time_ms: Some(20.0),
            heart_rate_bpm: Some(70.0),
            cycle_position: Some(0.5),
        };
        let c = sb_meta_of(&m);
        assert_eq!(
            (c.view, c.phase, c.sex),
            (SB_VIEW_2CH, SB_PHASE_ES, SB_SEX_MALE)
        );
        assert_eq!(c.age_years, -1);
        assert_eq!(c.quality, SB_QUALITY_POOR);
        assert_eq!((c.pixel_spacing_x_mm, c.pixel_spacing_y_mm), (0.2, 0.3));
        assert_eq!(
            (c.fps, c.heart_rate_bpm, c.cycle_position),
            (50.0, 70.0, 0.5)
        );
        let u = sb_meta_of(&ScanMeta::default());
        assert_eq!(u.age_years, -1);
        assert_eq!(u.cycle_position, -1.0);
        assert_eq!(u.fps, 0.0);
    }

    #[test]
    fn phantom_frames_carry_truth_and_phases() {
        let cfg = PhantomConfig {
            width: 64,
            height: 64,
            fps: 20.0,
            ..PhantomConfig::default()
        };
        let plan = PhantomPlan {
            cycles: 1.0,
            threads: 2,
            ecg: true,
            biplane: false,
        };
        let s = phantom(cfg.clone(), &plan).unwrap();
        assert!(s.frames.len() > 5);
        assert!(s.frames.iter().all(|f| f.truth.is_some()));
        assert_eq!(s.frames[0].meta.phase, SB_PHASE_ED);
        assert!(s.frames.iter().any(|f| f.meta.phase == SB_PHASE_ES));
        // Without the ECG the phase is withheld but known to the truth; biplane interleaves.
        let plan = PhantomPlan {
            ecg: false,
            biplane: true,
            ..plan
        };
        let s = phantom(cfg, &plan).unwrap();
        assert!(s.frames.iter().all(|f| f.meta.phase == SB_PHASE_UNKNOWN));
        assert_eq!(s.frames[0].truth_phase, Some(Phase::EndDiastole));
        assert_eq!(s.frames[0].meta.view, SB_VIEW_4CH);
        assert_eq!(s.frames[1].meta.view, SB_VIEW_2CH);
        assert!(s.truth.is_some_and(|t| t.ef_percent > 15.0));
        assert!(s.frames.iter().all(|f| f.meta.pixel_spacing_x_mm > 0.0));
    }
}
