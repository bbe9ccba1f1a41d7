//! `synboost-dicom`: DICOM ultrasound files → greyscale frames + [`ScanMeta`], for replaying
//! real cines and analysing recordings on a host (a scanner hands frames to `libsynboost.so`
//! directly and links none of this).
//!
//! [`read_cine`] reads US Image (`1.2.840.10008.5.1.4.1.1.6.1`) and US Multi-frame Image
//! (`1.2.840.10008.5.1.4.1.1.3.1`) files, their retired predecessors, and any other file whose
//! Modality is `US`; every other modality is refused with [`DicomError::NotUltrasound`].
//!
//! What comes out:
//!
//! - **Frames** as 8-bit greyscale: MONOCHROME2 as is, MONOCHROME1 inverted, RGB and YBR through
//!   [`synboost_core::frame::luma`] (`0.299 R + 0.587 G + 0.114 B`, the frame path's own; for YBR data the Y sample already is that
//!   luma), PALETTE COLOR through its lookup table and then luma. Samples wider than 8 bits are
//!   scaled to 8 bits with the first VOI window when the file has one, else over the range that
//!   `BitsStored` allows.
//! - **Metadata**: `PatientSex` (`M`/`F`; empty or `O` → none), `PatientAge` (`073Y` → 73;
//!   months, weeks and days → whole years, so 0 under a year), the frame time from `FrameTime`,
//!   else `FrameTimeVector`, `RecommendedDisplayFrameRate` or `CineRate`, `HeartRate` only when
//!   positive, the apical view from `ViewCodeSequence` (CID 12226 codes or their meanings) or
//!   `ViewName`, and the pixel spacing.
//! - **Calibration**: the pixel spacing comes from the `SequenceOfUltrasoundRegions` 2D region
//!   whose physical units are cm in both directions (`PhysicalDeltaX/Y` are cm per pixel, ×10 →
//!   mm), with `PixelSpacing` (0028,0030) as a fallback. A region that does not fit inside the
//!   image is reported in [`DicomCine::warnings`], logged, and not trusted. With
//!   [`ReadOptions::crop_to_region`] (the default) frames are cropped to the trusted region.
//!
//! Bad input (garbage, truncated files, sizes that do not add up, codecs this build lacks) gives
//! a [`DicomError`] that names the file; the decoders of `dicom-rs` are additionally run under
//! [`std::panic::catch_unwind`], because some of them index out of bounds on hostile data.

#![deny(missing_docs)]

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::file::ReadPreamble;
use dicom_object::{DefaultDicomObject, InMemDicomObject, OpenFileOptions, ReadError};
use dicom_pixeldata::PixelDecoder;
use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use synboost_core::meta::{PixelSpacing, ScanMeta, Sex, View};
use synboost_core::raster::GrayImage;

/// SOP Class UID of the US Image Storage class.
pub const US_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.6.1";
/// SOP Class UID of the US Multi-frame Image Storage class.
pub const US_MULTIFRAME_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.3.1";
/// SOP Class UID of the retired US Image Storage class (1993).
pub const US_IMAGE_STORAGE_RETIRED: &str = "1.2.840.10008.5.1.4.1.1.6";
/// SOP Class UID of the retired US Multi-frame Image Storage class (1993).
pub const US_MULTIFRAME_IMAGE_STORAGE_RETIRED: &str = "1.2.840.10008.5.1.4.1.1.3";

/// `PhysicalUnitsX/YDirection` value for centimetres.
pub const UNITS_CM: u16 = 3;
/// `RegionSpatialFormat` value for a 2D (tissue or flow) region.
pub const SPATIAL_FORMAT_2D: u16 = 1;
/// `RegionDataType` value for tissue.
pub const DATA_TYPE_TISSUE: u16 = 1;

/// SNOMED CT codes of CID 12226 (Echocardiography Image View) for the apical views:
/// `(code value, view)`, coding scheme `SCT`.
pub const VIEW_CODES_SCT: [(&str, View); 3] = [
    ("399232001", View::TwoChamber),
    ("399149008", View::ThreeChamber),
    ("399214001", View::FourChamber),
];

/// The SNOMED RT codes older files carry for the same views (coding scheme `SRT`).
const VIEW_CODES_SRT: [(&str, View); 3] = [
    ("G-A19B", View::TwoChamber),
    ("G-0395", View::ThreeChamber),
    ("G-A19C", View::FourChamber),
];

/// Transfer syntaxes whose pixel data is stored natively (uncompressed) in the data set.
const NATIVE_TS: [&str; 4] = [
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.1.99",
];
/// JPEG transfer syntaxes this build decodes (baseline, extended, lossless, lossless SV1).
const JPEG_TS: [&str; 4] = [
    "1.2.840.10008.1.2.4.50",
    "1.2.840.10008.1.2.4.51",
    "1.2.840.10008.1.2.4.57",
    "1.2.840.10008.1.2.4.70",
];
/// RLE Lossless.
const RLE_TS: &str = "1.2.840.10008.1.2.5";
/// Encapsulated Uncompressed Explicit VR Little Endian.
const ENCAPSULATED_UNCOMPRESSED_TS: &str = "1.2.840.10008.1.2.1.98";

/// Options for [`read_cine`].
#[derive(Debug, Clone, PartialEq)]
pub struct ReadOptions {
    /// Crop every frame to the bounding box of the trusted calibrated region, when there is
    /// one (default `true`). The pixel spacing applies either way.
    pub crop_to_region: bool,
    /// Refuse files whose frames hold more pixels than this in total (default 2³⁰), before
    /// decoding anything.
    pub max_total_pixels: u64,
    /// Refuse a deflated data set (Deflated Explicit VR Little Endian) that inflates past this
    /// many bytes (default 1 GiB); it is inflated once to be checked before it is parsed.
    pub max_inflated_bytes: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            crop_to_region: true,
            max_total_pixels: 1 << 30,
            max_inflated_bytes: 1 << 30,
        }
    }
}

/// One item of `SequenceOfUltrasoundRegions` (0018,6011), in the pixel coordinates of the
/// full (uncropped) image. Bounds are inclusive, as in DICOM.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UsRegion {
    /// `RegionLocationMinX0`: first column.
    pub min_x: u32,
    /// `RegionLocationMinY0`: first row.
    pub min_y: u32,
    /// `RegionLocationMaxX1`: last column.
    pub max_x: u32,
    /// `RegionLocationMaxY1`: last row.
    pub max_y: u32,
    /// `RegionSpatialFormat` (1 = 2D, 2 = M-mode, 3 = spectral, 4 = waveform, …).
    pub spatial_format: u16,
    /// `RegionDataType` (1 = tissue, 2 = colour flow, …).
    pub data_type: u16,
    /// `RegionFlags` bit field.
    pub flags: u32,
    /// `PhysicalUnitsXDirection` (3 = cm).
    pub units_x: u16,
    /// `PhysicalUnitsYDirection` (3 = cm).
    pub units_y: u16,
    /// `PhysicalDeltaX`: physical units per pixel horizontally.
    pub delta_x: f64,
    /// `PhysicalDeltaY`: physical units per pixel vertically.
    pub delta_y: f64,
    /// `ReferencePixelX0` / `ReferencePixelY0`, relative to the region's corner, when given.
    pub reference_pixel: Option<(i32, i32)>,
}

impl UsRegion {
    /// Columns covered (`max_x - min_x + 1`; 0 when the bounds are reversed).
    pub fn width(&self) -> u32 {
        if self.max_x < self.min_x {
            0
        } else {
            self.max_x - self.min_x + 1
        }
    }

    /// Rows covered (`max_y - min_y + 1`; 0 when the bounds are reversed).
    pub fn height(&self) -> u32 {
        if self.max_y < self.min_y {
            0
        } else {
            self.max_y - self.min_y + 1
        }
    }

    /// Whether the region lies inside an image of `width` × `height` pixels, with ordered
    /// bounds.
    pub fn fits(&self, width: usize, height: usize) -> bool {
        self.min_x <= self.max_x
            && self.min_y <= self.max_y
            && (self.max_x as usize) < width
            && (self.max_y as usize) < height
    }

    /// Pixel spacing in mm, when both directions are in cm with finite positive deltas.
    pub fn pixel_spacing(&self) -> Option<PixelSpacing> {
        if self.units_x == UNITS_CM && self.units_y == UNITS_CM {
            PixelSpacing::new(self.delta_y * 10.0, self.delta_x * 10.0).ok()
        } else {
            None
        }
    }

    /// Whether this is a 2D tissue region.
    pub fn is_2d_tissue(&self) -> bool {
        self.spatial_format == SPATIAL_FORMAT_2D && self.data_type == DATA_TYPE_TISSUE
    }
}

/// A decoded ultrasound file.
#[derive(Debug, Clone)]
pub struct DicomCine {
    /// The frames, in file order, as 8-bit greyscale (cropped when [`DicomCine::cropped`]).
    pub frames: Vec<GrayImage>,
    /// What the file says about the scan. `phase`, `cycle_position` and `quality` are never set
    /// from DICOM.
    pub meta: ScanMeta,
    /// Time between frames, ms (the same value as `meta.frame_time_ms`).
    pub frame_time_ms: Option<f64>,
    /// The trusted calibrated region, in full-image coordinates.
    pub region: Option<UsRegion>,
    /// Whether the frames were cropped to [`DicomCine::region`].
    pub cropped: bool,
    /// Width of the stored image (`Columns`), before any crop.
    pub stored_width: usize,
    /// Height of the stored image (`Rows`), before any crop.
    pub stored_height: usize,
    /// Things that looked wrong but did not stop the read (also logged as warnings).
    pub warnings: Vec<String>,
    /// Where the data came from (file path, or the name given to [`read_cine_bytes`]).
    pub source: PathBuf,
    /// SOP Class UID.
    pub sop_class: String,
    /// Transfer Syntax UID.
    pub transfer_syntax: String,
    /// Photometric Interpretation as stored.
    pub photometric: String,
}

