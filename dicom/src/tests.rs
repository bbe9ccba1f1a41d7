//! Unit tests of the reader: files built in memory with `dicom-object`, read back.

use crate::jpeg::jpeg_sof;
use crate::layout::{Layout, Photometric};
use crate::rle::decode_rle;
use crate::scale::Scale;
use crate::transfer_syntax::{
    ENCAPSULATED_UNCOMPRESSED_TS, EXPLICIT_BIG_ENDIAN_TS, JPEG_TS, NATIVE_TS, RLE_TS,
};
use crate::*;
use dicom_core::Tag;
use dicom_core::value::{DataSetSequence, PixelFragmentSequence};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::InMemDicomObject;
use dicom_object::mem::InMemElement;
use dicom_object::meta::FileMetaTableBuilder;
use std::path::Path;
use synboost_core::frame::luma;
use synboost_core::meta::{Sex, View};

#[test]
fn ages() {
    assert_eq!(parse_age("073Y"), Some(73));
    assert_eq!(parse_age("056Y"), Some(56));
    assert_eq!(parse_age("006M"), Some(0));
    assert_eq!(parse_age("030M"), Some(2));
    assert_eq!(parse_age("003W"), Some(0));
    assert_eq!(parse_age("010D"), Some(0));
    assert_eq!(parse_age("45"), Some(45));
    assert_eq!(parse_age("300Y"), None);
    assert_eq!(parse_age("130Y"), Some(130));
    // Found by the prompt fuzzer: 140 years went into prompts.
    assert_eq!(parse_age("140Y"), None);
    assert_eq!(parse_age("Y"), None);
    assert_eq!(parse_age("abcY"), None);
    assert_eq!(parse_age(""), None);
    assert_eq!(parse_age("07 Y"), None);
}

#[test]
fn views_from_text() {
    for (s, v) in [
        ("A4C", View::FourChamber),
        ("4CH", View::FourChamber),
        ("Apical four chamber", View::FourChamber),
        ("APICAL 4 CHAMBER", View::FourChamber),
        ("4 CHAMBER", View::FourChamber),
        ("AP4", View::FourChamber),
        ("apical two chamber", View::TwoChamber),
        ("A2C zoom", View::TwoChamber),
        ("Apical long axis", View::ThreeChamber),
        ("Apical three chamber", View::ThreeChamber),
    ] {
        assert_eq!(view_from_text(s), Some(v), "{s}");
    }
    for s in [
        "Parasternal long axis",
        "Subcostal four chamber",
        "Apical five chamber",
        "PLAX",
        "",
        "2CH 4CH",
    ] {
        assert_eq!(view_from_text(s), None, "{s}");
    }
}

#[test]
fn luma_and_scales() {
    assert_eq!(luma(255, 255, 255), 255);
    assert_eq!(luma(0, 0, 0), 0);
    assert_eq!(luma(255, 0, 0), 76);
    assert_eq!(luma(0, 255, 0), 150);
    assert_eq!(luma(0, 0, 255), 29);
    let s = Scale::Linear {
        lo: 0.0,
        hi: 4095.0,
    };
    assert_eq!(s.apply(0), 0);
    assert_eq!(s.apply(4095), 255);
    assert_eq!(s.apply(9999), 255);
    let w = Scale::Window {
        center: 100.0,
        width: 50.0,
    };
    assert_eq!(w.apply(0), 0);
    assert_eq!(w.apply(1000), 255);
    assert!((120..=135).contains(&w.apply(100)));
}

#[test]
fn regions_fit_and_calibrate() {
    let r = UsRegion {
        min_x: 84,
        min_y: 31,
        max_x: 595,
        max_y: 414,
        spatial_format: 1,
        data_type: 1,
        flags: 2,
        units_x: UNITS_CM,
        units_y: UNITS_CM,
        delta_x: 0.05,
        delta_y: 0.05,
        reference_pixel: None,
    };
    assert!(!r.fits(320, 240));
    assert!(r.fits(640, 480));
    assert_eq!(r.width(), 512);
    assert_eq!(r.height(), 384);
    let s = r.pixel_spacing().unwrap();
    assert!((s.row_mm - 0.5).abs() < 1e-12 && (s.col_mm - 0.5).abs() < 1e-12);
    let mm = UsRegion { units_x: 4, ..r };
    assert!(mm.pixel_spacing().is_none());
    let rev = UsRegion { max_x: 10, ..r };
    assert_eq!(rev.width(), 0);
    assert!(!rev.fits(640, 480));
}

