//! US Multi-frame Image DICOM writer: 8-bit MONOCHROME2 frames, explicit VR little endian,
//! uncompressed, with every Type 1 and Type 2 attribute of the US Multi-frame Image IOD
//! (PS3.3 A.7) so that `dciodvfy` reports no errors.
//!
//! What goes into the file from [`ScanMeta`]:
//!
//! - `sex` → `PatientSex` (`M`/`F`, empty when unknown), `age_years` → `PatientAge` (`056Y`);
//! - `frame_time_ms` → `FrameTime`, with `FrameIncrementPointer` → `FrameTime`, `CineRate` and
//!   `RecommendedDisplayFrameRate` (required: a cine without a frame time cannot be written);
//! - `heart_rate_bpm` → `HeartRate`;
//! - `view` → `ViewName` (`A2C`/`A3C`/`A4C`) and `ViewCodeSequence` with the CID 12226 SNOMED CT
//!   code ([`synboost_dicom::VIEW_CODES_SCT`]);
//! - `pixel_spacing` → one `SequenceOfUltrasoundRegions` item (2D sector, tissue, cm units,
//!   `PhysicalDeltaX/Y` = spacing in cm per pixel) over [`DicomWriteOptions::region`] or the
//!   whole image. Without a spacing no region is written.
//!
//! `phase`, `cycle_position` and `quality` have no standard attribute and are not written.
//!
//! UIDs are `2.25.<UUID as a decimal integer>` (PS3.5 B.2), the UUID a version-4 value hashed
//! from the time, the process id, a counter and the standard library's per-process random
//! hash keys.

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_object::mem::InMemElement;
use dicom_object::meta::FileMetaTableBuilder;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use synboost_core::meta::{ScanMeta, Sex, View};
use synboost_core::raster::GrayImage;
use synboost_dicom::{
    DATA_TYPE_TISSUE, SPATIAL_FORMAT_2D, UNITS_CM, US_MULTIFRAME_IMAGE_STORAGE, VIEW_CODES_SCT,
};

/// Explicit VR Little Endian.
pub const EXPLICIT_VR_LITTLE_ENDIAN: &str = "1.2.840.10008.1.2.1";
/// Implementation Class UID written in the file meta group (a fixed `2.25` UUID).
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.238597011694406339766187926359612356913";
/// Implementation Version Name written in the file meta group.
pub const IMPLEMENTATION_VERSION_NAME: &str = "SYNBOOST_SIM_01";

/// `RegionFlags`: bit 1 (scaling protection) set, bit 0 clear (high priority), the value the
/// EPIQ and SonoSite sample files carry for their 2D tissue region.
const REGION_FLAGS: u32 = 2;

/// Where the calibrated region lies in the image (inclusive pixel bounds) and where its
/// physical origin (the sector apex) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionSpec {
    /// First column.
    pub min_x: u32,
    /// First row.
    pub min_y: u32,
    /// Last column.
    pub max_x: u32,
    /// Last row.
    pub max_y: u32,
    /// `ReferencePixelX0/Y0`: the pixel, relative to (`min_x`, `min_y`), whose physical
    /// coordinates are (0, 0), e.g. the transducer face at the sector apex.
    pub reference_pixel: Option<(i32, i32)>,
}

impl RegionSpec {
    /// The whole of a `width` × `height` image, origin at the top centre (the sector apex of
    /// a phased-array image).
    pub fn whole(width: usize, height: usize) -> Self {
        Self {
            min_x: 0,
            min_y: 0,
            max_x: width.saturating_sub(1) as u32,
            max_y: height.saturating_sub(1) as u32,
            reference_pixel: Some(((width / 2) as i32, 0)),
        }
    }
}