impl DicomCine {
    /// Frame rate in frames per second, from the frame time.
    pub fn fps(&self) -> Option<f64> {
        self.meta.fps()
    }
}

/// Errors while reading a DICOM file. Each names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DicomError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// No DICOM file structure (no `DICM` magic, or an unreadable file meta group).
    #[error("{path}: not a DICOM file: {reason}")]
    NotDicom {
        /// File.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file ends before its data does.
    #[error("{path}: truncated DICOM file: {detail}")]
    Truncated {
        /// File.
        path: PathBuf,
        /// Where or what.
        detail: String,
    },
    /// The data set cannot be parsed.
    #[error("{path}: malformed DICOM data set: {detail}")]
    Malformed {
        /// File.
        path: PathBuf,
        /// What.
        detail: String,
    },
    /// The file is DICOM but not an ultrasound image.
    #[error(
        "{path}: not an ultrasound image (Modality {modality:?}, SOP Class {sop_class:?}); only US files are read"
    )]
    NotUltrasound {
        /// File.
        path: PathBuf,
        /// Modality (0008,0060), when present.
        modality: Option<String>,
        /// SOP Class UID (0008,0016), when present.
        sop_class: Option<String>,
    },
    /// The pixel data is encoded with a transfer syntax this build cannot decode.
    #[error("{path}: unsupported transfer syntax {uid} ({name})")]
    UnsupportedTransferSyntax {
        /// File.
        path: PathBuf,
        /// Transfer Syntax UID.
        uid: String,
        /// Its name, when known.
        name: String,
    },
    /// A pixel format this reader does not handle.
    #[error("{path}: unsupported {what}")]
    Unsupported {
        /// File.
        path: PathBuf,
        /// What.
        what: String,
    },
    /// A required attribute is absent.
    #[error("{path}: missing {attribute}")]
    MissingAttribute {
        /// File.
        path: PathBuf,
        /// Attribute keyword.
        attribute: &'static str,
    },
    /// An attribute has an unusable value.
    #[error("{path}: invalid {attribute}: {value}")]
    InvalidAttribute {
        /// File.
        path: PathBuf,
        /// Attribute keyword.
        attribute: &'static str,
        /// The value, or what is wrong with it.
        value: String,
    },
    /// Pixel data of a frame could not be decoded.
    #[error("{path}: frame {frame}: pixel data decode failed: {detail}")]
    Decode {
        /// File.
        path: PathBuf,
        /// 0-based frame index.
        frame: u32,
        /// Cause.
        detail: String,
    },
    /// Pixel data does not hold what the image attributes promise.
    #[error("{path}: {what}: {expected} needed, {found} present")]
    SizeMismatch {
        /// File.
        path: PathBuf,
        /// What was counted (bytes, fragments or frames of what).
        what: String,
        /// How many are needed.
        expected: u64,
        /// How many there are.
        found: u64,
    },
    /// The frames would exceed [`ReadOptions::max_total_pixels`].
    #[error("{path}: {pixels} pixels in total exceed the limit of {limit}")]
    TooLarge {
        /// File.
        path: PathBuf,
        /// Pixels the file declares.
        pixels: u64,
        /// The limit.
        limit: u64,
    },
}

/// Read an ultrasound DICOM file.
pub fn read_cine(path: &Path, opts: &ReadOptions) -> Result<DicomCine, DicomError> {
    let bytes = std::fs::read(path).map_err(|source| DicomError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_cine_bytes(&bytes, path, opts)
}

/// Read an ultrasound DICOM file held in memory (with or without the 128-byte preamble);
/// `source` names it in errors and in [`DicomCine::source`].
pub fn read_cine_bytes(
    bytes: &[u8],
    source: &Path,
    opts: &ReadOptions,
) -> Result<DicomCine, DicomError> {
    let body = dicom_body(bytes, source)?;
    let pixel_sequence_cut =
        Scanner::check(body, opts.max_inflated_bytes).map_err(|e| e.into_error(source))?;
    let obj = parse(body, source)?;
    let mut cine = Reader {
        obj: &obj,
        path: source,
        warnings: Vec::new(),
        pixel_sequence_cut,
    }
    .read(opts)?;
    cine.source = source.to_path_buf();
    Ok(cine)
}

/// The bytes from the `DICM` magic code on (after the preamble, when there is one).
fn dicom_body<'a>(bytes: &'a [u8], path: &Path) -> Result<&'a [u8], DicomError> {
    let not_dicom = |reason: String| DicomError::NotDicom {
        path: path.to_path_buf(),
        reason,
    };
    match (bytes.get(128..132), bytes.get(..4)) {
        (Some(b"DICM"), _) => Ok(bytes.get(128..).unwrap_or_default()),
        (_, Some(b"DICM")) => Ok(bytes),
        _ if bytes.len() < 132 => Err(not_dicom(format!(
            "{} bytes, too short for the 128-byte preamble and `DICM`",
            bytes.len()
        ))),
        _ => Err(not_dicom("no `DICM` magic code at byte 128".into())),
    }
}

/// Parse the bytes (from `DICM` on) into a DICOM object, classifying failures.
fn parse(body: &[u8], path: &Path) -> Result<DefaultDicomObject, DicomError> {
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        OpenFileOptions::new()
            .read_preamble(ReadPreamble::Never)
            .from_reader(body)
    }));
    match parsed {
        Ok(Ok(obj)) => Ok(obj),
        Ok(Err(e)) => Err(classify_read_error(&e, path)),
        Err(panic) => Err(DicomError::Malformed {
            path: path.to_path_buf(),
            detail: format!(
                "the DICOM parser panicked: {}",
                synboost_core::panics::panic_message(panic.as_ref())
            ),
        }),
    }
}

fn classify_read_error(e: &ReadError, path: &Path) -> DicomError {
    let path = path.to_path_buf();
    let detail = error_chain(e);
    match e {
        ReadError::ReadUnrecognizedTransferSyntax { uid, .. } => {
            DicomError::UnsupportedTransferSyntax {
                path,
                uid: uid.trim_end_matches(['\0', ' ']).to_string(),
                name: "not recognised".into(),
            }
        }
        ReadError::ReadUnsupportedTransferSyntax { uid, name, .. }
        | ReadError::ReadUnsupportedTransferSyntaxWithSuggestion { uid, name, .. } => {
            DicomError::UnsupportedTransferSyntax {
                path,
                uid: (*uid).to_string(),
                name: (*name).to_string(),
            }
        }
        _ if is_eof(e) => DicomError::Truncated { path, detail },
        ReadError::ParseMetaDataSet { .. } | ReadError::ReadPreambleBytes { .. } => {
            DicomError::NotDicom {
                path,
                reason: detail,
            }
        }
        _ => DicomError::Malformed { path, detail },
    }
}

/// Whether an unexpected end of input is somewhere in the error's cause chain.
fn is_eof(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::UnexpectedEof
        {
            return true;
        }
        cur = err.source();
    }
    false
}

/// `outer: cause: cause …`, without repeating identical messages (for errors from dicom-rs,
/// whose causes carry the useful detail).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let s = err.to_string();
        if parts.last() != Some(&s) {
            parts.push(s);
        }
        cur = err.source();
    }
    parts.join(": ")
}

/// Photometric interpretations the converter understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Photometric {
    Mono1,
    Mono2,
    Palette,
    Rgb,
    YbrFull,
    YbrFull422,
    YbrPartial422,
    YbrPartial420,
}

impl Photometric {
    fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "MONOCHROME1" => Self::Mono1,
            "MONOCHROME2" => Self::Mono2,
            "PALETTE COLOR" => Self::Palette,
            "RGB" => Self::Rgb,
            "YBR_FULL" => Self::YbrFull,
            "YBR_FULL_422" => Self::YbrFull422,
            "YBR_PARTIAL_422" => Self::YbrPartial422,
            "YBR_PARTIAL_420" => Self::YbrPartial420,
            _ => return None,
        })
    }

    fn samples(self) -> usize {
        match self {
            Self::Mono1 | Self::Mono2 | Self::Palette => 1,
            _ => 3,
        }
    }
}

fn photometric_name(p: Photometric) -> &'static str {
    match p {
        Photometric::Mono1 => "MONOCHROME1",
        Photometric::Mono2 => "MONOCHROME2",
        Photometric::Palette => "PALETTE COLOR",
        Photometric::Rgb => "RGB",
        Photometric::YbrFull => "YBR_FULL",
        Photometric::YbrFull422 => "YBR_FULL_422",
        Photometric::YbrPartial422 => "YBR_PARTIAL_422",
        Photometric::YbrPartial420 => "YBR_PARTIAL_420",
    }
}

/// How the decoded bytes of one frame are laid out.
#[derive(Debug, Clone, Copy)]
struct Layout {
    rows: usize,
    cols: usize,
    photometric: Photometric,
    bits_allocated: u16,
    bits_stored: u16,
    signed: bool,
    /// Colour planes stored one after the other (`PlanarConfiguration` 1).
    planar: bool,
}

impl Layout {
    fn bytes_per_sample(&self) -> usize {
        usize::from(self.bits_allocated / 8)
    }

    fn pixels(&self) -> usize {
        self.rows * self.cols
    }

    /// Bytes of one frame in this layout.
    fn frame_bytes(&self) -> usize {
        match self.photometric {
            // two luma samples share one Cb and one Cr
            Photometric::YbrFull422 | Photometric::YbrPartial422 => {
                self.pixels() * 2 * self.bytes_per_sample()
            }
            p => self.pixels() * p.samples() * self.bytes_per_sample(),
        }
    }
}

/// Maps raw sample values to 8 bits.
#[derive(Debug, Clone, Copy)]
enum Scale {
    /// 8-bit unsigned samples with 8 bits stored: as is.
    Identity,
    /// Linear from `[lo, hi]` to `[0, 255]`, clamped.
    Linear { lo: f64, hi: f64 },
    /// A DICOM linear VOI window.
    Window { center: f64, width: f64 },
}

