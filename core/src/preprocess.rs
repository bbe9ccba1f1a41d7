//! From a scanner frame to the model input, and the geometry to map results back.
//!
//! [`Preprocessor::run`] turns a [`FrameView`] into the model's input: `model_width ×
//! model_height` bytes of 8-bit grey, row-major. It returns the [`Geometry`] of that frame,
//! which maps model pixels back to frame pixels (and millimetres).
//!
//! **Steps.**
//!
//! 1. **Region.** Only the region of interest ([`PreprocessOptions::roi`]; the whole frame when
//!    `None`) is used: typically the DICOM ultrasound region or the bounding box of the scan
//!    sector, so that annotations, text and ECG traces around the sector stay out of the model
//!    input. The ROI is clipped to the frame; an ROI that does not overlap the frame is an
//!    error. Nothing outside the ROI is ever read, and nothing inside it is cropped.
//! 2. **Grey.** The ROI is converted to 8-bit grey (see [`crate::frame`]): 16-bit frames through
//!    [`PreprocessOptions::window`] (default: the full range, `v >> 8`), colour frames as
//!    BT.601 luma.
//! 3. **Fit.** [`Fit::Stretch`] (the default) scales width and height independently so that the
//!    ROI fills the whole model input. This is how the CAMUS 224 × 224 training images were
//!    made (the sector bounding box resized to 224 × 224 without keeping its aspect ratio), so
//!    it is the right choice for the shipped models. [`Fit::Letterbox`] keeps the aspect ratio:
//!    the ROI is scaled to fit, centred, and the rest of the input is 0 (black, like the area
//!    outside an ultrasound sector). [`Geometry::content`] tells which part of the input holds
//!    the image.
//! 4. **Resampling.** Separable, pixel-centre aligned (output pixel `x` samples the source at
//!    `(x + 0.5) · scale − 0.5`), with a triangle filter: plain bilinear when enlarging; when
//!    shrinking, the filter widens by the scale factor so that every source pixel contributes
//!    (antialiasing, as PIL's `BILINEAR` resize). Weights are normalised; taps that fall
//!    outside the ROI are dropped and the others renormalised (for bilinear this is the same
//!    as repeating the edge pixel). The horizontal pass runs first and is rounded to 8 bits,
//!    then the vertical pass; results are rounded to the nearest value. A constant image stays
//!    exactly constant and same-size resampling is the identity.
//!
//! **Coordinates.** [`Geometry`] uses continuous pixel coordinates: pixel `i` covers `[i, i + 1)`
//! and its centre is `i + 0.5`, in the model input and in the frame alike.
//!
//! **Speed.** A [`Preprocessor`] keeps its resampling tables (tap positions and fixed-point
//! weights per output column and row) and scratch buffers, and rebuilds the tables only when the
//! ROI or model size changes, so a video stream allocates nothing per frame.

use crate::frame::{FrameError, FrameView, GrayConverter, MAX_DIM, Window};
use crate::meta::PixelSpacing;
use serde::{Deserialize, Serialize};

/// How the region is fitted into the model input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fit {
    /// Scale x and y independently to fill the input (how the training images were made).
    #[default]
    Stretch,
    /// Keep the aspect ratio, centre, pad with 0.
    Letterbox,
}

/// A rectangle in pixels: in the frame for an ROI, in the model input for
/// [`Geometry::content`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Roi {
    /// Left column.
    pub x: usize,
    /// Top row.
    pub y: usize,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
}

impl Roi {
    /// A rectangle.
    pub fn new(x: usize, y: usize, width: usize, height: usize) -> Self {
        Self {
            x,
            y,
            width,
            height,
        }
    }

    /// True when the rectangle holds no pixel.
    pub fn is_empty(&self) -> bool {
        self.width == 0 || self.height == 0
    }

