//! Owned 8-bit greyscale images and binary masks, row-major, no padding.

use serde::{Deserialize, Serialize};

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
    /// A mask holds a value other than 0 and 1 (or 0 and 255 in a greyscale image).
    #[error("mask value {value} at ({x}, {y}) is not binary")]
    NotBinary {
        /// Column.
        x: usize,
        /// Row.
        y: usize,
        /// The value.
        value: u8,
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

    /// A mask from values the caller guarantees to be 0 or 1 (checked in debug builds only):
    /// for the crate's own kernels, which build 0/1 buffers by construction and should not pay
    /// for a second pass over them.
    pub(crate) fn from_binary(
        width: usize,
        height: usize,
        data: Vec<u8>,
    ) -> Result<Self, RasterError> {
        check_size(width, height, data.len())?;
        debug_assert!(data.iter().all(|&v| v <= 1), "mask values must be 0 or 1");
        Ok(Self {
            width,
            height,
            data,
        })
    }

    /// Make this mask an empty `width × height` one, keeping its buffer (no allocation once the
    /// buffer is large enough).
    pub(crate) fn reset(&mut self, width: usize, height: usize) -> Result<(), RasterError> {
        check_size(width, height, width.saturating_mul(height))?;
        self.data.clear();
        self.data.resize(width * height, 0);
        self.width = width;
        self.height = height;
        Ok(())
    }

    /// The values, mutable, for the crate's kernels; they must leave only 0 and 1.
    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        &mut self.data
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

    /// This mask resized to `width × height` by nearest neighbour ([`nearest_indices`]).
    pub fn resized(&self, width: usize, height: usize) -> Result<Mask, RasterError> {
        check_size(width, height, width.saturating_mul(height))?;
        let data = resize_nearest(&self.data, self.width, self.height, width, height);
        Ok(Mask {
            width,
            height,
            data,
        })
    }

    /// Dice 2|A∩B| / (|A| + |B|) and IoU |A∩B| / |A∪B| against `other`, as fractions; both 1
    /// when both masks are empty. `None` when the sizes differ. The one implementation behind
    /// the stream's temporal IoU and the evaluation metrics (`synboost-data`).
    pub fn overlap(&self, other: &Mask) -> Option<(f64, f64)> {
        if (self.width, self.height) != (other.width, other.height) {
            return None;
        }
        let (mut inter, mut p, mut t) = (0usize, 0usize, 0usize);
        for (&a, &b) in self.data.iter().zip(&other.data) {
            let (a, b) = (a != 0, b != 0);
            inter += usize::from(a && b);
            p += usize::from(a);
            t += usize::from(b);
        }
        if p + t == 0 {
            return Some((1.0, 1.0));
        }
        let dice = 2.0 * inter as f64 / (p + t) as f64;
        let iou = inter as f64 / (p + t - inter) as f64;
        Some((dice, iou))
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

/// Source index of each of `n_out` samples resampled from `n_in` by nearest neighbour,
/// pixel-centre aligned: output `o` takes source `⌊(o + ½) · n_in / n_out⌋` (exact integer
/// arithmetic). Empty when either is 0. The one nearest-neighbour rule of the project: masks,
/// label maps and pictures are all resized through it.
pub fn nearest_indices(n_in: usize, n_out: usize) -> Vec<usize> {
    if n_in == 0 || n_out == 0 {
        return Vec::new();
    }
    (0..n_out)
        .map(|o| ((2 * o + 1) * n_in / (2 * n_out)).min(n_in - 1))
        .collect()
}

/// A row-major `sw × sh` plane of bytes (a mask, a label map) resized to `w × h` by
/// [`nearest_indices`]; values are copied, never blended. Empty when a size is 0 or `data` is
/// shorter than `sw · sh`.
pub fn resize_nearest(data: &[u8], sw: usize, sh: usize, w: usize, h: usize) -> Vec<u8> {
    if data.len() < sw.saturating_mul(sh) {
        return Vec::new();
    }
    let (cols, rows) = (nearest_indices(sw, w), nearest_indices(sh, h));
    let mut out = Vec::with_capacity(cols.len() * rows.len());
    for &sy in &rows {
        let row = &data[sy * sw..(sy + 1) * sw];
        out.extend(cols.iter().map(|&sx| row[sx]));
    }
    out
}

/// Largest width or height accepted (PNG and most codecs limit sides to u32; scanners are far below).
pub const MAX_SIDE: usize = 1 << 16;

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
    fn nearest_resize_is_pixel_centre_aligned() {
        // 4 → 2 takes sources 1 and 3 (centres 0.5·2 = 1, 1.5·2 = 3); 2 → 4 repeats each.
        assert_eq!(nearest_indices(4, 2), vec![1, 3]);
        assert_eq!(nearest_indices(2, 4), vec![0, 0, 1, 1]);
        assert_eq!(nearest_indices(3, 3), vec![0, 1, 2]);
        assert!(nearest_indices(0, 3).is_empty() && nearest_indices(3, 0).is_empty());
        // Integer arithmetic matches the exact rational rule where floats may round.
        for (n_in, n_out) in [(224, 256), (256, 224), (7, 3), (1000, 999)] {
            for (o, &i) in nearest_indices(n_in, n_out).iter().enumerate() {
                let exact = ((2 * o + 1) as u128 * n_in as u128) / (2 * n_out as u128);
                assert_eq!(i as u128, exact.min(n_in as u128 - 1));
            }
        }
        let m = Mask::new(4, 2, vec![1, 0, 0, 1, 0, 1, 1, 0]).unwrap();
        let r = m.resized(2, 1).unwrap();
        assert_eq!(r.data(), &[1, 0]); // row 1 (centre 0.5·2 = 1), columns 1 and 3
        assert_eq!(m.resized(4, 2).unwrap(), m);
        assert!(m.resized(0, 2).is_err());
        assert!(resize_nearest(&[1, 2, 3], 2, 2, 1, 1).is_empty());
    }
}
