//! PNG files of greyscale images and masks: how datasets in the seed layout are stored. The
//! device crate has no image codec; these are the host's.

use std::path::Path;
use synboost_core::raster::{GrayImage, RasterError};

/// PNG errors.
#[derive(Debug, thiserror::Error)]
pub enum PngError {
    /// Encoding or decoding failed.
    #[error("{path}: {message}")]
    Codec {
        /// File (or the name given for bytes in memory).
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The decoded pixels do not make an image.
    #[error("{path}: {source}")]
    Raster {
        /// File.
        path: String,
        /// Why.
        #[source]
        source: RasterError,
    },
}

/// PNG reading and writing for [`GrayImage`]: `GrayImage::read_png(path)` with this trait in
/// scope.
pub trait GrayPng: Sized {
    /// Read a PNG (any bit depth or colour type; colour is converted to luma, 16-bit scaled).
    fn read_png(path: &Path) -> Result<Self, PngError>;
    /// Decode a PNG from memory; `name` labels errors.
    fn decode_png(bytes: &[u8], name: &str) -> Result<Self, PngError>;
    /// Write as an 8-bit greyscale PNG.
    fn write_png(&self, path: &Path) -> Result<(), PngError>;
}

impl GrayPng for GrayImage {
    fn read_png(path: &Path) -> Result<Self, PngError> {
        let img = image::open(path).map_err(|e| codec(path, e))?;
        from_luma(img, path)
    }

    fn decode_png(bytes: &[u8], name: &str) -> Result<Self, PngError> {
        let img = image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
            .map_err(|e| codec(Path::new(name), e))?;
        from_luma(img, Path::new(name))
    }

    fn write_png(&self, path: &Path) -> Result<(), PngError> {
        image::save_buffer(
            path,
            self.data(),
            dim(self.width()),
            dim(self.height()),
            image::ExtendedColorType::L8,
        )
        .map_err(|e| codec(path, e))
    }
}

fn from_luma(img: image::DynamicImage, path: &Path) -> Result<GrayImage, PngError> {
    let g = img.into_luma8();
    let (w, h) = (g.width() as usize, g.height() as usize);
    GrayImage::new(w, h, g.into_raw()).map_err(|source| PngError::Raster {
        path: path.display().to_string(),
        source,
    })
}

fn dim(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn codec(path: &Path, e: impl std::fmt::Display) -> PngError {
    PngError::Codec {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use synboost_core::raster::Mask;

    #[test]
    fn png_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.png");
        let m = Mask::new(3, 2, vec![0, 1, 1, 0, 0, 1]).unwrap();
        m.to_gray().write_png(&p).unwrap();
        let back = Mask::from_gray_binary(&GrayImage::read_png(&p).unwrap()).unwrap();
        assert_eq!(back, m);
        let g = GrayImage::new(2, 1, vec![0, 128]).unwrap();
        assert!(matches!(
            Mask::from_gray_binary(&g),
            Err(RasterError::NotBinary {
                x: 1,
                y: 0,
                value: 128
            })
        ));
        std::fs::write(&p, b"\x89PNG\r\n\x1a\ngarbage").unwrap();
        let e = GrayImage::read_png(&p).unwrap_err().to_string();
        assert!(e.contains("m.png"), "{e}");
    }
}