impl Scale {
    fn apply(self, v: i64) -> u8 {
        match self {
            Self::Identity => v.clamp(0, 255) as u8,
            Self::Linear { lo, hi } => {
                let t = (v as f64 - lo) / (hi - lo).max(1.0);
                (t * 255.0).round().clamp(0.0, 255.0) as u8
            }
            Self::Window { center, width } => {
                let x = v as f64;
                let c = center - 0.5;
                let w = (width - 1.0).max(1.0);
                let y = ((x - c) / w + 0.5) * 255.0;
                y.round().clamp(0.0, 255.0) as u8
            }
        }
    }
}

/// A palette colour lookup table, already reduced to 8 bits per channel.
struct Palette {
    first: i64,
    red: Vec<u8>,
    green: Vec<u8>,
    blue: Vec<u8>,
}

impl Palette {
    fn luma(&self, v: i64) -> u8 {
        let n = self.red.len().min(self.green.len()).min(self.blue.len());
        if n == 0 {
            return 0;
        }
        let i = usize::try_from((v - self.first).max(0))
            .unwrap_or(0)
            .min(n - 1);
        match (self.red.get(i), self.green.get(i), self.blue.get(i)) {
            (Some(&r), Some(&g), Some(&b)) => luma(r, g, b),
            _ => 0,
        }
    }
}

use synboost_core::frame::luma;

struct Reader<'a> {
    obj: &'a DefaultDicomObject,
    path: &'a Path,
    warnings: Vec<String>,
    /// The file ends inside the top-level encapsulated PixelData, at a fragment boundary.
    pixel_sequence_cut: bool,
}