const EXPLICIT_LE: &str = uids::EXPLICIT_VR_LITTLE_ENDIAN;

fn el(tag: Tag, vr: VR, v: impl Into<PrimitiveValue>) -> InMemElement {
    DataElement::new(tag, vr, v.into())
}

/// A minimal image file: `extra` elements override the defaults.
fn file(ts: &str, modality: &str, extra: Vec<InMemElement>) -> Vec<u8> {
    let mut obj = InMemDicomObject::new_empty();
    for e in [
        el(tags::SOP_CLASS_UID, VR::UI, US_MULTIFRAME_IMAGE_STORAGE),
        el(tags::SOP_INSTANCE_UID, VR::UI, "2.25.1234"),
        el(tags::MODALITY, VR::CS, modality),
        el(tags::SAMPLES_PER_PIXEL, VR::US, 1_u16),
        el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        el(tags::ROWS, VR::US, 2_u16),
        el(tags::COLUMNS, VR::US, 3_u16),
        el(tags::BITS_ALLOCATED, VR::US, 8_u16),
        el(tags::BITS_STORED, VR::US, 8_u16),
        el(tags::HIGH_BIT, VR::US, 7_u16),
        el(tags::PIXEL_REPRESENTATION, VR::US, 0_u16),
        el(tags::PIXEL_DATA, VR::OB, vec![0_u8, 50, 100, 150, 200, 250]),
    ] {
        obj.put(e);
    }
    for e in extra {
        obj.put(e);
    }
    let f = obj
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(ts))
        .unwrap();
    let mut out = Vec::new();
    f.write_all(&mut out).unwrap();
    out
}

fn read(bytes: &[u8]) -> Result<DicomCine, DicomError> {
    read_cine_bytes(bytes, Path::new("t.dcm"), &ReadOptions::default())
}

#[test]
fn monochrome2_and_metadata() {
    let b = file(
        EXPLICIT_LE,
        "US",
        vec![
            el(tags::PATIENT_SEX, VR::CS, "F"),
            el(tags::PATIENT_AGE, VR::AS, "056Y"),
            el(tags::CINE_RATE, VR::IS, "25"),
            el(tags::HEART_RATE, VR::IS, "61"),
            el(tags::PIXEL_SPACING, VR::DS, "0.3\\0.2"),
            el(tags::VIEW_NAME, VR::LO, "apical 2 chamber"),
        ],
    );
    let c = read(&b).unwrap();
    assert_eq!(c.frames.len(), 1);
    assert_eq!(c.frames[0].data(), &[0, 50, 100, 150, 200, 250]);
    assert_eq!((c.frames[0].width(), c.frames[0].height()), (3, 2));
    assert_eq!(c.meta.sex, Some(Sex::Female));
    assert_eq!(c.meta.age_years, Some(56));
    assert_eq!(c.frame_time_ms, Some(40.0));
    assert_eq!(c.meta.heart_rate_bpm, Some(61.0));
    assert_eq!(c.meta.view, Some(View::TwoChamber));
    let s = c.meta.pixel_spacing.unwrap();
    assert_eq!((s.row_mm, s.col_mm), (0.3, 0.2));
    assert!(c.region.is_none() && !c.cropped && c.warnings.is_empty());
    assert_eq!(c.source, Path::new("t.dcm"));
}

#[test]
fn other_modalities_are_refused() {
    let b = file(
        EXPLICIT_LE,
        "CT",
        vec![el(tags::SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE)],
    );
    let e = read(&b).unwrap_err();
    assert!(matches!(e, DicomError::NotUltrasound { .. }), "{e}");
    assert!(e.to_string().contains("CT"), "{e}");
    // a US SOP class with another modality is read, with a warning
    let c = read(&file(EXPLICIT_LE, "OT", vec![])).unwrap();
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
}

#[test]
fn codecs_this_build_lacks_are_named() {
    let frag = PixelFragmentSequence::new(Vec::<u32>::new(), vec![vec![0xFF_u8, 0x4F, 0xFF, 0x51]]);
    let pixel_data = vec![DataElement::new(tags::PIXEL_DATA, VR::OB, frag)];
    let b = file(uids::JPEG2000, "US", pixel_data);
    let e = read(&b).unwrap_err();
    assert!(
        matches!(
            &e,
            DicomError::UnsupportedTransferSyntax { name, .. } if name == "JPEG 2000 Image Compression"
        ),
        "{e}"
    );
}

