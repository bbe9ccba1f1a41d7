//! One soak as named steps: check the settings, load the library, render the frames and start
//! the stream ([`Setup`]), run the producers against the consumer until the stream drains, then
//! account, check ([`super::findings`]) and write the report and the chart.

use super::chart::chart;
use super::consumer::{Consumer, Polled};
use super::findings::{Findings, LatencyFigures, MemoryTrend};
use super::ledger::{Ledger, Tally};
use super::options::SoakOptions;
use super::producer::{Frames, Pusher, bursts, produce};
use super::report::SoakReport;
use crate::error::{Result, SimError};
use crate::live::abi::sys::SB_VARIANT_F32;
use crate::live::abi::sys::{SB_POLICY_DROP_OLDEST, SB_STOP_DRAIN};
use crate::live::abi::{Api, Engine, Stream};
use crate::progress::Progress;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// Run a soak and write its report and chart into `o.out`. `progress` hears of the run as it
/// goes (seconds done of those planned, and a status line each second).
pub fn run(o: &SoakOptions, progress: &mut dyn FnMut(Progress)) -> Result<SoakReport> {
    if !(o.seconds > 0.0 && o.seconds <= 86_400.0 && o.fps > 0.0 && o.fps <= 1000.0) {
        return Err(SimError::Settings(format!(
            "--seconds {} / --fps {}: give 0 < seconds ≤ 86400 and 0 < fps ≤ 1000",
            o.seconds, o.fps
        )));
    }
    std::fs::create_dir_all(&o.out).map_err(|e| SimError::io(&o.out, e))?;
    let setup = Setup::open(o)?;
    let expected = (o.seconds * o.fps * 1.3) as usize + (o.seconds as usize + 1) * 24;
    let ledger = Ledger::with_capacity(expected);
    let tally = Mutex::new(Tally::default());
    progress(Progress::Start {
        total: o.seconds.ceil() as u64,
    });
    let t0 = Instant::now();
    let polled = setup.stream(o, &ledger, &tally, t0, progress);
    progress(Progress::Finish);
    let polled = polled?;
    let wall_s = t0.elapsed().as_secs_f64();
    let stats = setup.stream.stats()?;
    drop(setup);
    let (missing, repeated) = ledger.missing_and_repeated();
    let memory = MemoryTrend::of(&polled.timeline, o.seconds);
    let warm_s = memory.warm_s;
    let report = Findings {
        opts: o,
        tally: tally.into_inner().unwrap_or_else(PoisonError::into_inner),
        outcomes: polled.outcomes,
        missing,
        repeated,
        unknown: polled.unknown,
        latency: LatencyFigures::of(&polled.hist, &stats, o),
        stats,
        memory,
        timeline: polled.timeline,
        wall_s,
        interrupted: o.interrupted(),
    }
    .report();
    write_report(&report, &o.out.join("soak-report.json"))?;
    let png = o.out.join("soak.png");
    if let Err(e) = chart(&report, warm_s, &png) {
        log::warn!("{}: {e}", png.display());
    }
    Ok(report)
}

/// The frames rendered and the stream started on the engine (which the stream keeps).
struct Setup {
    frames: Frames,
    stream: Stream,
}

impl Setup {
    /// Load the library, render the frames, open the engine (float32) and start a
    /// drop-oldest stream as `o` says.
    fn open(o: &SoakOptions) -> Result<Self> {
        let api = Api::load(&o.lib)?;
        log::info!("rendering phantom frames ({}², both views)", o.size);
        let frames = Frames::render(o)?;
        let mut eopts = api.engine_options()?;
        eopts.variant = SB_VARIANT_F32;
        let engine = Engine::open(&api, &o.bundle, Some(&eopts))?;
        let mut cfg = api.stream_config()?;
        cfg.policy = SB_POLICY_DROP_OLDEST;
        cfg.queue_capacity = o.queue;
        cfg.workers = o.workers;
        cfg.result_capacity = 1024;
        let stream = Stream::start(&engine, &cfg)?;
        drop(engine);
        Ok(Self { frames, stream })
    }

    /// The main and the burst producers on a thread of their own (they stop the stream with a
    /// drain when done), the consumer on this one.
    fn stream(
        &self,
        o: &SoakOptions,
        ledger: &Ledger,
        tally: &Mutex<Tally>,
        t0: Instant,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Polled> {
        let (stream, frames) = (&self.stream, &self.frames);
        let stop = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let producers = scope.spawn(|| {
                let main = Pusher {
                    stream,
                    ledger,
                    tally,
                    burst: false,
                };
                let burst = Pusher {
                    burst: true,
                    ..main
                };
                std::thread::scope(|s| {
                    s.spawn(|| bursts(&burst, frames, o, t0, &stop));
                    produce(&main, frames, o, t0, &stop);
                });
                stream.stop(SB_STOP_DRAIN)
            });
            let consumer = Consumer {
                stream,
                ledger,
                opts: o,
                stop: &stop,
                t0,
            };
            let polled = consumer.run(progress);
            if polled.is_err() {
                stop.store(true, Ordering::Relaxed);
            }
            let stopped = producers
                .join()
                .map_err(|_| SimError::Internal("a producer thread panicked".into()))?;
            let polled = polled?;
            stopped?;
            Ok(polled)
        })
    }
}

/// Write the report as pretty JSON.
fn write_report(report: &SoakReport, path: &Path) -> Result<()> {
    let text = serde_json::to_string_pretty(report).map_err(|source| SimError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    std::fs::write(path, text).map_err(|e| SimError::io(path, e))
}