    /// Whether pixel `(x, y)` lies inside.
    pub fn contains(&self, x: usize, y: usize) -> bool {
        x >= self.x && y >= self.y && x - self.x < self.width && y - self.y < self.height
    }

    /// The part inside a `width × height` image, `None` when nothing is.
    fn clip(self, width: usize, height: usize) -> Option<Self> {
        let x0 = self.x.min(width);
        let y0 = self.y.min(height);
        let x1 = self.x.saturating_add(self.width).min(width);
        let y1 = self.y.saturating_add(self.height).min(height);
        (x1 > x0 && y1 > y0).then(|| Self::new(x0, y0, x1 - x0, y1 - y0))
    }
}

/// Options of [`Preprocessor::run`]; the default stretches the whole frame with the full 16-bit
/// window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PreprocessOptions {
    /// How the region is fitted into the model input.
    pub fit: Fit,
    /// Region of the frame to use (clipped to the frame); `None`: the whole frame.
    pub roi: Option<Roi>,
    /// Window for 16-bit frames; `None`: the full range.
    pub window: Option<Window>,
}

/// Preprocessing errors.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreprocessError {
    /// The frame or the window is invalid.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// A model side is zero or above [`MAX_DIM`].
    #[error("model input size {width}×{height} is out of range: each side must be 1 to {MAX_DIM}")]
    ModelSize {
        /// Width.
        width: usize,
        /// Height.
        height: usize,
    },
    /// The ROI does not overlap the frame.
    #[error(
        "ROI at ({}, {}) of {}×{} pixels does not overlap the {frame_width}×{frame_height} frame",
        roi.x, roi.y, roi.width, roi.height
    )]
    EmptyRoi {
        /// The ROI as given.
        roi: Roi,
        /// Frame width.
        frame_width: usize,
        /// Frame height.
        frame_height: usize,
    },
}

/// Where a model input came from: frame size, the ROI used, model size, fit, and the affine
/// map between model and frame coordinates (continuous: pixel `i` covers `[i, i + 1)`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Geometry {
    frame_width: usize,
    frame_height: usize,
    roi: Roi,
    model_width: usize,
    model_height: usize,
    fit: Fit,
    content: Roi,
    scale_x: f64,
    scale_y: f64,
}

impl Geometry {
    /// The geometry of fitting `roi` (whole frame when `None`, clipped to the frame) of a
    /// `frame_size` (width, height) frame into a `model_size` input.
    pub fn new(
        frame_size: (usize, usize),
        roi: Option<Roi>,
        model_size: (usize, usize),
        fit: Fit,
    ) -> Result<Self, PreprocessError> {
        let (frame_width, frame_height) = frame_size;
        let (model_width, model_height) = model_size;
        if !(1..=MAX_DIM).contains(&model_width) || !(1..=MAX_DIM).contains(&model_height) {
            return Err(PreprocessError::ModelSize {
                width: model_width,
                height: model_height,
            });
        }
        let asked = roi.unwrap_or(Roi::new(0, 0, frame_width, frame_height));
        let roi = asked
            .clip(frame_width, frame_height)
            .ok_or(PreprocessError::EmptyRoi {
                roi: asked,
                frame_width,
                frame_height,
            })?;
        let content = match fit {
            Fit::Stretch => Roi::new(0, 0, model_width, model_height),
            Fit::Letterbox => {
                let s = (model_width as f64 / roi.width as f64)
                    .min(model_height as f64 / roi.height as f64);
                let w = ((roi.width as f64 * s).round() as usize).clamp(1, model_width);
                let h = ((roi.height as f64 * s).round() as usize).clamp(1, model_height);
                Roi::new((model_width - w) / 2, (model_height - h) / 2, w, h)
            }
        };
        Ok(Self {
            frame_width,
            frame_height,
            roi,
            model_width,
            model_height,
            fit,
            content,
            scale_x: roi.width as f64 / content.width as f64,
            scale_y: roi.height as f64 / content.height as f64,
        })
    }