impl Reader<'_> {
    fn warn(&mut self, msg: String) {
        log::warn!("{}: {msg}", self.path.display());
        self.warnings.push(msg);
    }

    fn missing(&self, attribute: &'static str) -> DicomError {
        if self.obj.get(tags::PIXEL_DATA).is_none() {
            // an image without PixelData and without this attribute is most likely cut short
            return DicomError::Truncated {
                path: self.path.to_path_buf(),
                detail: format!("no {attribute} and no PixelData"),
            };
        }
        DicomError::MissingAttribute {
            path: self.path.to_path_buf(),
            attribute,
        }
    }

    fn invalid(&self, attribute: &'static str, value: impl Into<String>) -> DicomError {
        DicomError::InvalidAttribute {
            path: self.path.to_path_buf(),
            attribute,
            value: value.into(),
        }
    }

    fn read(mut self, opts: &ReadOptions) -> Result<DicomCine, DicomError> {
        let obj = self.obj;
        let sop_class = text(obj, tags::SOP_CLASS_UID)
            .or_else(|| Some(obj.meta().media_storage_sop_class_uid().to_string()))
            .filter(|s| !s.is_empty());
        let modality = text(obj, tags::MODALITY);
        let us_class = sop_class.as_deref().is_some_and(|c| {
            [
                US_IMAGE_STORAGE,
                US_MULTIFRAME_IMAGE_STORAGE,
                US_IMAGE_STORAGE_RETIRED,
                US_MULTIFRAME_IMAGE_STORAGE_RETIRED,
            ]
            .contains(&c)
        });
        let us_modality = modality.as_deref() == Some("US");
        if !us_class && !us_modality {
            return Err(DicomError::NotUltrasound {
                path: self.path.to_path_buf(),
                modality,
                sop_class,
            });
        }
        if us_class && !us_modality {
            self.warn(format!(
                "US SOP class with Modality {modality:?}; read as ultrasound"
            ));
        }
        let transfer_syntax = obj.meta().transfer_syntax().to_string();
        let photometric_raw = text(obj, tags::PHOTOMETRIC_INTERPRETATION)
            .ok_or_else(|| self.missing("PhotometricInterpretation"))?;
        let layout = self.layout(&photometric_raw)?;
        let frames_declared = match obj.get(tags::NUMBER_OF_FRAMES) {
            None => 1,
            Some(e) => match e.to_int::<i64>() {
                Ok(n) if n >= 1 && n <= i64::from(u32::MAX) => n as u32,
                Ok(0) => return Err(self.invalid("NumberOfFrames", "0")),
                _ => {
                    return Err(self.invalid(
                        "NumberOfFrames",
                        e.to_str().map(|s| s.into_owned()).unwrap_or_default(),
                    ));
                }
            },
        };
        let total = u64::from(frames_declared) * layout.pixels() as u64;
        if total > opts.max_total_pixels {
            return Err(DicomError::TooLarge {
                path: self.path.to_path_buf(),
                pixels: total,
                limit: opts.max_total_pixels,
            });
        }

        let scan_meta = self.scan_meta();
        let (region, spacing) = self.calibration(layout.cols, layout.rows);
        let mut meta = scan_meta;
        meta.pixel_spacing = spacing;

        let full = self.decode_frames(&transfer_syntax, layout, frames_declared)?;
        let crop = region.filter(|_| opts.crop_to_region);
        let frames = match crop {
            Some(r) => full
                .into_iter()
                .map(|f| crop_frame(&f, &r))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| self.invalid("SequenceOfUltrasoundRegions", "crop failed"))?,
            None => full,
        };
        Ok(DicomCine {
            frames,
            frame_time_ms: meta.frame_time_ms,
            meta,
            region,
            cropped: crop.is_some(),
            stored_width: layout.cols,
            stored_height: layout.rows,
            warnings: self.warnings,
            source: self.path.to_path_buf(),
            sop_class: sop_class.unwrap_or_default(),
            transfer_syntax,
            photometric: photometric_raw,
        })
    }

    /// Image Pixel module attributes, validated.
    fn layout(&mut self, photometric_raw: &str) -> Result<Layout, DicomError> {
        let obj = self.obj;
        let photometric =
            Photometric::parse(photometric_raw).ok_or_else(|| DicomError::Unsupported {
                path: self.path.to_path_buf(),
                what: format!("PhotometricInterpretation {photometric_raw:?}"),
            })?;
        let path = self.path;
        let u16_attr = |tag: Tag, name: &'static str| -> Result<Option<u16>, DicomError> {
            match obj.get(tag) {
                None => Ok(None),
                Some(e) => e
                    .to_int::<u16>()
                    .map(Some)
                    .map_err(|_| DicomError::InvalidAttribute {
                        path: path.to_path_buf(),
                        attribute: name,
                        value: e.to_str().map(|s| s.into_owned()).unwrap_or_default(),
                    }),
            }
        };
        let rows = u16_attr(tags::ROWS, "Rows")?.ok_or_else(|| self.missing("Rows"))?;
        let cols = u16_attr(tags::COLUMNS, "Columns")?.ok_or_else(|| self.missing("Columns"))?;
        if rows == 0 || cols == 0 {
            return Err(self.invalid("Rows/Columns", format!("{cols}x{rows}")));
        }
        let spp = u16_attr(tags::SAMPLES_PER_PIXEL, "SamplesPerPixel")?
            .ok_or_else(|| self.missing("SamplesPerPixel"))?;
        if usize::from(spp) != photometric.samples() {
            return Err(self.invalid(
                "SamplesPerPixel",
                format!("{spp} with PhotometricInterpretation {photometric_raw}"),
            ));
        }
        let bits_allocated = u16_attr(tags::BITS_ALLOCATED, "BitsAllocated")?
            .ok_or_else(|| self.missing("BitsAllocated"))?;
        if bits_allocated != 8 && bits_allocated != 16 {
            return Err(DicomError::Unsupported {
                path: self.path.to_path_buf(),
                what: format!("BitsAllocated {bits_allocated} (8 and 16 are read)"),
            });
        }
        let bits_stored = match u16_attr(tags::BITS_STORED, "BitsStored")? {
            Some(b) if (1..=bits_allocated).contains(&b) => b,
            Some(b) => return Err(self.invalid("BitsStored", format!("{b} of {bits_allocated}"))),
            None => {
                self.warn(format!("no BitsStored; assuming {bits_allocated}"));
                bits_allocated
            }
        };
        let signed = u16_attr(tags::PIXEL_REPRESENTATION, "PixelRepresentation")?.unwrap_or(0) == 1;
        let planar = photometric.samples() == 3
            && u16_attr(tags::PLANAR_CONFIGURATION, "PlanarConfiguration")?.unwrap_or(0) == 1;
        Ok(Layout {
            rows: usize::from(rows),
            cols: usize::from(cols),
            photometric,
            bits_allocated,
            bits_stored,
            signed,
            planar,
        })
    }

    /// Sex, age, frame time, heart rate and view.
    fn scan_meta(&mut self) -> ScanMeta {
        let obj = self.obj;
        let mut meta = ScanMeta::default();
        if let Some(s) = text(obj, tags::PATIENT_SEX) {
            match s.to_ascii_uppercase().as_str() {
                "M" => meta.sex = Some(Sex::Male),
                "F" => meta.sex = Some(Sex::Female),
                "O" => {}
                other => self.warn(format!("PatientSex {other:?} not understood; ignored")),
            }
        }
        if let Some(s) = text(obj, tags::PATIENT_AGE) {
            match parse_age(&s) {
                Some(a) => meta.age_years = Some(a),
                None => self.warn(format!("PatientAge {s:?} not understood; ignored")),
            }
        }
        meta.frame_time_ms = self.frame_time();
        meta.heart_rate_bpm = float(obj, tags::HEART_RATE).filter(|h| *h > 0.0);
        meta.view = self.view();
        meta
    }

    fn frame_time(&mut self) -> Option<f64> {
        let obj = self.obj;
        if let Some(e) = obj.get(tags::FRAME_TIME) {
            match e.to_float64() {
                Ok(t) if t.is_finite() && t > 0.0 => return Some(t),
                _ => self.warn(format!(
                    "FrameTime {:?} is not a positive number; ignored",
                    e.to_str().unwrap_or_default()
                )),
            }
        }
        if let Some(v) = obj
            .get(tags::FRAME_TIME_VECTOR)
            .and_then(|e| e.to_multi_float64().ok())
        {
            // the first entry is 0, the others are increments from the previous frame
            let inc: Vec<f64> = v.iter().skip(1).copied().collect();
            if !inc.is_empty() && inc.iter().all(|t| t.is_finite() && *t > 0.0) {
                return Some(inc.iter().sum::<f64>() / inc.len() as f64);
            }
        }
        for tag in [tags::RECOMMENDED_DISPLAY_FRAME_RATE, tags::CINE_RATE] {
            if let Some(fps) = float(obj, tag).filter(|r| *r > 0.0) {
                return Some(1000.0 / fps);
            }
        }
        None
    }

    fn view(&mut self) -> Option<View> {
        let obj = self.obj;
        if let Some(items) = obj.get(tags::VIEW_CODE_SEQUENCE).and_then(|e| e.items()) {
            for item in items {
                let value = text(item, tags::CODE_VALUE).unwrap_or_default();
                let scheme = text(item, tags::CODING_SCHEME_DESIGNATOR).unwrap_or_default();
                let table: &[(&str, View)] = match scheme.as_str() {
                    "SCT" | "SNM3" => &VIEW_CODES_SCT,
                    "SRT" => &VIEW_CODES_SRT,
                    _ => &[],
                };
                if let Some((_, v)) = table.iter().find(|(c, _)| *c == value) {
                    return Some(*v);
                }
                if let Some(v) = text(item, tags::CODE_MEANING).and_then(|m| view_from_text(&m)) {
                    return Some(v);
                }
            }
        }
        text(obj, tags::VIEW_NAME).and_then(|s| view_from_text(&s))
    }

    /// The trusted region and the pixel spacing.
    fn calibration(
        &mut self,
        width: usize,
        height: usize,
    ) -> (Option<UsRegion>, Option<PixelSpacing>) {
        let obj = self.obj;
        let items = obj
            .get(tags::SEQUENCE_OF_ULTRASOUND_REGIONS)
            .and_then(|e| e.items())
            .unwrap_or_default();
        let mut fitting = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let Some(r) = region_from_item(item) else {
                self.warn(format!(
                    "ultrasound region #{i} lacks its location, units or deltas; ignored"
                ));
                continue;
            };
            if !r.fits(width, height) {
                self.warn(format!(
                    "ultrasound region #{i} ({},{})-({},{}) does not fit the {width}x{height} \
                     image; not trusted (no calibration, no crop from it)",
                    r.min_x, r.min_y, r.max_x, r.max_y
                ));
                continue;
            }
            if r.spatial_format == SPATIAL_FORMAT_2D && r.pixel_spacing().is_some() {
                fitting.push(r);
            }
        }
        // prefer tissue regions, then the largest
        let best = fitting
            .iter()
            .max_by_key(|r| {
                (
                    r.data_type == DATA_TYPE_TISSUE,
                    u64::from(r.width()) * u64::from(r.height()),
                )
            })
            .copied();
        if fitting.len() > 1
            && let Some(b) = best
        {
            self.warn(format!(
                "{} calibrated 2D regions; using ({},{})-({},{})",
                fitting.len(),
                b.min_x,
                b.min_y,
                b.max_x,
                b.max_y
            ));
        }
        if let Some(r) = best {
            return (Some(r), r.pixel_spacing());
        }
        let values = obj.get(tags::PIXEL_SPACING).map(|e| e.to_multi_float64());
        let spacing = match values.as_ref().map(|r| r.as_deref()) {
            None => None,
            Some(Ok(&[row, col])) => {
                let s = PixelSpacing::new(row, col).ok();
                if s.is_none() {
                    self.warn(format!(
                        "PixelSpacing {row}\\{col} is not positive; ignored"
                    ));
                }
                s
            }
            Some(_) => {
                self.warn("PixelSpacing is not two numbers; ignored".into());
                None
            }
        };
        (None, spacing)
    }

    fn decode_frames(
        &mut self,
        ts: &str,
        layout: Layout,
        n_frames: u32,
    ) -> Result<Vec<GrayImage>, DicomError> {
        let obj = self.obj;
        let pixel_data = obj
            .get(tags::PIXEL_DATA)
            .ok_or_else(|| self.missing("PixelData"))?;
        let palette = if layout.photometric == Photometric::Palette {
            Some(self.palette()?)
        } else {
            None
        };
        let scale = self.scale(layout);
        let mut frames = Vec::with_capacity(n_frames.min(4096) as usize);

        if NATIVE_TS.contains(&ts) {
            let bytes = pixel_data.to_bytes().map_err(|_| DicomError::Malformed {
                path: self.path.to_path_buf(),
                detail: "PixelData is encapsulated in a native transfer syntax".into(),
            })?;
            let fb = layout.frame_bytes();
            let need = fb as u64 * u64::from(n_frames);
            if (bytes.len() as u64) < need {
                return Err(DicomError::SizeMismatch {
                    path: self.path.to_path_buf(),
                    what: format!(
                        "PixelData bytes for {n_frames} frame(s) of {}x{} {} at {} bits",
                        layout.cols,
                        layout.rows,
                        photometric_name(layout.photometric),
                        layout.bits_allocated
                    ),
                    expected: need,
                    found: bytes.len() as u64,
                });
            }
            if bytes.len() as u64 > need + 1 {
                self.warn(format!(
                    "PixelData holds {} bytes, {} more than the frames need",
                    bytes.len(),
                    bytes.len() as u64 - need
                ));
            }
            for (i, chunk) in bytes.chunks_exact(fb).take(n_frames as usize).enumerate() {
                frames.push(self.to_gray(chunk, layout, scale, palette.as_ref(), i as u32)?);
            }
            return Ok(frames);
        }

        let encapsulated_ok =
            JPEG_TS.contains(&ts) || ts == RLE_TS || ts == ENCAPSULATED_UNCOMPRESSED_TS;
        if !encapsulated_ok {
            return Err(DicomError::UnsupportedTransferSyntax {
                path: self.path.to_path_buf(),
                uid: ts.to_string(),
                name: transfer_syntax_name(ts).to_string(),
            });
        }
        let fragments = pixel_data
            .fragments()
            .ok_or_else(|| DicomError::Malformed {
                path: self.path.to_path_buf(),
                detail: format!(
                    "PixelData is not encapsulated although transfer syntax {ts} requires it"
                ),
            })?;
        let cut = self.pixel_sequence_cut;
        let result =
            self.decode_encapsulated(ts, layout, n_frames, fragments, scale, palette.as_ref());
        match result {
            Err(e) if cut => {
                let msg = e.to_string();
                let prefix = format!("{}: ", self.path.display());
                Err(DicomError::Truncated {
                    path: self.path.to_path_buf(),
                    detail: format!(
                        "the file ends inside the encapsulated PixelData ({})",
                        msg.strip_prefix(&prefix).unwrap_or(&msg)
                    ),
                })
            }
            Ok(frames) => {
                if cut {
                    self.warn(
                        "the file ends inside the encapsulated PixelData, after its last \
                         fragment (no sequence delimiter)"
                            .into(),
                    );
                }
                Ok(frames)
            }
            Err(e) => Err(e),
        }
    }

    fn decode_encapsulated(
        &mut self,
        ts: &str,
        layout: Layout,
        n_frames: u32,
        fragments: &[Vec<u8>],
        scale: Scale,
        palette: Option<&Palette>,
    ) -> Result<Vec<GrayImage>, DicomError> {
        let obj = self.obj;
        let pixel_data = obj
            .get(tags::PIXEL_DATA)
            .ok_or_else(|| self.missing("PixelData"))?;
        if fragments.is_empty() {
            return Err(DicomError::Truncated {
                path: self.path.to_path_buf(),
                detail: "encapsulated PixelData has no fragments".into(),
            });
        }
        let dl = decoded_layout(layout, ts);
        let mut frames = Vec::with_capacity(n_frames.min(4096) as usize);
        if ts == RLE_TS {
            if fragments.len() != n_frames as usize {
                return Err(DicomError::SizeMismatch {
                    path: self.path.to_path_buf(),
                    what: format!("RLE fragments for {n_frames} frame(s) (one per frame)"),
                    expected: u64::from(n_frames),
                    found: fragments.len() as u64,
                });
            }
            for (i, fragment) in fragments.iter().enumerate() {
                let i = i as u32;
                let data = decode_rle(fragment, dl).map_err(|d| self.decode_error(i, d))?;
                frames.push(self.to_gray(&data, dl, scale, palette, i)?);
            }
            return Ok(frames);
        }
        let has_offsets = pixel_data.offset_table().is_some_and(|t| !t.is_empty());
        let one_to_one = fragments.len() == n_frames as usize;
        if JPEG_TS.contains(&ts) {
            // check what the JPEG headers say before the decoder writes them into a buffer
            // sized from Rows/Columns (a mismatch makes it index out of bounds)
            let headers: Vec<(u32, &[u8])> = if one_to_one {
                fragments
                    .iter()
                    .enumerate()
                    .map(|(i, f)| (i as u32, f.as_slice()))
                    .collect()
            } else {
                fragments
                    .first()
                    .map(|f| (0, f.as_slice()))
                    .into_iter()
                    .collect()
            };
            for (i, f) in headers {
                self.check_jpeg_header(f, layout, i)?;
            }
            if n_frames > 1 && !one_to_one && (fragments.len() == 1 || !has_offsets) {
                // frames spread over fragments without an offset table: the only way to find
                // them is one sequential decode of everything. Each frame starts with SOI and a
                // marker (FF D8 FF), which cannot occur inside entropy-coded data: count them
                // first, so that a NumberOfFrames the data cannot back allocates nothing.
                let starts: u64 = fragments
                    .iter()
                    .map(|f| f.windows(3).filter(|w| *w == [0xFF, 0xD8, 0xFF]).count() as u64)
                    .sum();
                if starts < u64::from(n_frames) {
                    return Err(DicomError::SizeMismatch {
                        path: self.path.to_path_buf(),
                        what: format!("JPEG start markers for {n_frames} frame(s)"),
                        expected: u64::from(n_frames),
                        found: starts,
                    });
                }
                return self.decode_all_at_once(dl, n_frames, scale, palette);
            }
        }
        for i in 0..n_frames {
            let decoded = catch_unwind(AssertUnwindSafe(|| {
                obj.decode_pixel_data_frame(i).map(|d| d.data().to_vec())
            }));
            let data = match decoded {
                Ok(Ok(d)) => d,
                Ok(Err(e)) => return Err(self.decode_error(i, error_chain(&e))),
                Err(p) => {
                    return Err(self.decode_error(
                        i,
                        format!(
                            "decoder panicked: {}",
                            synboost_core::panics::panic_message(p.as_ref())
                        ),
                    ));
                }
            };
            frames.push(self.to_gray(&data, dl, scale, palette, i)?);
        }
        Ok(frames)
    }

    fn check_jpeg_header(&self, data: &[u8], layout: Layout, frame: u32) -> Result<(), DicomError> {
        let Some(sof) = jpeg_sof(data) else {
            return Err(self.decode_error(frame, "no JPEG frame header (SOF) found".into()));
        };
        let spp = layout.photometric.samples();
        let height_ok = sof.height == 0 || usize::from(sof.height) == layout.rows;
        if !height_ok || usize::from(sof.width) != layout.cols || usize::from(sof.components) != spp
        {
            return Err(self.decode_error(
                frame,
                format!(
                    "JPEG frame is {}x{} with {} component(s); the data set says {}x{} with {spp}",
                    sof.width, sof.height, sof.components, layout.cols, layout.rows
                ),
            ));
        }
        if sof.precision > 8 && layout.bits_allocated == 8 {
            return Err(self.decode_error(
                frame,
                format!("{}-bit JPEG in 8-bit BitsAllocated", sof.precision),
            ));
        }
        Ok(())
    }

    fn decode_all_at_once(
        &mut self,
        dl: Layout,
        n_frames: u32,
        scale: Scale,
        palette: Option<&Palette>,
    ) -> Result<Vec<GrayImage>, DicomError> {
        let obj = self.obj;
        let decoded = catch_unwind(AssertUnwindSafe(|| {
            obj.decode_pixel_data().map(|d| d.data().to_vec())
        }));
        let data = match decoded {
            Ok(Ok(d)) => d,
            Ok(Err(e)) => return Err(self.decode_error(0, error_chain(&e))),
            Err(p) => {
                return Err(self.decode_error(
                    0,
                    format!(
                        "decoder panicked: {}",
                        synboost_core::panics::panic_message(p.as_ref())
                    ),
                ));
            }
        };
        let fb = dl.frame_bytes();
        let need = fb as u64 * u64::from(n_frames);
        if (data.len() as u64) < need {
            return Err(DicomError::SizeMismatch {
                path: self.path.to_path_buf(),
                what: "bytes of decoded pixel data".into(),
                expected: need,
                found: data.len() as u64,
            });
        }
        data.chunks_exact(fb)
            .take(n_frames as usize)
            .enumerate()
            .map(|(i, chunk)| self.to_gray(chunk, dl, scale, palette, i as u32))
            .collect()
    }

    fn decode_error(&self, frame: u32, detail: String) -> DicomError {
        DicomError::Decode {
            path: self.path.to_path_buf(),
            frame,
            detail,
        }
    }

    /// How samples wider than 8 bits (or narrower, or signed) map to 8 bits.
    fn scale(&mut self, layout: Layout) -> Scale {
        let bs = u32::from(layout.bits_stored);
        if layout.photometric == Photometric::Palette {
            return Scale::Identity; // values are LUT indices
        }
        if layout.bits_allocated == 8 && bs == 8 && !layout.signed {
            return Scale::Identity;
        }
        if layout.bits_allocated == 16
            && matches!(layout.photometric, Photometric::Mono1 | Photometric::Mono2)
        {
            let center = float(self.obj, tags::WINDOW_CENTER);
            let width = float(self.obj, tags::WINDOW_WIDTH).filter(|w| *w >= 1.0);
            if let (Some(center), Some(width)) = (center, width) {
                return Scale::Window { center, width };
            }
        }
        let (lo, hi) = if layout.signed {
            (-(1i64 << (bs - 1)) as f64, ((1i64 << (bs - 1)) - 1) as f64)
        } else {
            (0.0, ((1i64 << bs) - 1) as f64)
        };
        Scale::Linear { lo, hi }
    }

    fn palette(&self) -> Result<Palette, DicomError> {
        let obj = self.obj;
        if obj.get(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA).is_none()
            && obj
                .get(tags::SEGMENTED_RED_PALETTE_COLOR_LOOKUP_TABLE_DATA)
                .is_some()
        {
            return Err(DicomError::Unsupported {
                path: self.path.to_path_buf(),
                what: "segmented palette colour lookup tables".into(),
            });
        }
        let channel = |desc_tag: Tag,
                       data_tag: Tag,
                       desc_name: &'static str,
                       data_name: &'static str|
         -> Result<(i64, Vec<u8>), DicomError> {
            let desc = obj
                .get(desc_tag)
                .ok_or_else(|| self.missing(desc_name))?
                .to_multi_int::<i64>()
                .map_err(|_| self.invalid(desc_name, "not numbers"))?;
            let [n, first, bits] = desc[..] else {
                return Err(self.invalid(desc_name, format!("{desc:?} (3 values expected)")));
            };
            let n = if n == 0 {
                65536
            } else {
                n.unsigned_abs() as usize
            };
            if !(1..=16).contains(&bits) {
                return Err(self.invalid(desc_name, format!("{bits} bits per entry")));
            }
            let data = obj
                .get(data_tag)
                .ok_or_else(|| self.missing(data_name))?
                .to_bytes()
                .map_err(|_| self.invalid(data_name, "not binary"))?;
            let lut: Vec<u8> = if bits <= 8 && data.len() >= n && data.len() < 2 * n {
                data.iter().take(n).copied().collect()
            } else if data.len() >= 2 * n {
                data.chunks_exact(2)
                    .take(n)
                    .map(|w| {
                        let v = u16::from_ne_bytes([w[0], w[1]]);
                        if bits > 8 {
                            (v >> (bits - 8)).min(255) as u8
                        } else {
                            v.min(255) as u8
                        }
                    })
                    .collect()
            } else {
                return Err(DicomError::SizeMismatch {
                    path: self.path.to_path_buf(),
                    what: format!("bytes of {data_name}"),
                    expected: 2 * n as u64,
                    found: data.len() as u64,
                });
            };
            Ok((first, lut))
        };
        let (first, red) = channel(
            tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            "RedPaletteColorLookupTableDescriptor",
            "RedPaletteColorLookupTableData",
        )?;
        let (_, green) = channel(
            tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            "GreenPaletteColorLookupTableDescriptor",
            "GreenPaletteColorLookupTableData",
        )?;
        let (_, blue) = channel(
            tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            "BluePaletteColorLookupTableDescriptor",
            "BluePaletteColorLookupTableData",
        )?;
        Ok(Palette {
            first,
            red,
            green,
            blue,
        })
    }

    /// One frame's decoded bytes → greyscale.
    fn to_gray(
        &self,
        data: &[u8],
        layout: Layout,
        scale: Scale,
        palette: Option<&Palette>,
        frame: u32,
    ) -> Result<GrayImage, DicomError> {
        let need = layout.frame_bytes();
        if data.len() < need {
            return Err(DicomError::SizeMismatch {
                path: self.path.to_path_buf(),
                what: format!("bytes of decoded frame {frame}"),
                expected: need as u64,
                found: data.len() as u64,
            });
        }
        let n = layout.pixels();
        let bps = layout.bytes_per_sample();
        let bs = u32::from(layout.bits_stored);
        let mask: u32 = if bs >= 16 { 0xFFFF } else { (1u32 << bs) - 1 };
        // raw sample k of the frame (in storage order) as an integer
        let sample = |k: usize| -> i64 {
            let raw = if bps == 1 {
                data.get(k).map_or(0, |&b| u32::from(b))
            } else {
                match (data.get(2 * k), data.get(2 * k + 1)) {
                    (Some(&a), Some(&b)) => u32::from(u16::from_ne_bytes([a, b])),
                    _ => 0,
                }
            } & mask;
            if layout.signed && bs > 0 && raw & (1 << (bs - 1)) != 0 {
                i64::from(raw) - (1i64 << bs)
            } else {
                i64::from(raw)
            }
        };
        let mut out = Vec::with_capacity(n);
        match layout.photometric {
            Photometric::Mono2 => out.extend((0..n).map(|i| scale.apply(sample(i)))),
            Photometric::Mono1 => out.extend((0..n).map(|i| 255 - scale.apply(sample(i)))),
            Photometric::Palette => {
                let p = palette.ok_or_else(|| self.missing("palette colour lookup tables"))?;
                out.extend((0..n).map(|i| p.luma(sample(i))));
            }
            Photometric::Rgb | Photometric::YbrFull | Photometric::YbrPartial420 => {
                let at = |i: usize, c: usize| {
                    if layout.planar {
                        sample(c * n + i)
                    } else {
                        sample(3 * i + c)
                    }
                };
                if layout.photometric == Photometric::Rgb {
                    out.extend((0..n).map(|i| {
                        luma(
                            scale.apply(at(i, 0)),
                            scale.apply(at(i, 1)),
                            scale.apply(at(i, 2)),
                        )
                    }));
                } else {
                    // YBR_FULL: Y is the BT.601 luma already
                    out.extend((0..n).map(|i| scale.apply(at(i, 0))));
                }
            }
            Photometric::YbrFull422 | Photometric::YbrPartial422 => {
                // Y1 Y2 Cb Cr for each pair of pixels
                let partial = layout.photometric == Photometric::YbrPartial422;
                out.extend((0..n).map(|i| {
                    let y = scale.apply(sample((i / 2) * 4 + (i % 2)));
                    if partial {
                        let v = (f64::from(y) - 16.0) * 255.0 / 219.0;
                        v.round().clamp(0.0, 255.0) as u8
                    } else {
                        y
                    }
                }));
            }
        }
        GrayImage::new(layout.cols, layout.rows, out).map_err(|e| DicomError::Decode {
            path: self.path.to_path_buf(),
            frame,
            detail: e.to_string(),
        })
    }
}

