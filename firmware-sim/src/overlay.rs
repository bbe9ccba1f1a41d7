//! Pictures for people: masks drawn over frames, and contact sheets of several frames.

use std::path::Path;
use synboost_core::raster::{GrayImage, Mask};

/// Colours of LV cavity, myocardium and LA outlines (RGB).
pub const COLOURS: [[u8; 3]; 3] = [[230, 60, 60], [60, 200, 90], [70, 140, 255]];

/// An RGB picture, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rgb {
    /// Width.
    pub width: usize,
    /// Height.
    pub height: usize,
    /// Pixels, 3 bytes each.
    pub data: Vec<u8>,
}

/// Errors writing pictures.
#[derive(Debug, thiserror::Error)]
pub enum OverlayError {
    /// Sizes disagree.
    #[error("{0}")]
    Size(String),
    /// PNG encoding failed.
    #[error("{path}: {message}")]
    Png {
        /// File.
        path: String,
        /// Encoder's message.
        message: String,
    },
}

impl Rgb {
    /// Grey image as RGB.
    pub fn from_gray(img: &GrayImage) -> Self {
        Self {
            width: img.width(),
            height: img.height(),
            data: img.data().iter().flat_map(|&v| [v, v, v]).collect(),
        }
    }

    /// Draw the outline (inside pixels with an outside 4-neighbour) of `mask` in `colour`.
    pub fn outline(&mut self, mask: &Mask, colour: [u8; 3]) -> Result<(), OverlayError> {
        if (mask.width(), mask.height()) != (self.width, self.height) {
            return Err(OverlayError::Size(format!(
                "mask {}x{} on picture {}x{}",
                mask.width(),
                mask.height(),
                self.width,
                self.height
            )));
        }
        let (w, h) = (self.width, self.height);
        for y in 0..h {
            for x in 0..w {
                if !mask.get(x, y) {
                    continue;
                }
                let edge = x == 0
                    || y == 0
                    || !mask.get(x - 1, y)
                    || !mask.get(x + 1, y)
                    || !mask.get(x, y - 1)
                    || !mask.get(x, y + 1);
                if edge {
                    let i = 3 * (y * w + x);
                    self.data[i..i + 3].copy_from_slice(&colour);
                }
            }
        }
        Ok(())
    }

    /// Tile pictures of equal size into a grid `cols` wide.
    pub fn grid(tiles: &[Rgb], cols: usize) -> Result<Rgb, OverlayError> {
        let first = tiles
            .first()
            .ok_or_else(|| OverlayError::Size("no tiles".into()))?;
        let (tw, th) = (first.width, first.height);
        if tiles.iter().any(|t| (t.width, t.height) != (tw, th)) || cols == 0 {
            return Err(OverlayError::Size("tiles differ in size".into()));
        }
        let rows = tiles.len().div_ceil(cols);
        let (w, h) = (tw * cols, th * rows);
        let mut data = vec![0u8; 3 * w * h];
        for (k, t) in tiles.iter().enumerate() {
            let (ox, oy) = ((k % cols) * tw, (k / cols) * th);
            for y in 0..th {
                let dst = 3 * ((oy + y) * w + ox);
                data[dst..dst + 3 * tw].copy_from_slice(&t.data[3 * y * tw..3 * (y + 1) * tw]);
            }
        }
        Ok(Rgb {
            width: w,
            height: h,
            data,
        })
    }

    /// Write as PNG.
    pub fn write_png(&self, path: &Path) -> Result<(), OverlayError> {
        image::save_buffer(
            path,
            &self.data,
            u32::try_from(self.width).unwrap_or(u32::MAX),
            u32::try_from(self.height).unwrap_or(u32::MAX),
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| OverlayError::Png {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }
}

/// A frame with its three masks outlined.
pub fn overlay(image: &GrayImage, masks: &[Mask]) -> Result<Rgb, OverlayError> {
    let mut rgb = Rgb::from_gray(image);
    for (m, c) in masks.iter().zip(COLOURS) {
        rgb.outline(m, c)?;
    }
    Ok(rgb)
}
