//! `synboost-sim soak`: a fault-injected soak of `libsynboost.so` through its C ABI.
//!
//! A producer thread pushes phantom frames (both apical views, rendered ahead) at a fixed rate
//! (80 fps by default, faster than one worker segments on two cores) with the faults of
//! [`faults`] injected; a second thread pushes bursts at random moments, so pushes also race.
//! The calling thread polls every result. At the end the run checks:
//!
//! - **accounting**: every accepted push has exactly one result (segmented, failed, dropped or
//!   discarded), no result is unknown or repeated, and the library's counters agree;
//! - **refusals**: every wrong description was refused with its status and nothing else was;
//! - **no failures**: every frame that was taken was segmented or dropped by the queue policy;
//! - **bounded latency**: the p99 of push-to-result is within what the queue allows
//!   (`(queue + workers + 1) × service time × 1.5 + 25 ms`), and no result took over a second;
//! - **flat memory**: resident memory after the warm-up grows by less than `--max-growth-mib`.
//!
//! The host side keeps only fixed-size records (one byte per sequence number, core's latency
//! histogram), so the resident memory measured is the library's. It writes `soak-report.json`
//! and `soak.png` (memory and latency over time).

pub mod faults;

use crate::live::abi::{AbiError, Api, Engine, FrameDesc, Poll, Stream};
use crate::live::curve::{FONT, font, save_rgb};
use crate::live::resident_kib;
use crate::live::source::{self, PhantomPlan, Source, SourceError};
use faults::{Corruption, Fault, FaultPlan, Invalid, MetaGap, Views};
use plotters::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use synboost::engine::SB_VARIANT_F32;
use synboost::result::{
    SB_OUTCOME_DISCARDED, SB_OUTCOME_DROPPED, SB_OUTCOME_FAILED, SB_OUTCOME_SEGMENTED,
};
use synboost::stream::{SB_POLICY_DROP_OLDEST, SB_STOP_DRAIN};
use synboost::types::{SB_NO_TIMESTAMP, SB_VIEW_2CH, SB_VIEW_4CH, SB_VIEW_UNKNOWN, sb_meta};
use synboost_core::stream::LatencyHistogram;
use synboost_phantom::PhantomConfig;

/// Errors of a soak run (a failed check is not an error: it is in the report).
#[derive(Debug, thiserror::Error)]
pub enum SoakError {
    /// A setting is out of range.
    #[error("{0}")]
    Settings(String),
    /// Loading or calling the library failed outside the injected faults.
    #[error(transparent)]
    Abi(#[from] AbiError),
    /// The phantom frames could not be rendered.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Writing an output failed.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// A thread panicked.
    #[error("{0}")]
    Internal(String),
}

type Result<T> = std::result::Result<T, SoakError>;

/// How a soak is run.
#[derive(Debug, Clone)]
pub struct SoakOptions {
    /// The library file.
    pub lib: PathBuf,
    /// The model bundle.
    pub bundle: PathBuf,
    /// Length, seconds.
    pub seconds: f64,
    /// Frames per second of the producer.
    pub fps: f64,
    /// Seed of the faults and the phantom.
    pub seed: u64,
    /// Phantom frame side, pixels.
    pub size: usize,
    /// Queue capacity of the stream.
    pub queue: u32,
    /// Worker threads of the stream.
    pub workers: u32,
    /// Output folder (created).
    pub out: PathBuf,
    /// Largest resident-memory growth after the warm-up that passes, MiB.
    pub max_growth_mib: f64,
    /// Show a progress bar.
    pub progress: bool,
    /// Set from elsewhere (Ctrl-C) to end early; the report is still written.
    pub interrupt: Option<Arc<AtomicBool>>,
}

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

/// What the producers did, shared between them.
#[derive(Debug, Default)]
struct Tally {
    push_calls: u64,
    accepted: u64,
    burst_accepted: u64,
    faults: BTreeMap<String, u64>,
    unexpected: Vec<String>,
    unexpected_count: u64,
    wrong: Vec<String>,
    wrong_count: u64,
}

impl Tally {
    fn fault(&mut self, name: &str) {
        *self.faults.entry(name.to_string()).or_insert(0) += 1;
    }
}

/// Per sequence number: 0 unseen, bit 0 accepted, bit 1 has a result, bit 2 repeated.
#[derive(Debug)]
struct Ledger {
    marks: Mutex<Vec<u8>>,
}

const ACCEPTED: u8 = 1;
const RESULT: u8 = 2;
const REPEATED: u8 = 4;

impl Ledger {
    fn with_capacity(n: usize) -> Self {
        Self {
            marks: Mutex::new(Vec::with_capacity(n)),
        }
    }

