//! The frames of a file: native pixel data cut into frames, encapsulated pixel data decoded
//! frame by frame (RLE here, JPEG and encapsulated uncompressed by `dicom-pixeldata`, under
//! [`catch_unwind`]), each frame then converted to grey.

use super::Reader;
use crate::error::{DicomError, error_chain};
use crate::jpeg::{count_frame_starts, jpeg_sof};
use crate::layout::{Layout, Photometric, decoded_layout};
use crate::palette::Palette;
use crate::rle::decode_rle;
use crate::scale::Scale;
use crate::transfer_syntax::{
    JPEG_TS, NATIVE_TS, RLE_TS, is_decodable_encapsulated, transfer_syntax_name,
};
use dicom_dictionary_std::tags;
use dicom_pixeldata::PixelDecoder;
use std::panic::{AssertUnwindSafe, catch_unwind};
use synboost_core::raster::GrayImage;

/// What the frames of a file are and how they become grey.
#[derive(Clone, Copy)]
struct Frames<'p> {
    /// The layout of the stored frames (before any codec).
    layout: Layout,
    /// `NumberOfFrames`.
    count: u32,
    /// How samples map to 8 bits.
    scale: Scale,
    /// The lookup table of PALETTE COLOR data.
    palette: Option<&'p Palette>,
}

