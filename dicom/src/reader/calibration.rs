//! The calibration of a file: the trusted 2D region of `SequenceOfUltrasoundRegions` and its
//! pixel spacing, else `PixelSpacing` (0028,0030).

use super::Reader;
use crate::region::{DATA_TYPE_TISSUE, SPATIAL_FORMAT_2D, UsRegion, region_from_item};
use dicom_dictionary_std::tags;
use synboost_core::meta::PixelSpacing;

impl Reader<'_> {
    /// The trusted region and the pixel spacing.
    pub(super) fn calibration(
        &mut self,
        width: usize,
        height: usize,
    ) -> (Option<UsRegion>, Option<PixelSpacing>) {
        match self.trusted_region(width, height) {
            Some(r) => (Some(r), r.pixel_spacing()),
            None => (None, self.pixel_spacing_attribute()),
        }
    }

    /// The calibrated 2D region that fits the `width` × `height` image (tissue first, then
    /// the largest); regions that lack values or do not fit are warned about and skipped.
    fn trusted_region(&mut self, width: usize, height: usize) -> Option<UsRegion> {
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
        best
    }

    /// `PixelSpacing` (row\column, mm), when it is two positive numbers.
    fn pixel_spacing_attribute(&mut self) -> Option<PixelSpacing> {
        let values = self
            .obj
            .get(tags::PIXEL_SPACING)
            .map(|e| e.to_multi_float64());
        match values.as_ref().map(|r| r.as_deref()) {
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
        }
    }
}
