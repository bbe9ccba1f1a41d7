//! The US Multi-frame writer: files pass `dciodvfy` (dicom3tools) without errors, and read back
//! through `synboost_dicom::read_cine` with identical pixels and metadata.
//!
//! When `dciodvfy` is not on PATH the validation test prints "skipped" and passes, unless
//! `SYNBOOST_REQUIRE_DATA=1` (CI installs dicom3tools), where it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;
use synboost_core::meta::{PixelSpacing, ScanMeta, Sex, View};
use synboost_core::raster::GrayImage;
use synboost_dicom::{DicomCine, ReadOptions, read_cine, read_cine_bytes};
use synboost_sim::dicom_write::{
    DicomWriteError, DicomWriteOptions, RegionSpec, encode_cine, is_valid_uid, write_cine,
};

const W: usize = 64;
const H: usize = 48;

/// Five 64x48 frames: a diagonal gradient that moves from frame to frame.
fn gradient_frames() -> Vec<GrayImage> {
    (0..5)
        .map(|k| {
            let data = (0..W * H)
                .map(|i| {
                    let (x, y) = (i % W, i / W);
                    ((x * 3 + y * 2 + k * 17) % 256) as u8
                })
                .collect();
            GrayImage::new(W, H, data).unwrap()
        })
        .collect()
}

fn meta() -> ScanMeta {
    ScanMeta {
        view: Some(View::FourChamber),
        sex: Some(Sex::Female),
        age_years: Some(56),
        pixel_spacing: Some(PixelSpacing::new(0.3, 0.25).unwrap()),
        frame_time_ms: Some(40.0),
        heart_rate_bpm: Some(72.0),
        ..ScanMeta::default()
    }
}

fn require_tools() -> bool {
    std::env::var("SYNBOOST_REQUIRE_DATA").is_ok_and(|v| v == "1")
}

/// `dciodvfy` output (stdout and stderr), or `None` when it is not installed.
fn dciodvfy(path: &Path) -> Option<String> {
    match Command::new("dciodvfy").arg(path).output() {
        Ok(out) => Some(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                !require_tools(),
                "SYNBOOST_REQUIRE_DATA=1 but dciodvfy (dicom3tools) is not on PATH"
            );
            eprintln!("skipped: dciodvfy (dicom3tools) is not on PATH");
            None
        }
        Err(e) => panic!("running dciodvfy: {e}"),
    }
}

fn assert_valid(path: &Path) {
    let Some(out) = dciodvfy(path) else { return };
    println!("dciodvfy {}:\n{out}", path.display());
    let errors: Vec<&str> = out.lines().filter(|l| l.starts_with("Error")).collect();
    assert!(errors.is_empty(), "dciodvfy errors:\n{}", errors.join("\n"));
    assert!(out.contains("USMultiFrameImage"), "{out}");
}

fn assert_same_meta(c: &DicomCine, m: &ScanMeta) {
    assert_eq!(c.meta.sex, m.sex);
    assert_eq!(c.meta.age_years, m.age_years);
    assert_eq!(c.meta.view, m.view);
    assert_eq!(c.meta.frame_time_ms, m.frame_time_ms);
    assert_eq!(c.frame_time_ms, m.frame_time_ms);
    assert_eq!(c.meta.heart_rate_bpm, m.heart_rate_bpm);
    match (c.meta.pixel_spacing, m.pixel_spacing) {
        (Some(a), Some(b)) => {
            assert!((a.row_mm - b.row_mm).abs() < 1e-12, "{a:?} vs {b:?}");
            assert!((a.col_mm - b.col_mm).abs() < 1e-12, "{a:?} vs {b:?}");
        }
        (a, b) => assert_eq!(a, b),
    }
    assert_eq!(c.meta.phase, None);
    assert_eq!(c.meta.quality, None);
}

#[test]
fn written_cine_passes_dciodvfy_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cine.dcm");
    let frames = gradient_frames();
    let m = meta();
    let opts = DicomWriteOptions {
        depth_mm: Some(160.0),
        ..DicomWriteOptions::default()
    };
    let w = write_cine(&path, &frames, &m, &opts).unwrap();
    assert!(is_valid_uid(&w.sop_instance_uid));
    assert!(is_valid_uid(&w.series_instance_uid));
    assert!(is_valid_uid(&w.study_instance_uid));
    assert_eq!(w.bytes, std::fs::metadata(&path).unwrap().len());
    // no temporary file left behind
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    // keep a copy for inspection when asked to
    if let Some(keep) = std::env::var_os("SYNBOOST_KEEP_DICOM") {
        std::fs::copy(&path, keep).unwrap();
    }
    assert_valid(&path);

    let c = read_cine(&path, &ReadOptions::default()).unwrap();
    assert_eq!(c.sop_class, "1.2.840.10008.5.1.4.1.1.3.1");
    assert_eq!(c.transfer_syntax, "1.2.840.10008.1.2.1");
    assert_eq!(c.photometric, "MONOCHROME2");
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c.frames, frames, "pixels differ");
    assert_same_meta(&c, &m);
    // the default region is the whole image, so the crop keeps everything
    let r = c.region.unwrap();
    assert_eq!((r.min_x, r.min_y, r.max_x, r.max_y), (0, 0, 63, 47));
    assert_eq!(r.reference_pixel, Some((32, 0)));
    assert!((r.delta_x - 0.025).abs() < 1e-15 && (r.delta_y - 0.03).abs() < 1e-15);
}