    /// Mark `seq`; returns the marks it had.
    fn mark(&self, seq: u64, bit: u8) -> u8 {
        let mut m = self.marks.lock().unwrap_or_else(PoisonError::into_inner);
        let i = usize::try_from(seq).unwrap_or(usize::MAX);
        if i >= m.len() {
            if i > m.len() + (1 << 24) {
                return u8::MAX;
            }
            m.resize(i + 1, 0);
        }
        let before = m[i];
        m[i] |= if before & bit != 0 && bit == RESULT {
            REPEATED
        } else {
            bit
        };
        before
    }
}

/// The frames a soak pushes.
struct Frames {
    main: Source,
    resized: Source,
}

impl Frames {
    fn render(o: &SoakOptions) -> Result<Self> {
        let config = PhantomConfig {
            width: o.size,
            height: o.size,
            fps: o.fps,
            seed: o.seed,
            ..PhantomConfig::default()
        };
        let main = source::phantom(
            config.clone(),
            &PhantomPlan {
                cycles: 2.0,
                threads: 2,
                ecg: false,
                biplane: true,
            },
        )?;
        let resized = source::phantom(
            PhantomConfig {
                width: (o.size * 5 / 4).max(16),
                height: (o.size * 3 / 4).max(16),
                seed: o.seed + 1,
                ..config
            },
            &PhantomPlan {
                cycles: 0.5,
                threads: 2,
                ecg: false,
                biplane: false,
            },
        )?;
        Ok(Self { main, resized })
    }
}

/// The metadata a frame is pushed with during a gap.
fn gapped(meta: &sb_meta, gap: MetaGap) -> Option<sb_meta> {
    match gap {
        MetaGap::None => Some(*meta),
        MetaGap::Null => None,
        MetaGap::NoView => Some(sb_meta {
            view: SB_VIEW_UNKNOWN,
            ..*meta
        }),
        MetaGap::NoCalibration => Some(sb_meta {
            pixel_spacing_x_mm: 0.0,
            pixel_spacing_y_mm: 0.0,
            fps: 0.0,
            ..*meta
        }),
    }
}

/// The next frame index of the main source showing `views`.
fn next_index(src: &Source, cursor: &mut usize, views: Views) -> usize {
    let n = src.frames.len();
    for _ in 0..n {
        let i = *cursor % n;
        *cursor += 1;
        let v = src.frames[i].meta.view;
        let ok = match views {
            Views::Both => true,
            Views::FourChamber => v == SB_VIEW_4CH,
            Views::TwoChamber => v == SB_VIEW_2CH,
        };
        if ok {
            return i;
        }
    }
    *cursor % n
}

/// Pushes with bookkeeping.
struct Pusher<'a> {
    stream: &'a Stream,
    ledger: &'a Ledger,
    tally: &'a Mutex<Tally>,
    burst: bool,
}

impl Pusher<'_> {
    fn tally(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Push a frame that must be taken.
    fn push(&self, pixels: &[u8], desc: &FrameDesc, meta: Option<&sb_meta>) {
        let r = self.stream.push_described(pixels, desc, meta);
        let mut t = self.tally();
        t.push_calls += 1;
        match r {
            Ok(seq) => {
                t.accepted += 1;
                if self.burst {
                    t.burst_accepted += 1;
                }
                drop(t);
                if self.ledger.mark(seq, ACCEPTED) & ACCEPTED != 0 {
                    let mut t = self.tally();
                    t.unexpected_count += 1;
                    if t.unexpected.len() < 5 {
                        t.unexpected
                            .push(format!("sequence number {seq} given twice"));
                    }
                }
            }
            Err(e) => {
                t.unexpected_count += 1;
                if t.unexpected.len() < 5 {
                    t.unexpected.push(e.to_string());
                }
            }
        }
    }

    /// Push a wrong description that must be refused with `kind`'s status.
    fn push_invalid(&self, pixels: &[u8], desc: &FrameDesc, meta: &sb_meta, kind: Invalid) {
        let (mut desc, mut meta) = (*desc, *meta);
        match kind {
            Invalid::StrideTooSmall => desc.stride = (desc.width as usize).saturating_sub(1),
            Invalid::ShortData => desc.data_size = desc.data_size.saturating_sub(1),
            Invalid::ZeroWidth => desc.width = 0,
            Invalid::HugeWidth => desc.width = 16_385,
            Invalid::BadFormat => desc.format = 9,
            Invalid::BadStructSize => desc.struct_size = 8,
            Invalid::BadView => meta.view = 7,
            Invalid::NanSpacing => meta.pixel_spacing_x_mm = f64::NAN,
        }
        let r = self.stream.push_described(pixels, &desc, Some(&meta));
        let mut t = self.tally();
        t.push_calls += 1;
        t.fault(&format!("invalid:{}", kind.name()));
        let wrong = match r {
            Ok(seq) => {
                // Taken: account for it so that the ledger stays exact, then fail the check.
                t.accepted += 1;
                self.ledger.mark(seq, ACCEPTED);
                Some(format!("{}: accepted as frame {seq}", kind.name()))
            }
            Err(e) if e.status() == Some(kind.expected()) => None,
            Err(e) => Some(format!("{}: {e}", kind.name())),
        };
        if let Some(w) = wrong {
            t.wrong_count += 1;
            if t.wrong.len() < 5 {
                t.wrong.push(w);
            }
        }
    }
}

