//! `synboost-sim live`: a simulated scanner streaming frames in real time through
//! `libsynboost.so`, loaded with `dlopen` and driven through its C ABI only ([`abi`]).
//!
//! The frames are prepared before streaming ([`source`]: phantom frames rendered ahead with
//! their truth, or a DICOM cine), so that preparing them never competes with inference. A
//! producer thread pushes them at absolute deadlines (`start + k / fps`); the calling thread
//! polls the results, scores them (dice against the phantom truth, mask areas), shows progress
//! and keeps a sample for the overlay animation ([`anim`]), which is drawn and encoded only
//! after the stream has drained. The run ends with a JSON report ([`report`]).

pub mod abi;
pub mod anim;
pub mod clinical;
pub mod curve;
pub mod report;
pub mod source;

use abi::{AbiError, Api, Engine, Poll, Stream};
use anim::{Kept, Sampler};
use report::{
    Areas, Counts, LibraryInfo, LiveReport, Memory, ModelInfo, Outputs, QueueWait, Settings,
    Stages, Targets, Timing,
};
use source::Source;
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use synboost::engine::{SB_VARIANT_AUTO, SB_VARIANT_F32, SB_VARIANT_INT8};
use synboost::result::{
    SB_OUTCOME_DISCARDED, SB_OUTCOME_DROPPED, SB_OUTCOME_FAILED, SB_OUTCOME_SEGMENTED,
};
use synboost::status::SB_ERR_QUEUE_FULL;
use synboost::stream::{
    SB_POLICY_BLOCK, SB_POLICY_DROP_OLDEST, SB_POLICY_REJECT, SB_STOP_DISCARD, SB_STOP_DRAIN,
};
use synboost::types::{
    SB_NO_TIMESTAMP, SB_STRUCTURE_LA_CAVITY, SB_STRUCTURE_LV_CAVITY, SB_STRUCTURE_MYOCARDIUM,
};
use synboost_core::raster::Mask;
use synboost_data::metrics::{Summary, overlap};

/// The library's file name.
pub const LIB_NAME: &str = "libsynboost.so";
/// Where the default model bundle lives, relative to the repository root.
pub const DEFAULT_BUNDLE: &str = "models/default";
/// The frame rate of the real-time targets.
pub const TARGET_FPS: f64 = 50.0;
/// The p99 latency limit of the real-time targets, ms.
pub const TARGET_P99_MS: f64 = 20.0;

/// Errors of a live run.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The library was not found.
    #[error("{0}")]
    NoLibrary(String),
    /// The model bundle was not found.
    #[error("{0}")]
    NoBundle(String),
    /// A setting is out of range.
    #[error("{0}")]
    Settings(String),
    /// Loading or calling the library failed.
    #[error(transparent)]
    Abi(#[from] AbiError),
    /// The frames could not be prepared.
    #[error(transparent)]
    Source(#[from] source::SourceError),
    /// The animation could not be written.
    #[error(transparent)]
    Anim(#[from] anim::AnimError),
    /// Writing an output failed.
    #[error("{path}: {message}")]
    Io {
        /// The file or folder.
        path: String,
        /// Why.
        message: String,
    },
    /// A thread panicked or the producer lost track of a frame.
    #[error("{0}")]
    Internal(String),
}

type Result<T> = std::result::Result<T, LiveError>;

/// What a full queue does with a new frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Policy {
    /// Drop the oldest queued frame (live scanning).
    #[default]
    DropOldest,
    /// Refuse the new frame.
    Reject,
    /// Wait for room.
    Block,
}

impl Policy {
    fn c_value(self) -> u32 {
        match self {
            Policy::DropOldest => SB_POLICY_DROP_OLDEST,
            Policy::Reject => SB_POLICY_REJECT,
            Policy::Block => SB_POLICY_BLOCK,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Policy::DropOldest => "drop-oldest",
            Policy::Reject => "reject",
            Policy::Block => "block",
        }
    }
}

/// Which image model the engine runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Variant {
    /// The faster of float32 and int8 (timed at load).
    #[default]
    Auto,
    /// Float32.
    F32,
    /// Int8.
    Int8,
}

