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
//! UIDs are `2.25.<UUID as a decimal integer>` (PS3.5 B.2) of a random version-4 UUID
//! ([`new_uid`]); dates and times are UTC (`chrono`). The pieces: the checks of the input
//! (`check.rs`), the data set module by module ([`encode_cine`], `encode.rs`), the element
//! helpers (`elements.rs`), UIDs (`uid.rs`), dates (`date.rs`) and [`DicomWriteError`]
//! (`error.rs`).

mod check;
mod date;
mod elements;
mod encode;
mod error;
mod uid;

pub use dicom_dictionary_std::uids::EXPLICIT_VR_LITTLE_ENDIAN;
pub use encode::encode_cine;
pub use error::DicomWriteError;
pub use uid::{is_valid_uid, new_uid};

use std::io::Write;
use std::path::Path;
use std::time::SystemTime;
use synboost_core::meta::ScanMeta;
use synboost_core::raster::GrayImage;

/// Implementation Class UID written in the file meta group (a fixed `2.25` UUID).
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.238597011694406339766187926359612356913";
/// Implementation Version Name written in the file meta group.
pub const IMPLEMENTATION_VERSION_NAME: &str = "SYNBOOST_SIM_01";

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

#[cfg(test)]
mod tests;
