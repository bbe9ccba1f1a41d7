//! One live run as named steps: check the settings, open the library, the engine and the
//! stream ([`Setup`]), stream (a producer thread pushes, the calling thread consumes), close
//! the stream, draw the animation, and write the report ([`super::summary`]).

use super::abi::{Api, Engine, EngineInfo, Poll, Stream};
use super::anim::{self, Kept, Sampler};
use super::clinical;
use super::consumer::{Consumer, SeqMap};
use super::options::{LiveOptions, variant_label};
use super::producer::Producer;
use super::report::LiveReport;
use super::resident_kib;
use super::source::Source;
use super::summary::{Animation, Measured, Streamed};
use crate::error::{Result, SimError};
use crate::overlay::Rgb;
use crate::progress::Progress;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Instant;

/// Stream `src` through the library as `opts` says, write the animation and the report into
/// `opts.out`, and return the report. `progress` hears of the stream as it runs (frames
/// polled of those planned, and a status line).
pub fn run(
    src: &Source,
    opts: &LiveOptions,
    prepare_s: f64,
    progress: &mut dyn FnMut(Progress),
) -> Result<LiveReport> {
    check_settings(src, opts)?;
    std::fs::create_dir_all(&opts.out).map_err(|e| SimError::io(&opts.out, e))?;
    let setup = Setup::open(opts)?;
    let total = ((opts.seconds * src.fps).round() as u64).max(1);
    let (w0, h0) = (src.frames[0].image.width(), src.frames[0].image.height());
    let gif = GifPlan {
        factor: anim::scale_factor(w0, h0, opts.gif_max_side),
        fps: opts.gif_fps.clamp(0.1, src.fps),
    };
    let mut sampler = Sampler::new(gif.fps, opts.gif_max_frames);
    progress(Progress::Start { total });
    let streamed = setup.stream(src, opts, total, &mut sampler, gif.factor, progress)?;
    let Setup {
        api,
        engine,
        info,
        stream,
        result_capacity,
    } = setup;
    drop(stream);
    drop(engine);
    let clinical = clinical::summarise(
        src,
        &streamed.consumed.clinical,
        &streamed.pushed,
        &opts.out,
    );
    // The animation, now that nothing runs in real time.
    let animation = write_animation(src, opts, sampler.into_kept(), &gif)?;
    let measured = Measured {
        src,
        opts,
        prepare_s,
        total,
        result_capacity,
        streamed,
        animation,
    };
    let report = measured.report(&api, info, clinical);
    write_report(&report, &opts.out.join("report.json"))?;
    Ok(report)
}

/// Refuse a length, rate or source that cannot be streamed.
fn check_settings(src: &Source, opts: &LiveOptions) -> Result<()> {
    if !(opts.seconds.is_finite() && opts.seconds > 0.0 && opts.seconds <= 24.0 * 3600.0) {
        return Err(SimError::Settings(format!(
            "--seconds {}: give a length in (0, 86400]",
            opts.seconds
        )));
    }
    if !(src.fps.is_finite() && src.fps > 0.0 && src.fps <= 1000.0) {
        return Err(SimError::Settings(format!(
            "--fps {}: give a rate in (0, 1000]",
            src.fps
        )));
    }
    if src.frames.is_empty() {
        return Err(SimError::Settings("no frames to stream".into()));
    }
    Ok(())
}

/// The library loaded, the engine open on the bundle, and the stream started.
struct Setup {
    api: Arc<Api>,
    engine: Engine,
    info: EngineInfo,
    stream: Stream,
    result_capacity: u32,
}

impl Setup {
    /// Load the library, open the engine and start the stream as `opts` says.
    fn open(opts: &LiveOptions) -> Result<Self> {
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
        eopts.backend = opts.backend.c_value();
        // Kept alive until the open returns (the library borrows it for the call).
        let ort_path = match &opts.onnxruntime {
            None => None,
            Some(p) => Some(
                p.to_str()
                    .and_then(|s| std::ffi::CString::new(s).ok())
                    .ok_or_else(|| {
                        SimError::Settings(format!(
                            "--onnxruntime {}: give a UTF-8 path without NUL",
                            p.display()
                        ))
                    })?,
            ),
        };
        eopts.onnxruntime_library = ort_path.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
        let engine = Engine::open(&api, &opts.bundle, Some(&eopts))?;
        drop(ort_path);
        let info = engine.info()?;
        log::info!(
            "model {} {} ({}), input {}x{}, licence: {}",
            info.name,
            info.version,
            variant_label(info.variant),
            info.input_width,
            info.input_height,
            info.licence
        );
        log::info!(
            "variant: {}; runtime: {}",
            info.variant_reason,
            info.runtime
        );
        let mut cfg = api.stream_config()?;
        cfg.policy = opts.policy.c_value();
        cfg.queue_capacity = opts.queue;
        cfg.workers = opts.workers;
        cfg.result_capacity = 256;
        let stream = Stream::start(&engine, &cfg)?;
        Ok(Self {
            api,
            engine,
            info,
            stream,
            result_capacity: cfg.result_capacity,
        })
    }

