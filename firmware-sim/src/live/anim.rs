//! The overlay animation of a live run: a sample of the segmented frames is kept while the
//! stream runs (masks downscaled, nothing drawn), and drawn and encoded as an animated GIF only
//! after the stream has ended, so that encoding never competes with the real-time loop.

use crate::overlay::{COLOURS, Rgb};
use std::collections::VecDeque;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use synboost_core::raster::{GrayImage, Mask};

/// Errors writing the animation.
#[derive(Debug, thiserror::Error)]
pub enum AnimError {
    /// The file could not be created.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The GIF encoder failed.
    #[error("{path}: GIF encoding: {message}")]
    Gif {
        /// The file.
        path: String,
        /// The encoder's message.
        message: String,
    },
    /// Sizes disagree.
    #[error("{0}")]
    Size(String),
}

/// The integer factor that brings `(width, height)` within `max_side`.
pub fn scale_factor(width: usize, height: usize, max_side: usize) -> usize {
    width.max(height).div_ceil(max_side.max(1)).max(1)
}

/// Downscale a mask by an integer factor (nearest: the centre pixel of each block).
///
/// Not `synboost_core::raster::resize_nearest`: that rule maps output `o` to source
/// `⌊(o + ½) · n_in / n_out⌋` over the whole side, while this one takes the centre of the
/// `f × f` block at `o · f` and drops the remainder rows and columns, exactly as
/// [`downscale_gray`] averages those blocks. The two agree when `f` divides the side; when it
/// does not (a cropped DICOM region, say) core's rule spreads the remainder over the image and
/// the outlines would drift by up to a pixel from the grey picture they are drawn on.
pub fn downscale_mask(
    mask: &[u8],
    (width, height): (usize, usize),
    f: usize,
) -> Result<Mask, AnimError> {
    if mask.len() != width * height {
        return Err(AnimError::Size(format!(
            "mask of {} bytes for {width}x{height}",
            mask.len()
        )));
    }
    let (w, h) = ((width / f).max(1), (height / f).max(1));
    let data = (0..w * h)
        .map(|i| {
            let (x, y) = (
                ((i % w) * f + f / 2).min(width - 1),
                ((i / w) * f + f / 2).min(height - 1),
            );
            u8::from(mask[y * width + x] != 0)
        })
        .collect();
    Mask::new(w, h, data).map_err(|e| AnimError::Size(e.to_string()))
}

/// A binary mask stored one bit per pixel, so that the sample kept while streaming stays small
/// (150 frames of three 256² masks: 3.7 MB instead of 29 MB).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedMask {
    width: usize,
    height: usize,
    bits: Vec<u8>,
}

impl PackedMask {
    /// Pack a mask.
    pub fn pack(m: &Mask) -> Self {
        let mut bits = vec![0u8; m.data().len().div_ceil(8)];
        for (i, &v) in m.data().iter().enumerate() {
            if v != 0 {
                bits[i / 8] |= 1 << (i % 8);
            }
        }
        Self {
            width: m.width(),
            height: m.height(),
            bits,
        }
    }

    /// The mask again.
    pub fn unpack(&self) -> Result<Mask, AnimError> {
        let data = (0..self.width * self.height)
            .map(|i| (self.bits[i / 8] >> (i % 8)) & 1)
            .collect();
        Mask::new(self.width, self.height, data).map_err(|e| AnimError::Size(e.to_string()))
    }
}

/// Downscale a grey image by an integer factor (mean of each block).
pub fn downscale_gray(img: &GrayImage, f: usize) -> Result<GrayImage, AnimError> {
    if f <= 1 {
        return Ok(img.clone());
    }
    let (width, height) = (img.width(), img.height());
    let (w, h) = ((width / f).max(1), (height / f).max(1));
    let src = img.data();
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let (mut sum, mut n) = (0u32, 0u32);
            for yy in y * f..((y + 1) * f).min(height) {
                for xx in x * f..((x + 1) * f).min(width) {
                    sum += u32::from(src[yy * width + xx]);
                    n += 1;
                }
            }
            out.push((sum / n.max(1)) as u8);
        }
    }
    GrayImage::new(w, h, out).map_err(|e| AnimError::Size(e.to_string()))
}

/// One kept frame: which source frame, and its predicted masks at the animation's size (in the
/// order LV cavity, myocardium, LA; `None` for a structure not segmented).
#[derive(Debug, Clone)]
pub struct Kept {
    /// Index into the source's frames.
    pub frame: usize,
    /// Predicted masks.
    pub predicted: [Option<PackedMask>; 3],
}

/// Keeps one frame per `period` of stream time (the first at or after each tick), the last
/// `capacity` of them, so that the animation plays in real time whatever was dropped.
#[derive(Debug)]
pub struct Sampler {
    rate: f64,
    capacity: usize,
    next_tick: i64,
    kept: VecDeque<Kept>,
}

impl Sampler {
    /// Keep `rate` frames per second of stream time, at most `capacity` (the latest).
    pub fn new(rate: f64, capacity: usize) -> Self {
        Self {
            rate: if rate.is_finite() && rate > 0.0 {
                rate
            } else {
                10.0
            },
            capacity: capacity.max(1),
            next_tick: 0,
            kept: VecDeque::new(),
        }
    }