/// What the writer puts into the file besides pixels and [`ScanMeta`].
#[derive(Debug, Clone, PartialEq)]
pub struct DicomWriteOptions {
    /// `PatientID`.
    pub patient_id: String,
    /// `PatientName`, DICOM PN form (`Family^Given`).
    pub patient_name: String,
    /// `StudyDescription`.
    pub study_description: String,
    /// `SeriesDescription`.
    pub series_description: String,
    /// `Manufacturer`.
    pub manufacturer: String,
    /// `ManufacturerModelName`.
    pub model_name: String,
    /// `StudyID`.
    pub study_id: String,
    /// `SeriesNumber`.
    pub series_number: u32,
    /// `InstanceNumber`.
    pub instance_number: u32,
    /// `StudyInstanceUID`; a new one when `None`. Give the same one to group cines in a study.
    pub study_instance_uid: Option<String>,
    /// `SeriesInstanceUID`; a new one when `None`.
    pub series_instance_uid: Option<String>,
    /// `DepthOfScanField`, mm.
    pub depth_mm: Option<f64>,
    /// The calibrated region; the whole image when `None`. Only written with a pixel spacing.
    pub region: Option<RegionSpec>,
    /// `StudyDate`/`ContentDate` and times; now when `None`.
    pub acquired_at: Option<SystemTime>,
}

impl Default for DicomWriteOptions {
    fn default() -> Self {
        Self {
            patient_id: "SIM0001".into(),
            patient_name: "Phantom^Synboost".into(),
            study_description: "Synthetic echocardiogram".into(),
            series_description: "synboost-sim phantom cine".into(),
            manufacturer: "synboost-sim".into(),
            model_name: "synboost phantom".into(),
            study_id: "1".into(),
            series_number: 1,
            instance_number: 1,
            study_instance_uid: None,
            series_instance_uid: None,
            depth_mm: None,
            region: None,
            acquired_at: None,
        }
    }
}

/// The identifiers of a written file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenCine {
    /// `SOPInstanceUID`.
    pub sop_instance_uid: String,
    /// `SeriesInstanceUID`.
    pub series_instance_uid: String,
    /// `StudyInstanceUID`.
    pub study_instance_uid: String,
    /// Size of the file, bytes.
    pub bytes: u64,
}

/// Errors while writing a cine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DicomWriteError {
    /// No frames were given.
    #[error("no frames to write")]
    NoFrames,
    /// A frame differs in size from the first one.
    #[error("frame {index} is {found_w}x{found_h}, frame 0 is {width}x{height}")]
    FrameSize {
        /// 0-based frame index.
        index: usize,
        /// Width of frame 0.
        width: usize,
        /// Height of frame 0.
        height: usize,
        /// Width of this frame.
        found_w: usize,
        /// Height of this frame.
        found_h: usize,
    },
    /// Rows or Columns above 65535, or more frames than `NumberOfFrames` can say.
    #[error("{what} ({value}) does not fit a DICOM image")]
    TooLarge {
        /// Which quantity.
        what: &'static str,
        /// Its value.
        value: usize,
    },
    /// The frame time is unknown or not a positive finite number; a US Multi-frame file needs
    /// one.
    #[error("frame time {0:?} ms: a US Multi-frame file needs a positive frame time")]
    FrameTime(Option<f64>),
    /// An option or metadata value cannot be encoded.
    #[error("invalid {field}: {value}")]
    Invalid {
        /// Which option.
        field: &'static str,
        /// The value, or what is wrong with it.
        value: String,
    },
    /// Building or encoding the data set failed.
    #[error("encoding the DICOM data set: {0}")]
    Encode(String),
    /// The file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// Write `frames` with `meta` as a US Multi-frame Image file at `path` (written to a temporary
/// file beside it, then renamed, so a reader never sees half a file).
pub fn write_cine(
    path: &Path,
    frames: &[GrayImage],
    meta: &ScanMeta,
    opts: &DicomWriteOptions,
) -> Result<WrittenCine, DicomWriteError> {
    let (bytes, mut written) = encode_cine(frames, meta, opts)?;
    let io = |source| DicomWriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = std::fs::File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(&bytes)?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    written.bytes = bytes.len() as u64;
    log::info!(
        "{}: {} frame(s) {}x{}, {} bytes",
        path.display(),
        frames.len(),
        frames.first().map_or(0, GrayImage::width),
        frames.first().map_or(0, GrayImage::height),
        bytes.len()
    );
    Ok(written)
}

