//! Borrowed views of frame buffers as scanners hand them over, and their conversion to 8-bit
//! grey.
//!
//! A [`FrameView`] borrows the scanner's buffer (no copy): a pixel format, a size, a stride
//! (bytes from the start of one row to the start of the next, which may include padding) and the
//! bytes. The last row may be short: the buffer only has to reach the last pixel.
//!
//! Conversion to grey ([`GrayConverter`]):
//!
//! - `Gray8`: as is.
//! - `Gray16` (little-endian): through a [`Window`] `low..=high`, split into 256 equal bins:
//!   `v < low` → 0, `v > high` → 255, else `(v − low) · 256 / (high − low + 1)`. The default
//!   window is the full range, which is exactly `v >> 8`.
//! - `Rgb8` and `Bgra8`: [`luma`], the DICOM standard's BT.601 weights `0.299 R + 0.587 G + 0.114 B`;
//!   alpha is ignored.

use serde::{Deserialize, Serialize};

/// Largest frame width or height accepted.
pub const MAX_DIM: usize = 16384;

/// Pixel layout of a frame buffer.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PixelFormat {
    /// One byte of grey per pixel.
    Gray8,
    /// One little-endian `u16` of grey per pixel.
    Gray16,
    /// Three bytes per pixel: red, green, blue.
    Rgb8,
    /// Four bytes per pixel: blue, green, red, alpha (alpha is ignored).
    Bgra8,
}

impl PixelFormat {
    /// Bytes one pixel takes.
    pub fn bytes_per_pixel(self) -> usize {
        match self {
            Self::Gray8 => 1,
            Self::Gray16 => 2,
            Self::Rgb8 => 3,
            Self::Bgra8 => 4,
        }
    }
}

impl std::fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Gray8 => "GRAY8",
            Self::Gray16 => "GRAY16",
            Self::Rgb8 => "RGB8",
            Self::Bgra8 => "BGRA8",
        })
    }
}

/// Frame errors.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A side is zero or above [`MAX_DIM`].
    #[error("frame size {width}×{height} is out of range: each side must be 1 to {MAX_DIM} pixels")]
    Size {
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
    },
    /// The stride is shorter than a row of pixels.
    #[error("stride {stride} is less than width {width} × {bytes_per_pixel} bytes per pixel")]
    Stride {
        /// Stride in bytes.
        stride: usize,
        /// Width in pixels.
        width: usize,
        /// Bytes per pixel of the format.
        bytes_per_pixel: usize,
    },
    /// The stride is so large that the frame's byte size overflows.
    #[error("stride {stride} × {height} rows overflows the address space")]
    Overflow {
        /// Stride in bytes.
        stride: usize,
        /// Height in pixels.
        height: usize,
    },
    /// The buffer is too short for the frame.
    #[error(
        "buffer has {len} bytes, a {width}×{height} {format} frame with stride {stride} needs {needed}"
    )]
    Buffer {
        /// Bytes in the buffer.
        len: usize,
        /// Bytes the frame needs.
        needed: usize,
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
        /// Pixel format.
        format: PixelFormat,
        /// Stride in bytes.
        stride: usize,
    },
    /// A 16-bit window whose low end is above its high end.
    #[error("window low {low} is above high {high}")]
    Window {
        /// Low end.
        low: u16,
        /// High end.
        high: u16,
    },
    /// A span of pixels outside the frame was asked for.
    #[error("pixels {x0}..{x1} of row {y} are outside the {width}×{height} frame")]
    OutOfBounds {
        /// First column.
        x0: usize,
        /// One past the last column.
        x1: usize,
        /// Row.
        y: usize,
        /// Frame width.
        width: usize,
        /// Frame height.
        height: usize,
    },
}

/// A borrowed frame: format, size, stride and the scanner's bytes.
#[derive(Clone, Copy)]
pub struct FrameView<'a> {
    format: PixelFormat,
    width: usize,
    height: usize,
    stride: usize,
    data: &'a [u8],
    timestamp_us: Option<i64>,
}