    /// Push `total` frames of `src` from a producer thread while this thread polls the results,
    /// until the stream has drained; `sampler` keeps the animation's frames (masks downscaled
    /// by `gif_factor`).
    fn stream(
        &self,
        src: &Source,
        opts: &LiveOptions,
        total: u64,
        sampler: &mut Sampler,
        gif_factor: usize,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Streamed> {
        let stream = &self.stream;
        let rss_before = resident_kib();
        let (tx, rx) = mpsc::channel();
        let mut seqs = SeqMap::new(rx);
        let abort = AtomicBool::new(false);
        let t0 = Instant::now();
        let producer = Producer {
            stream,
            src,
            total,
            t0,
            abort: &abort,
            opts,
        };
        let mut consumer = Consumer {
            stream,
            src,
            seqs: &mut seqs,
            sampler,
            gif_factor,
            t0,
        };
        let (produced, consumed) = std::thread::scope(|s| {
            let producer = std::thread::Builder::new()
                .name("live-producer".into())
                .spawn_scoped(s, move || producer.run(tx))
                .map_err(|e| SimError::Internal(format!("producer thread: {e}")))?;
            let consumed = consumer.run(progress);
            if consumed.is_err() {
                abort.store(true, Ordering::Relaxed);
                // Keep reading until the producer has stopped the stream: under the block
                // policy the workers (and so a push) wait for a reader.
                while let Ok(Poll::Result(_) | Poll::Timeout) = stream.poll(100) {}
            }
            let produced = producer
                .join()
                .map_err(|_| SimError::Internal("the producer thread panicked".into()))?;
            // The consumer's error first: it is the cause when both failed.
            let consumed = consumed?;
            Ok::<_, SimError>((produced?, consumed))
        })?;
        let end = consumed.last_result.unwrap_or_else(Instant::now);
        let wall_s = end.saturating_duration_since(t0).as_secs_f64().max(1e-9);
        progress(Progress::Finish);
        let stats = stream.stats()?;
        let rss_end = resident_kib();
        Ok(Streamed {
            produced,
            consumed,
            stats,
            wall_s,
            rss_before,
            rss_end,
            pushed: seqs.into_all(),
        })
    }
}

/// How the animation samples and scales the stream.
struct GifPlan {
    /// Integer downscale factor of the frames.
    factor: usize,
    /// Frames per second of the animation.
    fps: f64,
}

/// Draw the kept frames, write them as `live.gif` and up to 8 of them as `live-sheet.png`.
fn write_animation(
    src: &Source,
    opts: &LiveOptions,
    kept: Vec<Kept>,
    gif: &GifPlan,
) -> Result<Animation> {
    let started = Instant::now();
    let gif_path = opts.out.join("live.gif");
    let sheet_path = opts.out.join("live-sheet.png");
    let written = if kept.is_empty() {
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
            pics.push(anim::draw(&f.image, gif.factor, truth, &k.predicted)?);
        }
        let delay = (1000.0 / gif.fps).round().max(20.0) as u32;
        anim::write_gif(&gif_path, &pics, delay)?;
        // A contact sheet of up to 8 of them, for documents that cannot show a GIF.
        let step = pics.len().div_ceil(8).max(1);
        let tiles: Vec<_> = pics.iter().step_by(step).take(8).cloned().collect();
        Rgb::grid(&tiles, 4)
            .and_then(|g| g.write_png(&sheet_path))
            .map_err(|source| SimError::Picture {
                path: sheet_path.clone(),
                source,
            })?;
        Some(gif_path.display().to_string())
    };
    Ok(Animation {
        sheet: written.as_ref().map(|_| sheet_path.display().to_string()),
        gif: written,
        frames: kept.len(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Write the report as pretty JSON (with a final newline).
fn write_report(report: &LiveReport, path: &Path) -> Result<()> {
    let json = serde_json::to_string_pretty(report).map_err(|source| SimError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    std::fs::write(path, json + "\n").map_err(|e| SimError::io(path, e))
}
