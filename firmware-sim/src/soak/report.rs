//! The report of a soak (`soak-report.json`) and its table for the terminal.

use serde::Serialize;
use std::collections::BTreeMap;

/// One check of the run.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What is checked.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// The numbers behind it.
    pub detail: String,
}

/// Counts of results by outcome.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Outcomes {
    /// Segmented.
    pub segmented: u64,
    /// The model failed.
    pub failed: u64,
    /// Dropped from a full queue.
    pub dropped: u64,
    /// Dropped by a discarding stop.
    pub discarded: u64,
}

/// One second of the run.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Second {
    /// Seconds since the start.
    pub t_s: f64,
    /// Resident memory, MiB.
    pub rss_mib: f64,
    /// Results polled in this second.
    pub results: u64,
    /// Largest push-to-result latency of the frames segmented in this second, ms.
    pub latency_max_ms: f64,
}

/// What a soak run found.
#[derive(Debug, Clone, Serialize)]
pub struct SoakReport {
    /// The library.
    pub library: String,
    /// The bundle.
    pub bundle: String,
    /// Settings.
    pub seconds: f64,
    /// Producer rate.
    pub fps: f64,
    /// Seed.
    pub seed: u64,
    /// Queue capacity.
    pub queue: u32,
    /// Workers.
    pub workers: u32,
    /// Whether Ctrl-C ended the run early.
    pub interrupted: bool,
    /// Wall time of the stream, seconds.
    pub wall_s: f64,
    /// Push calls made.
    pub push_calls: u64,
    /// Pushes the library accepted (each has a sequence number).
    pub accepted: u64,
    /// Of them, pushed by the burst thread.
    pub burst_accepted: u64,
    /// Faults injected, by kind (`invalid:*` by description).
    pub faults: BTreeMap<String, u64>,
    /// Refusals that were not injected (each a failure), first few messages.
    pub unexpected_refusals: Vec<String>,
    /// Invalid descriptions accepted or refused with another status (each a failure).
    pub wrong_refusals: Vec<String>,
    /// Results by outcome.
    pub outcomes: Outcomes,
    /// Accepted pushes without a result.
    pub missing_results: u64,
    /// Results for a sequence number seen before.
    pub repeated_results: u64,
    /// Results for a sequence number never accepted.
    pub unknown_results: u64,
    /// The library's counters at the end (`sb_stream_get_stats`).
    pub stats: BTreeMap<String, f64>,
    /// Push-to-result latency of segmented frames (from the results), ms: p50.
    pub latency_p50_ms: f64,
    /// p99.
    pub latency_p99_ms: f64,
    /// Maximum.
    pub latency_max_ms: f64,
    /// The p99 bound, ms.
    pub latency_bound_ms: f64,
    /// Mean service time of a frame (pre + model + post), ms.
    pub service_ms: f64,
    /// Resident memory after the warm-up, MiB.
    pub rss_warm_mib: f64,
    /// Resident memory at the end, MiB.
    pub rss_end_mib: f64,
    /// Growth after the warm-up: mean of the last tenth minus mean of the first tenth, MiB.
    pub rss_growth_mib: f64,
    /// Least-squares slope of resident memory after the warm-up, MiB per minute.
    pub rss_slope_mib_per_min: f64,
    /// Per second.
    pub timeline: Vec<Second>,
    /// The checks.
    pub checks: Vec<Check>,
    /// Whether every check held.
    pub passed: bool,
}

/// The report as a table for the terminal.
pub fn table(r: &SoakReport) -> String {
    let mut s = format!(
        "soak {:.0} s at {:.0} fps (seed {}), queue {}, {} worker(s): {} push calls, {} accepted ({} in bursts)\n",
        r.seconds, r.fps, r.seed, r.queue, r.workers, r.push_calls, r.accepted, r.burst_accepted
    );
    let faults: Vec<String> = r.faults.iter().map(|(k, v)| format!("{k} {v}")).collect();
    s += &format!("faults: {}\n", faults.join(", "));
    s += &format!(
        "latency p50 {:.1} / p99 {:.1} / max {:.1} ms (bound {:.1}); memory {:.1} → {:.1} MiB ({:+.2} MiB, {:+.3} MiB/min)\n",
        r.latency_p50_ms,
        r.latency_p99_ms,
        r.latency_max_ms,
        r.latency_bound_ms,
        r.rss_warm_mib,
        r.rss_end_mib,
        r.rss_growth_mib,
        r.rss_slope_mib_per_min
    );
    for c in &r.checks {
        s += &format!(
            "  [{}] {}: {}\n",
            if c.passed { "ok" } else { "FAIL" },
            c.name,
            c.detail
        );
    }
    s += if r.passed {
        "soak passed\n"
    } else {
        "soak FAILED\n"
    };
    s
}
