//! One frame's decoded bytes → 8-bit grey: the [`Scale`] a file's samples need, and the
//! conversion of each photometric interpretation (RGB through [`luma`], the frame path's own).

use super::Reader;
use crate::attributes::float;
use crate::error::DicomError;
use crate::layout::{Layout, Photometric};
use crate::palette::Palette;
use crate::scale::Scale;
use dicom_dictionary_std::tags;
use synboost_core::frame::luma;
use synboost_core::raster::GrayImage;

/// The raw samples of one frame, in storage order, as integers.
struct Samples<'d> {
    data: &'d [u8],
    bytes_per_sample: usize,
    bits_stored: u32,
    mask: u32,
    signed: bool,
}

impl<'d> Samples<'d> {
    fn new(data: &'d [u8], layout: Layout) -> Self {
        let bits_stored = u32::from(layout.bits_stored);
        Self {
            data,
            bytes_per_sample: layout.bytes_per_sample(),
            bits_stored,
            mask: if bits_stored >= 16 {
                0xFFFF
            } else {
                (1u32 << bits_stored) - 1
            },
            signed: layout.signed,
        }
    }

    /// Raw sample `k` (0 past the end), sign-extended when the samples are signed.
    fn get(&self, k: usize) -> i64 {
        let data = self.data;
        let raw = if self.bytes_per_sample == 1 {
            data.get(k).map_or(0, |&b| u32::from(b))
        } else {
            match (data.get(2 * k), data.get(2 * k + 1)) {
                (Some(&a), Some(&b)) => u32::from(u16::from_ne_bytes([a, b])),
                _ => 0,
            }
        } & self.mask;
        let bs = self.bits_stored;
        if self.signed && bs > 0 && raw & (1 << (bs - 1)) != 0 {
            i64::from(raw) - (1i64 << bs)
        } else {
            i64::from(raw)
        }
    }
}

impl Reader<'_> {
    /// How samples wider than 8 bits (or narrower, or signed) map to 8 bits.
    pub(super) fn scale(&mut self, layout: Layout) -> Scale {
        let bs = u32::from(layout.bits_stored);
        if layout.photometric == Photometric::Palette {
            return Scale::Identity; // values are LUT indices
        }
        if layout.bits_allocated == 8 && bs == 8 && !layout.signed {
            return Scale::Identity;
        }
        if layout.bits_allocated == 16
            && matches!(layout.photometric, Photometric::Mono1 | Photometric::Mono2)
        {
            let center = float(self.obj, tags::WINDOW_CENTER);
            let width = float(self.obj, tags::WINDOW_WIDTH).filter(|w| *w >= 1.0);
            if let (Some(center), Some(width)) = (center, width) {
                return Scale::Window { center, width };
            }
        }
        let (lo, hi) = if layout.signed {
            (-(1i64 << (bs - 1)) as f64, ((1i64 << (bs - 1)) - 1) as f64)
        } else {
            (0.0, ((1i64 << bs) - 1) as f64)
        };
        Scale::Linear { lo, hi }
    }

    /// One frame's decoded bytes → greyscale.
    pub(super) fn to_gray(
        &self,
        data: &[u8],
        layout: Layout,
        scale: Scale,
        palette: Option<&Palette>,
        frame: u32,
    ) -> Result<GrayImage, DicomError> {
        let need = layout.frame_bytes();
        if data.len() < need {
            return Err(DicomError::SizeMismatch {
                path: self.path.to_path_buf(),
                what: format!("bytes of decoded frame {frame}"),
                expected: need as u64,
                found: data.len() as u64,
            });
        }
        let n = layout.pixels();
        let samples = Samples::new(data, layout);
        let out: Vec<u8> = match layout.photometric {
            Photometric::Mono2 => (0..n).map(|i| scale.apply(samples.get(i))).collect(),
            Photometric::Mono1 => (0..n).map(|i| 255 - scale.apply(samples.get(i))).collect(),
            Photometric::Palette => {
                let p = palette.ok_or_else(|| self.missing("palette colour lookup tables"))?;
                (0..n).map(|i| p.luma(samples.get(i))).collect()
            }
            Photometric::Rgb | Photometric::YbrFull | Photometric::YbrPartial420 => {
                three_sample_gray(&samples, layout, scale)
            }
            Photometric::YbrFull422 | Photometric::YbrPartial422 => {
                ybr_422_gray(&samples, layout, scale)
            }
        };
        GrayImage::new(layout.cols, layout.rows, out).map_err(|e| DicomError::Decode {
            path: self.path.to_path_buf(),
            frame,
            detail: e.to_string(),
        })
    }
}

/// RGB through [`luma`]; YBR_FULL (and 4:2:0 data, decoded to full) as its Y sample, which
/// is the BT.601 luma already. Interleaved or planar.
fn three_sample_gray(samples: &Samples<'_>, layout: Layout, scale: Scale) -> Vec<u8> {
    let n = layout.pixels();
    let at = |i: usize, c: usize| {
        if layout.planar {
            samples.get(c * n + i)
        } else {
            samples.get(3 * i + c)
        }
    };
    if layout.photometric == Photometric::Rgb {
        (0..n)
            .map(|i| {
                luma(
                    scale.apply(at(i, 0)),
                    scale.apply(at(i, 1)),
                    scale.apply(at(i, 2)),
                )
            })
            .collect()
    } else {
        // YBR_FULL: Y is the BT.601 luma already
        (0..n).map(|i| scale.apply(at(i, 0))).collect()
    }
}

/// YBR 4:2:2 (`Y1 Y2 Cb Cr` for each pair of pixels): the Y samples, partial range expanded
/// to full.
fn ybr_422_gray(samples: &Samples<'_>, layout: Layout, scale: Scale) -> Vec<u8> {
    let partial = layout.photometric == Photometric::YbrPartial422;
    (0..layout.pixels())
        .map(|i| {
            let y = scale.apply(samples.get((i / 2) * 4 + (i % 2)));
            if partial {
                let v = (f64::from(y) - 16.0) * 255.0 / 219.0;
                v.round().clamp(0.0, 255.0) as u8
            } else {
                y
            }
        })
        .collect()
}
