//! Owned 8-bit greyscale images and binary masks, row-major, no padding.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// Raster errors.
#[derive(Debug, thiserror::Error)]
pub enum RasterError {
    /// Width × height does not match the buffer, or a size is zero.
    #[error("buffer of {len} bytes does not hold a {width}x{height} image")]
    Size {
        /// Width.
        width: usize,
        /// Height.
        height: usize,
        /// Buffer length.
        len: usize,
    },
    /// A mask holds a value other than 0 and 1 (or 0 and 255 in a PNG).
    #[error("mask value {value} at ({x}, {y}) is not binary")]
    NotBinary {
        /// Column.
        x: usize,
        /// Row.
        y: usize,
        /// The value.
        value: u8,
    },
    /// PNG encoding or decoding failed.
    #[error("{path}: {message}")]
    Png {
        /// File.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// An 8-bit greyscale image.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrayImage {
    width: usize,
    height: usize,
    data: Vec<u8>,
}

impl std::fmt::Debug for GrayImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GrayImage({}x{})", self.width, self.height)
    }
}

impl GrayImage {
    /// An image from row-major pixels; `data.len()` must equal `width * height` and both must be
    /// non-zero.
    pub fn new(width: usize, height: usize, data: Vec<u8>) -> Result<Self, RasterError> {
        check_size(width, height, data.len())?;
        Ok(Self {
            width,
            height,
            data,
        })
    }

    /// A black image.
    pub fn zeros(width: usize, height: usize) -> Result<Self, RasterError> {
        Self::new(width, height, vec![0; width.saturating_mul(height)])
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Pixels, row-major.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Mutable pixels, row-major.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    /// The pixel buffer.
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }

    /// Pixel at column `x`, row `y`, if inside.
    pub fn get(&self, x: usize, y: usize) -> Option<u8> {
        (x < self.width && y < self.height).then(|| self.data[y * self.width + x])
    }

    /// Read a PNG (any bit depth or colour type; colour is converted to luma, 16-bit scaled).
    pub fn read_png(path: &Path) -> Result<Self, RasterError> {
        let img = image::open(path).map_err(|e| png_err(path, e))?;
        let g = img.into_luma8();
        let (w, h) = (g.width() as usize, g.height() as usize);
        Self::new(w, h, g.into_raw())
    }

    /// Decode a PNG from memory.
    pub fn decode_png(bytes: &[u8], name: &str) -> Result<Self, RasterError> {
        let img = image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
            .map_err(|e| png_err(Path::new(name), e))?;
        let g = img.into_luma8();
        let (w, h) = (g.width() as usize, g.height() as usize);
        Self::new(w, h, g.into_raw())
    }

    /// Write as an 8-bit greyscale PNG.
    pub fn write_png(&self, path: &Path) -> Result<(), RasterError> {
        image::save_buffer(
            path,
            &self.data,
            dim(self.width),
            dim(self.height),
            image::ExtendedColorType::L8,
        )
        .map_err(|e| png_err(path, e))
    }
}

/// A binary mask: 1 inside the structure, 0 outside.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mask {
    width: usize,
    height: usize,
    data: Vec<u8>,
}

impl std::fmt::Debug for Mask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Mask({}x{}, {} px)",
            self.width,
            self.height,
            self.count()
        )
    }
}

impl Mask {
    /// A mask from 0/1 values.
    pub fn new(width: usize, height: usize, data: Vec<u8>) -> Result<Self, RasterError> {
        check_size(width, height, data.len())?;
        if let Some(i) = data.iter().position(|&v| v > 1) {
            return Err(RasterError::NotBinary {
                x: i % width,
                y: i / width,
                value: data[i],
            });
        }
        Ok(Self {
            width,
            height,
            data,
        })
    }

    /// An empty mask.
    pub fn zeros(width: usize, height: usize) -> Result<Self, RasterError> {
        Self::new(width, height, vec![0; width.saturating_mul(height)])
    }

    /// A mask from a predicate over pixel values, e.g. `|v| v == label`.
    pub fn from_fn(
        width: usize,
        height: usize,
        values: &[u8],
        inside: impl Fn(u8) -> bool,
    ) -> Result<Self, RasterError> {
        check_size(width, height, values.len())?;
        Ok(Self {
            width,
            height,
            data: values.iter().map(|&v| u8::from(inside(v))).collect(),
        })
    }

    /// A mask from a 0/255 image as the seed stores masks. Other values are an error (a lossy
    /// or resampled mask should be thresholded explicitly by the caller).
    pub fn from_gray_binary(img: &GrayImage) -> Result<Self, RasterError> {
        let mut data = Vec::with_capacity(img.data.len());
        for (i, &v) in img.data.iter().enumerate() {
            match v {
                0 => data.push(0),
                255 => data.push(1),
                value => {
                    return Err(RasterError::NotBinary {
                        x: i % img.width,
                        y: i / img.width,
                        value,
                    });
                }
            }
        }
        Ok(Self {
            width: img.width,
            height: img.height,
            data,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The 0/1 values, row-major.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Whether the pixel at (x, y) is inside; false outside the image.
    pub fn get(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.height && self.data[y * self.width + x] != 0
    }

    /// Number of pixels inside.
    pub fn count(&self) -> usize {
        self.data.iter().filter(|&&v| v != 0).count()
    }

    /// True when no pixel is inside.
    pub fn is_empty(&self) -> bool {
        self.data.iter().all(|&v| v == 0)
    }

    /// The mask as a 0/255 image (the seed's storage).
    pub fn to_gray(&self) -> GrayImage {
        GrayImage {
            width: self.width,
            height: self.height,
            data: self.data.iter().map(|&v| v * 255).collect(),
        }
    }
}

fn check_size(width: usize, height: usize, len: usize) -> Result<(), RasterError> {
    if width == 0 || height == 0 || width.checked_mul(height) != Some(len) || width > MAX_SIDE {
        return Err(RasterError::Size { width, height, len });
    }
    Ok(())
}

/// Largest width or height accepted (image crate and PNG limit is u32; scanners are far below).
pub const MAX_SIDE: usize = 1 << 16;

fn dim(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn png_err(path: &Path, e: impl std::fmt::Display) -> RasterError {
    RasterError::Png {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_checked() {
        assert!(GrayImage::new(2, 2, vec![0; 3]).is_err());
        assert!(GrayImage::new(0, 0, vec![]).is_err());
        assert!(Mask::new(2, 1, vec![0, 2]).is_err());
        let m = Mask::new(2, 2, vec![0, 1, 1, 0]).unwrap();
        assert_eq!(m.count(), 2);
        assert!(m.get(1, 0) && !m.get(0, 0) && !m.get(5, 5));
    }

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