#[test]
fn transfer_syntax_names_come_from_the_registry() {
    for (uid, name) in [
        (uids::EXPLICIT_VR_LITTLE_ENDIAN, "Explicit VR Little Endian"),
        (uids::RLE_LOSSLESS, "RLE Lossless"),
        (uids::JPEG_BASELINE8_BIT, "JPEG Baseline (Process 1)"),
        (uids::JPEG2000, "JPEG 2000 Image Compression"),
        (uids::JPEGLS_LOSSLESS, "JPEG-LS Lossless Image Compression"),
        ("1.2.3.4", "unknown"),
    ] {
        assert_eq!(transfer_syntax_name(uid), name, "{uid}");
    }
    // every transfer syntax this crate decodes has a name
    for uid in NATIVE_TS
        .iter()
        .chain(&JPEG_TS)
        .chain(&[RLE_TS, ENCAPSULATED_UNCOMPRESSED_TS])
    {
        assert_ne!(transfer_syntax_name(uid), "unknown", "{uid}");
    }
}

#[test]
fn sixteen_bit_monochrome1_with_window() {
    let px: Vec<u16> = vec![0, 1000, 2000, 3000, 4000, 4095];
    let b = file(
        EXPLICIT_LE,
        "US",
        vec![
            el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME1"),
            el(tags::BITS_ALLOCATED, VR::US, 16_u16),
            el(tags::BITS_STORED, VR::US, 12_u16),
            el(tags::HIGH_BIT, VR::US, 11_u16),
            DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(px.into())),
        ],
    );
    let c = read(&b).unwrap();
    // full 12-bit range, inverted
    assert_eq!(c.frames[0].data(), &[255, 193, 130, 68, 6, 0]);
    let mut with_window = file(
        EXPLICIT_LE,
        "US",
        vec![
            el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
            el(tags::BITS_ALLOCATED, VR::US, 16_u16),
            el(tags::BITS_STORED, VR::US, 12_u16),
            el(tags::WINDOW_CENTER, VR::DS, "2000"),
            el(tags::WINDOW_WIDTH, VR::DS, "2001"),
            DataElement::new(
                tags::PIXEL_DATA,
                VR::OW,
                PrimitiveValue::U16(vec![0_u16, 999, 1000, 2000, 3000, 4095].into()),
            ),
        ],
    );
    let c = read(&with_window).unwrap();
    assert_eq!(c.frames[0].data(), &[0, 0, 0, 128, 255, 255]);
    // pixel data one byte short of the frame
    let n = with_window.len();
    with_window.truncate(n - 2);
    assert!(read(&with_window).is_err());
}

#[test]
fn rgb_planar_and_ybr_422() {
    // 3x2 RGB, planar configuration 1: all R, then all G, then all B
    let mut planes = vec![255_u8, 0, 0, 10, 20, 30];
    planes.extend([0_u8, 255, 0, 10, 20, 30]);
    planes.extend([0_u8, 0, 255, 10, 20, 30]);
    let b = file(
        EXPLICIT_LE,
        "US",
        vec![
            el(tags::SAMPLES_PER_PIXEL, VR::US, 3_u16),
            el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "RGB"),
            el(tags::PLANAR_CONFIGURATION, VR::US, 1_u16),
            el(tags::PIXEL_DATA, VR::OB, planes),
        ],
    );
    let c = read(&b).unwrap();
    assert_eq!(c.frames[0].data(), &[76, 150, 29, 10, 20, 30]);
    // YBR_FULL_422: Y1 Y2 Cb Cr per pixel pair; 4x1 image
    let b = file(
        EXPLICIT_LE,
        "US",
        vec![
            el(tags::SAMPLES_PER_PIXEL, VR::US, 3_u16),
            el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "YBR_FULL_422"),
            el(tags::ROWS, VR::US, 1_u16),
            el(tags::COLUMNS, VR::US, 4_u16),
            el(
                tags::PIXEL_DATA,
                VR::OB,
                vec![10_u8, 20, 128, 128, 30, 40, 100, 200],
            ),
        ],
    );
    let c = read(&b).unwrap();
    assert_eq!(c.frames[0].data(), &[10, 20, 30, 40]);
}

