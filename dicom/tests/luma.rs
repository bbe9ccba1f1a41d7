//! One luma: an RGB DICOM frame decodes to exactly the grey pixels that the frame path
//! (`synboost_core::frame`, what a scanner's pushed RGB8 frames go through) gives for the same
//! RGB8 bytes.
//!
//! The RGB files are built in memory with `dicom-object` (interleaved and planar), over frames
//! of thousands of distinct colours; the real RGB files of `SYNBOOST_DICOM_DIR` are compared
//! too when the folder is there (else that test prints "skipped", unless
//! `SYNBOOST_REQUIRE_DATA=1`). The colours are checked to tell other lumas apart (truncated
//! instead of rounded, BT.709 weights, the channel mean), so a decoder with any of them fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::data_dir;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::InMemDicomObject;
use dicom_object::mem::InMemElement;
use dicom_object::meta::FileMetaTableBuilder;
use std::collections::HashSet;
use std::path::Path;
use synboost_core::frame::{FrameView, GrayConverter, PixelFormat};
use synboost_dicom::{ReadOptions, US_MULTIFRAME_IMAGE_STORAGE, read_cine, read_cine_bytes};

const WIDTH: usize = 96;
const HEIGHT: usize = 64;

/// The frame path: RGB8 bytes (interleaved, rows `3 × width` apart) → grey, row by row, as the
/// preprocessor converts a pushed frame.
fn frame_path_gray(width: usize, height: usize, rgb: &[u8]) -> Vec<u8> {
    let view = FrameView::new(PixelFormat::Rgb8, width, height, 3 * width, rgb).unwrap();
    let conv = GrayConverter::default();
    let mut out = Vec::with_capacity(width * height);
    let mut scratch = Vec::new();
    for y in 0..height {
        out.extend_from_slice(conv.gray_row(&view, y, 0, width, &mut scratch).unwrap());
    }
    out
}

/// `n` RGB pixels, interleaved: the eight corners of the colour cube, the grey ramp, then
/// pseudo-random colours (xorshift64), all distinct.
fn colours(n: usize, seed: u64) -> Vec<u8> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(3 * n);
    let mut push = |c: [u8; 3], out: &mut Vec<u8>| {
        if out.len() < 3 * n && seen.insert(c) {
            out.extend_from_slice(&c);
        }
    };
    for i in 0..8u8 {
        let bit = |b: u8| if i & b != 0 { 255 } else { 0 };
        push([bit(1), bit(2), bit(4)], &mut out);
    }
    for v in (0..=255u8).step_by(5) {
        push([v, v, v], &mut out);
    }
    let mut s = seed | 1;
    while out.len() < 3 * n {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let [r, g, b, ..] = s.to_le_bytes();
        push([r, g, b], &mut out);
    }
    out
}

/// Interleaved RGB → three planes (`PlanarConfiguration` 1).
fn planes(rgb: &[u8]) -> Vec<u8> {
    (0..3)
        .flat_map(|c| rgb.chunks_exact(3).map(move |p| p[c]))
        .collect()
}

/// Three planes → interleaved RGB.
fn interleave(planar: &[u8]) -> Vec<u8> {
    let n = planar.len() / 3;
    (0..n)
        .flat_map(|i| [planar[i], planar[n + i], planar[2 * n + i]])
        .collect()
}

fn el(tag: dicom_core::Tag, vr: VR, v: impl Into<PrimitiveValue>) -> InMemElement {
    DataElement::new(tag, vr, v.into())
}

/// An uncompressed 8-bit RGB US Multi-frame file of `frames` (each `WIDTH × HEIGHT`, stored
/// as given: interleaved, or planes when `planar`).
fn rgb_file(frames: &[Vec<u8>], planar: bool) -> Vec<u8> {
    let mut obj = InMemDicomObject::new_empty();
    let pixel_data: Vec<u8> = frames.concat();
    for e in [
        el(tags::SOP_CLASS_UID, VR::UI, US_MULTIFRAME_IMAGE_STORAGE),
        el(tags::SOP_INSTANCE_UID, VR::UI, "2.25.4242"),
        el(tags::MODALITY, VR::CS, "US"),
        el(tags::SAMPLES_PER_PIXEL, VR::US, 3_u16),
        el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "RGB"),
        el(tags::PLANAR_CONFIGURATION, VR::US, u16::from(planar)),
        el(tags::NUMBER_OF_FRAMES, VR::IS, frames.len().to_string()),
        el(tags::ROWS, VR::US, HEIGHT as u16),
        el(tags::COLUMNS, VR::US, WIDTH as u16),
        el(tags::BITS_ALLOCATED, VR::US, 8_u16),
        el(tags::BITS_STORED, VR::US, 8_u16),
        el(tags::HIGH_BIT, VR::US, 7_u16),
        el(tags::PIXEL_REPRESENTATION, VR::US, 0_u16),
        el(tags::PIXEL_DATA, VR::OB, pixel_data),
    ] {
        obj.put(e);
    }
    let file = obj
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
        .unwrap();
    let mut out = Vec::new();
    file.write_all(&mut out).unwrap();
    out
}

