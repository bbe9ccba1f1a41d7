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
//! ROI or model size changes, so a video stream allocates nothing per frame. Both passes run on
//! x86-64 with SSE2 (the baseline; no runtime detection): 16-bit multiply-adds on the weights
//! split into two halves give exactly the 32-bit sums of the scalar kernels, which other
//! targets use and the tests compare against. Same-size axes are copied. BGRA luma is
//! vectorised the same way ([`crate::frame`]). An 800 × 600 BGRA8 frame to 224² takes about
//! 0.26 ms on one core (`cargo bench -p synboost-core --bench pipeline`).

use crate::frame::{FrameError, FrameView, GrayConverter, MAX_DIM, Window};
use crate::meta::PixelSpacing;
use serde::{Deserialize, Serialize};

mod kernels;
mod taps;

use kernels::{resample_row, vertical_row};
use taps::Taps;

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
        let rows = out
            .chunks_exact_mut(self.model_width)
            .skip(content.y)
            .take(content.height);
        for (j, orow) in rows.enumerate() {
            let dst = orow.get_mut(content.x..content.x + cw).unwrap_or(&mut []);
            vertical_row(&self.inter, cw, y0, &self.ytaps, j, &mut self.acc, dst);
        }
    }
}

#[cfg(test)]
mod kernel_tests;
#[cfg(test)]
mod tests;