impl Variant {
    fn c_value(self) -> u32 {
        match self {
            Variant::Auto => SB_VARIANT_AUTO,
            Variant::F32 => SB_VARIANT_F32,
            Variant::Int8 => SB_VARIANT_INT8,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Variant::Auto => "auto",
            Variant::F32 => "f32",
            Variant::Int8 => "int8",
        }
    }
}

/// How a live run is set up (the frames are prepared by the caller: [`source`]).
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// The library file ([`locate_library`]).
    pub lib: PathBuf,
    /// The model bundle ([`locate_bundle`]).
    pub bundle: PathBuf,
    /// Length of the stream, seconds.
    pub seconds: f64,
    /// Worker threads.
    pub workers: u32,
    /// Threads of each worker's matrix kernels (`sb_engine_options.threads`).
    pub threads: u32,
    /// Queue capacity.
    pub queue: u32,
    /// Queue policy.
    pub policy: Policy,
    /// Image-model variant.
    pub variant: Variant,
    /// Output folder (created).
    pub out: PathBuf,
    /// Frames per second of the animation (sampling and playback).
    pub gif_fps: f64,
    /// Most frames in the animation (the latest are kept).
    pub gif_max_frames: usize,
    /// Largest side of the animation, pixels (frames are downscaled by an integer factor).
    pub gif_max_side: usize,
    /// Draw the phantom's truth outlines (dimmed) under the predictions.
    pub gif_truth: bool,
    /// Send every Nth frame twice, with the same timestamp (a scanner's retry); 0: never.
    pub resend_every: u64,
    /// Show a progress bar.
    pub progress: bool,
    /// Set from elsewhere (the binary's Ctrl-C handler) to end the stream early: pushing stops,
    /// the queued frames are drained, and the report (marked `interrupted`) is written.
    pub interrupt: Option<Arc<AtomicBool>>,
}

/// The library to load: `explicit` (from `--lib` or `SYNBOOST_LIB`) if given, else
/// `libsynboost.so` next to the running executable (or in its `deps/` folder).
pub fn locate_library(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        if p.is_file() {
            return Ok(p.to_path_buf());
        }
        return Err(LiveError::NoLibrary(format!(
            "{}: no such file (given with --lib or SYNBOOST_LIB)",
            p.display()
        )));
    }
    let exe = std::env::current_exe().map_err(|e| {
        LiveError::NoLibrary(format!(
            "{LIB_NAME}: cannot locate this executable ({e}); give --lib PATH or set SYNBOOST_LIB"
        ))
    })?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    // Beside the executable (cargo puts it there when `synboost` is built as a package of its
    // own) or in deps/ (where it stays when only built as this crate's dependency): the newer.
    let p = dir.join(LIB_NAME);
    if let Some(found) = newest(&[p.clone(), dir.join("deps").join(LIB_NAME)]) {
        return Ok(found);
    }
    Err(LiveError::NoLibrary(format!(
        "{LIB_NAME} not found: not given with --lib or SYNBOOST_LIB, and not next to this executable \
         ({}). Build it with `cargo build --release -p synboost` (it lands beside \
         target/release/synboost-sim), or run scripts/live.sh",
        p.display()
    )))
}

/// The most recently modified of the files that exist.
fn newest(paths: &[PathBuf]) -> Option<PathBuf> {
    paths
        .iter()
        .filter(|p| p.is_file())
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .cloned()
}