/// Pixels where `other` (another way to make grey of RGB) differs from the frame path.
fn differing(rgb: &[u8], grey: &[u8], other: impl Fn(u32, u32, u32) -> u32) -> usize {
    rgb.chunks_exact(3)
        .zip(grey)
        .filter(|(p, g)| {
            let (r, gr, b) = (u32::from(p[0]), u32::from(p[1]), u32::from(p[2]));
            other(r, gr, b) != u32::from(**g)
        })
        .count()
}

/// The frame's colours tell the frame path's luma apart from other lumas: a decoder using any
/// of them would fail the pixel-for-pixel comparison.
fn assert_discriminating(rgb: &[u8], grey: &[u8]) {
    let distinct: HashSet<&[u8]> = rgb.chunks_exact(3).collect();
    assert_eq!(
        distinct.len(),
        rgb.len() / 3,
        "colours are not all distinct"
    );
    let truncated = differing(rgb, grey, |r, g, b| (299 * r + 587 * g + 114 * b) / 1000);
    let bt709 = differing(rgb, grey, |r, g, b| {
        (2126 * r + 7152 * g + 722 * b + 5000) / 10000
    });
    let mean = differing(rgb, grey, |r, g, b| (r + g + b + 1) / 3);
    let n = grey.len();
    for (name, count) in [("truncated", truncated), ("BT.709", bt709), ("mean", mean)] {
        assert!(
            count > n / 10,
            "{name} luma differs on only {count} of {n} pixels"
        );
    }
    let levels: HashSet<u8> = grey.iter().copied().collect();
    assert!(levels.len() > 200, "{} grey levels", levels.len());
}

/// Pixel-for-pixel equality of the decoded frame and the frame path's grey, naming the first
/// pixel that differs and how many do.
fn assert_same_grey(rgb: &[u8], decoded: &[u8], expected: &[u8], what: &str) {
    assert_eq!(decoded.len(), expected.len(), "{what}: pixel count");
    let wrong: Vec<usize> = (0..expected.len())
        .filter(|&i| decoded[i] != expected[i])
        .collect();
    if let Some(&i) = wrong.first() {
        panic!(
            "{what}: {} of {} pixels differ from the frame path; first #{i}: RGB {:?} → {} \
             decoded, {} by the frame path",
            wrong.len(),
            expected.len(),
            &rgb[3 * i..3 * i + 3],
            decoded[i],
            expected[i]
        );
    }
}

fn read(bytes: &[u8]) -> synboost_dicom::DicomCine {
    read_cine_bytes(bytes, Path::new("rgb.dcm"), &ReadOptions::default()).unwrap()
}

#[test]
fn interleaved_rgb_frames_decode_to_the_frame_path_luma() {
    let frames = [colours(WIDTH * HEIGHT, 1), colours(WIDTH * HEIGHT, 2)];
    let cine = read(&rgb_file(&frames, false));
    assert_eq!(cine.photometric, "RGB");
    assert_eq!(cine.frames.len(), frames.len());
    for (i, (rgb, decoded)) in frames.iter().zip(&cine.frames).enumerate() {
        assert_eq!((decoded.width(), decoded.height()), (WIDTH, HEIGHT));
        let expected = frame_path_gray(WIDTH, HEIGHT, rgb);
        assert_discriminating(rgb, &expected);
        assert_same_grey(rgb, decoded.data(), &expected, &format!("frame {i}"));
    }
}

#[test]
fn planar_rgb_decodes_to_the_frame_path_luma() {
    let rgb = colours(WIDTH * HEIGHT, 3);
    let cine = read(&rgb_file(&[planes(&rgb)], true));
    let expected = frame_path_gray(WIDTH, HEIGHT, &rgb);
    assert_discriminating(&rgb, &expected);
    assert_same_grey(&rgb, cine.frames[0].data(), &expected, "planar");
}

#[test]
fn real_rgb_files_decode_to_the_frame_path_luma() {
    let Some(dir) = data_dir() else { return };
    // GE LOGIQ 700 (explicit VR little endian) and a planar image in explicit VR big endian
    for name in ["US1_UNCR.dcm", "ExplVR_BigEnd.dcm"] {
        let path = dir.join(name);
        let opts = ReadOptions {
            crop_to_region: false,
            ..ReadOptions::default()
        };
        let cine = read_cine(&path, &opts).unwrap();
        assert_eq!(cine.photometric, "RGB", "{name}");
        let obj = dicom_object::open_file(&path).unwrap();
        let planar = obj
            .element(tags::PLANAR_CONFIGURATION)
            .map(|e| e.to_int::<u16>().unwrap())
            .unwrap_or(0)
            == 1;
        let stored = obj.element(tags::PIXEL_DATA).unwrap().to_bytes().unwrap();
        let (w, h) = (cine.stored_width, cine.stored_height);
        let frame = stored.get(..3 * w * h).unwrap();
        let rgb = if planar {
            interleave(frame)
        } else {
            frame.to_vec()
        };
        let expected = frame_path_gray(w, h, &rgb);
        assert_same_grey(&rgb, cine.frames[0].data(), &expected, name);
        let levels: HashSet<u8> = expected.iter().copied().collect();
        assert!(levels.len() > 16, "{name}: {} grey levels", levels.len());
    }
}
