//! The checks of a cine and its options before anything is encoded: equal frame sizes that fit
//! `Rows`/`Columns`, a frame time, text and UIDs that fit their VRs, values in range, and a
//! region inside the image.

use super::error::DicomWriteError;
use super::uid::is_valid_uid;
use super::{DicomWriteOptions, RegionSpec};
use synboost_core::meta::{PixelSpacing, ScanMeta};
use synboost_core::raster::GrayImage;

/// What the checks found, for the encoder.
#[derive(Debug, Clone, Copy)]
pub(super) struct Checked {
    /// Frame width, pixels.
    pub width: usize,
    /// Frame height, pixels.
    pub height: usize,
    /// `Rows`.
    pub rows: u16,
    /// `Columns`.
    pub cols: u16,
    /// `FrameTime`, ms.
    pub frame_time: f64,
    /// The calibrated region and its pixel spacing, when the spacing is known.
    pub region: Option<(RegionSpec, PixelSpacing)>,
}

/// Check `frames`, `meta` and `opts`.
pub(super) fn check(
    frames: &[GrayImage],
    meta: &ScanMeta,
    opts: &DicomWriteOptions,
) -> Result<Checked, DicomWriteError> {
    let (width, height, rows, cols) = check_frames(frames)?;
    let frame_time = meta
        .frame_time_ms
        .filter(|t| t.is_finite() && *t > 0.0)
        .ok_or(DicomWriteError::FrameTime(meta.frame_time_ms))?;
    check_options(opts)?;
    check_values(meta, opts)?;
    let region = match (meta.pixel_spacing, opts.region) {
        (None, _) => None,
        (Some(s), r) => {
            let r = r.unwrap_or_else(|| RegionSpec::whole(width, height));
            check_region(&r, width, height)?;
            Some((r, s))
        }
    };
    Ok(Checked {
        width,
        height,
        rows,
        cols,
        frame_time,
        region,
    })
}

/// Width, height, `Rows` and `Columns` of frames that all have the size of the first.
fn check_frames(frames: &[GrayImage]) -> Result<(usize, usize, u16, u16), DicomWriteError> {
    let first = frames.first().ok_or(DicomWriteError::NoFrames)?;
    let (width, height) = (first.width(), first.height());
    for (index, f) in frames.iter().enumerate() {
        if (f.width(), f.height()) != (width, height) {
            return Err(DicomWriteError::FrameSize {
                index,
                width,
                height,
                found_w: f.width(),
                found_h: f.height(),
            });
        }
    }
    let rows = u16::try_from(height).map_err(|_| DicomWriteError::TooLarge {
        what: "Rows",
        value: height,
    })?;
    let cols = u16::try_from(width).map_err(|_| DicomWriteError::TooLarge {
        what: "Columns",
        value: width,
    })?;
    if frames.len() > 999_999_999_999 {
        return Err(DicomWriteError::TooLarge {
            what: "NumberOfFrames",
            value: frames.len(),
        });
    }
    Ok((width, height, rows, cols))
}

/// The texts and UIDs of the options.
fn check_options(opts: &DicomWriteOptions) -> Result<(), DicomWriteError> {
    check_text("patient_id", &opts.patient_id, 64)?;
    check_text("patient_name", &opts.patient_name, 64)?;
    check_text("study_description", &opts.study_description, 64)?;
    check_text("series_description", &opts.series_description, 64)?;
    check_text("manufacturer", &opts.manufacturer, 64)?;
    check_text("model_name", &opts.model_name, 64)?;
    check_text("study_id", &opts.study_id, 16)?;
    for (field, uid) in [
        ("study_instance_uid", &opts.study_instance_uid),
        ("series_instance_uid", &opts.series_instance_uid),
    ] {
        if let Some(u) = uid
            && !is_valid_uid(u)
        {
            return Err(invalid(field, u.clone()));
        }
    }
    Ok(())
}

/// Age, heart rate and depth in range.
fn check_values(meta: &ScanMeta, opts: &DicomWriteOptions) -> Result<(), DicomWriteError> {
    if let Some(a) = meta.age_years
        && a > 150
    {
        return Err(invalid("age_years", a.to_string()));
    }
    if let Some(hr) = meta.heart_rate_bpm
        && !(0.0..1000.0).contains(&hr)
    {
        return Err(invalid("heart_rate_bpm", hr.to_string()));
    }
    if let Some(d) = opts.depth_mm
        && !(d.is_finite() && d > 0.0 && d < 1e6)
    {
        return Err(invalid("depth_mm", d.to_string()));
    }
    Ok(())
}

/// A region inside the `width` × `height` image.
fn check_region(r: &RegionSpec, width: usize, height: usize) -> Result<(), DicomWriteError> {
    if r.min_x > r.max_x
        || r.min_y > r.max_y
        || r.max_x as usize >= width
        || r.max_y as usize >= height
    {
        return Err(invalid(
            "region",
            format!(
                "({},{})-({},{}) does not fit the {width}x{height} image",
                r.min_x, r.min_y, r.max_x, r.max_y
            ),
        ));
    }
    Ok(())
}

fn invalid(field: &'static str, value: String) -> DicomWriteError {
    DicomWriteError::Invalid { field, value }
}

/// Text for LO/SH/PN values: no backslash (the value separator), no control characters, at most
/// `max` characters.
pub(super) fn check_text(field: &'static str, s: &str, max: usize) -> Result<(), DicomWriteError> {
    if s.chars().count() > max {
        return Err(invalid(
            field,
            format!("{s:?} is longer than {max} characters"),
        ));
    }
    if s.chars().any(|c| c == '\\' || c.is_control()) {
        return Err(invalid(
            field,
            format!("{s:?} holds a backslash or control character"),
        ));
    }
    Ok(())
}
