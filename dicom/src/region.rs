//! The calibrated regions of `SequenceOfUltrasoundRegions` (0018,6011): [`UsRegion`], its
//! reading from a sequence item, and cropping a frame to it.

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use synboost_core::meta::PixelSpacing;
use synboost_core::raster::GrayImage;

/// `PhysicalUnitsX/YDirection` value for centimetres.
pub const UNITS_CM: u16 = 3;
/// `RegionSpatialFormat` value for a 2D (tissue or flow) region.
pub const SPATIAL_FORMAT_2D: u16 = 1;
/// `RegionDataType` value for tissue.
pub const DATA_TYPE_TISSUE: u16 = 1;

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

/// Frame `f` cropped to the bounds of `r`, when they lie inside it.
pub(crate) fn crop_frame(f: &GrayImage, r: &UsRegion) -> Option<GrayImage> {
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

/// The region an item of `SequenceOfUltrasoundRegions` describes, when it has its location,
/// units and deltas.
pub(crate) fn region_from_item(item: &InMemDicomObject) -> Option<UsRegion> {
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
