//! The data set of a US Multi-frame Image, module by module (PS3.3 A.7), and the bytes of the
//! file that holds it.

use super::check::{Checked, check};
use super::date::dicom_date_time;
use super::elements::{DataSet, ds, region_item, view_code_item, view_name};
use super::error::DicomWriteError;
use super::uid::new_uid;
use super::{
    DicomWriteOptions, EXPLICIT_VR_LITTLE_ENDIAN, IMPLEMENTATION_CLASS_UID,
    IMPLEMENTATION_VERSION_NAME, WrittenCine,
};
use dicom_core::VR;
use dicom_dictionary_std::tags;
use dicom_dictionary_std::uids::ULTRASOUND_MULTI_FRAME_IMAGE_STORAGE;
use dicom_object::meta::FileMetaTableBuilder;
use std::time::SystemTime;
use synboost_core::meta::{ScanMeta, Sex};
use synboost_core::raster::GrayImage;

/// The instance's UIDs and its date and time.
struct Stamp {
    study_uid: String,
    series_uid: String,
    sop_uid: String,
    /// `DA`.
    date: String,
    /// `TM`.
    time: String,
}

impl Stamp {
    /// The UIDs given in `opts` (new ones otherwise) and the acquisition time (now by default).
    fn new(opts: &DicomWriteOptions) -> Self {
        let study_uid = opts.study_instance_uid.clone().unwrap_or_else(new_uid);
        let series_uid = opts.series_instance_uid.clone().unwrap_or_else(new_uid);
        let sop_uid = new_uid();
        let (date, time) = dicom_date_time(opts.acquired_at.unwrap_or_else(SystemTime::now));
        Self {
            study_uid,
            series_uid,
            sop_uid,
            date,
            time,
        }
    }
}

/// Encode `frames` with `meta` as the bytes of a US Multi-frame Image file (preamble, `DICM`,
/// file meta group, data set).
pub fn encode_cine(
    frames: &[GrayImage],
    meta: &ScanMeta,
    opts: &DicomWriteOptions,
) -> Result<(Vec<u8>, WrittenCine), DicomWriteError> {
    let checked = check(frames, meta, opts)?;
    let stamp = Stamp::new(opts);
    let mut set = DataSet::empty();
    sop_common(&mut set, opts, &stamp);
    patient(&mut set, meta, opts);
    general_study(&mut set, opts, &stamp);
    general_series(&mut set, opts, &stamp);
    general_equipment(&mut set, opts);
    general_image(&mut set, opts, &stamp);
    us_image(&mut set, meta, opts, &checked);
    cine_and_multi_frame(&mut set, &checked, frames.len());
    region_calibration(&mut set, &checked);
    pixel_data(&mut set, frames, &checked);
    let bytes = file_bytes(set)?;
    let written = WrittenCine {
        sop_instance_uid: stamp.sop_uid,
        series_instance_uid: stamp.series_uid,
        study_instance_uid: stamp.study_uid,
        bytes: bytes.len() as u64,
    };
    Ok((bytes, written))
}