/// Encode `frames` with `meta` as the bytes of a US Multi-frame Image file (preamble, `DICM`,
/// file meta group, data set).
pub fn encode_cine(
    frames: &[GrayImage],
    meta: &ScanMeta,
    opts: &DicomWriteOptions,
) -> Result<(Vec<u8>, WrittenCine), DicomWriteError> {
    let first = frames.first().ok_or(DicomWriteError::NoFrames)?;
    let (width, height) = (first.width(), first.height());
    for (index, f) in frames.iter().enumerate() {
        if (f.width(), f.height()) != (width, height) {
            return Err(DicomWriteError::FrameSize {
                index,
                width,
                height,
                found_w: f.width(),
                found_h: f.height(),
            });
        }
    }
    let rows = u16::try_from(height).map_err(|_| DicomWriteError::TooLarge {
        what: "Rows",
        value: height,
    })?;
    let cols = u16::try_from(width).map_err(|_| DicomWriteError::TooLarge {
        what: "Columns",
        value: width,
    })?;
    if frames.len() > 999_999_999_999 {
        return Err(DicomWriteError::TooLarge {
            what: "NumberOfFrames",
            value: frames.len(),
        });
    }
    let frame_time = meta
        .frame_time_ms
        .filter(|t| t.is_finite() && *t > 0.0)
        .ok_or(DicomWriteError::FrameTime(meta.frame_time_ms))?;
    check_text("patient_id", &opts.patient_id, 64)?;
    check_text("patient_name", &opts.patient_name, 64)?;
    check_text("study_description", &opts.study_description, 64)?;
    check_text("series_description", &opts.series_description, 64)?;
    check_text("manufacturer", &opts.manufacturer, 64)?;
    check_text("model_name", &opts.model_name, 64)?;
    check_text("study_id", &opts.study_id, 16)?;
    for (field, uid) in [
        ("study_instance_uid", &opts.study_instance_uid),
        ("series_instance_uid", &opts.series_instance_uid),
    ] {
        if let Some(u) = uid
            && !is_valid_uid(u)
        {
            return Err(invalid(field, u.clone()));
        }
    }
    if let Some(a) = meta.age_years
        && a > 150
    {
        return Err(invalid("age_years", a.to_string()));
    }
    if let Some(hr) = meta.heart_rate_bpm
        && !(0.0..1000.0).contains(&hr)
    {
        return Err(invalid("heart_rate_bpm", hr.to_string()));
    }
    if let Some(d) = opts.depth_mm
        && !(d.is_finite() && d > 0.0 && d < 1e6)
    {
        return Err(invalid("depth_mm", d.to_string()));
    }
    let region = match (meta.pixel_spacing, opts.region) {
        (None, _) => None,
        (Some(s), r) => {
            let r = r.unwrap_or_else(|| RegionSpec::whole(width, height));
            if r.min_x > r.max_x
                || r.min_y > r.max_y
                || r.max_x as usize >= width
                || r.max_y as usize >= height
            {
                return Err(invalid(
                    "region",
                    format!(
                        "({},{})-({},{}) does not fit the {width}x{height} image",
                        r.min_x, r.min_y, r.max_x, r.max_y
                    ),
                ));
            }
            Some((r, s))
        }
    };

    let study_uid = opts.study_instance_uid.clone().unwrap_or_else(new_uid);
    let series_uid = opts.series_instance_uid.clone().unwrap_or_else(new_uid);
    let sop_uid = new_uid();
    let (date, time) = dicom_date_time(opts.acquired_at.unwrap_or_else(SystemTime::now));
    let fps = 1000.0 / frame_time;

    let mut obj = InMemDicomObject::new_empty();
    let mut put = |e: InMemElement| {
        obj.put(e);
    };
    let texts = [
        &opts.patient_id,
        &opts.patient_name,
        &opts.study_description,
        &opts.series_description,
        &opts.manufacturer,
        &opts.model_name,
    ];
    // SOP Common
    if texts.iter().any(|t| !t.is_ascii()) {
        put(str_el(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192"));
    }
    put(str_el(
        tags::SOP_CLASS_UID,
        VR::UI,
        US_MULTIFRAME_IMAGE_STORAGE,
    ));
    put(str_el(tags::SOP_INSTANCE_UID, VR::UI, &sop_uid));
    put(str_el(tags::INSTANCE_CREATION_DATE, VR::DA, &date));
    put(str_el(tags::INSTANCE_CREATION_TIME, VR::TM, &time));
    put(str_el(tags::TIMEZONE_OFFSET_FROM_UTC, VR::SH, "+0000"));
    // Patient
    put(str_el(tags::PATIENT_NAME, VR::PN, &opts.patient_name));
    put(str_el(tags::PATIENT_ID, VR::LO, &opts.patient_id));
    put(str_el(tags::PATIENT_BIRTH_DATE, VR::DA, ""));
    let sex = match meta.sex {
        Some(Sex::Male) => "M",
        Some(Sex::Female) => "F",
        None => "",
    };
    put(str_el(tags::PATIENT_SEX, VR::CS, sex));
    // Patient Study
    if let Some(a) = meta.age_years {
        put(str_el(tags::PATIENT_AGE, VR::AS, &format!("{a:03}Y")));
    }
    // General Study
    put(str_el(tags::STUDY_INSTANCE_UID, VR::UI, &study_uid));
    put(str_el(tags::STUDY_DATE, VR::DA, &date));
    put(str_el(tags::STUDY_TIME, VR::TM, &time));
    put(str_el(tags::REFERRING_PHYSICIAN_NAME, VR::PN, ""));
    put(str_el(tags::STUDY_ID, VR::SH, &opts.study_id));
    put(str_el(tags::ACCESSION_NUMBER, VR::SH, ""));
    put(str_el(
        tags::STUDY_DESCRIPTION,
        VR::LO,
        &opts.study_description,
    ));
    // General Series
    put(str_el(tags::MODALITY, VR::CS, "US"));
    put(str_el(tags::SERIES_INSTANCE_UID, VR::UI, &series_uid));
    put(str_el(
        tags::SERIES_NUMBER,
        VR::IS,
        &opts.series_number.to_string(),
    ));
    // the heart is not a paired body part: BodyPartExamined given, Laterality absent
    put(str_el(tags::BODY_PART_EXAMINED, VR::CS, "HEART"));
    put(str_el(tags::SERIES_DATE, VR::DA, &date));
    put(str_el(tags::SERIES_TIME, VR::TM, &time));
    put(str_el(
        tags::SERIES_DESCRIPTION,
        VR::LO,
        &opts.series_description,
    ));
    // General Equipment
    put(str_el(tags::MANUFACTURER, VR::LO, &opts.manufacturer));
    put(str_el(
        tags::MANUFACTURER_MODEL_NAME,
        VR::LO,
        &opts.model_name,
    ));
    put(str_el(
        tags::SOFTWARE_VERSIONS,
        VR::LO,
        env!("CARGO_PKG_VERSION"),
    ));
    // General Image
    put(str_el(
        tags::INSTANCE_NUMBER,
        VR::IS,
        &opts.instance_number.to_string(),
    ));
    put(str_el(tags::PATIENT_ORIENTATION, VR::CS, ""));
    put(str_el(tags::CONTENT_DATE, VR::DA, &date));
    put(str_el(tags::CONTENT_TIME, VR::TM, &time));
    put(str_el(
        tags::ACQUISITION_DATE_TIME,
        VR::DT,
        &format!("{date}{time}+0000"),
    ));
    put(str_el(tags::BURNED_IN_ANNOTATION, VR::CS, "NO"));
    // US Image (with Image Pixel)
    // synthetic pixels: DERIVED, with the derivation described; values 3 and 4 (the US image
    // flavour and mode bitmap) are optional and the defined terms have no transthoracic
    // cardiac flavour, so they are left out
    put(str_el(tags::IMAGE_TYPE, VR::CS, "DERIVED\\PRIMARY"));
    put(str_el(
        tags::DERIVATION_DESCRIPTION,
        VR::ST,
        "Synthetic frames written by synboost-sim",
    ));
    put(str_el(tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00"));
    put(num_el(
        tags::SAMPLES_PER_PIXEL,
        VR::US,
        PrimitiveValue::from(1_u16),
    ));
    put(str_el(
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2",
    ));
    put(num_el(tags::ROWS, VR::US, PrimitiveValue::from(rows)));
    put(num_el(tags::COLUMNS, VR::US, PrimitiveValue::from(cols)));
    put(num_el(
        tags::BITS_ALLOCATED,
        VR::US,
        PrimitiveValue::from(8_u16),
    ));
    put(num_el(
        tags::BITS_STORED,
        VR::US,
        PrimitiveValue::from(8_u16),
    ));
    put(num_el(tags::HIGH_BIT, VR::US, PrimitiveValue::from(7_u16)));
    put(num_el(
        tags::PIXEL_REPRESENTATION,
        VR::US,
        PrimitiveValue::from(0_u16),
    ));
    put(num_el(
        tags::ULTRASOUND_COLOR_DATA_PRESENT,
        VR::US,
        PrimitiveValue::from(0_u16),
    ));
    if let Some(v) = meta.view {
        put(str_el(tags::VIEW_NAME, VR::SH, view_name(v)));
        // Type 2C with a View Name (stress protocols); empty: not a staged acquisition
        put(str_el(tags::NUMBER_OF_STAGES, VR::IS, ""));
        put(str_el(tags::NUMBER_OF_VIEWS_IN_STAGE, VR::IS, ""));
        put(DataElement::new(
            tags::VIEW_CODE_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![view_code_item(v)]),
        ));
    }
    if let Some(hr) = meta.heart_rate_bpm.filter(|h| *h > 0.0) {
        put(str_el(
            tags::HEART_RATE,
            VR::IS,
            &format!("{}", hr.round() as u32),
        ));
    }
    if let Some(d) = opts.depth_mm {
        put(str_el(
            tags::DEPTH_OF_SCAN_FIELD,
            VR::IS,
            &format!("{}", d.round() as u64),
        ));
    }
    // Cine
    put(str_el(tags::FRAME_TIME, VR::DS, &ds(frame_time)));
    put(str_el(
        tags::CINE_RATE,
        VR::IS,
        &format!("{}", fps.round().max(1.0) as u64),
    ));
    put(str_el(
        tags::RECOMMENDED_DISPLAY_FRAME_RATE,
        VR::IS,
        &format!("{}", fps.round().max(1.0) as u64),
    ));
    put(num_el(
        tags::PREFERRED_PLAYBACK_SEQUENCING,
        VR::US,
        PrimitiveValue::from(0_u16),
    ));
    // Multi-frame
    put(str_el(
        tags::NUMBER_OF_FRAMES,
        VR::IS,
        &frames.len().to_string(),
    ));
    put(num_el(
        tags::FRAME_INCREMENT_POINTER,
        VR::AT,
        PrimitiveValue::from(tags::FRAME_TIME),
    ));
    // US Region Calibration
    if let Some((r, s)) = region {
        put(DataElement::new(
            tags::SEQUENCE_OF_ULTRASOUND_REGIONS,
            VR::SQ,
            DataSetSequence::from(vec![region_item(&r, s.col_mm / 10.0, s.row_mm / 10.0)]),
        ));
    }
    // Pixel data, padded to an even length
    let mut pixels = Vec::with_capacity(frames.len() * width * height + 1);
    for f in frames {
        pixels.extend_from_slice(f.data());
    }
    if pixels.len() % 2 == 1 {
        pixels.push(0);
    }
    put(num_el(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::from(pixels),
    ));

    let file = obj
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(EXPLICIT_VR_LITTLE_ENDIAN)
                .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
                .implementation_version_name(IMPLEMENTATION_VERSION_NAME),
        )
        .map_err(|e| DicomWriteError::Encode(e.to_string()))?;
    let mut bytes = Vec::new();
    file.write_all(&mut bytes)
        .map_err(|e| DicomWriteError::Encode(synboost_dicom::error_chain(&e)))?;
    let written = WrittenCine {
        sop_instance_uid: sop_uid,
        series_instance_uid: series_uid,
        study_instance_uid: study_uid,
        bytes: bytes.len() as u64,
    };
    Ok((bytes, written))
}

fn invalid(field: &'static str, value: String) -> DicomWriteError {
    DicomWriteError::Invalid { field, value }
}

/// Text for LO/SH/PN values: no backslash (the value separator), no control characters, at most
/// `max` characters.
fn check_text(field: &'static str, s: &str, max: usize) -> Result<(), DicomWriteError> {
    if s.chars().count() > max {
        return Err(invalid(
            field,
            format!("{s:?} is longer than {max} characters"),
        ));
    }
    if s.chars().any(|c| c == '\\' || c.is_control()) {
        return Err(invalid(
            field,
            format!("{s:?} holds a backslash or control character"),
        ));
    }
    Ok(())
}

fn str_el(tag: Tag, vr: VR, s: &str) -> InMemElement {
    let value = if s.is_empty() {
        PrimitiveValue::Empty
    } else if s.contains('\\') && vr == VR::CS {
        PrimitiveValue::Strs(s.split('\\').map(str::to_string).collect())
    } else {
        PrimitiveValue::from(s)
    };
    DataElement::new(tag, vr, value)
}

fn num_el(tag: Tag, vr: VR, v: PrimitiveValue) -> InMemElement {
    DataElement::new(tag, vr, v)
}

fn view_name(v: View) -> &'static str {
    match v {
        View::TwoChamber => "A2C",
        View::ThreeChamber => "A3C",
        View::FourChamber => "A4C",
        _ => "",
    }
}

/// The CID 12226 item for a view: code value, `SCT`, code meaning.
fn view_code_item(v: View) -> InMemDicomObject {
    let code = VIEW_CODES_SCT
        .iter()
        .find(|(_, view)| *view == v)
        .map_or("", |(c, _)| *c);
    let meaning = match v {
        View::TwoChamber => "Apical two chamber",
        View::ThreeChamber => "Apical long axis",
        View::FourChamber => "Apical four chamber",
        _ => "",
    };
    let mut item = InMemDicomObject::new_empty();
    item.put(str_el(tags::CODE_VALUE, VR::SH, code));
    item.put(str_el(tags::CODING_SCHEME_DESIGNATOR, VR::SH, "SCT"));
    item.put(str_el(tags::CODE_MEANING, VR::LO, meaning));
    item
}

fn region_item(r: &RegionSpec, delta_x_cm: f64, delta_y_cm: f64) -> InMemDicomObject {
    let mut item = InMemDicomObject::new_empty();
    let us = |v: u16| PrimitiveValue::from(v);
    let ul = |v: u32| PrimitiveValue::from(v);
    item.put(num_el(
        tags::REGION_SPATIAL_FORMAT,
        VR::US,
        us(SPATIAL_FORMAT_2D),
    ));
    item.put(num_el(tags::REGION_DATA_TYPE, VR::US, us(DATA_TYPE_TISSUE)));
    item.put(num_el(tags::REGION_FLAGS, VR::UL, ul(REGION_FLAGS)));
    item.put(num_el(tags::REGION_LOCATION_MIN_X0, VR::UL, ul(r.min_x)));
    item.put(num_el(tags::REGION_LOCATION_MIN_Y0, VR::UL, ul(r.min_y)));
    item.put(num_el(tags::REGION_LOCATION_MAX_X1, VR::UL, ul(r.max_x)));
    item.put(num_el(tags::REGION_LOCATION_MAX_Y1, VR::UL, ul(r.max_y)));
    if let Some((x0, y0)) = r.reference_pixel {
        item.put(num_el(
            tags::REFERENCE_PIXEL_X0,
            VR::SL,
            PrimitiveValue::from(x0),
        ));
        item.put(num_el(
            tags::REFERENCE_PIXEL_Y0,
            VR::SL,
            PrimitiveValue::from(y0),
        ));
        item.put(num_el(
            tags::REFERENCE_PIXEL_PHYSICAL_VALUE_X,
            VR::FD,
            PrimitiveValue::from(0.0_f64),
        ));
        item.put(num_el(
            tags::REFERENCE_PIXEL_PHYSICAL_VALUE_Y,
            VR::FD,
            PrimitiveValue::from(0.0_f64),
        ));
    }
    item.put(num_el(
        tags::PHYSICAL_UNITS_X_DIRECTION,
        VR::US,
        us(UNITS_CM),
    ));
    item.put(num_el(
        tags::PHYSICAL_UNITS_Y_DIRECTION,
        VR::US,
        us(UNITS_CM),
    ));
    item.put(num_el(
        tags::PHYSICAL_DELTA_X,
        VR::FD,
        PrimitiveValue::from(delta_x_cm),
    ));
    item.put(num_el(
        tags::PHYSICAL_DELTA_Y,
        VR::FD,
        PrimitiveValue::from(delta_y_cm),
    ));
    item
}

/// A Decimal String of at most 16 characters, as precise as fits.
fn ds(v: f64) -> String {
    let s = format!("{v}");
    if s.len() <= 16 {
        return s;
    }
    for prec in (0..=15).rev() {
        let s = format!("{v:.prec$}");
        let s = if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        };
        if s.len() <= 16 {
            return s;
        }
    }
    format!("{v:.0}")
}

