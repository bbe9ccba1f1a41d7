//! The soak's consumer: the calling thread polls every result, marks it in the ledger, records
//! the latency of segmented frames, reads what a host reads from them, and samples memory and
//! latency once a second.

use super::ledger::{ACCEPTED, Ledger, RESULT};
use super::options::SoakOptions;
use super::report::{Outcomes, Second};
use crate::error::Result;
use crate::live::abi::sys::{
    SB_OUTCOME_DISCARDED, SB_OUTCOME_DROPPED, SB_OUTCOME_FAILED, SB_OUTCOME_SEGMENTED,
};
use crate::live::abi::{FrameResult, Poll, Stream};
use crate::live::resident_kib;
use crate::progress::Progress;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use synboost_core::stream::LatencyHistogram;

/// What the consumer polled.
pub(crate) struct Polled {
    /// Push-to-result latency of segmented frames.
    pub hist: LatencyHistogram,
    /// Results by outcome.
    pub outcomes: Outcomes,
    /// Per second.
    pub timeline: Vec<Second>,
    /// Results for a sequence number never accepted, or with an unknown outcome.
    pub unknown: u64,
}

/// What the consumer works with.
pub(crate) struct Consumer<'a> {
    /// The stream to poll.
    pub stream: &'a Stream,
    /// One mark per sequence number.
    pub ledger: &'a Ledger,
    /// The run's options (length, interrupt flag).
    pub opts: &'a SoakOptions,
    /// Set to stop the producers (Ctrl-C, or this consumer failed).
    pub stop: &'a AtomicBool,
    /// When the run started.
    pub t0: Instant,
}

impl Consumer<'_> {
    /// Poll until the stream ends (the producers stop it with a drain).
    pub fn run(&self, progress: &mut dyn FnMut(Progress)) -> Result<Polled> {
        let mut polled = Polled {
            hist: LatencyHistogram::new(),
            outcomes: Outcomes::default(),
            timeline: Vec::with_capacity(self.opts.seconds as usize + 30),
            unknown: 0,
        };
        let mut second = Second {
            t_s: 0.0,
            rss_mib: 0.0,
            results: 0,
            latency_max_ms: 0.0,
        };
        let mut next_tick = self.t0 + Duration::from_secs(1);
        loop {
            if self.opts.interrupted() {
                self.stop.store(true, Ordering::Relaxed);
            }
            let now = Instant::now();
            if now >= next_tick {
                second.t_s = (now - self.t0).as_secs_f64();
                second.rss_mib = resident_kib().map_or(0.0, mib);
                polled.timeline.push(second);
                progress(Progress::Step {
                    done: second.t_s as u64,
                    message: Some(format!(
                        "{:.1} MiB, {} results/s, max {:.1} ms",
                        second.rss_mib, second.results, second.latency_max_ms
                    )),
                });
                second.results = 0;
                second.latency_max_ms = 0.0;
                next_tick += Duration::from_secs(1);
            }
            match self.stream.poll(50)? {
                Poll::End => return Ok(polled),
                Poll::Timeout => {}
                Poll::Result(r) => self.take(&r, &mut polled, &mut second)?,
            }
        }
    }

    /// Account for one result.
    fn take(&self, r: &FrameResult, polled: &mut Polled, second: &mut Second) -> Result<()> {
        let info = r.info()?;
        second.results += 1;
        let before = self.ledger.mark(info.seq, RESULT);
        if before & ACCEPTED == 0 {
            polled.unknown += 1;
        }
        let outcomes = &mut polled.outcomes;
        match info.outcome {
            SB_OUTCOME_SEGMENTED => {
                outcomes.segmented += 1;
                polled
                    .hist
                    .record(Duration::from_secs_f64(info.total_ms.max(0.0) / 1e3));
                second.latency_max_ms = second.latency_max_ms.max(info.total_ms);
                // Read what a host reads: the structures and measurements.
                for s in 0..info.structure_count {
                    r.structure(s)?;
                }
                r.measurements()?;
                r.cycle()?;
            }
            SB_OUTCOME_FAILED => outcomes.failed += 1,
            SB_OUTCOME_DROPPED => outcomes.dropped += 1,
            SB_OUTCOME_DISCARDED => outcomes.discarded += 1,
            _ => polled.unknown += 1,
        }
        Ok(())
    }
}

/// KiB as MiB.
fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
