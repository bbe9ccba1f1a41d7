//! What a soak found, once the stream has drained: the latency and memory figures, the checks
//! they pass or fail, and the report that holds them.

use super::ledger::Tally;
use super::options::SoakOptions;
use super::report::{Check, Outcomes, Second, SoakReport};
use crate::live::abi::sys::sb_stream_stats;
use std::time::Duration;
use synboost_core::stream::LatencyHistogram;

/// Push-to-result latency of the segmented frames against its bound, ms.
pub(crate) struct LatencyFigures {
    p50: f64,
    p99: f64,
    max: f64,
    /// `(queue + workers + 1) × service × 1.5 + 25`.
    bound: f64,
    /// Mean service time of a frame (pre + model + post).
    service: f64,
}

impl LatencyFigures {
    /// The figures of `hist`, and the bound from the library's stage means.
    pub fn of(hist: &LatencyHistogram, stats: &sb_stream_stats, o: &SoakOptions) -> Self {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let service = stats.preprocess_mean_ms + stats.model_mean_ms + stats.postprocess_mean_ms;
        Self {
            p50: ms(hist.quantile(0.5)),
            p99: ms(hist.quantile(0.99)),
            max: ms(hist.max()),
            bound: f64::from(o.queue + o.workers + 1) * service * 1.5 + 25.0,
            service,
        }
    }
}

/// Resident memory after the warm-up, MiB.
pub(crate) struct MemoryTrend {
    /// Length of the warm-up, seconds.
    pub warm_s: f64,
    /// Samples after it.
    samples: usize,
    /// The first of them.
    warm: f64,
    /// The last.
    end: f64,
    /// Mean of the last tenth minus mean of the first tenth.
    growth: f64,
    /// Least-squares slope, MiB per minute.
    slope_per_min: f64,
}

impl MemoryTrend {
    /// The trend of `timeline` after the warm-up of a `seconds`-long run.
    pub fn of(timeline: &[Second], seconds: f64) -> Self {
        let warm_s = (seconds * 0.15).max(10.0).min(seconds * 0.5);
        let after: Vec<(f64, f64)> = timeline
            .iter()
            .filter(|s| s.t_s >= warm_s)
            .map(|s| (s.t_s, s.rss_mib))
            .collect();
        let tenth = (after.len() / 10).max(1);
        let mean = |p: &[(f64, f64)]| p.iter().map(|x| x.1).sum::<f64>() / p.len().max(1) as f64;
        let (growth, warm, end) = if after.len() >= 2 {
            (
                mean(&after[after.len() - tenth..]) - mean(&after[..tenth]),
                after[0].1,
                after[after.len() - 1].1,
            )
        } else {
            (0.0, 0.0, 0.0)
        };
        Self {
            warm_s,
            samples: after.len(),
            warm,
            end,
            growth,
            slope_per_min: slope(&after) * 60.0,
        }
    }
}

/// Least-squares slope of `y` over `x`.
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx > 0.0 { sxy / sxx } else { 0.0 }
}

/// Everything a soak found.
pub(crate) struct Findings<'a> {
    /// The run's options.
    pub opts: &'a SoakOptions,
    /// What the producers did.
    pub tally: Tally,
    /// Results by outcome.
    pub outcomes: Outcomes,
    /// Accepted pushes without a result.
    pub missing: u64,
    /// Results repeated.
    pub repeated: u64,
    /// Results unknown.
    pub unknown: u64,
    /// The library's counters at the end.
    pub stats: sb_stream_stats,
    /// Latency.
    pub latency: LatencyFigures,
    /// Memory.
    pub memory: MemoryTrend,
    /// Per second.
    pub timeline: Vec<Second>,
    /// Wall time of the stream, seconds.
    pub wall_s: f64,
    /// Ctrl-C ended the run early.
    pub interrupted: bool,
}

