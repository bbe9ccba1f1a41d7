//! `synboost-dicom`: DICOM ultrasound files → greyscale frames +
//! [`ScanMeta`](synboost_core::meta::ScanMeta), for replaying real cines and analysing
//! recordings on a host (a scanner hands frames to `libsynboost.so` directly and links none of
//! this).
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
//!
//! Where things are: [`read_cine`] and [`ReadOptions`] in `read.rs`, [`DicomCine`] in
//! `cine.rs`, [`DicomError`] in `error.rs`; the pre-parse scanner in `scan.rs`; the reader's
//! steps in `reader/` (Image Pixel attributes, scan metadata, calibration, frames, grey
//! conversion, palette tables); the pixel model in `layout.rs`, `scale.rs` and `palette.rs`;
//! the codecs this crate implements in `rle.rs` and `jpeg.rs` (header walk only); UIDs in
//! `sop_class.rs` and `transfer_syntax.rs`; regions in `region.rs`, views in `view.rs`, ages
//! in `age.rs`.

#![deny(missing_docs)]

mod age;
mod attributes;
mod cine;
mod error;
mod jpeg;
mod layout;
mod palette;
mod read;
mod reader;
mod region;
mod rle;
mod scale;
mod scan;
mod sop_class;
mod transfer_syntax;
mod view;

#[cfg(test)]
mod tests;

pub use age::{MAX_AGE_YEARS, parse_age};
pub use cine::DicomCine;
pub use error::{DicomError, error_chain};
pub use read::{ReadOptions, read_cine, read_cine_bytes};
pub use region::{DATA_TYPE_TISSUE, SPATIAL_FORMAT_2D, UNITS_CM, UsRegion};
pub use sop_class::{
    US_IMAGE_STORAGE, US_IMAGE_STORAGE_RETIRED, US_MULTIFRAME_IMAGE_STORAGE,
    US_MULTIFRAME_IMAGE_STORAGE_RETIRED,
};
pub use transfer_syntax::transfer_syntax_name;
pub use view::{VIEW_CODES_SCT, view_from_text};