/// SOP Common: character set (UTF-8 when a text is not ASCII), class, instance, creation.
fn sop_common(set: &mut DataSet, opts: &DicomWriteOptions, stamp: &Stamp) {
    let texts = [
        &opts.patient_id,
        &opts.patient_name,
        &opts.study_description,
        &opts.series_description,
        &opts.manufacturer,
        &opts.model_name,
    ];
    if texts.iter().any(|t| !t.is_ascii()) {
        set.text(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192");
    }
    set.text(
        tags::SOP_CLASS_UID,
        VR::UI,
        ULTRASOUND_MULTI_FRAME_IMAGE_STORAGE,
    );
    set.text(tags::SOP_INSTANCE_UID, VR::UI, &stamp.sop_uid);
    set.text(tags::INSTANCE_CREATION_DATE, VR::DA, &stamp.date);
    set.text(tags::INSTANCE_CREATION_TIME, VR::TM, &stamp.time);
    set.text(tags::TIMEZONE_OFFSET_FROM_UTC, VR::SH, "+0000");
}

/// Patient and Patient Study: name, ID, sex, age.
fn patient(set: &mut DataSet, meta: &ScanMeta, opts: &DicomWriteOptions) {
    set.text(tags::PATIENT_NAME, VR::PN, &opts.patient_name);
    set.text(tags::PATIENT_ID, VR::LO, &opts.patient_id);
    set.text(tags::PATIENT_BIRTH_DATE, VR::DA, "");
    let sex = match meta.sex {
        Some(Sex::Male) => "M",
        Some(Sex::Female) => "F",
        None => "",
    };
    set.text(tags::PATIENT_SEX, VR::CS, sex);
    if let Some(a) = meta.age_years {
        set.text(tags::PATIENT_AGE, VR::AS, &format!("{a:03}Y"));
    }
}

/// General Study.
fn general_study(set: &mut DataSet, opts: &DicomWriteOptions, stamp: &Stamp) {
    set.text(tags::STUDY_INSTANCE_UID, VR::UI, &stamp.study_uid);
    set.text(tags::STUDY_DATE, VR::DA, &stamp.date);
    set.text(tags::STUDY_TIME, VR::TM, &stamp.time);
    set.text(tags::REFERRING_PHYSICIAN_NAME, VR::PN, "");
    set.text(tags::STUDY_ID, VR::SH, &opts.study_id);
    set.text(tags::ACCESSION_NUMBER, VR::SH, "");
    set.text(tags::STUDY_DESCRIPTION, VR::LO, &opts.study_description);
}

/// General Series.
fn general_series(set: &mut DataSet, opts: &DicomWriteOptions, stamp: &Stamp) {
    set.text(tags::MODALITY, VR::CS, "US");
    set.text(tags::SERIES_INSTANCE_UID, VR::UI, &stamp.series_uid);
    set.text(tags::SERIES_NUMBER, VR::IS, &opts.series_number.to_string());
    // the heart is not a paired body part: BodyPartExamined given, Laterality absent
    set.text(tags::BODY_PART_EXAMINED, VR::CS, "HEART");
    set.text(tags::SERIES_DATE, VR::DA, &stamp.date);
    set.text(tags::SERIES_TIME, VR::TM, &stamp.time);
    set.text(tags::SERIES_DESCRIPTION, VR::LO, &opts.series_description);
}

/// General Equipment.
fn general_equipment(set: &mut DataSet, opts: &DicomWriteOptions) {
    set.text(tags::MANUFACTURER, VR::LO, &opts.manufacturer);
    set.text(tags::MANUFACTURER_MODEL_NAME, VR::LO, &opts.model_name);
    set.text(tags::SOFTWARE_VERSIONS, VR::LO, env!("CARGO_PKG_VERSION"));
}

/// General Image.
fn general_image(set: &mut DataSet, opts: &DicomWriteOptions, stamp: &Stamp) {
    set.text(
        tags::INSTANCE_NUMBER,
        VR::IS,
        &opts.instance_number.to_string(),
    );
    set.text(tags::PATIENT_ORIENTATION, VR::CS, "");
    set.text(tags::CONTENT_DATE, VR::DA, &stamp.date);
    set.text(tags::CONTENT_TIME, VR::TM, &stamp.time);
    set.text(
        tags::ACQUISITION_DATE_TIME,
        VR::DT,
        &format!("{}{}+0000", stamp.date, stamp.time),
    );
    set.text(tags::BURNED_IN_ANNOTATION, VR::CS, "NO");
}

/// US Image, with Image Pixel: 8-bit MONOCHROME2, the view, heart rate and depth.
fn us_image(set: &mut DataSet, meta: &ScanMeta, opts: &DicomWriteOptions, c: &Checked) {
    // synthetic pixels: DERIVED, with the derivation described; values 3 and 4 (the US image
    // flavour and mode bitmap) are optional and the defined terms have no transthoracic
    // cardiac flavour, so they are left out
    set.text(tags::IMAGE_TYPE, VR::CS, "DERIVED\\PRIMARY");
    set.text(
        tags::DERIVATION_DESCRIPTION,
        VR::ST,
        "Synthetic frames written by synboost-sim",
    );
    set.text(tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00");
    set.us(tags::SAMPLES_PER_PIXEL, 1);
    set.text(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2");
    set.us(tags::ROWS, c.rows);
    set.us(tags::COLUMNS, c.cols);
    set.us(tags::BITS_ALLOCATED, 8);
    set.us(tags::BITS_STORED, 8);
    set.us(tags::HIGH_BIT, 7);
    set.us(tags::PIXEL_REPRESENTATION, 0);
    set.us(tags::ULTRASOUND_COLOR_DATA_PRESENT, 0);
    if let Some(v) = meta.view {
        set.text(tags::VIEW_NAME, VR::SH, view_name(v));
        // Type 2C with a View Name (stress protocols); empty: not a staged acquisition
        set.text(tags::NUMBER_OF_STAGES, VR::IS, "");
        set.text(tags::NUMBER_OF_VIEWS_IN_STAGE, VR::IS, "");
        set.sequence(tags::VIEW_CODE_SEQUENCE, vec![view_code_item(v)]);
    }
    if let Some(hr) = meta.heart_rate_bpm.filter(|h| *h > 0.0) {
        set.text(tags::HEART_RATE, VR::IS, &format!("{}", hr.round() as u32));
    }
    if let Some(d) = opts.depth_mm {
        set.text(
            tags::DEPTH_OF_SCAN_FIELD,
            VR::IS,
            &format!("{}", d.round() as u64),
        );
    }
}

/// Cine (frame time and rates) and Multi-frame (frame count, increment pointer).
fn cine_and_multi_frame(set: &mut DataSet, c: &Checked, frames: usize) {
    let fps = 1000.0 / c.frame_time;
    let rate = format!("{}", fps.round().max(1.0) as u64);
    set.text(tags::FRAME_TIME, VR::DS, &ds(c.frame_time));
    set.text(tags::CINE_RATE, VR::IS, &rate);
    set.text(tags::RECOMMENDED_DISPLAY_FRAME_RATE, VR::IS, &rate);
    set.us(tags::PREFERRED_PLAYBACK_SEQUENCING, 0);
    set.text(tags::NUMBER_OF_FRAMES, VR::IS, &frames.to_string());
    set.value(tags::FRAME_INCREMENT_POINTER, VR::AT, tags::FRAME_TIME);
}

/// US Region Calibration, when the pixel spacing is known.
fn region_calibration(set: &mut DataSet, c: &Checked) {
    if let Some((r, s)) = c.region {
        set.sequence(
            tags::SEQUENCE_OF_ULTRASOUND_REGIONS,
            vec![region_item(&r, s.col_mm / 10.0, s.row_mm / 10.0)],
        );
    }
}

/// The frames' pixels one after the other, padded to an even length.
fn pixel_data(set: &mut DataSet, frames: &[GrayImage], c: &Checked) {
    let mut pixels = Vec::with_capacity(frames.len() * c.width * c.height + 1);
    for f in frames {
        pixels.extend_from_slice(f.data());
    }
    if pixels.len() % 2 == 1 {
        pixels.push(0);
    }
    set.value(tags::PIXEL_DATA, VR::OB, pixels);
}

/// The file: preamble, `DICM`, the file meta group (explicit VR little endian) and `set`.
fn file_bytes(set: DataSet) -> Result<Vec<u8>, DicomWriteError> {
    let file = set
        .0
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
    Ok(bytes)
}
