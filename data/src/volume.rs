//! A decoded image volume (NIfTI or MetaImage): up to three dimensions (x fastest, then y, then
//! frames), voxel spacing, and voxels of the file's own type.

use super::DataError;
use std::path::{Path, PathBuf};
use synboost_core::raster::{GrayImage, Mask};

/// Voxel element types of the medical formats we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementType {
    /// unsigned 8-bit
    U8,
    /// signed 8-bit
    I8,
    /// unsigned 16-bit
    U16,
    /// signed 16-bit
    I16,
    /// unsigned 32-bit
    U32,
    /// signed 32-bit
    I32,
    /// 32-bit float
    F32,
    /// 64-bit float
    F64,
}

impl ElementType {
    /// Bytes per voxel.
    pub fn size(self) -> usize {
        match self {
            Self::U8 | Self::I8 => 1,
            Self::U16 | Self::I16 => 2,
            Self::U32 | Self::I32 | Self::F32 => 4,
            Self::F64 => 8,
        }
    }

    /// Decode one element from its bytes.
    fn decode(self, b: &[u8], big_endian: bool) -> f64 {
        macro_rules! num {
            ($t:ty, $n:expr) => {{
                let mut a = [0u8; $n];
                a.copy_from_slice(&b[..$n]);
                if big_endian {
                    <$t>::from_be_bytes(a) as f64
                } else {
                    <$t>::from_le_bytes(a) as f64
                }
            }};
        }
        match self {
            Self::U8 => f64::from(b[0]),
            Self::I8 => f64::from(b[0] as i8),
            Self::U16 => num!(u16, 2),
            Self::I16 => num!(i16, 2),
            Self::U32 => num!(u32, 4),
            Self::I32 => num!(i32, 4),
            Self::F32 => num!(f32, 4),
            Self::F64 => num!(f64, 8),
        }
    }
}

/// A decoded volume. Voxel (x, y, z) is at `x + nx * (y + ny * z)`.
#[derive(Debug, Clone)]
pub struct Volume {
    /// File it came from (for error messages).
    pub path: PathBuf,
    /// Size along x (image columns), y (image rows) and z (frames; 1 for a single image).
    pub dims: [usize; 3],
    /// Voxel spacing along x, y, z (mm for CAMUS; z is often time or 1).
    pub spacing: [f64; 3],
    /// Voxel values after any intensity scaling the file asks for.
    pub values: Vec<f64>,
    /// Element type as stored.
    pub element: ElementType,
}

impl Volume {
    /// Decode `bytes` (exactly `nx*ny*nz` elements) into a volume.
    pub(crate) fn decode(
        path: &Path,
        dims: [usize; 3],
        spacing: [f64; 3],
        element: ElementType,
        big_endian: bool,
        bytes: &[u8],
        scale: Option<(f64, f64)>,
    ) -> Result<Self, DataError> {
        let n = dims
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .filter(|&n| n > 0 && n <= MAX_VOXELS)
            .ok_or_else(|| DataError::format(path, format!("unusable dimensions {dims:?}")))?;
        let need = n * element.size();
        if bytes.len() < need {
            return Err(DataError::Truncated {
                path: path.to_path_buf(),
                expected: need,
                found: bytes.len(),
            });
        }
        let (slope, inter) = scale.unwrap_or((1.0, 0.0));
        let values = bytes[..need]
            .chunks_exact(element.size())
            .map(|c| element.decode(c, big_endian) * slope + inter)
            .collect();
        Ok(Self {
            path: path.to_path_buf(),
            dims,
            spacing,
            values,
            element,
        })
    }

    /// Number of frames (z size).
    pub fn frames(&self) -> usize {
        self.dims[2]
    }

    fn frame_values(&self, z: usize) -> Result<&[f64], DataError> {
        let plane = self.dims[0] * self.dims[1];
        if z >= self.dims[2] {
            return Err(DataError::format(
                &self.path,
                format!("frame {z} requested, the volume has {}", self.dims[2]),
            ));
        }
        Ok(&self.values[z * plane..(z + 1) * plane])
    }

    /// Frame `z` as an 8-bit image. Values already in 0..=255 and integral are kept as they are;
    /// anything else is mapped linearly from the volume's min..max to 0..=255.
    pub fn frame_image(&self, z: usize) -> Result<GrayImage, DataError> {
        let v = self.frame_values(z)?;
        let fits = self
            .values
            .iter()
            .all(|&x| (0.0..=255.0).contains(&x) && x.fract() == 0.0);
        let data: Vec<u8> = if fits {
            v.iter().map(|&x| x as u8).collect()
        } else {
            let (lo, hi) = self
                .values
                .iter()
                .filter(|x| x.is_finite())
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                    (a.min(x), b.max(x))
                });
            let span = if hi > lo { hi - lo } else { 1.0 };
            v.iter()
                .map(|&x| {
                    if x.is_finite() {
                        ((x - lo) / span * 255.0).round().clamp(0.0, 255.0) as u8
                    } else {
                        0
                    }
                })
                .collect()
        };
        GrayImage::new(self.dims[0], self.dims[1], data)
            .map_err(|e| DataError::format(&self.path, e.to_string()))
    }

    /// Frame `z` as a label map with values 0..=`max_label`; any other value (negative,
    /// fractional or too large) is an error naming the voxel.
    pub fn frame_labels(&self, z: usize, max_label: u8) -> Result<Vec<u8>, DataError> {
        let v = self.frame_values(z)?;
        let nx = self.dims[0];
        v.iter()
            .enumerate()
            .map(|(i, &x)| {
                if x.fract() == 0.0 && (0.0..=f64::from(max_label)).contains(&x) {
                    Ok(x as u8)
                } else {
                    Err(DataError::LabelOutOfRange {
                        path: self.path.clone(),
                        value: x,
                        x: i % nx,
                        y: i / nx,
                        max: max_label,
                    })
                }
            })
            .collect()
    }

    /// Masks for labels 1..=3 of frame `z`.
    pub fn frame_masks(&self, z: usize) -> Result<[Mask; 3], DataError> {
        let labels = self.frame_labels(z, 3)?;
        let (w, h) = (self.dims[0], self.dims[1]);
        let m = |l: u8| {
            Mask::from_fn(w, h, &labels, |v| v == l)
                .map_err(|e| DataError::format(&self.path, e.to_string()))
        };
        Ok([m(1)?, m(2)?, m(3)?])
    }
}

/// Refuse volumes above this many voxels (a corrupt header must not allocate gigabytes).
pub const MAX_VOXELS: usize = 1 << 28;