/// Whether `s` is a syntactically valid UID (digits and dots, no empty or zero-led components,
/// at most 64 characters).
pub fn is_valid_uid(s: &str) -> bool {
    s.len() <= 64
        && !s.is_empty()
        && s.split('.').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_digit())
                && (c == "0" || !c.starts_with('0'))
        })
}

/// A new UID: `2.25.` followed by a version-4 UUID as a decimal integer.
pub fn new_uid() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    // RandomState carries random per-process keys; hashing time, pid and counter with two of
    // them gives 128 bits that differ between calls, processes and machines
    let half = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(salt);
        h.write_u128(nanos);
        h.write_u32(std::process::id());
        h.write_u64(n);
        h.finish()
    };
    let mut v = (u128::from(half(0x5EED_0001)) << 64) | u128::from(half(0x5EED_0002));
    v = (v & !(0xF_u128 << 76)) | (0x4_u128 << 76); // version 4
    v = (v & !(0x3_u128 << 62)) | (0x2_u128 << 62); // RFC 4122 variant
    format!("2.25.{v}")
}

/// `YYYYMMDD` and `HHMMSS.FFFFFF` (UTC) for a time.
fn dicom_date_time(t: SystemTime) -> (String, String) {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, day) = civil_from_days(days);
    (
        format!("{y:04}{m:02}{day:02}"),
        format!(
            "{:02}{:02}{:02}.{:06}",
            rem / 3600,
            (rem / 60) % 60,
            rem % 60,
            d.subsec_micros()
        ),
    )
}