    /// Whether a frame at stream time `t_s` will be kept (so the caller prepares it only then).
    pub fn wants(&self, t_s: f64) -> bool {
        (t_s * self.rate + 1e-9).floor() as i64 >= self.next_tick
    }

    /// Offer the frame at stream time `t_s`; `make` is called only when it is kept.
    pub fn offer(&mut self, t_s: f64, make: impl FnOnce() -> Option<Kept>) {
        if !self.wants(t_s) {
            return;
        }
        self.next_tick = (t_s * self.rate + 1e-9).floor() as i64 + 1;
        if let Some(k) = make() {
            if self.kept.len() == self.capacity {
                self.kept.pop_front();
            }
            self.kept.push_back(k);
        }
    }

    /// The kept frames, oldest first.
    pub fn into_kept(self) -> Vec<Kept> {
        self.kept.into()
    }
}

/// Draw one animation frame: the (downscaled) image, the truth outlines dimmed when given,
/// the predicted outlines in full colour.
pub fn draw(
    image: &GrayImage,
    factor: usize,
    truth: Option<&[Mask; 3]>,
    predicted: &[Option<PackedMask>; 3],
) -> Result<Rgb, AnimError> {
    let small = downscale_gray(image, factor)?;
    let mut rgb = Rgb::from_gray(&small);
    let size = (image.width(), image.height());
    if let Some(truth) = truth {
        for (m, c) in truth.iter().zip(COLOURS) {
            let m = downscale_mask(m.data(), size, factor)?;
            let dim = [c[0] / 2 + 40, c[1] / 2 + 40, c[2] / 2 + 40];
            rgb.outline(&m, dim)
                .map_err(|e| AnimError::Size(e.to_string()))?;
        }
    }
    for (m, c) in predicted.iter().zip(COLOURS) {
        if let Some(m) = m {
            rgb.outline(&m.unpack()?, c)
                .map_err(|e| AnimError::Size(e.to_string()))?;
        }
    }
    Ok(rgb)
}

/// Write pictures of equal size as a looping GIF, `delay_ms` per frame.
pub fn write_gif(path: &Path, frames: &[Rgb], delay_ms: u32) -> Result<(), AnimError> {
    use image::codecs::gif::{GifEncoder, Repeat};
    use image::{Delay, Frame, RgbaImage};
    let name = path.display().to_string();
    let gif_err = |e: image::ImageError| AnimError::Gif {
        path: name.clone(),
        message: e.to_string(),
    };
    let file = File::create(path).map_err(|source| AnimError::Io {
        path: name.clone(),
        source,
    })?;
    // Speed 10 of 1..=30: NeuQuant palettes good enough for grey plus a few outline colours,
    // several times faster than the default (1).
    let mut enc = GifEncoder::new_with_speed(BufWriter::new(file), 10);
    enc.set_repeat(Repeat::Infinite).map_err(gif_err)?;
    for f in frames {
        let rgba: Vec<u8> = f
            .data
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect();
        let img = RgbaImage::from_raw(
            u32::try_from(f.width).unwrap_or(u32::MAX),
            u32::try_from(f.height).unwrap_or(u32::MAX),
            rgba,
        )
        .ok_or_else(|| AnimError::Size(format!("frame {}x{}", f.width, f.height)))?;
        let frame = Frame::from_parts(img, 0, 0, Delay::from_numer_denom_ms(delay_ms, 1));
        enc.encode_frame(frame).map_err(gif_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampler_keeps_one_frame_per_tick_and_the_latest() {
        let mut s = Sampler::new(10.0, 3);
        // 50 fps with frames 3..=7 dropped: ticks at 0, 0.1 (first frame after: 0.16), 0.2, 0.3.
        let times = [0, 1, 2, 8, 9, 10, 11, 15, 16];
        for i in times {
            s.offer(i as f64 / 50.0, || {
                Some(Kept {
                    frame: i,
                    predicted: [None, None, None],
                })
            });
        }
        let kept: Vec<usize> = s.into_kept().iter().map(|k| k.frame).collect();
        assert_eq!(kept, vec![8, 10, 15]);
    }

    #[test]
    fn downscaling() {
        assert_eq!(scale_factor(256, 256, 256), 1);
        assert_eq!(scale_factor(800, 600, 256), 4);
        let m = downscale_mask(&[0, 0, 1, 1, 0, 0, 1, 1], (4, 2), 2).unwrap();
        assert_eq!((m.width(), m.height(), m.data()), (2, 1, &[0u8, 1][..]));
        let m = Mask::new(3, 3, vec![1, 0, 0, 1, 1, 0, 0, 0, 1]).unwrap();
        assert_eq!(PackedMask::pack(&m).unpack().unwrap(), m);
        let g = GrayImage::new(4, 2, vec![0, 2, 10, 10, 4, 6, 10, 10]).unwrap();
        assert_eq!(downscale_gray(&g, 2).unwrap().data(), &[3, 10]);
    }
}