    /// Frame (width, height).
    pub fn frame_size(&self) -> (usize, usize) {
        (self.frame_width, self.frame_height)
    }

    /// Model input (width, height).
    pub fn model_size(&self) -> (usize, usize) {
        (self.model_width, self.model_height)
    }

    /// The ROI actually used, clipped to the frame.
    pub fn roi(&self) -> Roi {
        self.roi
    }

    /// How the ROI was fitted.
    pub fn fit(&self) -> Fit {
        self.fit
    }

    /// The part of the model input covered by the image: the whole input for
    /// [`Fit::Stretch`], the centred box for [`Fit::Letterbox`].
    pub fn content(&self) -> Roi {
        self.content
    }

    /// Frame pixels per model pixel, (x, y).
    pub fn scale(&self) -> (f64, f64) {
        (self.scale_x, self.scale_y)
    }

    /// The frame point of model point `(mx, my)` (continuous coordinates).
    pub fn model_to_frame(&self, mx: f32, my: f32) -> (f32, f32) {
        let fx = self.roi.x as f64 + (f64::from(mx) - self.content.x as f64) * self.scale_x;
        let fy = self.roi.y as f64 + (f64::from(my) - self.content.y as f64) * self.scale_y;
        (fx as f32, fy as f32)
    }

    /// The model point of frame point `(fx, fy)` (continuous coordinates).
    pub fn frame_to_model(&self, fx: f32, fy: f32) -> (f32, f32) {
        let mx = self.content.x as f64 + (f64::from(fx) - self.roi.x as f64) / self.scale_x;
        let my = self.content.y as f64 + (f64::from(fy) - self.roi.y as f64) / self.scale_y;
        (mx as f32, my as f32)
    }

    /// Size of a model pixel in millimetres, (column width, row height), given the frame's
    /// pixel spacing.
    pub fn mm_per_model_px(&self, spacing: PixelSpacing) -> (f32, f32) {
        (
            (spacing.col_mm * self.scale_x) as f32,
            (spacing.row_mm * self.scale_y) as f32,
        )
    }
}

/// Fixed-point precision of the resampling weights (PIL's for 8-bit images).
const PRECISION_BITS: u32 = 22;
const HALF: i32 = 1 << (PRECISION_BITS - 1);

/// Taps of a 1-D resampling: for each output pixel, the first source pixel, the tap count, and
/// `ksize` fixed-point weight slots.
#[derive(Default, Clone)]
struct Taps {
    ksize: usize,
    spans: Vec<(usize, usize)>,
    weights: Vec<i32>,
}

impl std::fmt::Debug for Taps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Taps({} outputs × {})", self.spans.len(), self.ksize)
    }
}

impl Taps {
    /// Antialiased triangle-filter taps from `in_size` to `out_size` pixels (both ≥ 1).
    fn build(&mut self, in_size: usize, out_size: usize) {
        let scale = in_size as f64 / out_size as f64;
        let filterscale = scale.max(1.0);
        let support = filterscale;
        self.ksize = support.ceil() as usize * 2 + 1;
        self.spans.clear();
        self.weights.clear();
        self.weights.resize(out_size * self.ksize, 0);
        let mut w = vec![0f64; self.ksize];
        for (j, slot) in self.weights.chunks_exact_mut(self.ksize).enumerate() {
            let center = (j as f64 + 0.5) * scale;
            let start = (center - support + 0.5).floor().max(0.0) as usize;
            let end = ((center + support + 0.5).floor() as usize)
                .min(in_size)
                .min(start + self.ksize);
            let n = end.saturating_sub(start);
            let mut total = 0.0;
            for (k, wk) in w.iter_mut().enumerate().take(n) {
                let d = ((start + k) as f64 + 0.5 - center) / filterscale;
                *wk = (1.0 - d.abs()).max(0.0);
                total += *wk;
            }
            let one = f64::from(1u32 << PRECISION_BITS);
            let mut sum = 0i32;
            for (s, &wk) in slot.iter_mut().zip(&w).take(n) {
                *s = (wk / total * one).round() as i32;
                sum += *s;
            }
            // Make the weights sum to exactly 1 (on the largest) so that constants stay constant.
            let best = slot.iter().take(n).enumerate().max_by_key(|&(_, &s)| s);
            if let Some(s) = best.map(|(k, _)| k).and_then(|k| slot.get_mut(k)) {
                *s += (1 << PRECISION_BITS) - sum;
            }
            self.spans.push((start, n));
        }
    }