/// The layout of what the codec of `ts` hands back for frames stored as `layout`.
fn decoded_layout(layout: Layout, ts: &str) -> Layout {
    if JPEG_TS.contains(&ts) && layout.photometric.samples() == 3 {
        // jpeg-decoder converts YCbCr to RGB and always interleaves
        Layout {
            photometric: Photometric::Rgb,
            planar: false,
            ..layout
        }
    } else if ts == RLE_TS || JPEG_TS.contains(&ts) {
        // RLE output is always interleaved; 4:2:2 is not a thing inside RLE (stored as full)
        let photometric = match layout.photometric {
            Photometric::YbrFull422 | Photometric::YbrPartial422 => Photometric::YbrFull,
            p => p,
        };
        Layout {
            photometric,
            planar: false,
            ..layout
        }
    } else {
        layout
    }
}

/// Decode one RLE Lossless frame (PS3.5 Annex G) into interleaved samples, 16-bit samples in
/// native byte order. Every length is checked: a short or inconsistent fragment is an error.
fn decode_rle(fragment: &[u8], layout: Layout) -> Result<Vec<u8>, String> {
    let spp = layout.photometric.samples();
    let bps = layout.bytes_per_sample();
    let n_seg = spp * bps;
    let pixels = layout.pixels();
    let header = fragment.get(..64).ok_or_else(|| {
        format!(
            "RLE fragment of {} bytes has no 64-byte header",
            fragment.len()
        )
    })?;
    let word = |i: usize| -> u32 {
        header
            .get(4 * i..4 * i + 4)
            .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let count = word(0) as usize;
    if count != n_seg {
        return Err(format!(
            "RLE header lists {count} segments, {n_seg} expected"
        ));
    }
    let mut bounds: Vec<usize> = (1..=count).map(|i| word(i) as usize).collect();
    bounds.push(fragment.len());
    let little = cfg!(target_endian = "little");
    let mut out = vec![0u8; pixels * n_seg];
    let mut segment = Vec::with_capacity(pixels);
    for s in 0..n_seg {
        let (start, end) = match (bounds.get(s), bounds.get(s + 1)) {
            (Some(&a), Some(&b)) if a >= 64 && a <= b && b <= fragment.len() => (a, b),
            _ => return Err(format!("RLE segment {s} has invalid offsets")),
        };
        let data = fragment.get(start..end).unwrap_or_default();
        packbits(data, pixels, &mut segment).map_err(|e| format!("RLE segment {s}: {e}"))?;
        // segment s holds byte `s % bps` (most significant first) of sample `s / bps`
        let (sample, significance) = (s / bps, s % bps);
        let byte = if little {
            bps - 1 - significance
        } else {
            significance
        };
        for (i, &v) in segment.iter().enumerate() {
            if let Some(slot) = out.get_mut((i * spp + sample) * bps + byte) {
                *slot = v;
            }
        }
    }
    Ok(out)
}

/// PackBits-decode `data` into exactly `n` bytes (trailing padding in the input is ignored).
fn packbits(data: &[u8], n: usize, out: &mut Vec<u8>) -> Result<(), String> {
    out.clear();
    let mut pos = 0;
    while out.len() < n {
        let Some(&h) = data.get(pos) else {
            return Err(format!("decodes to {} bytes, {n} needed", out.len()));
        };
        pos += 1;
        let h = h as i8;
        if h >= 0 {
            let len = h as usize + 1;
            let run = data
                .get(pos..pos + len)
                .ok_or_else(|| format!("literal run past the end of the segment at byte {pos}"))?;
            out.extend_from_slice(run);
            pos += len;
        } else if h != -128 {
            let &v = data.get(pos).ok_or_else(|| {
                format!("replicate run past the end of the segment at byte {pos}")
            })?;
            pos += 1;
            out.extend(std::iter::repeat_n(v, (1 - isize::from(h)) as usize));
        }
    }
    out.truncate(n);
    Ok(())
}

/// What a JPEG frame header (SOF) says.
#[derive(Debug, Clone, Copy)]
struct JpegSof {
    precision: u8,
    height: u16,
    width: u16,
    components: u8,
}

/// Walk the JPEG marker segments from SOI to the first SOF and read it.
fn jpeg_sof(data: &[u8]) -> Option<JpegSof> {
    if data.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut pos = 2;
    loop {
        // skip fill bytes
        while *data.get(pos)? == 0xFF && *data.get(pos + 1)? == 0xFF {
            pos += 1;
        }
        if *data.get(pos)? != 0xFF {
            return None;
        }
        let marker = *data.get(pos + 1)?;
        pos += 2;
        if matches!(marker, 0x01 | 0xD0..=0xD7) {
            continue; // no length
        }
        let len = usize::from(u16::from_be_bytes([*data.get(pos)?, *data.get(pos + 1)?]));
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            let seg = data.get(pos + 2..pos + len)?;
            return Some(JpegSof {
                precision: *seg.first()?,
                height: u16::from_be_bytes([*seg.get(1)?, *seg.get(2)?]),
                width: u16::from_be_bytes([*seg.get(3)?, *seg.get(4)?]),
                components: *seg.get(5)?,
            });
        }
        if marker == 0xDA || marker == 0xD9 || len < 2 {
            return None; // scan or end before any frame header
        }
        pos += len;
    }
}

