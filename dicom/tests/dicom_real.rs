//! The real ultrasound DICOM files (`SYNBOOST_DICOM_DIR`, see `/work/shared/data/README.md`)
//! decode with the frame count, size and metadata each file actually carries, with pixels that
//! match an independent decoder (DCMTK 3.6.7 `dcm2pnm`/`dcmj2pnm`, converted to BT.601 luma),
//! and truncated or garbage input gives an error, never a panic.
//!
//! Without `SYNBOOST_DICOM_DIR` the tests print "skipped" and pass, unless
//! `SYNBOOST_REQUIRE_DATA=1` (CI), where a missing folder fails them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::data_dir;

use std::path::{Path, PathBuf};
use synboost_core::{GrayImage, Sex};
use synboost_dicom::{DicomCine, DicomError, ReadOptions, read_cine, read_cine_bytes};

fn file(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    assert!(
        p.is_file(),
        "{} is missing from SYNBOOST_DICOM_DIR",
        p.display()
    );
    p
}

fn mean(img: &GrayImage) -> f64 {
    img.data().iter().map(|&v| f64::from(v)).sum::<f64>() / img.data().len() as f64
}

fn size(img: &GrayImage) -> (usize, usize) {
    (img.width(), img.height())
}

fn uncropped() -> ReadOptions {
    ReadOptions {
        crop_to_region: false,
        ..ReadOptions::default()
    }
}

/// Metadata the cardiac files do not carry.
fn assert_no_patient_data(c: &DicomCine) {
    assert_eq!(c.meta.sex, None, "{}", c.source.display());
    assert_eq!(c.meta.age_years, None, "{}", c.source.display());
    assert_eq!(c.meta.heart_rate_bpm, None, "{}", c.source.display());
    assert_eq!(c.meta.view, None, "{}", c.source.display());
    assert_eq!(c.meta.phase, None);
    assert_eq!(c.meta.quality, None);
}