/// The model bundle: `explicit` if given, else `models/default` in the current folder or one
/// of its parents, else `../../models/default` from the executable (`target/<profile>/`).
pub fn locate_bundle(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        if p.exists() {
            return Ok(p.to_path_buf());
        }
        return Err(LiveError::NoBundle(format!(
            "model bundle {}: no such file or folder (given with --bundle or SYNBOOST_BUNDLE)",
            p.display()
        )));
    }
    let mut tried = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            tried.push(dir.join(DEFAULT_BUNDLE));
        }
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        tried.push(dir.join("..").join("..").join(DEFAULT_BUNDLE));
    }
    if let Some(p) = tried.iter().find(|p| p.join("manifest.json").is_file()) {
        return Ok(p.clone());
    }
    let shown: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
    Err(LiveError::NoBundle(format!(
        "no default model bundle: none of {} has a manifest.json. Give --bundle DIR (a folder or \
         .tar with manifest.json), or write a random-weight bundle for testing with \
         `cargo run -p synboost-sim --example random_bundle -- models/default`",
        shown.join(", ")
    )))
}

/// Resident memory of this process, KiB (`VmRSS` of `/proc/self/status`).
pub fn resident_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Index (LV cavity, myocardium, LA) of a `SB_STRUCTURE_*` bit.
fn structure_index(bit: u32) -> Option<usize> {
    match bit {
        SB_STRUCTURE_LV_CAVITY => Some(0),
        SB_STRUCTURE_MYOCARDIUM => Some(1),
        SB_STRUCTURE_LA_CAVITY => Some(2),
        _ => None,
    }
}

/// Names in index order.
const NAMES: [&str; 3] = ["lv_cavity", "myocardium", "la_cavity"];

/// What the producer did.
#[derive(Debug, Default)]
struct Produced {
    pushed: u64,
    rejected: u64,
    late: u64,
    max_late: Duration,
    max_call: Duration,
    /// When the first and the last accepted push returned.
    span: Option<(Instant, Instant)>,
}

impl Produced {
    /// Accepted pushes per second between the first and the last.
    fn rate(&self) -> f64 {
        match self.span {
            Some((a, b)) if self.pushed > 1 && b > a => {
                (self.pushed - 1) as f64 / (b - a).as_secs_f64()
            }
            _ => 0.0,
        }
    }
}