#[test]
fn palette_colour() {
    let lut =
        |v: [u16; 4]| DataElement::new(Tag(0, 0), VR::OW, PrimitiveValue::U16(v.to_vec().into()));
    let mut elems = vec![
        el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "PALETTE COLOR"),
        el(tags::ROWS, VR::US, 1_u16),
        el(tags::COLUMNS, VR::US, 4_u16),
        el(tags::PIXEL_DATA, VR::OB, vec![10_u8, 11, 12, 200]),
    ];
    let (r, g, b) = (
        [0xFFFF_u16, 0, 0, 0x8000],
        [0_u16, 0xFFFF, 0, 0x8000],
        [0_u16, 0, 0xFFFF, 0x8000],
    );
    for (desc, data, v) in [
        (
            tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            r,
        ),
        (
            tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            g,
        ),
        (
            tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            b,
        ),
    ] {
        elems.push(el(desc, VR::US, [4_u16, 10, 16]));
        let (_, value) = lut(v).into_parts();
        elems.push(DataElement::new(data, VR::OW, value));
    }
    let c = read(&file(EXPLICIT_LE, "US", elems)).unwrap();
    // red, green, blue, grey 128 (index past the end clamps to the last entry)
    assert_eq!(c.frames[0].data(), &[76, 150, 29, 128]);
}

/// RLE-encode with literal runs only (valid PackBits).
fn rle_segment(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in bytes.chunks(128) {
        out.push((chunk.len() - 1) as u8);
        out.extend_from_slice(chunk);
    }
    if out.len() % 2 == 1 {
        out.push(0x80); // no-op padding
    }
    out
}

fn rle_fragment(segments: &[Vec<u8>]) -> Vec<u8> {
    let mut header = vec![0_u8; 64];
    header[..4].copy_from_slice(&(segments.len() as u32).to_le_bytes());
    let mut offset = 64_u32;
    let mut body = Vec::new();
    for (i, s) in segments.iter().enumerate() {
        header[4 + 4 * i..8 + 4 * i].copy_from_slice(&offset.to_le_bytes());
        let enc = rle_segment(s);
        offset += enc.len() as u32;
        body.extend(enc);
    }
    header.extend(body);
    header
}

#[test]
fn rle_sixteen_bit_and_colour() {
    // 16-bit grey 3x2, most significant byte segment first
    let vals: [u16; 6] = [0, 0x0FFF, 0x0800, 0x0100, 0x0010, 0x0FF0];
    let msb: Vec<u8> = vals.iter().map(|v| (v >> 8) as u8).collect();
    let lsb: Vec<u8> = vals.iter().map(|v| (v & 0xFF) as u8).collect();
    let frag = rle_fragment(&[msb, lsb]);
    let px = PixelFragmentSequence::new(Vec::<u32>::new(), vec![frag]);
    let b = file(
        RLE_TS,
        "US",
        vec![
            el(tags::BITS_ALLOCATED, VR::US, 16_u16),
            el(tags::BITS_STORED, VR::US, 12_u16),
            DataElement::new(tags::PIXEL_DATA, VR::OB, px),
        ],
    );
    let c = read(&b).unwrap();
    let expect: Vec<u8> = vals
        .iter()
        .map(|&v| (f64::from(v) / 4095.0 * 255.0).round() as u8)
        .collect();
    assert_eq!(c.frames[0].data(), &expect[..]);

    // two RGB frames, one fragment each
    let frame = |k: u8| {
        rle_fragment(&[
            vec![255, 0, 0, k, k, k],
            vec![0, 255, 0, k, k, k],
            vec![0, 0, 255, k, k, k],
        ])
    };
    let px = PixelFragmentSequence::new(Vec::<u32>::new(), vec![frame(7), frame(9)]);
    let b = file(
        RLE_TS,
        "US",
        vec![
            el(tags::SAMPLES_PER_PIXEL, VR::US, 3_u16),
            el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "RGB"),
            el(tags::NUMBER_OF_FRAMES, VR::IS, "2"),
            DataElement::new(tags::PIXEL_DATA, VR::OB, px),
        ],
    );
    let c = read(&b).unwrap();
    assert_eq!(c.frames.len(), 2);
    assert_eq!(c.frames[0].data(), &[76, 150, 29, 7, 7, 7]);
    assert_eq!(c.frames[1].data(), &[76, 150, 29, 9, 9, 9]);

    // a fragment whose segment is short: an error, not a panic
    let mut short = frame(7);
    short.truncate(short.len() - 4);
    let px = PixelFragmentSequence::new(Vec::<u32>::new(), vec![short]);
    let b = file(
        RLE_TS,
        "US",
        vec![
            el(tags::SAMPLES_PER_PIXEL, VR::US, 3_u16),
            el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "RGB"),
            DataElement::new(tags::PIXEL_DATA, VR::OB, px),
        ],
    );
    let e = read(&b).unwrap_err();
    assert!(matches!(e, DicomError::Decode { frame: 0, .. }), "{e}");
}

