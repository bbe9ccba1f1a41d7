//! The short table of a live run for the terminal: the stream, the scores, the memory, the
//! clinical measurements and the targets, one row each.

use super::{LiveReport, Memory};
use crate::live::options::variant_label;
use std::fmt::Write as _;
use synboost_data::metrics::Summary;

/// `mean ± std` scaled, or `-` when empty.
fn fmt_summary(s: &Summary, scale: f64, digits: usize) -> String {
    if s.n == 0 {
        return "-".into();
    }
    format!(
        "{:.digits$} ± {:.digits$}",
        s.mean * scale,
        s.std * scale,
        digits = digits
    )
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// One `  key   value` row.
fn row(t: &mut String, k: &str, v: String) {
    let _ = writeln!(t, "  {k:<22} {v}");
}

impl LiveReport {
    /// A short table for the terminal.
    pub fn table(&self) -> String {
        let mut t = String::new();
        self.header(&mut t);
        self.stream_rows(&mut t);
        self.score_rows(&mut t);
        self.memory_row(&mut t);
        self.clinical_rows(&mut t);
        self.target_rows(&mut t);
        t
    }

    /// What was streamed, how, and whether the run was interrupted.
    fn header(&self, t: &mut String) {
        let _ = writeln!(
            t,
            "live: {} frames at {:.2} fps for {} s, {} worker(s), queue {} ({}), model {} ({}, {})",
            self.source
                .get("kind")
                .and_then(|v| v.as_str())
                .unwrap_or("?"),
            self.settings.fps,
            self.settings.seconds,
            self.settings.workers,
            self.settings.queue,
            self.settings.policy,
            self.model.info.name,
            variant_label(self.model.info.variant),
            self.model.info.runtime
        );
        if self.interrupted {
            let _ = writeln!(
                t,
                "  INTERRUPTED after {:.1} s: {} of {} planned frames pushed",
                self.timing.wall_s, self.counts.pushed, self.settings.frames_planned
            );
        }
    }

    /// Frame accounting, rates, latency, queue wait and stage times.
    fn stream_rows(&self, t: &mut String) {
        let c = &self.counts;
        let l = &self.latency_ms;
        row(
            t,
            "frames",
            format!(
                "pushed {} processed {} dropped {} rejected {} failed {} discarded {} unread {} ({})",
                c.pushed,
                c.processed,
                c.dropped,
                c.rejected,
                c.failed,
                c.discarded,
                c.unread_dropped,
                if c.balanced {
                    "balanced"
                } else {
                    "NOT BALANCED"
                }
            ),
        );
        row(
            t,
            "achieved fps",
            format!(
                "{:.2} (pushed {:.2}/s)",
                self.timing.achieved_fps, self.timing.push_fps
            ),
        );
        row(
            t,
            "latency ms",
            format!(
                "p50 {:.2} p90 {:.2} p99 {:.2} max {:.2} mean {:.2}",
                l.p50, l.p90, l.p99, l.max, l.mean
            ),
        );
        row(
            t,
            "queue wait ms",
            format!(
                "p50 {:.2} p99 {:.2}",
                self.queue_wait_ms.p50, self.queue_wait_ms.p99
            ),
        );
        let s = &self.stage_mean_ms;
        row(
            t,
            "stage means ms",
            format!(
                "preprocess {:.2} model {:.2} postprocess {:.2}",
                s.preprocess, s.model, s.postprocess
            ),
        );
    }

    /// Dice (phantom) and areas per structure.
    fn score_rows(&self, t: &mut String) {
        if let Some(d) = &self.dice {
            let parts: Vec<String> = d
                .iter()
                .map(|(k, v)| format!("{k} {}", fmt_summary(v, 1.0, 3)))
                .collect();
            row(t, "dice (phantom)", parts.join(", "));
        }
        let parts: Vec<String> = self
            .areas
            .iter()
            .map(|(k, a)| match &a.mm2 {
                Some(mm) => format!("{k} {} mm²", fmt_summary(mm, 1.0, 0)),
                None => format!("{k} {} px", fmt_summary(&a.px, 1.0, 0)),
            })
            .collect();
        row(t, "areas", parts.join(", "));
    }

    /// Resident memory before, after the warm-up and at the end.
    fn memory_row(&self, t: &mut String) {
        let kib =
            |v: Option<u64>| v.map_or("?".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0));
        row(
            t,
            "resident memory",
            format!(
                "{} before streaming, {} after {} s, {} at end ({}; {} without the {} of \
                 per-frame records this report keeps)",
                kib(self.memory.rss_before_kib),
                kib(self.memory.rss_start_kib),
                Memory::WARM_UP_S,
                kib(self.memory.rss_end_kib),
                self.memory
                    .growth_percent
                    .map_or("growth ?".into(), |g| format!("{g:+.1} %")),
                self.memory
                    .growth_without_records_percent
                    .map_or("?".into(), |g| format!("{g:+.1} %")),
                kib(Some(self.memory.records_kib)),
            ),
        );
    }

    /// Frame quality, cycles, EF, the phantom's truth and the LV area chart.
    fn clinical_rows(&self, t: &mut String) {
        let c = &self.clinical;
        let flagged: Vec<String> = c
            .flagged
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        row(
            t,
            "frame quality",
            format!(
                "confidence {}, LV IoU with previous {}, flagged: {}",
                fmt_summary(&c.confidence, 1.0, 3),
                fmt_summary(&c.temporal_iou, 1.0, 3),
                if flagged.is_empty() {
                    "none".into()
                } else {
                    flagged.join(", ")
                }
            ),
        );
        let reliable = c.cycles.iter().filter(|x| x.reliable).count();
        row(
            t,
            "cycles",
            format!(
                "{} ({} reliable), heart rate {} bpm, phase inferred for {} frames",
                c.cycles.len(),
                reliable,
                fmt_summary(&c.heart_rate_bpm, 1.0, 1),
                c.inferred_phase_frames
            ),
        );
        if c.ef_percent.n > 0 {
            row(
                t,
                "EF %",
                format!(
                    "area-length {}, Simpson {}{}",
                    fmt_summary(&c.ef_percent, 1.0, 1),
                    fmt_summary(&c.simpson_ef_percent, 1.0, 1),
                    c.biplane_ef_percent
                        .as_ref()
                        .map_or(String::new(), |b| format!(
                            ", biplane {}",
                            fmt_summary(b, 1.0, 1)
                        ))
                ),
            );
        }
        if let Some(tc) = &c.truth {
            row(
                t,
                "vs phantom truth",
                format!(
                    "EF {:.1} % (error {:+.1}, worst cycle {:.1}), within 1 frame: ED {:.0} % ES {:.0} % (worst ED {:.2}, ES {:.2} frames){}",
                    tc.truth.ef_percent,
                    tc.ef_error,
                    tc.ef_abs_error_max,
                    100.0 * tc.ed_within_one_frame,
                    100.0 * tc.es_within_one_frame,
                    tc.ed_frame_error_max,
                    tc.es_frame_error_max,
                    tc.heart_rate_error
                        .map_or(String::new(), |e| format!(", HR error {e:+.1} bpm"))
                ),
            );
        }
        if let Some(p) = &c.plot {
            row(t, "LV area chart", p.clone());
        }
    }

    /// The real-time targets and the overload ones.
    fn target_rows(&self, t: &mut String) {
        let g = &self.targets;
        row(
            t,
            "targets",
            format!(
                "{} fps: rate {} dropped 0 {} p99 < {} ms {} => {}",
                g.fps,
                yes(g.fps_reached),
                yes(g.zero_dropped),
                g.p99_limit_ms,
                yes(g.p99_ok),
                if g.met { "MET" } else { "NOT MET" }
            ),
        );
        row(
            t,
            "under overload",
            format!(
                "every frame accounted for {}, memory within 10 % {}",
                yes(g.accounted),
                g.memory_within_10_percent.map_or("?", yes)
            ),
        );
    }
}