/// Push `total` frames at `fps` from `t0`, then stop the stream (draining when all went well).
fn produce(
    stream: &Stream,
    src: &Source,
    total: u64,
    t0: Instant,
    tx: mpsc::Sender<(u64, usize, f64)>,
    abort: &AtomicBool,
    opts: &LiveOptions,
) -> std::result::Result<Produced, AbiError> {
    let (interrupt, resend_every) = (opts.interrupt.as_deref(), opts.resend_every);
    let mut p = Produced::default();
    let n = src.frames.len();
    let run = (|| {
        for k in 0..total {
            if abort.load(Ordering::Relaxed) || interrupt.is_some_and(|i| i.load(Ordering::Relaxed))
            {
                break;
            }
            let due = t0 + Duration::from_secs_f64(k as f64 / src.fps);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            let late = Instant::now().saturating_duration_since(due);
            if late > Duration::from_millis(5) {
                p.late += 1;
            }
            p.max_late = p.max_late.max(late);
            let idx = (k % n as u64) as usize;
            let f = &src.frames[idx];
            let img = &f.image;
            let ts = (k as f64 * 1e9 / src.fps) as i64;
            let sends = if resend_every > 0 && k % resend_every == resend_every - 1 {
                2
            } else {
                1
            };
            for _ in 0..sends {
                let call = Instant::now();
                let r = stream.push_gray8(
                    img.data(),
                    (img.width(), img.height(), img.width()),
                    Some(ts),
                    &f.meta,
                );
                p.max_call = p.max_call.max(call.elapsed());
                match r {
                    Ok(seq) => {
                        p.pushed += 1;
                        let now = Instant::now();
                        p.span = Some((p.span.map_or(now, |s| s.0), now));
                        // The consumer may have gone (it failed); the stream stops below.
                        let _ = tx.send((seq, idx, ts as f64 * 1e-9));
                    }
                    Err(e) if e.status() == Some(SB_ERR_QUEUE_FULL) => p.rejected += 1,
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    })();
    let mode = if run.is_ok() && !abort.load(Ordering::Relaxed) {
        SB_STOP_DRAIN
    } else {
        SB_STOP_DISCARD
    };
    let stopped = stream.stop(mode);
    run?;
    stopped?;
    Ok(p)
}

/// Per-structure accumulators of the consumer.
#[derive(Debug, Default)]
struct Scores {
    dice: [Vec<f64>; 3],
    area_px: [Vec<f64>; 3],
    area_mm2: [Vec<f64>; 3],
    confidence: [Vec<f64>; 3],
    empty: [u64; 3],
    seen: [bool; 3],
    dice_sum: f64,
    dice_n: u64,
}

/// What the consumer polled.
#[derive(Debug, Default)]
struct Consumed {
    polled: u64,
    segmented: u64,
    failed: u64,
    dropped: u64,
    discarded: u64,
    first_errors: Vec<String>,
    scores: Scores,
    last_result: Option<Instant>,
    /// Measurements and cycles.
    clinical: clinical::ClinicalLog,
    /// Resident memory after the warm-up ([`Memory::WARM_UP_S`]).
    rss_warm: Option<u64>,
}

/// Finds the source frame of each result (results come in sequence order; the producer sends
/// `(seq, frame)` right after each push).
struct SeqMap {
    rx: mpsc::Receiver<(u64, usize, f64)>,
    pending: VecDeque<(u64, usize, f64)>,
    /// Every pushed frame seen so far: `(seq, source frame, time s)`.
    all: Vec<(u64, usize, f64)>,
}

impl SeqMap {
    fn frame_of(&mut self, seq: u64) -> Option<usize> {
        loop {
            while let Some(&(s, i, _)) = self.pending.front() {
                if s < seq {
                    self.pending.pop_front();
                } else if s == seq {
                    self.pending.pop_front();
                    return Some(i);
                } else {
                    return None;
                }
            }
            match self.rx.recv_timeout(Duration::from_secs(2)) {
                Ok(x) => {
                    self.all.push(x);
                    self.pending.push_back(x);
                }
                Err(_) => return None,
            }
        }
    }

    /// Every pushed frame, after the stream has ended.
    fn into_all(mut self) -> Vec<(u64, usize, f64)> {
        while let Ok(x) = self.rx.try_recv() {
            self.all.push(x);
        }
        self.all
    }
}

/// Poll results until the stream ends.
#[allow(clippy::too_many_arguments)]
fn consume(
    stream: &Stream,
    src: &Source,
    seqs: &mut SeqMap,
    sampler: &mut Sampler,
    gif_factor: usize,
    bar: &indicatif::ProgressBar,
    t0: Instant,
) -> Result<Consumed> {
    let mut c = Consumed::default();
    let mut last_ui = Instant::now();
    loop {
        match stream.poll(100)? {
            Poll::End => break,
            Poll::Timeout => {}
            Poll::Result(r) => {
                c.polled += 1;
                c.last_result = Some(Instant::now());
                let info = r.info()?;
                match info.outcome {
                    SB_OUTCOME_SEGMENTED => {
                        c.segmented += 1;
                        let frame = seqs.frame_of(info.seq).ok_or_else(|| {
                            LiveError::Internal(format!(
                                "result {} matches no pushed frame",
                                info.seq
                            ))
                        })?;
                        let f = &src.frames[frame];
                        let t_s = if info.timestamp_ns == SB_NO_TIMESTAMP {
                            info.seq as f64 / src.fps
                        } else {
                            info.timestamp_ns as f64 * 1e-9
                        };
                        let want = sampler.wants(t_s);
                        let mut kept: [Option<anim::PackedMask>; 3] = [None, None, None];
                        for i in 0..info.structure_count {
                            let s = r.structure(i)?;
                            let Some(k) = structure_index(s.bit) else {
                                continue;
                            };
                            let sc = &mut c.scores;
                            sc.seen[k] = true;
                            sc.area_px[k].push(s.area_px as f64);
                            if let Some(a) = s.area_mm2 {
                                sc.area_mm2[k].push(a);
                            }
                            if s.area_px == 0 {
                                sc.empty[k] += 1;
                            }
                            sc.confidence[k].push(s.confidence);
                            if let Some(truth) = &f.truth {
                                let pred = Mask::new(s.width, s.height, s.mask.to_vec())
                                    .map_err(|e| LiveError::Internal(format!("mask: {e}")))?;
                                let (d, _) = overlap(&pred, &truth[k])
                                    .map_err(|e| LiveError::Internal(format!("dice: {e}")))?;
                                sc.dice[k].push(d);
                                sc.dice_sum += d;
                                sc.dice_n += 1;
                            }
                            if want {
                                kept[k] = Some(anim::PackedMask::pack(&anim::downscale_mask(
                                    s.mask,
                                    (s.width, s.height),
                                    gif_factor,
                                )?));
                            }
                        }
                        if let Some(m) = r.measurements()? {
                            c.clinical.frames.push(clinical::FrameRow {
                                seq: info.seq,
                                time_s: t_s,
                                frame,
                                view: f.meta.view,
                                m,
                            });
                        }
                        if let Some(cy) = r.cycle()? {
                            log::info!(
                                "cycle {} ({}): ED frame {} ES frame {}, EF {:.1} % (Simpson {:.1} %{}), {} bpm",
                                cy.index,
                                if cy.view == synboost::types::SB_VIEW_2CH {
                                    "2CH"
                                } else {
                                    "4CH"
                                },
                                cy.ed_seq,
                                cy.es_seq,
                                cy.ef_percent,
                                cy.simpson_ef_percent,
                                if cy.has_biplane != 0 {
                                    format!(", biplane {:.1} %", cy.biplane_ef_percent)
                                } else {
                                    String::new()
                                },
                                if cy.heart_rate_bpm > 0.0 {
                                    format!("{:.0}", cy.heart_rate_bpm)
                                } else {
                                    "?".into()
                                }
                            );
                            c.clinical.cycles.push(cy);
                        }
                        sampler.offer(t_s, || {
                            Some(Kept {
                                frame,
                                predicted: kept,
                            })
                        });
                    }
                    SB_OUTCOME_FAILED => {
                        c.failed += 1;
                        if c.first_errors.len() < 5 {
                            let e = r.error_text(&info);
                            log::warn!("frame {} failed: {e}", info.seq);
                            c.first_errors.push(e);
                        }
                    }
                    SB_OUTCOME_DROPPED => c.dropped += 1,
                    SB_OUTCOME_DISCARDED => c.discarded += 1,
                    o => log::warn!("result {} has unknown outcome {o}", info.seq),
                }
            }
        }
        if c.rss_warm.is_none() && t0.elapsed().as_secs_f64() >= Memory::WARM_UP_S {
            c.rss_warm = resident_kib();
        }
        if last_ui.elapsed() >= Duration::from_millis(250) {
            last_ui = Instant::now();
            let st = stream.stats()?;
            let secs = t0.elapsed().as_secs_f64().max(1e-9);
            let dice = if c.scores.dice_n > 0 {
                format!(" | dice {:.3}", c.scores.dice_sum / c.scores.dice_n as f64)
            } else {
                String::new()
            };
            bar.set_position(c.polled);
            bar.set_message(format!(
                "{:.1} fps | p50 {:.1} ms p99 {:.1} ms | dropped {}{dice}",
                st.processed as f64 / secs,
                st.latency_p50_ms,
                st.latency_p99_ms,
                st.dropped + st.rejected
            ));
        }
    }
    bar.set_position(c.polled);
    Ok(c)
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> LiveError {
    LiveError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Stream `src` through the library as `opts` says, write the animation and the report into
/// `opts.out`, and return the report.
pub fn run(src: &Source, opts: &LiveOptions, prepare_s: f64) -> Result<LiveReport> {
    if !(opts.seconds.is_finite() && opts.seconds > 0.0 && opts.seconds <= 24.0 * 3600.0) {
        return Err(LiveError::Settings(format!(
            "--seconds {}: give a length in (0, 86400]",
            opts.seconds
        )));
    }
    if !(src.fps.is_finite() && src.fps > 0.0 && src.fps <= 1000.0) {
        return Err(LiveError::Settings(format!(
            "--fps {}: give a rate in (0, 1000]",
            src.fps
        )));
    }
    if src.frames.is_empty() {
        return Err(LiveError::Settings("no frames to stream".into()));
    }
    std::fs::create_dir_all(&opts.out).map_err(|e| io_err(&opts.out, e))?;

    let api = Api::load(&opts.lib)?;
    if let Err(e) = api.forward_logs(log::max_level()) {
        log::debug!("library logs not forwarded: {e}");
    }
    log::info!(
        "loaded {} (version {}, C ABI {})",
        api.path().display(),
        api.version(),
        api.abi_version()
    );
    let mut eopts = api.engine_options()?;
    eopts.variant = opts.variant.c_value();
    eopts.threads = opts.threads;
    let engine = Engine::open(&api, &opts.bundle, Some(&eopts))?;
    let info = engine.info()?;
    log::info!(
        "model {} {} ({}), input {}x{}, licence: {}",
        info.name,
        info.version,
        if info.variant == SB_VARIANT_INT8 {
            "int8"
        } else {
            "f32"
        },
        info.input_width,
        info.input_height,
        info.licence
    );
    let mut cfg = api.stream_config()?;
    cfg.policy = opts.policy.c_value();
    cfg.queue_capacity = opts.queue;
    cfg.workers = opts.workers;
    cfg.result_capacity = 256;
    let total = ((opts.seconds * src.fps).round() as u64).max(1);

    let (w0, h0) = (src.frames[0].image.width(), src.frames[0].image.height());
    let gif_factor = anim::scale_factor(w0, h0, opts.gif_max_side);
    let gif_fps = opts.gif_fps.clamp(0.1, src.fps);
    let mut sampler = Sampler::new(gif_fps, opts.gif_max_frames);

    let bar = if opts.progress {
        indicatif::ProgressBar::new(total)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .map_err(|e| LiveError::Internal(e.to_string()))?
            .progress_chars("=> "),
    );

    let stream = Stream::start(&engine, &cfg)?;
    let rss_before = resident_kib();
    let (tx, rx) = mpsc::channel();
    let mut seqs = SeqMap {
        rx,
        pending: VecDeque::new(),
        all: Vec::new(),
    };
    let abort = AtomicBool::new(false);
    let t0 = Instant::now();
    let (produced, consumed) = std::thread::scope(|s| {
        let producer = std::thread::Builder::new()
            .name("live-producer".into())
            .spawn_scoped(s, || produce(&stream, src, total, t0, tx, &abort, opts))
            .map_err(|e| LiveError::Internal(format!("producer thread: {e}")))?;
        let consumed = consume(&stream, src, &mut seqs, &mut sampler, gif_factor, &bar, t0);
        if consumed.is_err() {
            abort.store(true, Ordering::Relaxed);
            // Keep reading until the producer has stopped the stream: under the block policy
            // the workers (and so a push) wait for a reader.
            while let Ok(Poll::Result(_) | Poll::Timeout) = stream.poll(100) {}
        }
        let produced = producer
            .join()
            .map_err(|_| LiveError::Internal("the producer thread panicked".into()))?;
        // The consumer's error first: it is the cause when both failed.
        let consumed = consumed?;
        Ok::<_, LiveError>((produced?, consumed))
    })?;
    let end = consumed.last_result.unwrap_or_else(Instant::now);
    let wall = end.saturating_duration_since(t0).as_secs_f64().max(1e-9);
    bar.finish_and_clear();
    let st = stream.stats()?;
    let rss_end = resident_kib();
    drop(stream);
    drop(engine);
    let pushed = seqs.into_all();
    let clinical = clinical::summarise(src, &consumed.clinical, &pushed, &opts.out);

    // The animation, now that nothing runs in real time.
    let gif_started = Instant::now();
    let kept = sampler.into_kept();
    let gif_path = opts.out.join("live.gif");
    let sheet_path = opts.out.join("live-sheet.png");
    let gif = if kept.is_empty() {
        None
    } else {
        let mut pics = Vec::with_capacity(kept.len());
        for k in &kept {
            let f = &src.frames[k.frame];
            let truth = if opts.gif_truth {
                f.truth.as_ref()
            } else {
                None
            };
            pics.push(anim::draw(&f.image, gif_factor, truth, &k.predicted)?);
        }
        let delay = (1000.0 / gif_fps).round().max(20.0) as u32;
        anim::write_gif(&gif_path, &pics, delay)?;
        // A contact sheet of up to 8 of them, for documents that cannot show a GIF.
        let step = pics.len().div_ceil(8).max(1);
        let tiles: Vec<_> = pics.iter().step_by(step).take(8).cloned().collect();
        crate::overlay::Rgb::grid(&tiles, 4)
            .and_then(|g| g.write_png(&sheet_path))
            .map_err(|e| io_err(&sheet_path, e))?;
        Some(gif_path.display().to_string())
    };
    let gif_s = gif_started.elapsed().as_secs_f64();

    let sc = &consumed.scores;
    let has_truth = src.frames.iter().all(|f| f.truth.is_some());
    let mut dice = BTreeMap::new();
    let mut areas = BTreeMap::new();
    for (k, name) in NAMES.iter().enumerate() {
        if !sc.seen[k] {
            continue;
        }
        if has_truth {
            dice.insert(
                name.to_string(),
                Summary::of(sc.dice[k].iter().map(|v| Some(*v))),
            );
        }
        areas.insert(
            name.to_string(),
            Areas {
                px: Summary::of(sc.area_px[k].iter().map(|v| Some(*v))),
                mm2: (!sc.area_mm2[k].is_empty())
                    .then(|| Summary::of(sc.area_mm2[k].iter().map(|v| Some(*v)))),
                empty: sc.empty[k],
                confidence: Summary::of(sc.confidence[k].iter().map(|v| Some(*v))),
            },
        );
    }
    let balanced = st.processed + st.dropped + st.failed + st.discarded == st.pushed;
    if !balanced {
        log::warn!(
            "frame accounting does not balance: processed {} + dropped {} + failed {} + discarded {} != pushed {}",
            st.processed,
            st.dropped,
            st.failed,
            st.discarded,
            st.pushed
        );
    }
    if consumed.polled + st.unread_dropped != st.pushed {
        log::warn!(
            "polled {} results + {} unread-dropped, but {} frames were pushed",
            consumed.polled,
            st.unread_dropped,
            st.pushed
        );
    }
    let achieved_fps = st.processed as f64 / wall;
    let push_fps = produced.rate();
    let interrupted = opts
        .interrupt
        .as_ref()
        .is_some_and(|i| i.load(Ordering::Relaxed))
        && produced.pushed + produced.rejected < total;
    let zero_dropped = st.dropped + st.rejected + st.failed + st.discarded + st.unread_dropped == 0;
    let fps_reached = src.fps >= TARGET_FPS && push_fps >= 0.99 * TARGET_FPS;
    let p99_ok = st.processed > 0 && st.latency_p99_ms < TARGET_P99_MS;
    let memory = Memory::new(rss_before, consumed.rss_warm.or(rss_before), rss_end);
    let memory_within_10_percent = memory.growth_percent.map(|g| g <= 10.0);
    let report_path = opts.out.join("report.json");
    let report = LiveReport {
        settings: Settings {
            fps: src.fps,
            seconds: opts.seconds,
            frames_planned: total,
            workers: opts.workers,
            threads: opts.threads,
            queue: opts.queue,
            policy: opts.policy.name().into(),
            result_capacity: cfg.result_capacity,
            variant: opts.variant.name().into(),
        },
        source: src.description.clone(),
        library: LibraryInfo {
            path: api.path().display().to_string(),
            version: api.version(),
            abi_version: api.abi_version(),
        },
        model: ModelInfo {
            bundle: opts.bundle.display().to_string(),
            info,
        },
        interrupted,
        counts: Counts {
            pushed: st.pushed,
            processed: st.processed,
            dropped: st.dropped,
            rejected: st.rejected,
            failed: st.failed,
            discarded: st.discarded,
            unread_dropped: st.unread_dropped,
            polled: consumed.polled,
            balanced,
        },
        latency_ms: report::Latency {
            p50: st.latency_p50_ms,
            p90: st.latency_p90_ms,
            p99: st.latency_p99_ms,
            max: st.latency_max_ms,
            mean: st.latency_mean_ms,
        },
        queue_wait_ms: QueueWait {
            p50: st.queue_wait_p50_ms,
            p99: st.queue_wait_p99_ms,
        },
        stage_mean_ms: Stages {
            preprocess: st.preprocess_mean_ms,
            model: st.model_mean_ms,
            postprocess: st.postprocess_mean_ms,
        },
        timing: Timing {
            wall_s: wall,
            achieved_fps,
            push_fps,
            late_pushes: produced.late,
            max_push_lateness_ms: produced.max_late.as_secs_f64() * 1e3,
            max_push_call_ms: produced.max_call.as_secs_f64() * 1e3,
            prepare_s,
            gif_s,
        },
        dice_mean: (has_truth && sc.dice_n > 0).then(|| sc.dice_sum / sc.dice_n as f64),
        dice: has_truth.then_some(dice),
        areas,
        memory,
        clinical,
        targets: Targets {
            fps: TARGET_FPS,
            p99_limit_ms: TARGET_P99_MS,
            fps_reached,
            zero_dropped,
            p99_ok,
            met: fps_reached && zero_dropped && p99_ok && !interrupted,
            accounted: balanced && consumed.polled + st.unread_dropped == st.pushed,
            memory_within_10_percent,
        },
        outputs: Outputs {
            sheet: gif.as_ref().map(|_| sheet_path.display().to_string()),
            gif,
            gif_frames: kept.len(),
            report: report_path.display().to_string(),
        },
    };
    let json = serde_json::to_string_pretty(&report).map_err(|e| io_err(&report_path, e))?;
    std::fs::write(&report_path, json + "\n").map_err(|e| io_err(&report_path, e))?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_memory_is_read() {
        assert!(resident_kib().is_some_and(|k| k > 0));
    }

    #[test]
    fn missing_library_and_bundle_are_clear_errors() {
        let e = locate_library(Some(Path::new("/nonexistent/libsynboost.so"))).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/libsynboost.so"), "{e}");
        let e = locate_bundle(Some(Path::new("/nonexistent/bundle"))).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/bundle"), "{e}");
    }

    #[test]
    fn structure_bits_map_to_truth_order() {
        assert_eq!(structure_index(SB_STRUCTURE_LV_CAVITY), Some(0));
        assert_eq!(structure_index(SB_STRUCTURE_MYOCARDIUM), Some(1));
        assert_eq!(structure_index(SB_STRUCTURE_LA_CAVITY), Some(2));
        assert_eq!(structure_index(8), None);
    }
}
