//! The Image Pixel module attributes (rows, columns, samples, bits, sign, planes) of a file,
//! validated into a [`Layout`].

use super::Reader;
use crate::error::DicomError;
use crate::layout::{Layout, Photometric};
use dicom_core::Tag;
use dicom_dictionary_std::tags;

impl Reader<'_> {
    /// Image Pixel module attributes, validated.
    pub(super) fn layout(&mut self, photometric_raw: &str) -> Result<Layout, DicomError> {
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
}