    /// Source pixels `start..end` that any output pixel reads.
    fn range(&self) -> (usize, usize) {
        let start = self.spans.iter().map(|s| s.0).min().unwrap_or(0);
        let end = self.spans.iter().map(|s| s.0 + s.1).max().unwrap_or(0);
        (start, end)
    }

    /// Output pixel `j`'s first source pixel and weights.
    fn taps(&self, j: usize) -> (usize, &[i32]) {
        let (start, n) = self.spans.get(j).copied().unwrap_or((0, 0));
        let w = self
            .weights
            .get(j * self.ksize..j * self.ksize + n)
            .unwrap_or(&[]);
        (start, w)
    }
}

#[inline]
fn clip8(acc: i32) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Resample one row of grey pixels with `taps` into `out`.
fn resample_row(src: &[u8], taps: &Taps, out: &mut [u8]) {
    for (j, o) in out.iter_mut().enumerate() {
        let (start, w) = taps.taps(j);
        let px = src.get(start..).unwrap_or(&[]);
        let acc = px
            .iter()
            .zip(w)
            .fold(HALF, |a, (&p, &wk)| a + i32::from(p) * wk);
        *o = clip8(acc);
    }
}

/// Frame → model input, reusable across frames (see the module documentation).
#[derive(Debug)]
pub struct Preprocessor {
    model_width: usize,
    model_height: usize,
    /// (ROI width, ROI height, content width, content height) the tables were built for.
    key: Option<(usize, usize, usize, usize)>,
    xtaps: Taps,
    ytaps: Taps,
    gray: GrayConverter,
    row: Vec<u8>,
    inter: Vec<u8>,
    acc: Vec<i32>,
}

impl Preprocessor {
    /// A preprocessor for a `model_width × model_height` input. Sizes are checked by
    /// [`Preprocessor::run`].
    pub fn new(model_width: usize, model_height: usize) -> Self {
        Self {
            model_width,
            model_height,
            key: None,
            xtaps: Taps::default(),
            ytaps: Taps::default(),
            gray: GrayConverter::default(),
            row: Vec::new(),
            inter: Vec::new(),
            acc: Vec::new(),
        }
    }

    /// Model input (width, height).
    pub fn model_size(&self) -> (usize, usize) {
        (self.model_width, self.model_height)
    }

    /// Write the model input for `frame` into `out` (resized to `model_width × model_height`,
    /// row-major grey) and return its geometry.
    pub fn run(
        &mut self,
        frame: &FrameView<'_>,
        opts: &PreprocessOptions,
        out: &mut Vec<u8>,
    ) -> Result<Geometry, PreprocessError> {
        let geom = Geometry::new(
            (frame.width(), frame.height()),
            opts.roi,
            (self.model_width, self.model_height),
            opts.fit,
        )?;
        self.gray.set_window(opts.window.unwrap_or_default())?;
        let (roi, c) = (geom.roi, geom.content);
        let key = (roi.width, roi.height, c.width, c.height);
        if self.key != Some(key) {
            self.xtaps.build(roi.width, c.width);
            self.ytaps.build(roi.height, c.height);
            self.key = Some(key);
        }

        let y0 = self.horizontal_pass(frame, roi, c.width)?;
        out.clear();
        out.resize(self.model_width * self.model_height, 0);
        self.vertical_pass(y0, c, out);
        Ok(geom)
    }