impl Findings<'_> {
    /// The checks, then the report.
    pub fn report(self) -> SoakReport {
        let checks = self.checks();
        let passed = checks.iter().all(|c| c.passed);
        let (o, st, l, m) = (self.opts, &self.stats, &self.latency, &self.memory);
        let stat = |k: &str, v: f64| (k.to_string(), v);
        SoakReport {
            library: o.lib.display().to_string(),
            bundle: o.bundle.display().to_string(),
            seconds: o.seconds,
            fps: o.fps,
            seed: o.seed,
            queue: o.queue,
            workers: o.workers,
            interrupted: self.interrupted,
            wall_s: self.wall_s,
            push_calls: self.tally.push_calls,
            accepted: self.tally.accepted,
            burst_accepted: self.tally.burst_accepted,
            faults: self.tally.faults,
            unexpected_refusals: self.tally.unexpected,
            wrong_refusals: self.tally.wrong,
            outcomes: self.outcomes,
            missing_results: self.missing,
            repeated_results: self.repeated,
            unknown_results: self.unknown,
            stats: [
                stat("pushed", st.pushed as f64),
                stat("rejected", st.rejected as f64),
                stat("processed", st.processed as f64),
                stat("failed", st.failed as f64),
                stat("dropped", st.dropped as f64),
                stat("discarded", st.discarded as f64),
                stat("unread_dropped", st.unread_dropped as f64),
                stat("in_flight", st.in_flight as f64),
                stat("latency_p50_ms", st.latency_p50_ms),
                stat("latency_p99_ms", st.latency_p99_ms),
                stat("latency_max_ms", st.latency_max_ms),
            ]
            .into_iter()
            .collect(),
            latency_p50_ms: l.p50,
            latency_p99_ms: l.p99,
            latency_max_ms: l.max,
            latency_bound_ms: l.bound,
            service_ms: l.service,
            rss_warm_mib: m.warm,
            rss_end_mib: m.end,
            rss_growth_mib: m.growth,
            rss_slope_mib_per_min: m.slope_per_min,
            timeline: self.timeline,
            checks,
            passed,
        }
    }

    /// Every check of the run (and a failed one when it was interrupted).
    fn checks(&self) -> Vec<Check> {
        let mut checks = vec![
            self.one_result_per_push(),
            self.counters_agree(),
            self.refusals(),
            self.no_failure(),
            self.segmented(),
            self.bounded_latency(),
            self.flat_memory(),
        ];
        if self.interrupted {
            checks.push(Check {
                name: "ran to the end".into(),
                passed: false,
                detail: "interrupted".into(),
            });
        }
        checks
    }

    fn one_result_per_push(&self) -> Check {
        let (t, oc) = (&self.tally, &self.outcomes);
        let (missing, repeated, unknown) = (self.missing, self.repeated, self.unknown);
        let results = oc.segmented + oc.failed + oc.dropped + oc.discarded;
        Check {
            name: "accounting: one result per accepted push".into(),
            passed: missing == 0 && repeated == 0 && unknown == 0 && results == t.accepted,
            detail: format!(
                "{} accepted, {results} results ({} segmented, {} dropped, {} failed, {} discarded), {missing} missing, {repeated} repeated, {unknown} unknown",
                t.accepted, oc.segmented, oc.dropped, oc.failed, oc.discarded
            ),
        }
    }

    fn counters_agree(&self) -> Check {
        let (st, oc) = (&self.stats, &self.outcomes);
        Check {
            name: "accounting: the library's counters agree".into(),
            passed: st.pushed == self.tally.accepted
                && st.processed + st.failed + st.dropped + st.discarded == st.pushed
                && st.processed == oc.segmented
                && st.dropped == oc.dropped
                && st.in_flight == 0
                && st.unread_dropped == 0,
            detail: format!(
                "pushed {}, processed {}, dropped {}, failed {}, discarded {}, unread dropped {}, in flight {}",
                st.pushed,
                st.processed,
                st.dropped,
                st.failed,
                st.discarded,
                st.unread_dropped,
                st.in_flight
            ),
        }
    }

    fn refusals(&self) -> Check {
        let t = &self.tally;
        let injected: u64 = t
            .faults
            .iter()
            .filter(|(k, _)| k.starts_with("invalid:"))
            .map(|(_, v)| v)
            .sum();
        Check {
            name: "refusals: every wrong description, with its status, and nothing else".into(),
            passed: t.wrong_count == 0 && t.unexpected_count == 0,
            detail: format!(
                "{injected} wrong descriptions injected; {} refused wrongly; {} valid pushes refused",
                t.wrong_count, t.unexpected_count
            ),
        }
    }

    fn no_failure(&self) -> Check {
        Check {
            name: "no frame failed".into(),
            passed: self.outcomes.failed == 0,
            detail: format!("{} failed", self.outcomes.failed),
        }
    }

    fn segmented(&self) -> Check {
        let (segmented, accepted) = (self.outcomes.segmented, self.tally.accepted);
        Check {
            name: "frames were segmented".into(),
            passed: segmented * 4 >= accepted && segmented > 0,
            detail: format!(
                "{segmented} of {accepted} accepted ({:.0} %)",
                100.0 * segmented as f64 / accepted.max(1) as f64
            ),
        }
    }

    fn bounded_latency(&self) -> Check {
        let (l, o) = (&self.latency, self.opts);
        Check {
            name: "bounded latency".into(),
            passed: l.p99 <= l.bound && l.max <= 1000.0,
            detail: format!(
                "p99 {:.1} ms ≤ {:.1} ms ((queue {} + workers {} + 1) × service {:.2} ms × 1.5 + 25); max {:.1} ms ≤ 1000",
                l.p99, l.bound, o.queue, o.workers, l.service, l.max
            ),
        }
    }

    fn flat_memory(&self) -> Check {
        let m = &self.memory;
        Check {
            name: "flat memory".into(),
            passed: m.samples >= 2 && m.growth <= self.opts.max_growth_mib,
            detail: format!(
                "after {:.0} s warm-up: {:.1} → {:.1} MiB, growth {:+.2} MiB ≤ {:.1} (slope {:+.3} MiB/min, {} samples)",
                m.warm_s,
                m.warm,
                m.end,
                m.growth,
                self.opts.max_growth_mib,
                m.slope_per_min,
                m.samples
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_squares_slope() {
        assert!((slope(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]) - 2.0).abs() < 1e-12);
    }
}