impl std::fmt::Debug for FrameView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "FrameView({} {}x{}, stride {}, {} bytes, t {:?} µs)",
            self.format,
            self.width,
            self.height,
            self.stride,
            self.data.len(),
            self.timestamp_us
        )
    }
}

impl<'a> FrameView<'a> {
    /// A view of `data` as a `width`×`height` frame of `format` whose rows start `stride` bytes
    /// apart. Each side must be 1 to [`MAX_DIM`], `stride` at least `width × bytes per pixel`,
    /// and `data` must reach the last pixel (`stride × (height − 1) + width × bytes per pixel`
    /// bytes; extra bytes are ignored).
    pub fn new(
        format: PixelFormat,
        width: usize,
        height: usize,
        stride: usize,
        data: &'a [u8],
    ) -> Result<Self, FrameError> {
        if !(1..=MAX_DIM).contains(&width) || !(1..=MAX_DIM).contains(&height) {
            return Err(FrameError::Size { width, height });
        }
        let bytes_per_pixel = format.bytes_per_pixel();
        // Cannot overflow: width ≤ MAX_DIM and bytes per pixel ≤ 4.
        let row_bytes = width * bytes_per_pixel;
        if stride < row_bytes {
            return Err(FrameError::Stride {
                stride,
                width,
                bytes_per_pixel,
            });
        }
        let needed = stride
            .checked_mul(height - 1)
            .and_then(|v| v.checked_add(row_bytes))
            .ok_or(FrameError::Overflow { stride, height })?;
        if data.len() < needed {
            return Err(FrameError::Buffer {
                len: data.len(),
                needed,
                width,
                height,
                format,
                stride,
            });
        }
        Ok(Self {
            format,
            width,
            height,
            stride,
            data,
            timestamp_us: None,
        })
    }

    /// A view of tightly packed 8-bit grey pixels (stride = width).
    pub fn gray8(width: usize, height: usize, data: &'a [u8]) -> Result<Self, FrameError> {
        Self::new(PixelFormat::Gray8, width, height, width, data)
    }

    /// The same view with a capture time in microseconds (any epoch the caller chooses).
    #[must_use]
    pub fn with_timestamp_us(self, t: i64) -> Self {
        Self {
            timestamp_us: Some(t),
            ..self
        }
    }

    /// Pixel format.
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Bytes from the start of one row to the start of the next.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// The whole borrowed buffer, padding included.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Capture time in microseconds, if given.
    pub fn timestamp_us(&self) -> Option<i64> {
        self.timestamp_us
    }

    /// Row `y`'s pixel bytes (exactly `width × bytes per pixel`, no padding), `None` past the
    /// last row.
    pub fn row(&self, y: usize) -> Option<&'a [u8]> {
        if y >= self.height {
            return None;
        }
        let start = y * self.stride;
        self.data
            .get(start..start + self.width * self.format.bytes_per_pixel())
    }
}

/// A linear 16-bit → 8-bit window: `low..=high` is split into 256 equal bins, values below
/// `low` become 0 and values above `high` 255. `low == high` thresholds at `low`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Window {
    /// Start of the first bin (mapped to 0, as is everything below it).
    pub low: u16,
    /// Highest value of the last bin (mapped to 255).
    pub high: u16,
}

impl Default for Window {
    /// The full range, equivalent to `v >> 8`.
    fn default() -> Self {
        Self::FULL
    }
}

impl Window {
    /// The full 16-bit range, equivalent to `v >> 8`.
    pub const FULL: Self = Self {
        low: 0,
        high: u16::MAX,
    };

    /// A window, checked to have `low <= high`.
    pub fn new(low: u16, high: u16) -> Result<Self, FrameError> {
        Self { low, high }.checked()
    }

    /// The window itself if `low <= high` (the fields are public, so a window can be built
    /// unchecked).
    pub fn checked(self) -> Result<Self, FrameError> {
        if self.low <= self.high {
            Ok(self)
        } else {
            Err(FrameError::Window {
                low: self.low,
                high: self.high,
            })
        }
    }