/// Gregorian date from days since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_valid_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2000 {
            let u = new_uid();
            assert!(u.starts_with("2.25."), "{u}");
            assert!(is_valid_uid(&u), "{u}");
            assert!(seen.insert(u));
        }
        assert!(is_valid_uid(IMPLEMENTATION_CLASS_UID));
        assert!(!is_valid_uid("1.02.3"));
        assert!(!is_valid_uid("1..3"));
        assert!(!is_valid_uid("1.2.a"));
        assert!(!is_valid_uid(""));
    }

    #[test]
    fn decimal_strings_fit() {
        assert_eq!(ds(40.0), "40");
        assert_eq!(ds(33.333), "33.333");
        let s = ds(1000.0 / 30.0);
        assert!(s.len() <= 16 && s.starts_with("33.3333333"), "{s}");
        assert!((s.parse::<f64>().unwrap() - 1000.0 / 30.0).abs() < 1e-9);
        assert_eq!(ds(76.0), "76");
    }

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        let (d, t) =
            dicom_date_time(UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123));
        assert_eq!(d, "20231114");
        assert_eq!(t, "221320.123000");
    }

    #[test]
    fn text_checks() {
        assert!(check_text("x", "a^b", 64).is_ok());
        assert!(check_text("x", "a\\b", 64).is_err());
        assert!(check_text("x", "a\nb", 64).is_err());
        assert!(check_text("x", &"a".repeat(17), 16).is_err());
    }
}
