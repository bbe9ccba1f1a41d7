//! Frames and metadata as the scanner describes them, and their checked conversion.

use crate::status::{Error, Result, SB_ERR_FRAME, read_sized};
use std::ffi::c_void;
use synboost_core::frame::{FrameView, PixelFormat};
use synboost_core::meta::{ImageQuality, Phase, PixelSpacing, ScanMeta, Sex, View};
use synboost_core::structure::Structure;

/// Pixel format of a frame (`SB_PIXEL_*`).
pub type sb_pixel_format = u32;
/// 8-bit grey.
pub const SB_PIXEL_GRAY8: sb_pixel_format = 0;
/// 16-bit grey, little-endian (mapped to 8 bits through the engine's window).
pub const SB_PIXEL_GRAY16: sb_pixel_format = 1;
/// 8-bit red, green, blue.
pub const SB_PIXEL_RGB8: sb_pixel_format = 2;
/// 8-bit blue, green, red, alpha.
pub const SB_PIXEL_BGRA8: sb_pixel_format = 3;

/// Apical view (`SB_VIEW_*`).
pub type sb_view = u32;
/// Not known.
pub const SB_VIEW_UNKNOWN: sb_view = 0;
/// Apical two-chamber.
pub const SB_VIEW_2CH: sb_view = 1;
/// Apical four-chamber.
pub const SB_VIEW_4CH: sb_view = 2;

/// Cardiac phase of a frame (`SB_PHASE_*`).
pub type sb_phase = u32;
/// Not known, or between end-diastole and end-systole.
pub const SB_PHASE_UNKNOWN: sb_phase = 0;
/// End-diastole.
pub const SB_PHASE_ED: sb_phase = 1;
/// End-systole.
pub const SB_PHASE_ES: sb_phase = 2;

/// Patient sex (`SB_SEX_*`).
pub type sb_sex = u32;
/// Not known.
pub const SB_SEX_UNKNOWN: sb_sex = 0;
/// Female.
pub const SB_SEX_FEMALE: sb_sex = 1;
/// Male.
pub const SB_SEX_MALE: sb_sex = 2;

/// Image quality grade (`SB_QUALITY_*`).
pub type sb_quality = u32;
/// Not known.
pub const SB_QUALITY_UNKNOWN: sb_quality = 0;
/// Good.
pub const SB_QUALITY_GOOD: sb_quality = 1;
/// Medium.
pub const SB_QUALITY_MEDIUM: sb_quality = 2;
/// Poor.
pub const SB_QUALITY_POOR: sb_quality = 3;

/// A set of structures, as bits (`SB_STRUCTURE_*`); 0 means every structure of the model.
pub type sb_structures = u32;
/// Left ventricular cavity.
pub const SB_STRUCTURE_LV_CAVITY: sb_structures = 1;
/// Left ventricular myocardium.
pub const SB_STRUCTURE_MYOCARDIUM: sb_structures = 2;
/// Left atrium cavity.
pub const SB_STRUCTURE_LA_CAVITY: sb_structures = 4;

/// No timestamp (`sb_frame.timestamp_ns`).
pub const SB_NO_TIMESTAMP: i64 = i64::MIN;

/// One frame from the scanner. The library copies what it needs before the call returns.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sb_frame {
    /// `sizeof(sb_frame)`.
    pub struct_size: u32,
    /// `SB_PIXEL_*`.
    pub format: sb_pixel_format,
    /// Width in pixels, 1 to 16384.
    pub width: u32,
    /// Height in pixels, 1 to 16384.
    pub height: u32,
    /// Bytes from the start of one row to the next (≥ width × bytes per pixel).
    pub stride: usize,
    /// The pixels: at least `stride × (height − 1) + width × bytes per pixel` bytes.
    pub data: *const c_void,
    /// Bytes readable at `data`.
    pub data_size: usize,
    /// Capture time in nanoseconds (any epoch), or `SB_NO_TIMESTAMP`; results carry it rounded
    /// toward zero to whole microseconds (every other value stays a timestamp). A frame with
    /// the same timestamp as the previous frame of its view is taken as a re-sent frame
    /// (`SB_FLAG_DUPLICATE`).
    pub timestamp_ns: i64,
}

/// What is known about a frame. Unknown fields stay at their `sb_meta_defaults` values; the
/// prompt degrades gracefully to what is known.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sb_meta {
    /// `sizeof(sb_meta)`.
    pub struct_size: u32,
    /// `SB_VIEW_*`.
    pub view: sb_view,
    /// `SB_PHASE_*`.
    pub phase: sb_phase,
    /// `SB_SEX_*`.
    pub sex: sb_sex,
    /// Age in whole years, 0 to 130; negative when unknown.
    pub age_years: i32,
    /// `SB_QUALITY_*`.
    pub quality: sb_quality,
    /// Horizontal pixel size, mm (0: unknown; then no areas in mm²).
    pub pixel_spacing_x_mm: f64,
    /// Vertical pixel size, mm (0: unknown).
    pub pixel_spacing_y_mm: f64,
    /// Frame rate, frames per second (0: unknown).
    pub fps: f64,
    /// Heart rate, beats per minute (0: unknown).
    pub heart_rate_bpm: f64,
    /// Position in the cardiac cycle, 0 at end-diastole, in [0, 1); negative when unknown.
    pub cycle_position: f64,
}

