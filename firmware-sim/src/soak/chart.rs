//! `soak.png`: resident memory and the largest latency of each second of a soak.

use super::report::SoakReport;
use crate::live::curve::{FONT, font, save_rgb};
use plotters::prelude::*;
use std::path::Path;

/// `soak.png`: resident memory and the largest latency of each second.
pub(crate) fn chart(r: &SoakReport, warm_s: f64, path: &Path) -> Result<(), String> {
    font()?;
    if r.timeline.len() < 2 {
        return Err("fewer than two seconds".into());
    }
    let t_max = r.timeline.last().map_or(1.0, |s| s.t_s).max(1.0);
    let (w, h) = (1000u32, 560u32);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let (top, bottom) = root.split_vertically(280);
        let (lo, hi) = r
            .timeline
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(lo, hi), s| {
                (lo.min(s.rss_mib), hi.max(s.rss_mib))
            });
        let pad = ((hi - lo) * 0.2).max(2.0);
        let mut c = ChartBuilder::on(&top)
            .caption(
                format!(
                    "soak {:.0} s at {:.0} fps with faults: resident memory (growth after warm-up {:+.2} MiB)",
                    r.seconds, r.fps, r.rss_growth_mib
                ),
                (FONT, 16),
            )
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..t_max, (lo - pad).max(0.0)..(hi + pad))
            .map_err(|e| e.to_string())?;
        c.configure_mesh()
            .x_desc("time, s")
            .y_desc("RSS, MiB")
            .label_style((FONT, 12))
            .draw()
            .map_err(|e| e.to_string())?;
        c.draw_series(LineSeries::new(
            [(warm_s, lo - pad), (warm_s, hi + pad)],
            RGBColor(190, 190, 190),
        ))
        .map_err(|e| e.to_string())?;
        c.draw_series(LineSeries::new(
            r.timeline.iter().map(|s| (s.t_s, s.rss_mib)),
            RGBColor(31, 119, 180).stroke_width(2),
        ))
        .map_err(|e| e.to_string())?;
        let l_hi = r
            .timeline
            .iter()
            .map(|s| s.latency_max_ms)
            .fold(r.latency_bound_ms, f64::max)
            * 1.1;
        let mut c = ChartBuilder::on(&bottom)
            .caption(
                format!(
                    "largest push-to-result latency per second (p99 {:.1} ms, bound {:.1} ms dashed)",
                    r.latency_p99_ms, r.latency_bound_ms
                ),
                (FONT, 16),
            )
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..t_max, 0.0..l_hi)
            .map_err(|e| e.to_string())?;
        c.configure_mesh()
            .x_desc("time, s")
            .y_desc("ms")
            .label_style((FONT, 12))
            .draw()
            .map_err(|e| e.to_string())?;
        c.draw_series(DashedLineSeries::new(
            [(0.0, r.latency_bound_ms), (t_max, r.latency_bound_ms)],
            6,
            4,
            RED.stroke_width(1),
        ))
        .map_err(|e| e.to_string())?;
        c.draw_series(LineSeries::new(
            r.timeline.iter().map(|s| (s.t_s, s.latency_max_ms)),
            RGBColor(214, 39, 40).stroke_width(2),
        ))
        .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    save_rgb(buf, (w, h), path)
}