/// Corrupt a copy of `pixels` (`other` is another frame of the same size, for a torn one).
fn corrupt(plan: &mut FaultPlan, pixels: &[u8], other: &[u8], how: Corruption) -> Vec<u8> {
    let mut out = pixels.to_vec();
    match how {
        Corruption::Noise => {
            let n = out.len() / 3;
            let start = plan.pick(out.len() - n + 1);
            plan.fill(&mut out[start..start + n]);
        }
        Corruption::Blank => out.fill(0),
        Corruption::Torn => {
            let half = out.len() / 2;
            out[half..].copy_from_slice(&other[half..]);
        }
    }
    out
}

/// The main producer: one tick every 1/fps until `deadline`.
fn produce(p: &Pusher<'_>, frames: &Frames, o: &SoakOptions, t0: Instant, stop: &AtomicBool) {
    let mut plan = FaultPlan::new(o.seed, o.fps);
    let src = &frames.main;
    let mut cursor = 0usize;
    let mut resized_cursor = 0usize;
    let total = (o.seconds * o.fps).round() as u64;
    let period_ns = 1e9 / o.fps;
    for k in 0..total {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let due = t0 + Duration::from_secs_f64(k as f64 / o.fps);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        let views = plan.next_views();
        let gap = plan.next_meta();
        let fault = plan.next_fault();
        let ts = (k as f64 * period_ns) as i64;
        let i = next_index(src, &mut cursor, views);
        let f = &src.frames[i];
        let img = &f.image;
        let desc = FrameDesc::gray8(img.width(), img.height(), ts);
        let meta = gapped(&f.meta, gap);
        if fault != Fault::None {
            p.tally().fault(fault.name());
        }
        if gap != MetaGap::None {
            p.tally().fault("metadata_gap_frames");
        }
        match fault {
            Fault::None => p.push(img.data(), &desc, meta.as_ref()),
            Fault::Drop => {}
            Fault::Duplicate => {
                p.push(img.data(), &desc, meta.as_ref());
                p.push(img.data(), &desc, meta.as_ref());
            }
            Fault::Corrupt(how) => {
                let other = &src.frames[(i + src.frames.len() / 2) % src.frames.len()].image;
                let bad = corrupt(&mut plan, img.data(), other.data(), how);
                p.push(&bad, &desc, meta.as_ref());
            }
            Fault::Resize => {
                let r = &frames.resized.frames[resized_cursor % frames.resized.frames.len()];
                resized_cursor += 1;
                let d = FrameDesc::gray8(r.image.width(), r.image.height(), ts);
                p.push(r.image.data(), &d, gapped(&r.meta, gap).as_ref());
            }
            Fault::Reorder => {
                let j = next_index(src, &mut cursor, views);
                let g = &src.frames[j];
                let later = FrameDesc {
                    timestamp_ns: ts + (period_ns / 2.0) as i64,
                    ..desc
                };
                p.push(g.image.data(), &later, gapped(&g.meta, gap).as_ref());
                p.push(img.data(), &desc, meta.as_ref());
            }
            Fault::Invalid(kind) => {
                p.push_invalid(img.data(), &desc, &f.meta, kind);
                p.push(img.data(), &desc, meta.as_ref());
            }
        }
    }
}

