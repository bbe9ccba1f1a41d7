//! `lv-area.png`: the LV area the library measured over the first seconds of a live run, per
//! view, with the ED (●) and ES (▲) frames it detected, the true ED/ES instants of a phantom
//! (thin grey lines), and the cycles' ejection fractions in the title.

use super::clinical::{ClinicalLog, FrameRow};
use super::source::Source;
use crate::live::abi::sys::SB_UNITS_MM;
use crate::live::abi::sys::SB_VIEW_2CH;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::register_font;
use std::path::Path;
use std::sync::OnceLock;
use synboost_core::meta::Phase;

/// Seconds of the run drawn.
const SPAN_S: f64 = 10.0;
/// The family name charts draw text in (the embedded DejaVu Sans).
pub(crate) const FONT: &str = "sans-serif";

/// Register the embedded font (once) for chart text.
pub(crate) fn font() -> Result<(), String> {
    static OK: OnceLock<bool> = OnceLock::new();
    let ok =
        *OK.get_or_init(|| register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok());
    if ok {
        Ok(())
    } else {
        Err("the embedded font could not be loaded".into())
    }
}

/// The chart's axes: seconds across, LV area up.
type Chart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The measured frames drawn, and the vertical range that holds them.
struct Curve<'a> {
    frames: Vec<&'a FrameRow>,
    t_max: f64,
    lo: f64,
    hi: f64,
    pad: f64,
}

impl<'a> Curve<'a> {
    /// The frames of the first [`SPAN_S`] seconds with an LV.
    fn of(log: &'a ClinicalLog) -> Result<Self, String> {
        let frames: Vec<_> = log
            .frames
            .iter()
            .filter(|f| f.time_s <= SPAN_S && f.m.lv_area >= 0.0)
            .collect();
        if frames.len() < 2 {
            return Err("fewer than two frames with an LV".into());
        }
        let t_max = frames
            .iter()
            .map(|f| f.time_s)
            .fold(0.0, f64::max)
            .max(1e-3);
        let (lo, hi) = frames.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), f| {
            (lo.min(f.m.lv_area), hi.max(f.m.lv_area))
        });
        let pad = (hi - lo).max(1.0) * 0.15;
        Ok(Self {
            frames,
            t_max,
            lo,
            hi,
            pad,
        })
    }
}

/// Draw the chart into `path`.
pub fn draw(
    src: &Source,
    log: &ClinicalLog,
    pushed: &[(u64, usize, f64)],
    path: &Path,
) -> Result<(), String> {
    font()?;
    let curve = Curve::of(log)?;
    let (w, h) = (1000u32, 420u32);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let units = if curve.frames[0].m.units == SB_UNITS_MM {
            "LV area, mm²"
        } else {
            "LV area, pixels"
        };
        let (lo, hi) = (curve.lo - curve.pad, curve.hi + curve.pad);
        let mut chart = ChartBuilder::on(&root)
            .caption(title(src, log), (FONT, 17))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..curve.t_max, lo..hi)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("time, s")
            .y_desc(units)
            .label_style((FONT, 13))
            .draw()
            .map_err(|e| e.to_string())?;
        draw_truth(&mut chart, src, pushed, &curve)?;
        draw_views(&mut chart, &curve)?;
        draw_landmarks(&mut chart, log, &curve)?;
        chart
            .configure_series_labels()
            .label_font((FONT, 13))
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    save_rgb(buf, (w, h), path)
}

/// The title: the reliable cycles' ejection fractions (and a phantom's true one).
fn title(src: &Source, log: &ClinicalLog) -> String {
    let efs: Vec<String> = log
        .cycles
        .iter()
        .filter(|c| c.reliable != 0)
        .take(6)
        .map(|c| format!("{:.0}", c.ef_percent))
        .collect();
    match src.truth {
        Some(t) => format!(
            "LV area: detected ED ● / ES ▲, true ED/ES grey | EF per cycle {} % (true {:.0} %)",
            efs.join(", "),
            t.ef_percent
        ),
        None => format!(
            "LV area: detected ED ● / ES ▲ | EF per cycle {} %",
            efs.join(", ")
        ),
    }
}

/// Thin grey lines at the true ED (darker) and ES instants of the pushed phantom frames.
fn draw_truth(
    chart: &mut Chart<'_, '_>,
    src: &Source,
    pushed: &[(u64, usize, f64)],
    curve: &Curve<'_>,
) -> Result<(), String> {
    let (lo, hi) = (curve.lo - curve.pad, curve.hi + curve.pad);
    for (_, i, t) in pushed.iter().filter(|(_, _, t)| *t <= curve.t_max) {
        if let Some(p) = src.frames.get(*i).and_then(|f| f.truth_phase) {
            let c = if p == Phase::EndDiastole {
                RGBColor(150, 150, 150)
            } else {
                RGBColor(200, 200, 200)
            };
            chart
                .draw_series(LineSeries::new([(*t, lo), (*t, hi)], c))
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// One LV area line per view, labelled for the legend.
fn draw_views(chart: &mut Chart<'_, '_>, curve: &Curve<'_>) -> Result<(), String> {
    let mut views: Vec<u32> = curve.frames.iter().map(|f| f.view).collect();
    views.sort_unstable();
    views.dedup();
    for (k, view) in views.iter().enumerate() {
        let colour = if k == 0 {
            RGBColor(31, 119, 180)
        } else {
            RGBColor(44, 160, 44)
        };
        let pts: Vec<(f64, f64)> = curve
            .frames
            .iter()
            .filter(|f| f.view == *view)
            .map(|f| (f.time_s, f.m.lv_area))
            .collect();
        let name = if *view == SB_VIEW_2CH { "2CH" } else { "4CH" };
        chart
            .draw_series(LineSeries::new(pts, colour.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], colour));
    }
    Ok(())
}

/// The ED (●, above the curve) and ES (▲, below) frames the library detected.
fn draw_landmarks(
    chart: &mut Chart<'_, '_>,
    log: &ClinicalLog,
    curve: &Curve<'_>,
) -> Result<(), String> {
    let (t_max, pad) = (curve.t_max, curve.pad);
    let area_of = |seq: u64| {
        log.frames
            .iter()
            .find(|f| f.seq == seq)
            .map(|f| f.m.lv_area)
    };
    for c in log.cycles.iter().filter(|c| c.ed_time_s <= t_max) {
        if let Some(a) = area_of(c.ed_seq) {
            chart
                .draw_series([Circle::new((c.ed_time_s, a + pad * 0.3), 5, RED.filled())])
                .map_err(|e| e.to_string())?;
        }
        if let Some(a) = area_of(c.es_seq).filter(|_| c.es_time_s <= t_max) {
            chart
                .draw_series([TriangleMarker::new(
                    (c.es_time_s, a - pad * 0.3),
                    7,
                    BLUE.filled(),
                )])
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// Save a chart's RGB buffer as a PNG.
pub(crate) fn save_rgb(buf: Vec<u8>, (w, h): (u32, u32), path: &Path) -> Result<(), String> {
    image::RgbImage::from_raw(w, h, buf)
        .ok_or_else(|| "chart buffer size".to_string())?
        .save(path)
        .map_err(|e| format!("{}: {e}", path.display()))
}