impl Reader<'_> {
    /// Every frame of the PixelData of transfer syntax `ts`, as grey.
    pub(super) fn decode_frames(
        &mut self,
        ts: &str,
        layout: Layout,
        n_frames: u32,
    ) -> Result<Vec<GrayImage>, DicomError> {
        let obj = self.obj;
        let pixel_data = obj
            .get(tags::PIXEL_DATA)
            .ok_or_else(|| self.missing("PixelData"))?;
        let palette = if layout.photometric == Photometric::Palette {
            Some(self.palette()?)
        } else {
            None
        };
        let frames = Frames {
            layout,
            count: n_frames,
            scale: self.scale(layout),
            palette: palette.as_ref(),
        };

        if NATIVE_TS.contains(&ts) {
            let bytes = pixel_data.to_bytes().map_err(|_| DicomError::Malformed {
                path: self.path.to_path_buf(),
                detail: "PixelData is encapsulated in a native transfer syntax".into(),
            })?;
            return self.decode_native(&bytes, frames);
        }
        if !is_decodable_encapsulated(ts) {
            return Err(DicomError::UnsupportedTransferSyntax {
                path: self.path.to_path_buf(),
                uid: ts.to_string(),
                name: transfer_syntax_name(ts).to_string(),
            });
        }
        let fragments = pixel_data
            .fragments()
            .ok_or_else(|| DicomError::Malformed {
                path: self.path.to_path_buf(),
                detail: format!(
                    "PixelData is not encapsulated although transfer syntax {ts} requires it"
                ),
            })?;
        let has_offsets = pixel_data.offset_table().is_some_and(|t| !t.is_empty());
        let result = self.decode_encapsulated(ts, frames, fragments, has_offsets);
        self.with_cut(result)
    }

    /// Native pixel data: `frames.count` frames of whole bytes, one after the other.
    fn decode_native(
        &mut self,
        bytes: &[u8],
        frames: Frames<'_>,
    ) -> Result<Vec<GrayImage>, DicomError> {
        let Frames { layout, count, .. } = frames;
        let fb = layout.frame_bytes();
        let need = fb as u64 * u64::from(count);
        if (bytes.len() as u64) < need {
            return Err(DicomError::SizeMismatch {
                path: self.path.to_path_buf(),
                what: format!(
                    "PixelData bytes for {count} frame(s) of {}x{} {} at {} bits",
                    layout.cols,
                    layout.rows,
                    layout.photometric.name(),
                    layout.bits_allocated
                ),
                expected: need,
                found: bytes.len() as u64,
            });
        }
        if bytes.len() as u64 > need + 1 {
            self.warn(format!(
                "PixelData holds {} bytes, {} more than the frames need",
                bytes.len(),
                bytes.len() as u64 - need
            ));
        }
        bytes
            .chunks_exact(fb)
            .take(count as usize)
            .enumerate()
            .map(|(i, chunk)| self.to_gray(chunk, layout, frames.scale, frames.palette, i as u32))
            .collect()
    }

    /// The result of decoding encapsulated pixel data, given whether the file ends inside it:
    /// a failure then is a truncation, a success a warning.
    fn with_cut(
        &mut self,
        result: Result<Vec<GrayImage>, DicomError>,
    ) -> Result<Vec<GrayImage>, DicomError> {
        if !self.pixel_sequence_cut {
            return result;
        }
        match result {
            Err(e) => {
                let msg = e.to_string();
                let prefix = format!("{}: ", self.path.display());
                Err(DicomError::Truncated {
                    path: self.path.to_path_buf(),
                    detail: format!(
                        "the file ends inside the encapsulated PixelData ({})",
                        msg.strip_prefix(&prefix).unwrap_or(&msg)
                    ),
                })
            }
            Ok(frames) => {
                self.warn(
                    "the file ends inside the encapsulated PixelData, after its last \
                     fragment (no sequence delimiter)"
                        .into(),
                );
                Ok(frames)
            }
        }
    }

    /// Encapsulated pixel data of transfer syntax `ts`, in `fragments`.
    fn decode_encapsulated(
        &mut self,
        ts: &str,
        frames: Frames<'_>,
        fragments: &[Vec<u8>],
        has_offsets: bool,
    ) -> Result<Vec<GrayImage>, DicomError> {
        if fragments.is_empty() {
            return Err(DicomError::Truncated {
                path: self.path.to_path_buf(),
                detail: "encapsulated PixelData has no fragments".into(),
            });
        }
        let dl = decoded_layout(frames.layout, ts);
        if ts == RLE_TS {
            return self.decode_rle_frames(fragments, dl, frames);
        }
        if JPEG_TS.contains(&ts) && self.check_jpeg(fragments, has_offsets, frames)? {
            return self.decode_all_at_once(dl, frames);
        }
        (0..frames.count)
            .map(|i| {
                let data = self.catch_decode(i, || {
                    self.obj
                        .decode_pixel_data_frame(i)
                        .map(|d| d.data().to_vec())
                })?;
                self.to_gray(&data, dl, frames.scale, frames.palette, i)
            })
            .collect()
    }

    /// RLE Lossless: one fragment per frame, decoded here.
    fn decode_rle_frames(
        &self,
        fragments: &[Vec<u8>],
        dl: Layout,
        frames: Frames<'_>,
    ) -> Result<Vec<GrayImage>, DicomError> {
        let n_frames = frames.count;
        if fragments.len() != n_frames as usize {
            return Err(DicomError::SizeMismatch {
                path: self.path.to_path_buf(),
                what: format!("RLE fragments for {n_frames} frame(s) (one per frame)"),
                expected: u64::from(n_frames),
                found: fragments.len() as u64,
            });
        }
        fragments
            .iter()
            .enumerate()
            .map(|(i, fragment)| {
                let i = i as u32;
                let data = decode_rle(fragment, dl).map_err(|d| self.decode_error(i, d))?;
                self.to_gray(&data, dl, frames.scale, frames.palette, i)
            })
            .collect()
    }

    /// Check what the JPEG headers say before the decoder writes them into a buffer sized from
    /// Rows/Columns (a mismatch makes it index out of bounds). Returns whether the frames must
    /// be decoded all at once (several frames spread over fragments without an offset table).
    fn check_jpeg(
        &self,
        fragments: &[Vec<u8>],
        has_offsets: bool,
        frames: Frames<'_>,
    ) -> Result<bool, DicomError> {
        let n_frames = frames.count;
        let one_to_one = fragments.len() == n_frames as usize;
        let headers = if one_to_one {
            fragments
        } else {
            fragments.get(..1).unwrap_or_default()
        };
        for (i, f) in headers.iter().enumerate() {
            self.check_jpeg_header(f, frames.layout, i as u32)?;
        }
        if n_frames > 1 && !one_to_one && (fragments.len() == 1 || !has_offsets) {
            // frames spread over fragments without an offset table: the only way to find
            // them is one sequential decode of everything. Count the frame starts first, so
            // that a NumberOfFrames the data cannot back allocates nothing.
            let starts = count_frame_starts(fragments);
            if starts < u64::from(n_frames) {
                return Err(DicomError::SizeMismatch {
                    path: self.path.to_path_buf(),
                    what: format!("JPEG start markers for {n_frames} frame(s)"),
                    expected: u64::from(n_frames),
                    found: starts,
                });
            }
            return Ok(true);
        }
        Ok(false)
    }

    /// Check one frame's JPEG header against the data set's size, components and bits.
    fn check_jpeg_header(&self, data: &[u8], layout: Layout, frame: u32) -> Result<(), DicomError> {
        let Some(sof) = jpeg_sof(data) else {
            return Err(self.decode_error(frame, "no JPEG frame header (SOF) found".into()));
        };
        let spp = layout.photometric.samples();
        let height_ok = sof.height == 0 || usize::from(sof.height) == layout.rows;
        if !height_ok || usize::from(sof.width) != layout.cols || usize::from(sof.components) != spp
        {
            return Err(self.decode_error(
                frame,
                format!(
                    "JPEG frame is {}x{} with {} component(s); the data set says {}x{} with {spp}",
                    sof.width, sof.height, sof.components, layout.cols, layout.rows
                ),
            ));
        }
        if sof.precision > 8 && layout.bits_allocated == 8 {
            return Err(self.decode_error(
                frame,
                format!("{}-bit JPEG in 8-bit BitsAllocated", sof.precision),
            ));
        }
        Ok(())
    }

    /// One sequential decode of all the pixel data, then cut into frames of layout `dl`.
    fn decode_all_at_once(
        &self,
        dl: Layout,
        frames: Frames<'_>,
    ) -> Result<Vec<GrayImage>, DicomError> {
        let n_frames = frames.count;
        let data = self.catch_decode(0, || {
            self.obj.decode_pixel_data().map(|d| d.data().to_vec())
        })?;
        let fb = dl.frame_bytes();
        let need = fb as u64 * u64::from(n_frames);
        if (data.len() as u64) < need {
            return Err(DicomError::SizeMismatch {
                path: self.path.to_path_buf(),
                what: "bytes of decoded pixel data".into(),
                expected: need,
                found: data.len() as u64,
            });
        }
        data.chunks_exact(fb)
            .take(n_frames as usize)
            .enumerate()
            .map(|(i, chunk)| self.to_gray(chunk, dl, frames.scale, frames.palette, i as u32))
            .collect()
    }

    /// Run a `dicom-pixeldata` decoder, its errors and panics as [`DicomError::Decode`] of
    /// `frame`.
    fn catch_decode<E: std::error::Error + 'static>(
        &self,
        frame: u32,
        decode: impl FnOnce() -> Result<Vec<u8>, E>,
    ) -> Result<Vec<u8>, DicomError> {
        match catch_unwind(AssertUnwindSafe(decode)) {
            Ok(Ok(d)) => Ok(d),
            Ok(Err(e)) => Err(self.decode_error(frame, error_chain(&e))),
            Err(p) => Err(self.decode_error(
                frame,
                format!(
                    "decoder panicked: {}",
                    synboost_core::panics::panic_message(p.as_ref())
                ),
            )),
        }
    }

    /// A decode failure of frame `frame`.
    fn decode_error(&self, frame: u32, detail: String) -> DicomError {
        DicomError::Decode {
            path: self.path.to_path_buf(),
            frame,
            detail,
        }
    }
}