#[test]
fn regions_view_codes_and_crop() {
    let region = |x1: u32| {
        let mut item = InMemDicomObject::new_empty();
        for e in [
            el(tags::REGION_SPATIAL_FORMAT, VR::US, 1_u16),
            el(tags::REGION_DATA_TYPE, VR::US, 1_u16),
            el(tags::REGION_FLAGS, VR::UL, 2_u32),
            el(tags::REGION_LOCATION_MIN_X0, VR::UL, 1_u32),
            el(tags::REGION_LOCATION_MIN_Y0, VR::UL, 0_u32),
            el(tags::REGION_LOCATION_MAX_X1, VR::UL, x1),
            el(tags::REGION_LOCATION_MAX_Y1, VR::UL, 1_u32),
            el(tags::PHYSICAL_UNITS_X_DIRECTION, VR::US, 3_u16),
            el(tags::PHYSICAL_UNITS_Y_DIRECTION, VR::US, 3_u16),
            el(tags::PHYSICAL_DELTA_X, VR::FD, 0.02_f64),
            el(tags::PHYSICAL_DELTA_Y, VR::FD, 0.03_f64),
        ] {
            item.put(e);
        }
        DataElement::new(
            tags::SEQUENCE_OF_ULTRASOUND_REGIONS,
            VR::SQ,
            DataSetSequence::from(vec![item]),
        )
    };
    let mut code = InMemDicomObject::new_empty();
    code.put(el(tags::CODE_VALUE, VR::SH, "399214001"));
    code.put(el(tags::CODING_SCHEME_DESIGNATOR, VR::SH, "SCT"));
    code.put(el(tags::CODE_MEANING, VR::LO, "Apical four chamber"));
    let view = DataElement::new(
        tags::VIEW_CODE_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![code]),
    );
    let b = file(
        EXPLICIT_LE,
        "US",
        vec![region(2), view, el(tags::PIXEL_SPACING, VR::DS, "9\\9")],
    );
    let c = read(&b).unwrap();
    assert_eq!(c.meta.view, Some(View::FourChamber));
    assert!(c.cropped);
    assert_eq!(c.frames[0].data(), &[50, 100, 200, 250]);
    assert_eq!((c.frames[0].width(), c.frames[0].height()), (2, 2));
    let s = c.meta.pixel_spacing.unwrap();
    assert!(
        (s.col_mm - 0.2).abs() < 1e-12 && (s.row_mm - 0.3).abs() < 1e-12,
        "{s:?}"
    );
    let uncropped = read_cine_bytes(
        &b,
        Path::new("t.dcm"),
        &ReadOptions {
            crop_to_region: false,
            ..ReadOptions::default()
        },
    )
    .unwrap();
    assert!(!uncropped.cropped && uncropped.region.is_some());
    assert_eq!(uncropped.frames[0].width(), 3);
    // a region that does not fit: warned about, not trusted, PixelSpacing used instead
    let c = read(&file(
        EXPLICIT_LE,
        "US",
        vec![region(3), el(tags::PIXEL_SPACING, VR::DS, "0.5\\0.4")],
    ))
    .unwrap();
    assert!(c.region.is_none() && !c.cropped);
    assert_eq!(c.frames[0].width(), 3);
    assert!(
        c.warnings.iter().any(|w| w.contains("does not fit")),
        "{:?}",
        c.warnings
    );
    let s = c.meta.pixel_spacing.unwrap();
    assert_eq!((s.row_mm, s.col_mm), (0.5, 0.4));
}