    /// Resample the ROI rows the vertical pass reads horizontally into `inter` (`content_width`
    /// per row); returns the first row's index in the ROI.
    fn horizontal_pass(
        &mut self,
        frame: &FrameView<'_>,
        roi: Roi,
        content_width: usize,
    ) -> Result<usize, FrameError> {
        let (y0, y1) = self.ytaps.range();
        self.inter.clear();
        self.inter.resize((y1 - y0) * content_width, 0);
        for (sy, irow) in (y0..y1).zip(self.inter.chunks_exact_mut(content_width)) {
            let src = self
                .gray
                .gray_row(frame, roi.y + sy, roi.x, roi.width, &mut self.row)?;
            resample_row(src, &self.xtaps, irow);
        }
        Ok(y0)
    }

    /// Resample `inter` (whose first row is ROI row `y0`) vertically into the `content` box of
    /// `out`.
    fn vertical_pass(&mut self, y0: usize, content: Roi, out: &mut [u8]) {
        let cw = content.width;
        self.acc.clear();
        self.acc.resize(cw, 0);
        let rows = out
            .chunks_exact_mut(self.model_width)
            .skip(content.y)
            .take(content.height);
        for (j, orow) in rows.enumerate() {
            let (start, w) = self.ytaps.taps(j);
            self.acc.fill(HALF);
            for (k, &wk) in w.iter().enumerate() {
                let r = (start + k).saturating_sub(y0);
                let irow = self.inter.get(r * cw..(r + 1) * cw).unwrap_or(&[]);
                for (a, &p) in self.acc.iter_mut().zip(irow) {
                    *a += i32::from(p) * wk;
                }
            }
            let dst = orow.get_mut(content.x..content.x + cw).unwrap_or(&mut []);
            for (o, &a) in dst.iter_mut().zip(&self.acc) {
                *o = clip8(a);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::PixelFormat;

    fn run(frame: &FrameView<'_>, opts: &PreprocessOptions, w: usize, h: usize) -> Vec<u8> {
        let mut out = Vec::new();
        Preprocessor::new(w, h).run(frame, opts, &mut out).unwrap();
        out
    }

    #[test]
    fn constant_stays_constant_and_identity_is_identity() {
        for (fw, fh, mw, mh) in [(640, 480, 224, 224), (50, 30, 224, 224), (97, 13, 31, 57)] {
            let data = vec![173u8; fw * fh];
            let f = FrameView::gray8(fw, fh, &data).unwrap();
            let out = run(&f, &PreprocessOptions::default(), mw, mh);
            assert_eq!(out.len(), mw * mh);
            assert!(out.iter().all(|&v| v == 173), "{fw}x{fh} -> {mw}x{mh}");
        }
        let data: Vec<u8> = (0..37 * 23).map(|i| (i * 7919 % 256) as u8).collect();
        let f = FrameView::gray8(37, 23, &data).unwrap();
        assert_eq!(run(&f, &PreprocessOptions::default(), 37, 23), data);
    }

    #[test]
    fn ramp_stays_monotone() {
        for (fw, mw) in [(300, 224), (100, 224), (224, 224)] {
            let data: Vec<u8> = (0..fw * 10)
                .map(|i| ((i % fw) * 255 / (fw - 1)) as u8)
                .collect();
            let f = FrameView::gray8(fw, 10, &data).unwrap();
            let out = run(&f, &PreprocessOptions::default(), mw, 8);
            for row in out.chunks(mw) {
                assert!(row.windows(2).all(|p| p[0] <= p[1]), "{fw}: {row:?}");
                assert!(row[0] < 10 && row[mw - 1] > 245);
            }
        }
    }

    #[test]
    fn downsampling_is_antialiased() {
        // 2-px checker, phase chosen so that plain bilinear sampling by 4 would hit uniform
        // 2×2 blocks (0 or 255) at every output pixel.
        let n = 128;
        let b = |v: usize| v.div_ceil(2) % 2;
        let data: Vec<u8> = (0..n * n)
            .map(|i| (255 * (b(i % n) ^ b(i / n))) as u8)
            .collect();
        let f = FrameView::gray8(n, n, &data).unwrap();
        let out = run(&f, &PreprocessOptions::default(), n / 4, n / 4);
        let m = n / 4;
        for y in 1..m - 1 {
            for x in 1..m - 1 {
                let v = out[y * m + x];
                assert!((120..=135).contains(&v), "({x}, {y}) = {v}");
            }
        }
    }

    #[test]
    fn gray16_window_and_colour_luma() {
        let vals: Vec<u8> = [0u16, 1000, 1128, 5000]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let f = FrameView::new(PixelFormat::Gray16, 4, 1, 8, &vals).unwrap();
        let opts = PreprocessOptions {
            window: Some(Window::new(1000, 1255).unwrap()),
            ..Default::default()
        };
        assert_eq!(run(&f, &opts, 4, 1), [0, 0, 128, 255]);
        assert_eq!(run(&f, &PreprocessOptions::default(), 4, 1), [0, 3, 4, 19]);
        let bad = PreprocessOptions {
            window: Some(Window { low: 9, high: 2 }),
            ..Default::default()
        };
        let mut out = Vec::new();
        assert!(matches!(
            Preprocessor::new(4, 1).run(&f, &bad, &mut out),
            Err(PreprocessError::Frame(FrameError::Window { .. }))
        ));

        let rgb = [10, 20, 30, 200, 100, 0];
        let f = FrameView::new(PixelFormat::Rgb8, 2, 1, 6, &rgb).unwrap();
        assert_eq!(run(&f, &PreprocessOptions::default(), 2, 1), [18, 119]);
        let bgra = [30, 20, 10, 255, 0, 100, 200, 0];
        let f = FrameView::new(PixelFormat::Bgra8, 2, 1, 8, &bgra).unwrap();
        assert_eq!(run(&f, &PreprocessOptions::default(), 2, 1), [18, 119]);
    }

    #[test]
    fn stride_padding_does_not_leak() {
        let (w, h, stride) = (40, 30, 48);
        let mut data = vec![255u8; stride * h];
        for y in 0..h {
            data[y * stride..y * stride + w].fill(60);
        }
        let f = FrameView::new(PixelFormat::Gray8, w, h, stride, &data).unwrap();
        for (mw, mh) in [(16, 16), (100, 70)] {
            let out = run(&f, &PreprocessOptions::default(), mw, mh);
            assert!(out.iter().all(|&v| v == 60));
        }
    }

    #[test]
    fn roi_crops() {
        // 20×10 frame: 100 inside the ROI (5, 2) 8×4, 255 elsewhere.
        let roi = Roi::new(5, 2, 8, 4);
        let data: Vec<u8> = (0..200)
            .map(|i| {
                if roi.contains(i % 20, i / 20) {
                    100
                } else {
                    255
                }
            })
            .collect();
        let f = FrameView::gray8(20, 10, &data).unwrap();
        let opts = PreprocessOptions {
            roi: Some(roi),
            ..Default::default()
        };
        let mut pre = Preprocessor::new(3, 5);
        let mut out = Vec::new();
        let g = pre.run(&f, &opts, &mut out).unwrap();
        assert!(out.iter().all(|&v| v == 100));
        assert_eq!(g.roi(), roi);
        // Clipped to the frame; an ROI off the frame is an error.
        let opts = PreprocessOptions {
            roi: Some(Roi::new(15, 8, 100, 100)),
            ..Default::default()
        };
        assert_eq!(
            pre.run(&f, &opts, &mut out).unwrap().roi(),
            Roi::new(15, 8, 5, 2)
        );
        let opts = PreprocessOptions {
            roi: Some(Roi::new(20, 0, 5, 5)),
            ..Default::default()
        };
        assert!(matches!(
            pre.run(&f, &opts, &mut out),
            Err(PreprocessError::EmptyRoi { .. })
        ));
        assert!(matches!(
            Preprocessor::new(0, 4).run(&f, &PreprocessOptions::default(), &mut out),
            Err(PreprocessError::ModelSize { .. })
        ));
    }

    #[test]
    fn letterbox_pads_with_zeros() {
        let data = vec![200u8; 200 * 100];
        let f = FrameView::gray8(200, 100, &data).unwrap();
        let opts = PreprocessOptions {
            fit: Fit::Letterbox,
            ..Default::default()
        };
        let mut out = Vec::new();
        let g = Preprocessor::new(64, 64).run(&f, &opts, &mut out).unwrap();
        let c = g.content();
        assert_eq!(c, Roi::new(0, 16, 64, 32));
        for y in 0..64 {
            for x in 0..64 {
                let v = out[y * 64 + x];
                assert_eq!(v, if c.contains(x, y) { 200 } else { 0 }, "({x}, {y})");
            }
        }
        // Tall frame: pillarbox.
        let f = FrameView::gray8(50, 100, &data[..5000]).unwrap();
        let g = Preprocessor::new(64, 64).run(&f, &opts, &mut out).unwrap();
        assert_eq!(g.content(), Roi::new(16, 0, 32, 64));
        assert_eq!(out[0], 0);
        assert_eq!(out[16], 200);
    }

    #[test]
    fn coordinates_round_trip() {
        for fit in [Fit::Stretch, Fit::Letterbox] {
            let g = Geometry::new(
                (800, 600),
                Some(Roi::new(100, 50, 500, 400)),
                (224, 224),
                fit,
            )
            .unwrap();
            for p in [(100.0f32, 50.0f32), (333.3, 201.7), (600.0, 450.0)] {
                let m = g.frame_to_model(p.0, p.1);
                let q = g.model_to_frame(m.0, m.1);
                assert!(
                    (q.0 - p.0).abs() < 1e-3 && (q.1 - p.1).abs() < 1e-3,
                    "{p:?} {q:?}"
                );
            }
            // The ROI's corners map to the content box's corners.
            let c = g.content();
            let (x, y) = g.model_to_frame(c.x as f32, c.y as f32);
            assert!((x - 100.0).abs() < 1e-4 && (y - 50.0).abs() < 1e-4);
            let (x, y) = g.model_to_frame((c.x + c.width) as f32, (c.y + c.height) as f32);
            assert!((x - 600.0).abs() < 1e-3 && (y - 450.0).abs() < 1e-3);
        }
        let g = Geometry::new((448, 224), None, (224, 224), Fit::Stretch).unwrap();
        let (cw, rh) = g.mm_per_model_px(PixelSpacing::new(0.3, 0.25).unwrap());
        assert!((cw - 0.5).abs() < 1e-6 && (rh - 0.3).abs() < 1e-6);
    }

    #[test]
    fn tables_follow_geometry_changes() {
        let a = vec![10u8; 64 * 48];
        let b = vec![90u8; 32 * 32];
        let mut pre = Preprocessor::new(16, 16);
        let mut out = Vec::new();
        let fa = FrameView::gray8(64, 48, &a).unwrap();
        let fb = FrameView::gray8(32, 32, &b).unwrap();
        for _ in 0..2 {
            assert_eq!(
                pre.run(&fa, &PreprocessOptions::default(), &mut out)
                    .unwrap()
                    .scale(),
                (4.0, 3.0)
            );
            assert!(out.iter().all(|&v| v == 10));
            pre.run(&fb, &PreprocessOptions::default(), &mut out)
                .unwrap();
            assert!(out.iter().all(|&v| v == 90));
        }
    }
}