/// The burst producer: every 1–4 s, 8–24 frames back to back (racing the main producer).
fn bursts(p: &Pusher<'_>, frames: &Frames, o: &SoakOptions, t0: Instant, stop: &AtomicBool) {
    let mut plan = FaultPlan::new(o.seed ^ 0xb0b5, o.fps);
    let src = &frames.main;
    let end = t0 + Duration::from_secs_f64(o.seconds);
    let mut cursor = src.frames.len() / 3;
    loop {
        let (wait, n) = plan.next_burst();
        let at = Instant::now() + Duration::from_secs_f64(wait);
        while Instant::now() < at {
            if stop.load(Ordering::Relaxed) || Instant::now() >= end {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        p.tally().fault("burst");
        for _ in 0..n {
            let i = next_index(src, &mut cursor, Views::Both);
            let f = &src.frames[i];
            let desc = FrameDesc::gray8(f.image.width(), f.image.height(), SB_NO_TIMESTAMP);
            p.push(f.image.data(), &desc, Some(&f.meta));
        }
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
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

/// Run a soak and write its report and chart into `o.out`.
pub fn run(o: &SoakOptions) -> Result<SoakReport> {
    if !(o.seconds > 0.0 && o.seconds <= 86_400.0 && o.fps > 0.0 && o.fps <= 1000.0) {
        return Err(SoakError::Settings(format!(
            "--seconds {} / --fps {}: give 0 < seconds ≤ 86400 and 0 < fps ≤ 1000",
            o.seconds, o.fps
        )));
    }
    std::fs::create_dir_all(&o.out).map_err(|e| SoakError::Io {
        path: o.out.display().to_string(),
        message: e.to_string(),
    })?;
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

    let expected = (o.seconds * o.fps * 1.3) as usize + (o.seconds as usize + 1) * 24;
    let ledger = Ledger::with_capacity(expected);
    let tally = Mutex::new(Tally::default());
    let stop = AtomicBool::new(false);
    let mut hist = LatencyHistogram::new();
    let mut outcomes = Outcomes::default();
    let mut timeline: Vec<Second> = Vec::with_capacity(o.seconds as usize + 30);
    let mut unknown = 0u64;
    let bar = if o.progress {
        indicatif::ProgressBar::new(o.seconds.ceil() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("soak {bar:30} {pos}/{len} s {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let t0 = Instant::now();
    let consumed = std::thread::scope(|scope| -> Result<()> {
        let producers = scope.spawn(|| {
            let main = Pusher {
                stream: &stream,
                ledger: &ledger,
                tally: &tally,
                burst: false,
            };
            let burst = Pusher {
                burst: true,
                ..main
            };
            std::thread::scope(|s| {
                s.spawn(|| bursts(&burst, &frames, o, t0, &stop));
                produce(&main, &frames, o, t0, &stop);
            });
            stream.stop(SB_STOP_DRAIN)
        });
        let mut second = Second {
            t_s: 0.0,
            rss_mib: 0.0,
            results: 0,
            latency_max_ms: 0.0,
        };
        let mut next_tick = t0 + Duration::from_secs(1);
        let result = (|| -> Result<()> {
            loop {
                if o.interrupt
                    .as_ref()
                    .is_some_and(|i| i.load(Ordering::Relaxed))
                {
                    stop.store(true, Ordering::Relaxed);
                }
                let now = Instant::now();
                if now >= next_tick {
                    second.t_s = (now - t0).as_secs_f64();
                    second.rss_mib = resident_kib().map_or(0.0, mib);
                    timeline.push(second);
                    bar.set_position(second.t_s as u64);
                    bar.set_message(format!(
                        "{:.1} MiB, {} results/s, max {:.1} ms",
                        second.rss_mib, second.results, second.latency_max_ms
                    ));
                    second.results = 0;
                    second.latency_max_ms = 0.0;
                    next_tick += Duration::from_secs(1);
                }
                match stream.poll(50)? {
                    Poll::End => return Ok(()),
                    Poll::Timeout => {}
                    Poll::Result(r) => {
                        let info = r.info()?;
                        second.results += 1;
                        let before = ledger.mark(info.seq, RESULT);
                        if before & ACCEPTED == 0 {
                            unknown += 1;
                        }
                        match info.outcome {
                            SB_OUTCOME_SEGMENTED => {
                                outcomes.segmented += 1;
                                hist.record(Duration::from_secs_f64(info.total_ms.max(0.0) / 1e3));
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
                            _ => unknown += 1,
                        }
                    }
                }
            }
        })();
        if result.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        let stopped = producers
            .join()
            .map_err(|_| SoakError::Internal("a producer thread panicked".into()))?;
        result?;
        stopped?;
        Ok(())
    });
    bar.finish_and_clear();
    consumed?;
    let wall_s = t0.elapsed().as_secs_f64();
    let stats = stream.stats()?;
    drop(stream);
    let tally = tally.into_inner().unwrap_or_else(PoisonError::into_inner);
    let marks = ledger
        .marks
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    let missing = marks
        .iter()
        .filter(|&&m| m & ACCEPTED != 0 && m & RESULT == 0)
        .count() as u64;
    let repeated = marks.iter().filter(|&&m| m & REPEATED != 0).count() as u64;

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (p50, p99, max) = (
        ms(hist.quantile(0.5)),
        ms(hist.quantile(0.99)),
        ms(hist.max()),
    );
    let service_ms = stats.preprocess_mean_ms + stats.model_mean_ms + stats.postprocess_mean_ms;
    let bound = f64::from(o.queue + o.workers + 1) * service_ms * 1.5 + 25.0;
    let warm_s = (o.seconds * 0.15).max(10.0).min(o.seconds * 0.5);
    let after: Vec<(f64, f64)> = timeline
        .iter()
        .filter(|s| s.t_s >= warm_s)
        .map(|s| (s.t_s, s.rss_mib))
        .collect();
    let tenth = (after.len() / 10).max(1);
    let mean = |p: &[(f64, f64)]| p.iter().map(|x| x.1).sum::<f64>() / p.len().max(1) as f64;
    let (growth, rss_warm, rss_end) = if after.len() >= 2 {
        (
            mean(&after[after.len() - tenth..]) - mean(&after[..tenth]),
            after[0].1,
            after[after.len() - 1].1,
        )
    } else {
        (0.0, 0.0, 0.0)
    };
    let slope_per_min = slope(&after) * 60.0;
    let interrupted = o
        .interrupt
        .as_ref()
        .is_some_and(|i| i.load(Ordering::Relaxed));

    let results = outcomes.segmented + outcomes.failed + outcomes.dropped + outcomes.discarded;
    let mut checks = vec![
        Check {
            name: "accounting: one result per accepted push".into(),
            passed: missing == 0 && repeated == 0 && unknown == 0 && results == tally.accepted,
            detail: format!(
                "{} accepted, {results} results ({} segmented, {} dropped, {} failed, {} discarded), {missing} missing, {repeated} repeated, {unknown} unknown",
                tally.accepted,
                outcomes.segmented,
                outcomes.dropped,
                outcomes.failed,
                outcomes.discarded
            ),
        },
        Check {
            name: "accounting: the library's counters agree".into(),
            passed: stats.pushed == tally.accepted
                && stats.processed + stats.failed + stats.dropped + stats.discarded == stats.pushed
                && stats.processed == outcomes.segmented
                && stats.dropped == outcomes.dropped
                && stats.in_flight == 0
                && stats.unread_dropped == 0,
            detail: format!(
                "pushed {}, processed {}, dropped {}, failed {}, discarded {}, unread dropped {}, in flight {}",
                stats.pushed,
                stats.processed,
                stats.dropped,
                stats.failed,
                stats.discarded,
                stats.unread_dropped,
                stats.in_flight
            ),
        },
        Check {
            name: "refusals: every wrong description, with its status, and nothing else".into(),
            passed: tally.wrong_count == 0 && tally.unexpected_count == 0,
            detail: format!(
                "{} wrong descriptions injected; {} refused wrongly; {} valid pushes refused",
                tally
                    .faults
                    .iter()
                    .filter(|(k, _)| k.starts_with("invalid:"))
                    .map(|(_, v)| v)
                    .sum::<u64>(),
                tally.wrong_count,
                tally.unexpected_count
            ),
        },
        Check {
            name: "no frame failed".into(),
            passed: outcomes.failed == 0,
            detail: format!("{} failed", outcomes.failed),
        },
        Check {
            name: "frames were segmented".into(),
            passed: outcomes.segmented * 4 >= tally.accepted && outcomes.segmented > 0,
            detail: format!(
                "{} of {} accepted ({:.0} %)",
                outcomes.segmented,
                tally.accepted,
                100.0 * outcomes.segmented as f64 / tally.accepted.max(1) as f64
            ),
        },
        Check {
            name: "bounded latency".into(),
            passed: p99 <= bound && max <= 1000.0,
            detail: format!(
                "p99 {:.1} ms ≤ {bound:.1} ms ((queue {} + workers {} + 1) × service {service_ms:.2} ms × 1.5 + 25); max {:.1} ms ≤ 1000",
                p99, o.queue, o.workers, max
            ),
        },
        Check {
            name: "flat memory".into(),
            passed: after.len() >= 2 && growth <= o.max_growth_mib,
            detail: format!(
                "after {warm_s:.0} s warm-up: {rss_warm:.1} → {rss_end:.1} MiB, growth {growth:+.2} MiB ≤ {:.1} (slope {slope_per_min:+.3} MiB/min, {} samples)",
                o.max_growth_mib,
                after.len()
            ),
        },
    ];
    if interrupted {
        checks.push(Check {
            name: "ran to the end".into(),
            passed: false,
            detail: "interrupted".into(),
        });
    }
    let passed = checks.iter().all(|c| c.passed);
    let stat = |k: &str, v: f64| (k.to_string(), v);
    let report = SoakReport {
        library: o.lib.display().to_string(),
        bundle: o.bundle.display().to_string(),
        seconds: o.seconds,
        fps: o.fps,
        seed: o.seed,
        queue: o.queue,
        workers: o.workers,
        interrupted,
        wall_s,
        push_calls: tally.push_calls,
        accepted: tally.accepted,
        burst_accepted: tally.burst_accepted,
        faults: tally.faults,
        unexpected_refusals: tally.unexpected,
        wrong_refusals: tally.wrong,
        outcomes,
        missing_results: missing,
        repeated_results: repeated,
        unknown_results: unknown,
        stats: [
            stat("pushed", stats.pushed as f64),
            stat("rejected", stats.rejected as f64),
            stat("processed", stats.processed as f64),
            stat("failed", stats.failed as f64),
            stat("dropped", stats.dropped as f64),
            stat("discarded", stats.discarded as f64),
            stat("unread_dropped", stats.unread_dropped as f64),
            stat("in_flight", stats.in_flight as f64),
            stat("latency_p50_ms", stats.latency_p50_ms),
            stat("latency_p99_ms", stats.latency_p99_ms),
            stat("latency_max_ms", stats.latency_max_ms),
        ]
        .into_iter()
        .collect(),
        latency_p50_ms: p50,
        latency_p99_ms: p99,
        latency_max_ms: max,
        latency_bound_ms: bound,
        service_ms,
        rss_warm_mib: rss_warm,
        rss_end_mib: rss_end,
        rss_growth_mib: growth,
        rss_slope_mib_per_min: slope_per_min,
        timeline,
        checks,
        passed,
    };
    let json = o.out.join("soak-report.json");
    let text = serde_json::to_string_pretty(&report).map_err(|e| SoakError::Io {
        path: json.display().to_string(),
        message: e.to_string(),
    })?;
    std::fs::write(&json, text).map_err(|e| SoakError::Io {
        path: json.display().to_string(),
        message: e.to_string(),
    })?;
    let png = o.out.join("soak.png");
    if let Err(e) = chart(&report, warm_s, &png) {
        log::warn!("{}: {e}", png.display());
    }
    Ok(report)
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

/// `soak.png`: resident memory and the largest latency of each second.
fn chart(r: &SoakReport, warm_s: f64, path: &Path) -> std::result::Result<(), String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ledger_finds_missing_repeated_and_unknown_results() {
        let l = Ledger::with_capacity(4);
        assert_eq!(l.mark(0, ACCEPTED), 0);
        assert_eq!(l.mark(2, ACCEPTED), 0);
        assert_eq!(l.mark(0, RESULT), ACCEPTED);
        assert_eq!(l.mark(0, RESULT) & RESULT, RESULT);
        assert_eq!(l.mark(1, RESULT) & ACCEPTED, 0);
        let m = l.marks.into_inner().unwrap();
        assert_eq!(m[0] & REPEATED, REPEATED);
        assert_eq!(m[2] & RESULT, 0);
    }

    #[test]
    fn least_squares_slope() {
        assert!((slope(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]) - 2.0).abs() < 1e-12);
    }
}