impl Default for sb_meta {
    fn default() -> Self {
        Self {
            struct_size: std::mem::size_of::<Self>() as u32,
            view: SB_VIEW_UNKNOWN,
            phase: SB_PHASE_UNKNOWN,
            sex: SB_SEX_UNKNOWN,
            age_years: -1,
            quality: SB_QUALITY_UNKNOWN,
            pixel_spacing_x_mm: 0.0,
            pixel_spacing_y_mm: 0.0,
            fps: 0.0,
            heart_rate_bpm: 0.0,
            cycle_position: -1.0,
        }
    }
}

fn known(v: f64, what: &str, max: f64) -> Result<Option<f64>> {
    if v == 0.0 {
        return Ok(None);
    }
    if !v.is_finite() || v < 0.0 || v > max {
        return Err(Error::invalid(format!(
            "sb_meta.{what} = {v}: give 0 (unknown) or a value in (0, {max}]"
        )));
    }
    Ok(Some(v))
}

impl sb_meta {
    /// The core metadata, every field checked.
    pub(crate) fn to_core(self) -> Result<ScanMeta> {
        let view = match self.view {
            SB_VIEW_UNKNOWN => None,
            SB_VIEW_2CH => Some(View::TwoChamber),
            SB_VIEW_4CH => Some(View::FourChamber),
            v => {
                return Err(Error::invalid(format!(
                    "sb_meta.view = {v} is no SB_VIEW_*"
                )));
            }
        };
        let phase = match self.phase {
            SB_PHASE_UNKNOWN => None,
            SB_PHASE_ED => Some(Phase::EndDiastole),
            SB_PHASE_ES => Some(Phase::EndSystole),
            v => {
                return Err(Error::invalid(format!(
                    "sb_meta.phase = {v} is no SB_PHASE_*"
                )));
            }
        };
        let sex = match self.sex {
            SB_SEX_UNKNOWN => None,
            SB_SEX_FEMALE => Some(Sex::Female),
            SB_SEX_MALE => Some(Sex::Male),
            v => return Err(Error::invalid(format!("sb_meta.sex = {v} is no SB_SEX_*"))),
        };
        let quality = match self.quality {
            SB_QUALITY_UNKNOWN => None,
            SB_QUALITY_GOOD => Some(ImageQuality::Good),
            SB_QUALITY_MEDIUM => Some(ImageQuality::Medium),
            SB_QUALITY_POOR => Some(ImageQuality::Poor),
            v => {
                return Err(Error::invalid(format!(
                    "sb_meta.quality = {v} is no SB_QUALITY_*"
                )));
            }
        };
        let age_years = match self.age_years {
            a if a < 0 => None,
            a @ 0..=130 => Some(a as u8),
            a => {
                return Err(Error::invalid(format!(
                    "sb_meta.age_years = {a}: give 0 to 130, or a negative value for unknown"
                )));
            }
        };
        let sx = known(self.pixel_spacing_x_mm, "pixel_spacing_x_mm", 100.0)?;
        let sy = known(self.pixel_spacing_y_mm, "pixel_spacing_y_mm", 100.0)?;
        let pixel_spacing = match (sx, sy) {
            (Some(col_mm), Some(row_mm)) => Some(PixelSpacing { row_mm, col_mm }),
            (None, None) => None,
            _ => {
                return Err(Error::invalid(
                    "sb_meta: give both pixel spacings or neither",
                ));
            }
        };
        let fps = known(self.fps, "fps", 10_000.0)?;
        let heart_rate_bpm = known(self.heart_rate_bpm, "heart_rate_bpm", 400.0)?;
        let c = self.cycle_position;
        let cycle_position = if c < 0.0 {
            None
        } else if c.is_finite() && c < 1.0 {
            Some(c as f32)
        } else {
            return Err(Error::invalid(format!(
                "sb_meta.cycle_position = {c}: give a value in [0, 1), or negative for unknown"
            )));
        };
        Ok(ScanMeta {
            view,
            phase,
            cycle_position,
            sex,
            age_years,
            quality,
            pixel_spacing,
            frame_time_ms: fps.map(|f| 1000.0 / f),
            heart_rate_bpm,
        })
    }
}

/// The caller's metadata, or the defaults when `p` is NULL.
///
/// # Safety
/// `p` is NULL or points to a readable `sb_meta`.
pub(crate) unsafe fn meta_from(p: *const sb_meta) -> Result<ScanMeta> {
    if p.is_null() {
        return Ok(ScanMeta::default());
    }
    // SAFETY: forwarded contract.
    unsafe { read_sized(p, "sb_meta") }?.to_core()
}

