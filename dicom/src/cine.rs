//! [`DicomCine`]: a decoded ultrasound file, its frames and what it says about the scan.

use crate::region::UsRegion;
use std::path::PathBuf;
use synboost_core::meta::ScanMeta;
use synboost_core::raster::GrayImage;

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
    /// Where the data came from (file path, or the name given to
    /// [`read_cine_bytes`](crate::read_cine_bytes)).
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
