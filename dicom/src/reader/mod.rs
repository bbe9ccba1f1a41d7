//! [`Reader`]: turns a parsed data set into a [`DicomCine`], step by step: the ultrasound
//! check, the Image Pixel attributes ([`image_pixel`]), the scan metadata ([`scan_meta`]), the
//! calibration ([`calibration`]) and the frames ([`frames`], converted to grey by [`gray`], a
//! palette read by [`palette_lut`]).

mod calibration;
mod frames;
mod gray;
mod image_pixel;
mod palette_lut;
mod scan_meta;

use crate::attributes::text;
use crate::cine::DicomCine;
use crate::error::DicomError;
use crate::read::ReadOptions;
use crate::region::{UsRegion, crop_frame};
use crate::sop_class::is_ultrasound_class;
use dicom_dictionary_std::tags;
use dicom_object::DefaultDicomObject;
use std::path::Path;
use synboost_core::raster::GrayImage;

/// Reads one parsed file; collects the warnings of the read.
pub(crate) struct Reader<'a> {
    obj: &'a DefaultDicomObject,
    path: &'a Path,
    warnings: Vec<String>,
    /// The file ends inside the top-level encapsulated PixelData, at a fragment boundary.
    pixel_sequence_cut: bool,
}

impl<'a> Reader<'a> {
    /// A reader of `obj`, parsed from the file at `path`; `pixel_sequence_cut` as the
    /// pre-parse scan found it.
    pub(crate) fn new(
        obj: &'a DefaultDicomObject,
        path: &'a Path,
        pixel_sequence_cut: bool,
    ) -> Self {
        Self {
            obj,
            path,
            warnings: Vec::new(),
            pixel_sequence_cut,
        }
    }
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

    /// The whole read: check, attributes, metadata, calibration, frames, crop.
    pub(crate) fn read(mut self, opts: &ReadOptions) -> Result<DicomCine, DicomError> {
        let obj = self.obj;
        let sop_class = self.check_ultrasound()?;
        let transfer_syntax = obj.meta().transfer_syntax().to_string();
        let photometric_raw = text(obj, tags::PHOTOMETRIC_INTERPRETATION)
            .ok_or_else(|| self.missing("PhotometricInterpretation"))?;
        let layout = self.layout(&photometric_raw)?;
        let frames_declared = self.frame_count()?;
        self.check_total_pixels(u64::from(frames_declared) * layout.pixels() as u64, opts)?;

        let mut meta = self.scan_meta();
        let (region, spacing) = self.calibration(layout.cols, layout.rows);
        meta.pixel_spacing = spacing;

        let full = self.decode_frames(&transfer_syntax, layout, frames_declared)?;
        let crop = region.filter(|_| opts.crop_to_region);
        let frames = match crop {
            Some(r) => self.crop(full, &r)?,
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

    /// Refuse files that are neither a US SOP class nor Modality `US` (a US class with another
    /// modality is read, with a warning). Returns the SOP Class UID, when there is one.
    fn check_ultrasound(&mut self) -> Result<Option<String>, DicomError> {
        let obj = self.obj;
        let sop_class = text(obj, tags::SOP_CLASS_UID)
            .or_else(|| Some(obj.meta().media_storage_sop_class_uid().to_string()))
            .filter(|s| !s.is_empty());
        let modality = text(obj, tags::MODALITY);
        let us_class = sop_class.as_deref().is_some_and(is_ultrasound_class);
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
        Ok(sop_class)
    }

    /// `NumberOfFrames` (1 when absent).
    fn frame_count(&self) -> Result<u32, DicomError> {
        let Some(e) = self.obj.get(tags::NUMBER_OF_FRAMES) else {
            return Ok(1);
        };
        match e.to_int::<i64>() {
            Ok(n) if n >= 1 && n <= i64::from(u32::MAX) => Ok(n as u32),
            Ok(0) => Err(self.invalid("NumberOfFrames", "0")),
            _ => Err(self.invalid(
                "NumberOfFrames",
                e.to_str().map(|s| s.into_owned()).unwrap_or_default(),
            )),
        }
    }

    /// Refuse `total` pixels past [`ReadOptions::max_total_pixels`], before decoding.
    fn check_total_pixels(&self, total: u64, opts: &ReadOptions) -> Result<(), DicomError> {
        if total > opts.max_total_pixels {
            return Err(DicomError::TooLarge {
                path: self.path.to_path_buf(),
                pixels: total,
                limit: opts.max_total_pixels,
            });
        }
        Ok(())
    }

    /// Every frame cropped to `region`.
    fn crop(
        &self,
        frames: Vec<GrayImage>,
        region: &UsRegion,
    ) -> Result<Vec<GrayImage>, DicomError> {
        frames
            .into_iter()
            .map(|f| crop_frame(&f, region))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| self.invalid("SequenceOfUltrasoundRegions", "crop failed"))
    }
}