/// Inflate a raw deflate stream (a Deflated Explicit VR Little Endian data set), refusing more
/// than `max` bytes.
fn inflate(deflated: &[u8], max: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(deflated)
        .take(max.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| format!("the deflated data set does not inflate: {e}"))?;
    if out.len() as u64 > max {
        return Err(format!("the deflated data set inflates past {max} bytes"));
    }
    Ok(out)
}

/// Nesting limit for sequences; deeper data sets are refused as malformed.
const MAX_DEPTH: u32 = 64;
const UNDEFINED: u32 = 0xFFFF_FFFF;
const ITEM: Tag = Tag(0xFFFE, 0xE000);
const ITEM_END: Tag = Tag(0xFFFE, 0xE00D);
const SEQUENCE_END: Tag = Tag(0xFFFE, 0xE0DD);

/// A structural problem found before parsing.
#[derive(Debug)]
enum ScanError {
    /// The input ends inside an element (byte offset from `DICM`).
    Eof(usize),
    /// The structure is inconsistent.
    Bad(usize, String),
    /// No usable file meta group after `DICM`.
    NoMeta(String),
}

impl ScanError {
    fn into_error(self, path: &Path) -> DicomError {
        match self {
            Self::Eof(at) => DicomError::Truncated {
                path: path.to_path_buf(),
                detail: format!("the file ends inside a data element ({at} bytes after `DICM`)"),
            },
            Self::Bad(at, what) => DicomError::Malformed {
                path: path.to_path_buf(),
                detail: format!("{what} ({at} bytes after `DICM`)"),
            },
            Self::NoMeta(reason) => DicomError::NotDicom {
                path: path.to_path_buf(),
                reason,
            },
        }
    }
}

/// Walks the element structure (headers and lengths only, recursing into sequences) before
/// `dicom-object` parses it, so that a declared length beyond the end of the input is caught
/// here instead of becoming a multi-gigabyte allocation in the parser.
#[derive(Clone, Copy)]
struct Scanner<'a> {
    data: &'a [u8],
    big_endian: bool,
    explicit: bool,
}

/// One element header.
struct Header {
    tag: Tag,
    vr: Option<dicom_core::VR>,
    len: u32,
    size: usize,
}

impl<'a> Scanner<'a> {
    /// Check `body` (from `DICM` on); a deflated data set is inflated (up to `max_inflated`
    /// bytes) and checked. Returns whether the file ends inside the top-level encapsulated
    /// PixelData at a fragment boundary (a tolerated cut).
    fn check(body: &'a [u8], max_inflated: u64) -> Result<bool, ScanError> {
        let meta = Scanner {
            data: body,
            big_endian: false,
            explicit: true,
        };
        let mut pos = 4;
        let mut ts = String::new();
        while pos < body.len() {
            let group = meta.u16_at(pos).ok_or(ScanError::Eof(pos))?;
            if group != 0x0002 {
                if pos == 4 {
                    return Err(ScanError::NoMeta(format!(
                        "no file meta group after `DICM` (first group {group:04X})"
                    )));
                }
                break;
            }
            let h = meta.header(pos)?;
            if let Some(code) = body.get(pos + 4..pos + 6)
                && dicom_core::VR::from_binary([code[0], code[1]]).is_none()
            {
                return Err(ScanError::NoMeta(format!(
                    "file meta element {:?} has no valid VR",
                    h.tag
                )));
            }
            let value_at = pos + h.size;
            let end = meta.bounded(value_at, h.len)?;
            meta.check_unit(pos, &h)?;
            if h.tag == tags::TRANSFER_SYNTAX_UID {
                ts = String::from_utf8_lossy(body.get(value_at..end).unwrap_or_default())
                    .trim_end_matches(['\0', ' '])
                    .to_string();
            }
            pos = end;
        }
        let data_set = match ts.as_str() {
            // A deflated data set is walked inflated: the parser inflates it as it reads, so
            // its lengths need the same check (found by the dicom fuzzer: a 320 MB value).
            "1.2.840.10008.1.2.1.99" => {
                let inflated = inflate(body.get(pos..).unwrap_or_default(), max_inflated)
                    .map_err(|why| ScanError::Bad(pos, why))?;
                let s = Scanner {
                    data: &inflated,
                    big_endian: false,
                    explicit: true,
                };
                let mut cut = false;
                s.data_set(0, inflated.len(), false, 0, &mut cut)
                    .map_err(|e| match e {
                        ScanError::Eof(at) => ScanError::Bad(
                            pos,
                            format!("the deflated data set ends inside an element ({at} bytes into it, inflated)"),
                        ),
                        other => other,
                    })?;
                return Ok(false);
            }
            "1.2.840.10008.1.2" => Scanner {
                data: body,
                big_endian: false,
                explicit: false,
            },
            "1.2.840.10008.1.2.2" => Scanner {
                data: body,
                big_endian: true,
                explicit: true,
            },
            _ => meta,
        };
        let mut cut = false;
        data_set.data_set(pos, body.len(), false, 0, &mut cut)?;
        Ok(cut)
    }

