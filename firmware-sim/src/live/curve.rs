//! `lv-area.png`: the LV area the library measured over the first seconds of a live run, per
//! view, with the ED (●) and ES (▲) frames it detected, the true ED/ES instants of a phantom
//! (thin grey lines), and the cycles' ejection fractions in the title.

use super::clinical::ClinicalLog;
use super::source::Source;
use plotters::prelude::*;
use plotters::style::register_font;
use std::path::Path;
use std::sync::OnceLock;
use synboost::measure::SB_UNITS_MM;
use synboost::types::SB_VIEW_2CH;
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

/// Draw the chart into `path`.
pub fn draw(
    src: &Source,
    log: &ClinicalLog,
    pushed: &[(u64, usize, f64)],
    path: &Path,
) -> Result<(), String> {
    font()?;
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
    let (w, h) = (1000u32, 420u32);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let efs: Vec<String> = log
            .cycles
            .iter()
            .filter(|c| c.reliable != 0)
            .take(6)
            .map(|c| format!("{:.0}", c.ef_percent))
            .collect();
        let title = match src.truth {
            Some(t) => format!(
                "LV area: detected ED ● / ES ▲, true ED/ES grey | EF per cycle {} % (true {:.0} %)",
                efs.join(", "),
                t.ef_percent
            ),
            None => format!(
                "LV area: detected ED ● / ES ▲ | EF per cycle {} %",
                efs.join(", ")
            ),
        };
        let units = if frames[0].m.units == SB_UNITS_MM {
            "LV area, mm²"
        } else {
            "LV area, pixels"
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 17))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..t_max, (lo - pad)..(hi + pad))
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("time, s")
            .y_desc(units)
            .label_style((FONT, 13))
            .draw()
            .map_err(|e| e.to_string())?;
        // True landmarks.
        for (_, i, t) in pushed.iter().filter(|(_, _, t)| *t <= t_max) {
            if let Some(p) = src.frames.get(*i).and_then(|f| f.truth_phase) {
                let c = if p == Phase::EndDiastole {
                    RGBColor(150, 150, 150)
                } else {
                    RGBColor(200, 200, 200)
                };
                chart
                    .draw_series(LineSeries::new([(*t, lo - pad), (*t, hi + pad)], c))
                    .map_err(|e| e.to_string())?;
            }
        }
        let views: Vec<u32> = {
            let mut v: Vec<u32> = frames.iter().map(|f| f.view).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        for (k, view) in views.iter().enumerate() {
            let colour = if k == 0 {
                RGBColor(31, 119, 180)
            } else {
                RGBColor(44, 160, 44)
            };
            let pts: Vec<(f64, f64)> = frames
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

/// Save a chart's RGB buffer as a PNG.
pub(crate) fn save_rgb(buf: Vec<u8>, (w, h): (u32, u32), path: &Path) -> Result<(), String> {
    image::RgbImage::from_raw(w, h, buf)
        .ok_or_else(|| "chart buffer size".to_string())?
        .save(path)
        .map_err(|e| format!("{}: {e}", path.display()))
}