/// A checked view of the caller's frame.
///
/// # Safety
/// `p` is NULL or points to a readable `sb_frame` whose `data` has `data_size` readable bytes.
pub(crate) unsafe fn frame_from<'a>(p: *const sb_frame) -> Result<FrameView<'a>> {
    // SAFETY: forwarded contract.
    let f = unsafe { read_sized(p, "sb_frame") }?;
    let format = match f.format {
        SB_PIXEL_GRAY8 => PixelFormat::Gray8,
        SB_PIXEL_GRAY16 => PixelFormat::Gray16,
        SB_PIXEL_RGB8 => PixelFormat::Rgb8,
        SB_PIXEL_BGRA8 => PixelFormat::Bgra8,
        v => {
            return Err(Error::invalid(format!(
                "sb_frame.format = {v} is no SB_PIXEL_*"
            )));
        }
    };
    if f.data.is_null() {
        return Err(Error::null("sb_frame.data"));
    }
    if f.data_size > isize::MAX as usize {
        return Err(Error::new(SB_ERR_FRAME, "sb_frame.data_size is too large"));
    }
    // SAFETY: the caller guarantees `data_size` readable bytes at `data` for the call.
    let data = unsafe { std::slice::from_raw_parts(f.data.cast::<u8>(), f.data_size) };
    let view = FrameView::new(format, f.width as usize, f.height as usize, f.stride, data)
        .map_err(|e| Error::new(SB_ERR_FRAME, format!("sb_frame: {e}")))?;
    Ok(match f.timestamp_ns {
        SB_NO_TIMESTAMP => view,
        // Toward zero: INT64_MIN + 1 ns is -9223372036854775 µs, which comes back as
        // -9223372036854775000 ns, not as SB_NO_TIMESTAMP.
        t => view.with_timestamp_us(t / 1000),
    })
}

/// Structures of a bit set, in the library's order; empty for 0 (every structure).
pub(crate) fn structures_from(bits: sb_structures) -> Result<Vec<Structure>> {
    let all = SB_STRUCTURE_LV_CAVITY | SB_STRUCTURE_MYOCARDIUM | SB_STRUCTURE_LA_CAVITY;
    if bits & !all != 0 {
        return Err(Error::invalid(format!(
            "structures 0x{bits:x} has bits that are no SB_STRUCTURE_*"
        )));
    }
    Ok(Structure::ALL
        .iter()
        .copied()
        .filter(|s| bits & structure_bit(*s) != 0)
        .collect())
}

/// The `SB_STRUCTURE_*` bit of a structure.
pub(crate) fn structure_bit(s: Structure) -> sb_structures {
    match s {
        Structure::LvCavity => SB_STRUCTURE_LV_CAVITY,
        Structure::Myocardium => SB_STRUCTURE_MYOCARDIUM,
        Structure::LaCavity => SB_STRUCTURE_LA_CAVITY,
    }
}

/// Fill an sb_meta with the defaults: everything unknown.
///
/// Sets every field, `struct_size` to sizeof(sb_meta) included; the caller then sets what the
/// scanner knows.
///
/// @param out The caller's struct to fill; not NULL.
/// @return SB_OK;
///         SB_ERR_NULL when `out` is NULL.
///
/// # Safety
/// `out` is NULL or points to a writable `sb_meta`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_meta_defaults(out: *mut sb_meta) -> crate::status::sb_status {
    crate::status::guard("sb_meta_defaults", None, || {
        if out.is_null() {
            return Err(Error::null("out"));
        }
        // SAFETY: non-null; the caller provides a writable sb_meta.
        unsafe { out.write(sb_meta::default()) };
        Ok(crate::status::SB_OK)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_checked_field_by_field() {
        let ok = sb_meta {
            view: SB_VIEW_4CH,
            phase: SB_PHASE_ES,
            sex: SB_SEX_FEMALE,
            age_years: 61,
            quality: SB_QUALITY_POOR,
            pixel_spacing_x_mm: 0.3,
            pixel_spacing_y_mm: 0.31,
            fps: 50.0,
            ..sb_meta::default()
        };
        let m = ok.to_core().unwrap();
        assert_eq!(m.view, Some(View::FourChamber));
        assert_eq!(m.age_years, Some(61));
        assert_eq!(m.frame_time_ms, Some(20.0));
        assert_eq!(m.pixel_spacing.unwrap().row_mm, 0.31);
        assert_eq!(sb_meta::default().to_core().unwrap(), ScanMeta::default());
        for bad in [
            sb_meta { view: 3, ..ok },
            sb_meta {
                age_years: 131,
                ..ok
            },
            sb_meta {
                pixel_spacing_y_mm: 0.0,
                ..ok
            },
            sb_meta {
                fps: f64::NAN,
                ..ok
            },
            sb_meta {
                cycle_position: 1.0,
                ..ok
            },
        ] {
            assert!(bad.to_core().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn structure_bits() {
        assert!(structures_from(0).unwrap().is_empty());
        assert_eq!(
            structures_from(SB_STRUCTURE_LA_CAVITY | SB_STRUCTURE_LV_CAVITY).unwrap(),
            vec![Structure::LvCavity, Structure::LaCavity]
        );
        assert!(structures_from(8).is_err());
    }
}