#[test]
fn implicit_and_big_endian_data_sets_with_sequences() {
    for ts in [uids::IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_BIG_ENDIAN_TS] {
        let mut code = InMemDicomObject::new_empty();
        code.put(el(tags::CODE_VALUE, VR::SH, "399232001"));
        code.put(el(tags::CODING_SCHEME_DESIGNATOR, VR::SH, "SCT"));
        code.put(el(tags::CODE_MEANING, VR::LO, "Apical two chamber"));
        let view = DataElement::new(
            tags::VIEW_CODE_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![code]),
        );
        let px: Vec<u16> = vec![0, 100, 200, 300, 400, 1023];
        let b = file(
            ts,
            "US",
            vec![
                view,
                el(tags::FRAME_TIME, VR::DS, "33.3"),
                el(tags::BITS_ALLOCATED, VR::US, 16_u16),
                el(tags::BITS_STORED, VR::US, 10_u16),
                el(tags::HIGH_BIT, VR::US, 9_u16),
                DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(px.into())),
            ],
        );
        let c = read(&b).unwrap_or_else(|e| panic!("{ts}: {e}"));
        assert_eq!(c.transfer_syntax, ts);
        assert_eq!(c.meta.view, Some(View::TwoChamber), "{ts}");
        assert_eq!(c.frame_time_ms, Some(33.3));
        assert_eq!(c.frames[0].data(), &[0, 25, 50, 75, 100, 255], "{ts}");
        // every cut is an error
        for cut in (0..b.len()).step_by(7) {
            assert!(read(&b[..cut]).is_err(), "{ts} cut at {cut}");
        }
    }
}

#[test]
fn absurd_sizes_are_refused_before_decoding() {
    let b = file(
        EXPLICIT_LE,
        "US",
        vec![
            el(tags::ROWS, VR::US, 60000_u16),
            el(tags::COLUMNS, VR::US, 60000_u16),
            el(tags::NUMBER_OF_FRAMES, VR::IS, "1000"),
        ],
    );
    assert!(matches!(read(&b).unwrap_err(), DicomError::TooLarge { .. }));
    let b = file(
        EXPLICIT_LE,
        "US",
        vec![el(tags::NUMBER_OF_FRAMES, VR::IS, "3")],
    );
    assert!(matches!(
        read(&b).unwrap_err(),
        DicomError::SizeMismatch { .. }
    ));
}

#[test]
fn hostile_lengths_are_caught_before_parsing() {
    let mut b = file(
        EXPLICIT_LE,
        "US",
        vec![el(tags::PATIENT_ID, VR::LO, "ABCD")],
    );
    // find PatientID (0010,0020) "LO" and claim a huge length
    let pos = b
        .windows(6)
        .position(|w| w == [0x10, 0x00, 0x20, 0x00, b'L', b'O'])
        .unwrap();
    b[pos + 6] = 0xFF;
    b[pos + 7] = 0xFF;
    let e = read(&b).unwrap_err();
    assert!(matches!(e, DicomError::Truncated { .. }), "{e}");
    // an OB element claiming 4 GB
    let mut b = file(EXPLICIT_LE, "US", vec![]);
    let pos = b
        .windows(6)
        .position(|w| w == [0xE0, 0x7F, 0x10, 0x00, b'O', b'B'])
        .unwrap();
    b[pos + 8..pos + 12].copy_from_slice(&0xFFFF_FFF0_u32.to_le_bytes());
    let t = std::time::Instant::now();
    let e = read(&b).unwrap_err();
    assert!(matches!(e, DicomError::Truncated { .. }), "{e}");
    assert!(t.elapsed().as_secs() < 2);
}