    fn u16_at(&self, pos: usize) -> Option<u16> {
        let b = self.data.get(pos..pos + 2)?;
        let a = [b[0], b[1]];
        Some(if self.big_endian {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        })
    }

    fn u32_at(&self, pos: usize) -> Option<u32> {
        let b = self.data.get(pos..pos + 4)?;
        let a = [b[0], b[1], b[2], b[3]];
        Some(if self.big_endian {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        })
    }

    /// End of a value of `len` bytes at `at`, when it lies inside the input.
    fn bounded(&self, at: usize, len: u32) -> Result<usize, ScanError> {
        let end = at.checked_add(len as usize).ok_or(ScanError::Eof(at))?;
        if end > self.data.len() {
            Err(ScanError::Eof(at))
        } else {
            Ok(end)
        }
    }

    fn header(&self, pos: usize) -> Result<Header, ScanError> {
        use dicom_core::VR;
        let eof = ScanError::Eof(pos);
        let group = self.u16_at(pos).ok_or(ScanError::Eof(pos))?;
        let element = self.u16_at(pos + 2).ok_or(ScanError::Eof(pos))?;
        let tag = Tag(group, element);
        if group == 0xFFFE {
            let len = self.u32_at(pos + 4).ok_or(eof)?;
            return Ok(Header {
                tag,
                vr: None,
                len,
                size: 8,
            });
        }
        if !self.explicit {
            let len = self.u32_at(pos + 4).ok_or(eof)?;
            return Ok(Header {
                tag,
                vr: None,
                len,
                size: 8,
            });
        }
        let code = self.data.get(pos + 4..pos + 6).ok_or(ScanError::Eof(pos))?;
        let vr = VR::from_binary([code[0], code[1]]).unwrap_or(VR::UN);
        let short = matches!(
            vr,
            VR::AE
                | VR::AS
                | VR::AT
                | VR::CS
                | VR::DA
                | VR::DS
                | VR::DT
                | VR::FL
                | VR::FD
                | VR::IS
                | VR::LO
                | VR::LT
                | VR::PN
                | VR::SH
                | VR::SL
                | VR::SS
                | VR::ST
                | VR::TM
                | VR::UI
                | VR::UL
                | VR::US
        );
        if short {
            let len = u32::from(self.u16_at(pos + 6).ok_or(eof)?);
            Ok(Header {
                tag,
                vr: Some(vr),
                len,
                size: 8,
            })
        } else {
            let len = self.u32_at(pos + 8).ok_or(eof)?;
            Ok(Header {
                tag,
                vr: Some(vr),
                len,
                size: 12,
            })
        }
    }

    /// The size of one value of an element's binary VR (its length must be a multiple of it),
    /// from the explicit VR or, in implicit VR, the dictionary's.
    fn value_unit(&self, h: &Header) -> Option<usize> {
        use dicom_core::VR;
        use dicom_core::dictionary::{DataDictionary, VirtualVr};
        let vr = match h.vr {
            Some(vr) => vr,
            None => match dicom_object::StandardDataDictionary.by_tag(h.tag)?.vr {
                VirtualVr::Exact(vr) => vr,
                _ => return None,
            },
        };
        match vr {
            VR::OW | VR::SS | VR::US => Some(2),
            VR::AT | VR::FL | VR::OF | VR::OL | VR::SL | VR::UL => Some(4),
            VR::FD | VR::OD | VR::OV | VR::SV | VR::UV => Some(8),
            _ => None,
        }
    }

    /// Refuse a defined length that is not a whole number of values: the parser would read
    /// the whole values only and lose its place in the stream (then read element headers out
    /// of value bytes, with lengths in the gigabytes).
    fn check_unit(&self, pos: usize, h: &Header) -> Result<(), ScanError> {
        match self.value_unit(h) {
            Some(unit) if h.len != UNDEFINED && !(h.len as usize).is_multiple_of(unit) => {
                Err(ScanError::Bad(
                    pos,
                    format!(
                        "{:?} has length {}, not a multiple of its {unit}-byte values",
                        h.tag, h.len
                    ),
                ))
            }
            _ => Ok(()),
        }
    }

    /// Whether an element with a defined length holds a sequence.
    fn is_sequence(&self, h: &Header) -> bool {
        use dicom_core::dictionary::{DataDictionary, VirtualVr};
        match h.vr {
            Some(vr) => vr == dicom_core::VR::SQ,
            None => dicom_object::StandardDataDictionary
                .by_tag(h.tag)
                .is_some_and(|e| e.vr == VirtualVr::Exact(dicom_core::VR::SQ)),
        }
    }

    /// Walk a data set from `pos` to `end`, or up to its item delimiter when `delimited`.
    /// Returns the position after it.
    fn data_set(
        &self,
        mut pos: usize,
        end: usize,
        delimited: bool,
        depth: u32,
        cut: &mut bool,
    ) -> Result<usize, ScanError> {
        if depth > MAX_DEPTH {
            return Err(ScanError::Bad(
                pos,
                format!("sequences nested deeper than {MAX_DEPTH}"),
            ));
        }
        loop {
            if pos >= end {
                return if delimited {
                    Err(ScanError::Eof(pos))
                } else {
                    Ok(pos)
                };
            }
            let h = self.header(pos)?;
            let value_at = pos + h.size;
            if value_at > end {
                return Err(self.past(pos, end));
            }
            if h.tag == ITEM_END {
                if delimited {
                    return Ok(value_at);
                }
                pos = value_at; // stray delimiter: tolerated, as the parser does
                continue;
            }
            if h.tag == SEQUENCE_END || h.tag == ITEM {
                return Err(ScanError::Bad(
                    pos,
                    format!("unexpected {:?} in a data set", h.tag),
                ));
            }
            if h.len == UNDEFINED {
                pos = if h.tag == tags::PIXEL_DATA && depth == 0 && h.vr != Some(dicom_core::VR::SQ)
                {
                    self.fragments(value_at, end, cut)?
                } else if h.vr == Some(dicom_core::VR::UN) {
                    // PS3.5 6.2.2: UN of undefined length holds implicit VR little endian items
                    let inner = Scanner {
                        big_endian: false,
                        explicit: false,
                        ..*self
                    };
                    inner.items(value_at, end, None, depth + 1, cut)?
                } else if h.vr.is_none() || h.vr == Some(dicom_core::VR::SQ) {
                    self.items(value_at, end, None, depth + 1, cut)?
                } else {
                    return Err(ScanError::Bad(
                        pos,
                        format!("undefined length for {:?} {:?}", h.tag, h.vr),
                    ));
                };
                continue;
            }
            let value_end = value_at
                .checked_add(h.len as usize)
                .filter(|e| *e <= end)
                .ok_or_else(|| self.past(value_at, end))?;
            self.check_unit(pos, &h)?;
            if self.is_sequence(&h) {
                self.items(value_at, value_end, Some(value_end), depth + 1, cut)?;
            }
            pos = value_end;
        }
    }

    /// The error for a length that runs past `end`: the end of the input is a truncation, the
    /// end of an enclosing item is a structural error.
    fn past(&self, pos: usize, end: usize) -> ScanError {
        if end >= self.data.len() {
            ScanError::Eof(pos)
        } else {
            ScanError::Bad(
                pos,
                "an element runs past the end of its sequence item".into(),
            )
        }
    }

    /// Walk sequence items from `pos`: up to `defined_end`, or up to the sequence delimiter.
    fn items(
        &self,
        mut pos: usize,
        end: usize,
        defined_end: Option<usize>,
        depth: u32,
        cut: &mut bool,
    ) -> Result<usize, ScanError> {
        loop {
            if let Some(e) = defined_end
                && pos >= e
            {
                return Ok(pos);
            }
            if pos >= end {
                return Err(self.past(pos, end));
            }
            let h = self.header(pos)?;
            let value_at = pos + h.size;
            if value_at > end {
                return Err(self.past(pos, end));
            }
            match h.tag {
                SEQUENCE_END if defined_end.is_none() => return Ok(value_at),
                ITEM if h.len == UNDEFINED => {
                    pos = self.data_set(value_at, end, true, depth, cut)?;
                }
                ITEM => {
                    let item_end = value_at
                        .checked_add(h.len as usize)
                        .filter(|e| *e <= end)
                        .ok_or_else(|| self.past(value_at, end))?;
                    self.data_set(value_at, item_end, false, depth, cut)?;
                    pos = item_end;
                }
                other => {
                    return Err(ScanError::Bad(
                        pos,
                        format!("expected a sequence item, found {other:?}"),
                    ));
                }
            }
        }
    }