#[test]
fn every_view_and_sparse_metadata_pass_dciodvfy() {
    let dir = tempfile::tempdir().unwrap();
    let frames = gradient_frames();
    let cases = [
        ScanMeta {
            view: Some(View::TwoChamber),
            sex: Some(Sex::Male),
            age_years: Some(7),
            frame_time_ms: Some(1000.0 / 30.0),
            ..ScanMeta::default()
        },
        ScanMeta {
            view: Some(View::ThreeChamber),
            frame_time_ms: Some(33.333),
            pixel_spacing: Some(PixelSpacing::new(0.5, 0.5).unwrap()),
            ..ScanMeta::default()
        },
        // nothing known but the frame time
        ScanMeta {
            frame_time_ms: Some(76.0),
            ..ScanMeta::default()
        },
    ];
    for (i, m) in cases.iter().enumerate() {
        let path = dir.path().join(format!("case{i}.dcm"));
        write_cine(&path, &frames[..1 + i], m, &DicomWriteOptions::default()).unwrap();
        assert_valid(&path);
        let c = read_cine(&path, &ReadOptions::default()).unwrap();
        assert_eq!(c.frames, frames[..1 + i]);
        assert_eq!(c.meta.view, m.view);
        assert_eq!(c.meta.sex, m.sex);
        assert_eq!(c.meta.age_years, m.age_years);
        assert_eq!(c.meta.pixel_spacing.is_some(), m.pixel_spacing.is_some());
        let t = c.frame_time_ms.unwrap();
        assert!((t - m.frame_time_ms.unwrap()).abs() < 1e-9, "{t}");
    }
}

#[test]
fn region_crop_and_shared_study() {
    let frames = gradient_frames();
    let study = synboost_sim::dicom_write::new_uid();
    let opts = DicomWriteOptions {
        region: Some(RegionSpec {
            min_x: 8,
            min_y: 4,
            max_x: 55,
            max_y: 43,
            reference_pixel: Some((24, 0)),
        }),
        study_instance_uid: Some(study.clone()),
        patient_name: "Müller^Jürgen".into(),
        ..DicomWriteOptions::default()
    };
    let (bytes, w) = encode_cine(&frames, &meta(), &opts).unwrap();
    assert_eq!(w.study_instance_uid, study);
    let c = read_cine_bytes(&bytes, Path::new("mem.dcm"), &ReadOptions::default()).unwrap();
    assert!(c.cropped);
    for (got, full) in c.frames.iter().zip(&frames) {
        assert_eq!((got.width(), got.height()), (48, 40));
        for y in 0..40 {
            let row = &full.data()[(y + 4) * W + 8..(y + 4) * W + 56];
            assert_eq!(&got.data()[y * 48..(y + 1) * 48], row);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("utf8.dcm");
    std::fs::write(&path, &bytes).unwrap();
    assert_valid(&path);
}

#[test]
fn bad_input_is_refused() {
    let frames = gradient_frames();
    let o = DicomWriteOptions::default();
    assert!(matches!(
        encode_cine(&[], &meta(), &o),
        Err(DicomWriteError::NoFrames)
    ));
    let mut mixed = frames.clone();
    mixed.push(GrayImage::zeros(10, 10).unwrap());
    assert!(matches!(
        encode_cine(&mixed, &meta(), &o),
        Err(DicomWriteError::FrameSize { index: 5, .. })
    ));
    for t in [
        None,
        Some(0.0),
        Some(-1.0),
        Some(f64::NAN),
        Some(f64::INFINITY),
    ] {
        let m = ScanMeta {
            frame_time_ms: t,
            ..meta()
        };
        assert!(matches!(
            encode_cine(&frames, &m, &o),
            Err(DicomWriteError::FrameTime(_))
        ));
    }
    let outside = DicomWriteOptions {
        region: Some(RegionSpec {
            min_x: 0,
            min_y: 0,
            max_x: 64,
            max_y: 10,
            reference_pixel: None,
        }),
        ..DicomWriteOptions::default()
    };
    assert!(matches!(
        encode_cine(&frames, &meta(), &outside),
        Err(DicomWriteError::Invalid {
            field: "region",
            ..
        })
    ));
    let backslash = DicomWriteOptions {
        patient_id: "A\\B".into(),
        ..DicomWriteOptions::default()
    };
    assert!(encode_cine(&frames, &meta(), &backslash).is_err());
    let bad_uid = DicomWriteOptions {
        study_instance_uid: Some("1.2.03".into()),
        ..DicomWriteOptions::default()
    };
    assert!(encode_cine(&frames, &meta(), &bad_uid).is_err());
    let err = write_cine(
        Path::new("/nonexistent-dir/x.dcm"),
        &frames,
        &meta(),
        &DicomWriteOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string().starts_with("/nonexistent-dir/x.dcm"),
        "{err}"
    );
}

#[test]
fn odd_sized_frames_are_padded_and_read_back() {
    let frames: Vec<GrayImage> = (0..3u8)
        .map(|k| GrayImage::new(5, 3, (0..15u8).map(|v| v * 10 + k).collect()).unwrap())
        .collect();
    let m = ScanMeta {
        frame_time_ms: Some(20.0),
        ..ScanMeta::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("odd.dcm");
    write_cine(&path, &frames, &m, &DicomWriteOptions::default()).unwrap();
    assert_valid(&path);
    let c = read_cine(&path, &ReadOptions::default()).unwrap();
    assert_eq!(c.frames, frames);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c.meta.pixel_spacing, None);
    assert!(c.region.is_none());
}
