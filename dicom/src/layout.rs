//! How one frame's pixel data is laid out: the [`Photometric`] interpretation, sample sizes and
//! planes ([`Layout`]), and what a codec hands back for a stored layout.

use crate::transfer_syntax::{JPEG_TS, RLE_TS};

/// Photometric interpretations the converter understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Photometric {
    Mono1,
    Mono2,
    Palette,
    Rgb,
    YbrFull,
    YbrFull422,
    YbrPartial422,
    YbrPartial420,
}

impl Photometric {
    /// The interpretation a `PhotometricInterpretation` value names, when understood.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "MONOCHROME1" => Self::Mono1,
            "MONOCHROME2" => Self::Mono2,
            "PALETTE COLOR" => Self::Palette,
            "RGB" => Self::Rgb,
            "YBR_FULL" => Self::YbrFull,
            "YBR_FULL_422" => Self::YbrFull422,
            "YBR_PARTIAL_422" => Self::YbrPartial422,
            "YBR_PARTIAL_420" => Self::YbrPartial420,
            _ => return None,
        })
    }

    /// Samples per pixel.
    pub(crate) fn samples(self) -> usize {
        match self {
            Self::Mono1 | Self::Mono2 | Self::Palette => 1,
            _ => 3,
        }
    }

    /// The `PhotometricInterpretation` value.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Mono1 => "MONOCHROME1",
            Self::Mono2 => "MONOCHROME2",
            Self::Palette => "PALETTE COLOR",
            Self::Rgb => "RGB",
            Self::YbrFull => "YBR_FULL",
            Self::YbrFull422 => "YBR_FULL_422",
            Self::YbrPartial422 => "YBR_PARTIAL_422",
            Self::YbrPartial420 => "YBR_PARTIAL_420",
        }
    }
}

/// How the decoded bytes of one frame are laid out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    /// `Rows`.
    pub(crate) rows: usize,
    /// `Columns`.
    pub(crate) cols: usize,
    /// `PhotometricInterpretation`.
    pub(crate) photometric: Photometric,
    /// `BitsAllocated` (8 or 16).
    pub(crate) bits_allocated: u16,
    /// `BitsStored`.
    pub(crate) bits_stored: u16,
    /// `PixelRepresentation` 1: two's complement samples.
    pub(crate) signed: bool,
    /// Colour planes stored one after the other (`PlanarConfiguration` 1).
    pub(crate) planar: bool,
}

impl Layout {
    /// Bytes of one sample.
    pub(crate) fn bytes_per_sample(&self) -> usize {
        usize::from(self.bits_allocated / 8)
    }

    /// Pixels of one frame.
    pub(crate) fn pixels(&self) -> usize {
        self.rows * self.cols
    }

    /// Bytes of one frame in this layout.
    pub(crate) fn frame_bytes(&self) -> usize {
        match self.photometric {
            // two luma samples share one Cb and one Cr
            Photometric::YbrFull422 | Photometric::YbrPartial422 => {
                self.pixels() * 2 * self.bytes_per_sample()
            }
            p => self.pixels() * p.samples() * self.bytes_per_sample(),
        }
    }
}

/// The layout of what the codec of `ts` hands back for frames stored as `layout`.
pub(crate) fn decoded_layout(layout: Layout, ts: &str) -> Layout {
    if JPEG_TS.contains(&ts) && layout.photometric.samples() == 3 {
        // jpeg-decoder converts YCbCr to RGB and always interleaves
        Layout {
            photometric: Photometric::Rgb,
            planar: false,
            ..layout
        }
    } else if ts == RLE_TS || JPEG_TS.contains(&ts) {
        // RLE output is always interleaved; 4:2:2 is not a thing inside RLE (stored as full)
        let photometric = match layout.photometric {
            Photometric::YbrFull422 | Photometric::YbrPartial422 => Photometric::YbrFull,
            p => p,
        };
        Layout {
            photometric,
            planar: false,
            ..layout
        }
    } else {
        layout
    }
}
