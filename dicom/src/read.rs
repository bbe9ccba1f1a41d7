//! The entry points: [`read_cine`] and [`read_cine_bytes`] with their [`ReadOptions`], from
//! the bytes of a file to a parsed data set handed to the reader.

use crate::cine::DicomCine;
use crate::error::{DicomError, classify_read_error};
use crate::reader::Reader;
use crate::scan::Scanner;
use dicom_object::file::ReadPreamble;
use dicom_object::{DefaultDicomObject, OpenFileOptions};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

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
    let mut cine = Reader::new(&obj, source, pixel_sequence_cut).read(opts)?;
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