    /// Walk the fragments of encapsulated pixel data. The end of the input at a fragment
    /// boundary sets `cut` instead of failing, so the decoder can report what is missing.
    fn fragments(&self, mut pos: usize, end: usize, cut: &mut bool) -> Result<usize, ScanError> {
        loop {
            if pos >= end && end >= self.data.len() {
                *cut = true;
                return Ok(pos);
            }
            let h = self.header(pos)?;
            let value_at = pos + h.size;
            match h.tag {
                SEQUENCE_END => return Ok(value_at),
                ITEM if h.len != UNDEFINED => {
                    pos = value_at
                        .checked_add(h.len as usize)
                        .filter(|e| *e <= end)
                        .ok_or_else(|| self.past(value_at, end))?;
                }
                other => {
                    return Err(ScanError::Bad(
                        pos,
                        format!("expected a pixel data fragment, found {other:?}"),
                    ));
                }
            }
        }
    }
}

fn crop_frame(f: &GrayImage, r: &UsRegion) -> Option<GrayImage> {
    let (x0, y0) = (r.min_x as usize, r.min_y as usize);
    let (w, h) = (r.width() as usize, r.height() as usize);
    if x0 + w > f.width() || y0 + h > f.height() {
        return None;
    }
    let mut data = Vec::with_capacity(w * h);
    for y in y0..y0 + h {
        let start = y * f.width() + x0;
        data.extend_from_slice(f.data().get(start..start + w)?);
    }
    GrayImage::new(w, h, data).ok()
}

fn region_from_item(item: &InMemDicomObject) -> Option<UsRegion> {
    let uint = |tag: Tag| item.get(tag).and_then(|e| e.to_int::<u32>().ok());
    let ushort = |tag: Tag| item.get(tag).and_then(|e| e.to_int::<u16>().ok());
    let sint = |tag: Tag| item.get(tag).and_then(|e| e.to_int::<i32>().ok());
    let delta = |tag: Tag| item.get(tag).and_then(|e| e.to_float64().ok());
    Some(UsRegion {
        min_x: uint(tags::REGION_LOCATION_MIN_X0)?,
        min_y: uint(tags::REGION_LOCATION_MIN_Y0)?,
        max_x: uint(tags::REGION_LOCATION_MAX_X1)?,
        max_y: uint(tags::REGION_LOCATION_MAX_Y1)?,
        spatial_format: ushort(tags::REGION_SPATIAL_FORMAT).unwrap_or(0),
        data_type: ushort(tags::REGION_DATA_TYPE).unwrap_or(0),
        flags: uint(tags::REGION_FLAGS).unwrap_or(0),
        units_x: ushort(tags::PHYSICAL_UNITS_X_DIRECTION)?,
        units_y: ushort(tags::PHYSICAL_UNITS_Y_DIRECTION)?,
        delta_x: delta(tags::PHYSICAL_DELTA_X)?,
        delta_y: delta(tags::PHYSICAL_DELTA_Y)?,
        reference_pixel: sint(tags::REFERENCE_PIXEL_X0).zip(sint(tags::REFERENCE_PIXEL_Y0)),
    })
}

/// A non-empty trimmed string value.
fn text(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    obj.get(tag)
        .and_then(|e| e.to_str().ok())
        .map(|s: Cow<'_, str>| s.trim().trim_end_matches('\0').to_string())
        .filter(|s| !s.is_empty())
}

/// A finite number (the first, for multi-valued attributes).
fn float(obj: &InMemDicomObject, tag: Tag) -> Option<f64> {
    obj.get(tag)
        .and_then(|e| e.to_multi_float64().ok())
        .and_then(|v| v.first().copied())
        .filter(|v| v.is_finite())
}

/// DICOM Age String (`nnnD`, `nnnW`, `nnnM`, `nnnY`) → whole years. Lenient about missing
/// zero padding and a missing unit (years). Ages over [`MAX_AGE_YEARS`] are not plausible and
/// read as unknown (the C ABI refuses them too), so they never reach a prompt.
pub fn parse_age(s: &str) -> Option<u8> {
    let s = s.trim();
    let (digits, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c.to_ascii_uppercase()),
        Some(_) => (s, 'Y'),
        None => return None,
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u32 = digits.parse().ok()?;
    let years = match unit {
        'Y' => n,
        'M' => n / 12,
        'W' => n / 52,
        'D' => n / 365,
        _ => return None,
    };
    u8::try_from(years).ok().filter(|&y| y <= MAX_AGE_YEARS)
}

/// The oldest plausible age, years (as `sb_meta.age_years` allows).
pub const MAX_AGE_YEARS: u8 = 130;

/// An apical view from free text: CAMUS codes and echo abbreviations ([`View::from_str`]),
/// `ViewName` values such as `A4C`, `4CH`, `AP4` or `4 CHAMBER`, and CID 12226 code meanings
/// such as `Apical four chamber` or `Apical long axis`. Non-apical views (subcostal,
/// parasternal, five-chamber, …) and ambiguous text give `None`.
///
/// [`View::from_str`]: std::str::FromStr::from_str
pub fn view_from_text(s: &str) -> Option<View> {
    if let Ok(v) = s.parse::<View>() {
        return Some(v);
    }
    let norm: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect();
    let words: Vec<&str> = norm.split_whitespace().collect();
    let excluded = [
        "subcostal",
        "subxiphoid",
        "parasternal",
        "suprasternal",
        "plax",
        "psax",
        "short",
        "five",
        "5",
        "5ch",
        "a5c",
        "ap5",
    ];
    if words.iter().any(|w| excluded.contains(w)) {
        return None;
    }
    let compact = words.concat();
    let word_in = |set: &[&str]| words.iter().any(|w| set.contains(w));
    let has = |set: &[&str]| set.iter().any(|p| compact.contains(p));
    let two = word_in(&["a2c", "2ch", "2c", "ap2"]) || has(&["twochamber", "2chamber"]);
    let three = word_in(&["a3c", "3ch", "3c", "ap3", "aplax", "alax"])
        || has(&["threechamber", "3chamber", "apicallongaxis"]);
    let four = word_in(&["a4c", "4ch", "4c", "ap4"]) || has(&["fourchamber", "4chamber"]);
    match (two, three, four) {
        (true, false, false) => Some(View::TwoChamber),
        (false, true, false) => Some(View::ThreeChamber),
        (false, false, true) => Some(View::FourChamber),
        _ => None,
    }
}

/// A human name for a transfer syntax UID, for error messages.
pub fn transfer_syntax_name(uid: &str) -> &'static str {
    match uid {
        "1.2.840.10008.1.2" => "Implicit VR Little Endian",
        "1.2.840.10008.1.2.1" => "Explicit VR Little Endian",
        "1.2.840.10008.1.2.2" => "Explicit VR Big Endian",
        "1.2.840.10008.1.2.1.99" => "Deflated Explicit VR Little Endian",
        "1.2.840.10008.1.2.1.98" => "Encapsulated Uncompressed Explicit VR Little Endian",
        "1.2.840.10008.1.2.5" => "RLE Lossless",
        "1.2.840.10008.1.2.4.50" => "JPEG Baseline",
        "1.2.840.10008.1.2.4.51" => "JPEG Extended",
        "1.2.840.10008.1.2.4.57" => "JPEG Lossless",
        "1.2.840.10008.1.2.4.70" => "JPEG Lossless SV1",
        "1.2.840.10008.1.2.4.80" => "JPEG-LS Lossless",
        "1.2.840.10008.1.2.4.81" => "JPEG-LS Near-Lossless",
        "1.2.840.10008.1.2.4.90" => "JPEG 2000 Lossless",
        "1.2.840.10008.1.2.4.91" => "JPEG 2000",
        "1.2.840.10008.1.2.4.201" => "HTJ2K Lossless",
        "1.2.840.10008.1.2.4.202" => "HTJ2K Lossless RPCL",
        "1.2.840.10008.1.2.4.203" => "HTJ2K",
        "1.2.840.10008.1.2.4.100" | "1.2.840.10008.1.2.4.101" => "MPEG2 video",
        "1.2.840.10008.1.2.4.102"
        | "1.2.840.10008.1.2.4.103"
        | "1.2.840.10008.1.2.4.104"
        | "1.2.840.10008.1.2.4.105"
        | "1.2.840.10008.1.2.4.106" => "MPEG-4 AVC/H.264 video",
        "1.2.840.10008.1.2.4.107" | "1.2.840.10008.1.2.4.108" => "HEVC/H.265 video",
        "1.2.840.10008.1.2.4.110" | "1.2.840.10008.1.2.4.111" | "1.2.840.10008.1.2.4.112" => {
            "JPEG XL"
        }
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    use dicom_core::value::{DataSetSequence, PixelFragmentSequence};
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_object::mem::InMemElement;
    use dicom_object::meta::FileMetaTableBuilder;

    const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";

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
            vec![el(tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.2")],
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
        let frag =
            PixelFragmentSequence::new(Vec::<u32>::new(), vec![vec![0xFF_u8, 0x4F, 0xFF, 0x51]]);
        let pixel_data = vec![DataElement::new(tags::PIXEL_DATA, VR::OB, frag)];
        let b = file("1.2.840.10008.1.2.4.91", "US", pixel_data);
        let e = read(&b).unwrap_err();
        assert!(
            matches!(&e, DicomError::UnsupportedTransferSyntax { name, .. } if name == "JPEG 2000"),
            "{e}"
        );
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
        let lut = |v: [u16; 4]| {
            DataElement::new(Tag(0, 0), VR::OW, PrimitiveValue::U16(v.to_vec().into()))
        };
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
        for ts in ["1.2.840.10008.1.2", "1.2.840.10008.1.2.2"] {
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
        let input =
            include_bytes!("../../fuzz/regressions/dicom/sv-group-length-not-multiple-of-8");
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
        let b = file("1.2.840.10008.1.2.1.99", "US", vec![]);
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
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00,
            0x02, 0x00, 0x03, 0x01, 0x01, 0x11, 0x00,
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
}