#[test]
fn a_length_that_is_no_whole_number_of_values_is_refused() {
    // Found by the dicom fuzzer: a group length (UL, 4 bytes) whose VR was changed to SV
    // (8-byte values) with a 12-byte length. The parser read one value (8 bytes), lost its
    // place by 4 bytes and read a 1.4 GB length out of the next element's VR.
    let mut b = file(
        EXPLICIT_LE,
        "US",
        vec![el(tags::PATIENT_ID, VR::LO, "ABCDEFGH")],
    );
    let pos = b
        .windows(6)
        .position(|w| w == [0x10, 0x00, 0x20, 0x00, b'L', b'O'])
        .unwrap();
    // (0010,0020) SV, reserved 0, length 12 (LE), then the 8 value bytes of "ABCDEFGH"
    // and 4 more taken from what follows: rewrite the header in place (8 → 12 bytes).
    let mut header = vec![0x10, 0x00, 0x20, 0x00, b'S', b'V', 0, 0];
    header.extend_from_slice(&12u32.to_le_bytes());
    b.splice(pos..pos + 8, header);
    let e = read(&b).unwrap_err();
    assert!(matches!(e, DicomError::Malformed { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("not a multiple of its 8-byte values"),
        "{e}"
    );
    // The fuzzer's own input is in fuzz/regressions/dicom/ (replayed by
    // tests/tests/fuzz_regressions.rs).
    let input = include_bytes!("../../fuzz/regressions/dicom/sv-group-length-not-multiple-of-8");
    let e = read_cine_bytes(input, Path::new("sv.dcm"), &ReadOptions::default()).unwrap_err();
    assert!(e.to_string().contains("not a multiple"), "{e}");
}

#[test]
fn a_deflated_data_set_is_checked_inflated() {
    // Found by the dicom fuzzer: a Deflated Explicit VR Little Endian file whose inflated
    // data set declares a 320 MB value; the scanner used to leave deflated data sets to
    // the parser, which allocated it.
    let input = include_bytes!("../../fuzz/regressions/dicom/deflated-320mb-value");
    let e = read_cine_bytes(input, Path::new("d.dcm"), &ReadOptions::default()).unwrap_err();
    assert!(matches!(e, DicomError::Malformed { .. }), "{e}");
    assert!(e.to_string().contains("deflated data set"), "{e}");
    // A well-formed deflated data set still reads.
    let b = file(uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, "US", vec![]);
    let c = read(&b).unwrap();
    assert_eq!((c.frames[0].width(), c.frames[0].height()), (3, 2));
    let small = ReadOptions {
        max_inflated_bytes: 16,
        ..ReadOptions::default()
    };
    let e = read_cine_bytes(&b, Path::new("d.dcm"), &small).unwrap_err();
    assert!(e.to_string().contains("inflates past 16 bytes"), "{e}");
}

#[test]
fn rle_decoder_checks_lengths() {
    let layout = Layout {
        rows: 1,
        cols: 4,
        photometric: Photometric::Mono2,
        bits_allocated: 8,
        bits_stored: 8,
        signed: false,
        planar: false,
    };
    // replicate run: -3 → 4 copies
    let mut frag = vec![0_u8; 64];
    frag[0] = 1;
    frag[4] = 64;
    frag.extend([0xFD, 9]);
    assert_eq!(decode_rle(&frag, layout).unwrap(), vec![9, 9, 9, 9]);
    assert!(decode_rle(&frag[..65], layout).is_err());
    assert!(decode_rle(&frag[..10], layout).is_err());
    let mut two = frag.clone();
    two[0] = 2;
    assert!(decode_rle(&two, layout).is_err());
    let mut bad_offset = frag.clone();
    bad_offset[4] = 200;
    assert!(decode_rle(&bad_offset, layout).is_err());
}

#[test]
fn jpeg_headers() {
    // SOI, APP0 (len 4), SOF0 8-bit 2x3 with 1 component
    let j = [
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x02,
        0x00, 0x03, 0x01, 0x01, 0x11, 0x00,
    ];
    let sof = jpeg_sof(&j).unwrap();
    assert_eq!(
        (sof.precision, sof.height, sof.width, sof.components),
        (8, 2, 3, 1)
    );
    assert!(jpeg_sof(&j[..12]).is_none());
    assert!(jpeg_sof(&[0xFF, 0xD8, 0xFF, 0xDA, 0, 2]).is_none());
    assert!(jpeg_sof(b"garbage").is_none());
}

#[test]
fn garbage_is_not_dicom() {
    let p = Path::new("junk.dcm");
    let e = read_cine_bytes(b"hello", p, &ReadOptions::default()).unwrap_err();
    assert!(matches!(e, DicomError::NotDicom { .. }), "{e}");
    assert!(e.to_string().starts_with("junk.dcm:"), "{e}");
    let mut b = vec![0u8; 400];
    b[128..132].copy_from_slice(b"DICM");
    let e = read_cine_bytes(&b, p, &ReadOptions::default()).unwrap_err();
    assert!(!matches!(e, DicomError::NotUltrasound { .. }), "{e}");
}