    /// The 8-bit value of `v`. An unchecked window with `low > high` thresholds at `low`.
    pub fn apply(self, v: u16) -> u8 {
        if v < self.low {
            return 0;
        }
        let span = u32::from(self.high.saturating_sub(self.low)) + 1;
        let bin = (u32::from(v - self.low) << 8) / span;
        u8::try_from(bin).unwrap_or(u8::MAX)
    }
}

/// Luma of an RGB pixel with the DICOM standard's coefficients (PS3.3 C.7.6.3.1.2, YBR_FULL:
/// `Y = 0.2990 R + 0.5870 G + 0.1140 B`, i.e. BT.601), rounded half up. The one luma of the
/// project: RGB and BGRA frames pushed by a host and RGB DICOM decoded for replay give the
/// same grey levels.
#[inline]
pub fn luma(r: u8, g: u8, b: u8) -> u8 {
    let y = (299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b) + 500) / 1000;
    // The weights sum to 1000, so y ≤ 255.
    y as u8
}

/// Converts frame rows to 8-bit grey; reusable, holds the table of its 16-bit [`Window`].
#[derive(Clone)]
pub struct GrayConverter {
    window: Window,
    table: Box<[u8; 65536]>,
}

impl std::fmt::Debug for GrayConverter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GrayConverter({:?})", self.window)
    }
}

impl Default for GrayConverter {
    fn default() -> Self {
        let mut c = Self {
            window: Window::FULL,
            table: Box::new([0; 65536]),
        };
        c.fill_table();
        c
    }
}

impl GrayConverter {
    /// A converter with `window` for 16-bit frames.
    pub fn new(window: Window) -> Result<Self, FrameError> {
        let mut c = Self::default();
        c.set_window(window)?;
        Ok(c)
    }

    /// The 16-bit window.
    pub fn window(&self) -> Window {
        self.window
    }

    /// Change the 16-bit window; the table is rebuilt only when it differs.
    pub fn set_window(&mut self, window: Window) -> Result<(), FrameError> {
        let window = window.checked()?;
        if window != self.window {
            self.window = window;
            self.fill_table();
        }
        Ok(())
    }

    fn fill_table(&mut self) {
        for (v, t) in (0..=u16::MAX).zip(self.table.iter_mut()) {
            *t = self.window.apply(v);
        }
    }

    /// Grey values of pixels `x0..x0 + len` of row `y`: borrowed straight from the frame for
    /// `Gray8`, else converted into `scratch` (resized to `len`).
    pub fn gray_row<'s>(
        &self,
        frame: &FrameView<'s>,
        y: usize,
        x0: usize,
        len: usize,
        scratch: &'s mut Vec<u8>,
    ) -> Result<&'s [u8], FrameError> {
        let out_of_bounds = || FrameError::OutOfBounds {
            x0,
            x1: x0.saturating_add(len),
            y,
            width: frame.width,
            height: frame.height,
        };
        let x1 = x0
            .checked_add(len)
            .filter(|&x1| x1 <= frame.width)
            .ok_or_else(out_of_bounds)?;
        let row = frame.row(y).ok_or_else(out_of_bounds)?;
        let bpp = frame.format.bytes_per_pixel();
        let px = row.get(x0 * bpp..x1 * bpp).ok_or_else(out_of_bounds)?;
        if frame.format == PixelFormat::Gray8 {
            return Ok(px);
        }
        scratch.clear();
        scratch.resize(len, 0);
        self.convert(frame.format, px, scratch);
        Ok(scratch)
    }

    /// Convert `src` (pixels of `format`) into `out`, one byte per pixel, as many pixels as both
    /// hold.
    pub fn convert(&self, format: PixelFormat, src: &[u8], out: &mut [u8]) {
        match format {
            PixelFormat::Gray8 => {
                let n = src.len().min(out.len());
                out[..n].copy_from_slice(&src[..n]);
            }
            PixelFormat::Gray16 => {
                for (o, p) in out.iter_mut().zip(src.chunks_exact(2)) {
                    *o = self.table[usize::from(u16::from_le_bytes([p[0], p[1]]))];
                }
            }
            PixelFormat::Rgb8 => {
                for (o, p) in out.iter_mut().zip(src.chunks_exact(3)) {
                    *o = luma(p[0], p[1], p[2]);
                }
            }
            PixelFormat::Bgra8 => bgra_luma(src, out),
        }
    }
}