#[test]
fn sonosite_ybr_jpeg_cine_with_stale_region() {
    let Some(dir) = data_dir() else { return };
    let c = read_cine(
        &file(&dir, "examples_ybr_color.dcm"),
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(c.sop_class, "1.2.840.10008.5.1.4.1.1.3.1");
    assert_eq!(c.transfer_syntax, "1.2.840.10008.1.2.4.50");
    assert_eq!(c.photometric, "YBR_FULL_422");
    assert_eq!(c.frames.len(), 30);
    assert!(c.frames.iter().all(|f| size(f) == (320, 240)));
    assert_eq!((c.stored_width, c.stored_height), (320, 240));
    assert_no_patient_data(&c);
    assert_eq!(c.frame_time_ms, Some(33.333));
    assert_eq!(c.meta.frame_time_ms, Some(33.333));
    assert!((c.fps().unwrap() - 30.0).abs() < 0.01);
    // the region describes a 640-wide image: reported, not trusted, nothing cropped
    assert!(c.region.is_none() && !c.cropped);
    assert_eq!(c.meta.pixel_spacing, None);
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert!(
        c.warnings[0].contains("does not fit the 320x240 image"),
        "{:?}",
        c.warnings
    );
    // luma of DCMTK's RGB output (lossy JPEG: decoders differ by at most 1 grey level)
    assert!((mean(&c.frames[0]) - 9.4888671875).abs() < 0.05);
    assert!((mean(&c.frames[29]) - 10.626302083333334).abs() < 0.05);
    assert_ne!(c.frames[0], c.frames[15], "a cine, not one frame repeated");
}

#[test]
fn epiq_jpeg_lossless_calibrated_region() {
    let Some(dir) = data_dir() else { return };
    let path = file(&dir, "JPGLosslessP14SV1_1s_1f_8b.dcm");
    let c = read_cine(&path, &ReadOptions::default()).unwrap();
    assert_eq!(c.sop_class, "1.2.840.10008.5.1.4.1.1.6.1");
    assert_eq!(c.photometric, "MONOCHROME2");
    assert_eq!(c.frames.len(), 1);
    assert_no_patient_data(&c); // PatientSex empty, HeartRate 0
    assert_eq!(c.frame_time_ms, None);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let r = c.region.expect("the EPIQ region fits and is trusted");
    assert_eq!((r.min_x, r.min_y, r.max_x, r.max_y), (14, 38, 1010, 758));
    let s = c.meta.pixel_spacing.unwrap();
    assert!((s.row_mm - 0.254_766_965_923_781_5).abs() < 1e-9, "{s:?}");
    assert!((s.col_mm - 0.254_766_965_923_781_5).abs() < 1e-9, "{s:?}");
    assert!((s.row_mm - 0.255).abs() < 0.001);
    // cropped to the region's bounding box by default
    assert!(c.cropped);
    assert_eq!(size(&c.frames[0]), (997, 721));
    assert_eq!((c.stored_width, c.stored_height), (1024, 768));

    let full = read_cine(&path, &uncropped()).unwrap();
    assert!(!full.cropped && full.region.is_some());
    assert_eq!(full.meta.pixel_spacing, c.meta.pixel_spacing);
    assert_eq!(size(&full.frames[0]), (1024, 768));
    // lossless: identical to DCMTK
    assert!((mean(&full.frames[0]) - 17.25782648722331).abs() < 1e-9);
    // the crop is exactly the region of the full frame
    let (f, k) = (&full.frames[0], &c.frames[0]);
    for y in 0..k.height() {
        let row = &f.data()[(y + 38) * 1024 + 14..(y + 38) * 1024 + 14 + 997];
        assert_eq!(&k.data()[y * 997..(y + 1) * 997], row, "row {y}");
    }
}

#[test]
fn palette_colour_rle_cine() {
    let Some(dir) = data_dir() else { return };
    let c = read_cine(
        &file(&dir, "US-PAL-8-10x-echo.dcm"),
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(c.transfer_syntax, "1.2.840.10008.1.2.5");
    assert_eq!(c.photometric, "PALETTE COLOR");
    assert_eq!(c.frames.len(), 10);
    assert!(c.frames.iter().all(|f| size(f) == (600, 430)));
    assert_eq!(c.frame_time_ms, Some(76.0));
    assert_no_patient_data(&c);
    assert_eq!(c.meta.pixel_spacing, None);
    assert!(c.region.is_none() && !c.cropped);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert!((mean(&c.frames[0]) - 15.140790697674419).abs() < 1e-9);
    assert!((mean(&c.frames[9]) - 15.07686046511628).abs() < 1e-9);
}

#[test]
fn ge_rgb_uncompressed_male() {
    let Some(dir) = data_dir() else { return };
    let c = read_cine(&file(&dir, "US1_UNCR.dcm"), &ReadOptions::default()).unwrap();
    assert_eq!(c.transfer_syntax, "1.2.840.10008.1.2.1");
    assert_eq!(c.photometric, "RGB");
    assert_eq!(c.frames.len(), 1);
    assert_eq!(size(&c.frames[0]), (640, 480));
    assert_eq!(c.meta.sex, Some(Sex::Male));
    assert_eq!(c.meta.age_years, None);
    assert_eq!(c.meta.view, None);
    assert_eq!(c.meta.heart_rate_bpm, None);
    assert_eq!(c.frame_time_ms, None);
    assert_eq!(c.meta.pixel_spacing, None);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert!((mean(&c.frames[0]) - 35.598889973958336).abs() < 1e-9);
}

#[test]
fn explicit_big_endian_planar_rgb() {
    let Some(dir) = data_dir() else { return };
    let c = read_cine(&file(&dir, "ExplVR_BigEnd.dcm"), &ReadOptions::default()).unwrap();
    assert_eq!(c.transfer_syntax, "1.2.840.10008.1.2.2");
    assert_eq!(c.frames.len(), 1);
    assert_eq!(size(&c.frames[0]), (80, 60));
    assert_no_patient_data(&c);
    assert_eq!(c.frame_time_ms, None);
    assert!((mean(&c.frames[0]) - 222.499375).abs() < 1e-9);
}

const FILES: [&str; 5] = [
    "examples_ybr_color.dcm",
    "JPGLosslessP14SV1_1s_1f_8b.dcm",
    "US-PAL-8-10x-echo.dcm",
    "US1_UNCR.dcm",
    "ExplVR_BigEnd.dcm",
];

/// Deterministic xorshift64 generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn truncated_real_files_are_errors() {
    let Some(dir) = data_dir() else { return };
    for name in FILES {
        let bytes = std::fs::read(file(&dir, name)).unwrap();
        let n = bytes.len();
        let mut cuts = vec![
            0,
            1,
            4,
            64,
            127,
            131,
            132,
            133,
            140,
            200,
            300,
            500,
            1000,
            n - 4,
            n - 1,
        ];
        cuts.extend((1..16).map(|k| n * k / 16));
        let source = Path::new(name);
        for cut in cuts {
            let r = read_cine_bytes(&bytes[..cut], source, &ReadOptions::default());
            let e = r
                .err()
                .unwrap_or_else(|| panic!("{name} cut at {cut}/{n} decoded"));
            assert!(e.to_string().starts_with(name), "{e}");
            if (132..n).contains(&cut) {
                assert!(
                    !matches!(e, DicomError::NotDicom { .. }),
                    "{name} @{cut}: {e}"
                );
            }
        }
        // cuts inside the pixel data are reported as truncation
        for cut in [n / 2, 3 * n / 4, n - 20] {
            let e = read_cine_bytes(&bytes[..cut], source, &ReadOptions::default()).unwrap_err();
            assert!(
                matches!(e, DicomError::Truncated { .. }),
                "{name} @{cut}: {e}"
            );
        }
    }
    // the encapsulated ones without their final sequence delimiter: every frame is there, so
    // they decode, with a warning
    for name in ["examples_ybr_color.dcm", "US-PAL-8-10x-echo.dcm"] {
        let bytes = std::fs::read(file(&dir, name)).unwrap();
        let c = read_cine_bytes(
            &bytes[..bytes.len() - 8],
            Path::new(name),
            &ReadOptions::default(),
        )
        .unwrap();
        assert!(
            c.warnings.iter().any(|w| w.contains("sequence delimiter")),
            "{:?}",
            c.warnings
        );
    }
}

#[test]
fn garbage_is_an_error_never_a_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for i in 0..200 {
        let len = (rng.next() % 6000) as usize;
        let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if i % 2 == 0 && len >= 132 {
            b[128..132].copy_from_slice(b"DICM");
        }
        let r = read_cine_bytes(&b, Path::new("random.bin"), &ReadOptions::default());
        assert!(r.is_err(), "random bytes #{i} decoded");
    }
    let Some(dir) = data_dir() else { return };
    for name in FILES {
        let orig = std::fs::read(file(&dir, name)).unwrap();
        // a real header followed by random bytes
        let mut b = orig[..orig.len().min(1500)].to_vec();
        b.extend((0..4000).map(|_| rng.next() as u8));
        let _ = read_cine_bytes(&b, Path::new(name), &ReadOptions::default());
        // random byte changes in the header (where lengths and sizes live) and anywhere:
        // any outcome but a panic (or a hang) is acceptable
        for k in 0..24 {
            let mut b = orig.clone();
            let span = if k % 2 == 0 {
                b.len().min(4000)
            } else {
                b.len()
            };
            for _ in 0..1 + rng.next() % 6 {
                let at = (rng.next() as usize) % span;
                b[at] = rng.next() as u8;
            }
            let t = std::time::Instant::now();
            let _ = read_cine_bytes(&b, Path::new(name), &ReadOptions::default());
            assert!(
                t.elapsed().as_secs() < 20,
                "{name} variant {k} took {:?}",
                t.elapsed()
            );
        }
    }
}