/// [`luma`] of BGRA pixels `src` into `out`, as many pixels as both hold; on x86-64 sixteen at
/// a time with SSE2 (same values: exact integer arithmetic, see `bgra_luma16`).
fn bgra_luma(src: &[u8], out: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    let done = {
        let mut done = 0;
        for (o, p) in out.chunks_exact_mut(16).zip(src.chunks_exact(64)) {
            if let (Ok(o), Ok(p)) = (o.try_into(), p.try_into()) {
                // SAFETY: SSE2 is part of the x86-64 baseline: every x86-64 CPU has it.
                unsafe { bgra_luma16(p, o) };
                done += 16;
            }
        }
        done
    };
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    for (o, p) in out.iter_mut().zip(src.chunks_exact(4)).skip(done) {
        *o = luma(p[2], p[1], p[0]);
    }
}

/// [`luma`] of 16 BGRA pixels with SSE2 (part of the x86-64 baseline). `x = 299 R + 587 G +
/// 114 B + 500` comes from 16-bit multiply-adds; `⌊x / 1000⌋ = ⌊⌊x / 8⌋ · 33555 / 2²²⌋` for
/// every `x` luma can reach (checked exhaustively by a test), which 16-bit multiplies give.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "sse2")]
fn bgra_luma16(src: &[u8; 64], out: &mut [u8; 16]) {
    use std::arch::x86_64::*;
    let zero = _mm_setzero_si128();
    let coef = _mm_setr_epi16(114, 587, 299, 0, 114, 587, 299, 0);
    let round = _mm_set1_epi32(500);
    let q: [__m128i; 4] = std::array::from_fn(|k| {
        // SAFETY: bytes 16k..16k + 16 of the 64-byte array; `loadu` has no alignment
        // requirement.
        let v = unsafe { _mm_loadu_si128(src.as_ptr().add(16 * k).cast()) };
        let lo = _mm_castsi128_ps(_mm_madd_epi16(_mm_unpacklo_epi8(v, zero), coef));
        let hi = _mm_castsi128_ps(_mm_madd_epi16(_mm_unpackhi_epi8(v, zero), coef));
        // Per pixel, B·114 + G·587 and R·299 sit in adjacent lanes: add them.
        let even = _mm_castps_si128(_mm_shuffle_ps::<0x88>(lo, hi));
        let odd = _mm_castps_si128(_mm_shuffle_ps::<0xDD>(lo, hi));
        _mm_srli_epi32::<3>(_mm_add_epi32(_mm_add_epi32(even, odd), round))
    });
    // ⌊x / 8⌋ ≤ 31937 fits i16.
    let magic = _mm_set1_epi16(33555u16 as i16);
    let div = |v: __m128i| _mm_srli_epi16::<6>(_mm_mulhi_epu16(v, magic));
    let y = _mm_packus_epi16(
        div(_mm_packs_epi32(q[0], q[1])),
        div(_mm_packs_epi32(q[2], q[3])),
    );
    // SAFETY: `out` is 16 writable bytes; `storeu` has no alignment requirement.
    unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), y) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_strides_are_checked() {
        let buf = vec![0u8; 6144];
        let e = FrameView::new(PixelFormat::Gray16, 64, 48, 100, &buf).unwrap_err();
        assert_eq!(
            e.to_string(),
            "stride 100 is less than width 64 × 2 bytes per pixel"
        );
        let e = FrameView::new(PixelFormat::Gray16, 64, 48, 128, &buf[..10]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "buffer has 10 bytes, a 64×48 GRAY16 frame with stride 128 needs 6144"
        );
        // The last row may be short: 47 strides + one row of pixels.
        let short = vec![0u8; 47 * 130 + 128];
        assert!(FrameView::new(PixelFormat::Gray16, 64, 48, 130, &short).is_ok());
        assert!(
            FrameView::new(PixelFormat::Gray16, 64, 48, 130, &short[..short.len() - 1]).is_err()
        );
        assert!(matches!(
            FrameView::gray8(0, 4, &buf),
            Err(FrameError::Size { .. })
        ));
        assert!(matches!(
            FrameView::gray8(MAX_DIM + 1, 1, &buf),
            Err(FrameError::Size { .. })
        ));
        assert!(matches!(
            FrameView::new(PixelFormat::Gray8, 4, 3, usize::MAX, &buf),
            Err(FrameError::Overflow { .. })
        ));
    }

    #[test]
    fn rows_skip_padding() {
        let data: Vec<u8> = (0..3 * 5 + 2).map(|v| v as u8).collect();
        let f = FrameView::new(PixelFormat::Gray8, 2, 4, 5, &data)
            .unwrap()
            .with_timestamp_us(42);
        assert_eq!(f.row(0), Some(&[0u8, 1][..]));
        assert_eq!(f.row(3), Some(&[15u8, 16][..]));
        assert_eq!(f.row(4), None);
        assert_eq!(f.timestamp_us(), Some(42));
        assert_eq!((f.width(), f.height(), f.stride()), (2, 4, 5));
    }

    #[test]
    fn window_maps_linearly_and_clamps() {
        for v in [0u16, 1, 255, 256, 40000, 65535] {
            assert_eq!(Window::FULL.apply(v), (v >> 8) as u8);
        }
        let w = Window::new(1000, 1255).unwrap();
        assert_eq!(w.apply(0), 0);
        assert_eq!(w.apply(1000), 0);
        assert_eq!(w.apply(1001), 1);
        assert_eq!(w.apply(1128), 128);
        assert_eq!(w.apply(1255), 255);
        assert_eq!(w.apply(60000), 255);
        assert!(Window::new(5, 4).is_err());
        assert!(GrayConverter::new(Window { low: 9, high: 3 }).is_err());
    }

    #[test]
    fn converts_every_format() {
        let conv = GrayConverter::new(Window::new(0, 255).unwrap()).unwrap();
        let mut scratch = Vec::new();
        let g16: Vec<u8> = [10u16, 300, 255]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let f = FrameView::new(PixelFormat::Gray16, 3, 1, 6, &g16).unwrap();
        assert_eq!(
            conv.gray_row(&f, 0, 0, 3, &mut scratch).unwrap(),
            &[10, 255, 255]
        );
        let rgb = [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255];
        let f = FrameView::new(PixelFormat::Rgb8, 4, 1, 12, &rgb).unwrap();
        assert_eq!(
            conv.gray_row(&f, 0, 0, 4, &mut scratch).unwrap(),
            // The DICOM standard's 0.299 / 0.587 / 0.114, rounded half up.
            &[76, 150, 29, 255]
        );
        let bgra = [0, 0, 255, 7, 255, 0, 0, 99];
        let f = FrameView::new(PixelFormat::Bgra8, 2, 1, 8, &bgra).unwrap();
        assert_eq!(conv.gray_row(&f, 0, 0, 2, &mut scratch).unwrap(), &[76, 29]);
        let g8 = [1, 2, 3, 4, 5, 6];
        let f = FrameView::gray8(3, 2, &g8).unwrap();
        assert_eq!(conv.gray_row(&f, 1, 1, 2, &mut scratch).unwrap(), &[5, 6]);
        assert!(matches!(
            conv.gray_row(&f, 1, 2, 2, &mut scratch),
            Err(FrameError::OutOfBounds { .. })
        ));
        assert!(conv.gray_row(&f, 2, 0, 1, &mut scratch).is_err());
        assert!(conv.gray_row(&f, 0, usize::MAX, 2, &mut scratch).is_err());
    }
}
