//! The report of a finished live run, from what it measured: the library's counters, the
//! producer's pacing, the consumer's scores, the animation, and the real-time targets.

use super::abi::{Api, EngineInfo};
use super::consumer::Consumed;
use super::options::LiveOptions;
use super::producer::{Produced, PushedFrame};
use super::report::{
    Counts, Latency, LibraryInfo, LiveReport, Memory, ModelInfo, Outputs, QueueWait, Settings,
    Stages, Targets, Timing,
};
use super::source::Source;
use super::{clinical, real_time_target};
use crate::live::abi::sys::sb_stream_stats;

/// What the streaming step measured.
pub(crate) struct Streamed {
    /// The producer's pushes and pacing.
    pub produced: Produced,
    /// The consumer's results and scores.
    pub consumed: Consumed,
    /// The library's counters after the drain (`sb_stream_get_stats`).
    pub stats: sb_stream_stats,
    /// From the first push to the last result, seconds.
    pub wall_s: f64,
    /// Resident memory before the first push, KiB.
    pub rss_before: Option<u64>,
    /// Resident memory when streaming ended, KiB.
    pub rss_end: Option<u64>,
    /// Every pushed frame: `(seq, source frame, time s)`.
    pub pushed: Vec<PushedFrame>,
}

/// The animation written after the stream.
pub(crate) struct Animation {
    /// `live.gif`, when any frame was kept.
    pub gif: Option<String>,
    /// `live-sheet.png`, with the GIF.
    pub sheet: Option<String>,
    /// Frames in the GIF.
    pub frames: usize,
    /// Time to draw and encode it, seconds.
    pub seconds: f64,
}

/// Everything a finished run measured.
pub(crate) struct Measured<'a> {
    /// The frames streamed.
    pub src: &'a Source,
    /// The run's options.
    pub opts: &'a LiveOptions,
    /// Time to prepare the frames, seconds.
    pub prepare_s: f64,
    /// Frames planned.
    pub total: u64,
    /// The stream's result capacity.
    pub result_capacity: u32,
    /// The streaming step.
    pub streamed: Streamed,
    /// The animation.
    pub animation: Animation,
}

impl Measured<'_> {
    /// The report (the library's `api`, the model's `info`, the clinical section).
    pub fn report(self, api: &Api, info: EngineInfo, clinical: clinical::Clinical) -> LiveReport {
        let (src, opts) = (self.src, self.opts);
        let st = &self.streamed.stats;
        let consumed = &self.streamed.consumed;
        let produced = &self.streamed.produced;
        let counts = self.counts();
        let interrupted = opts.interrupted() && produced.pushed + produced.rejected < self.total;
        let has_truth = src.frames.iter().all(|f| f.truth.is_some());
        let sc = &consumed.scores;
        let records = sc.kept_bytes()
            + consumed.clinical.frames.len() * std::mem::size_of::<clinical::FrameRow>()
            + consumed.clinical.cycles.len()
                * std::mem::size_of::<crate::live::abi::sys::sb_cycle>()
            + self.streamed.pushed.len() * std::mem::size_of::<PushedFrame>();
        let memory = Memory::new(
            self.streamed.rss_before,
            consumed.rss_warm.or(self.streamed.rss_before),
            self.streamed.rss_end,
            (records / 1024) as u64,
        );
        let targets = self.targets(&counts, &memory, interrupted);
        LiveReport {
            settings: Settings {
                fps: src.fps,
                seconds: opts.seconds,
                frames_planned: self.total,
                workers: opts.workers,
                threads: opts.threads,
                queue: opts.queue,
                policy: opts.policy.name().into(),
                result_capacity: self.result_capacity,
                variant: opts.variant.name().into(),
                backend: opts.backend.name().into(),
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
            counts,
            latency_ms: Latency {
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
            timing: self.timing(),
            dice_mean: sc.mean_dice().filter(|_| has_truth),
            dice: has_truth.then(|| sc.dice()),
            areas: sc.areas(),
            memory,
            clinical,
            targets,
            outputs: Outputs {
                sheet: self.animation.sheet.clone(),
                gif: self.animation.gif.clone(),
                gif_frames: self.animation.frames,
                report: self.opts.out.join("report.json").display().to_string(),
            },
        }
    }

    /// Frame accounting, with a warning when it does not balance.
    fn counts(&self) -> Counts {
        let st = &self.streamed.stats;
        let polled = self.streamed.consumed.polled;
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
        if polled + st.unread_dropped != st.pushed {
            log::warn!(
                "polled {polled} results + {} unread-dropped, but {} frames were pushed",
                st.unread_dropped,
                st.pushed
            );
        }
        Counts {
            pushed: st.pushed,
            processed: st.processed,
            dropped: st.dropped,
            rejected: st.rejected,
            failed: st.failed,
            discarded: st.discarded,
            unread_dropped: st.unread_dropped,
            polled,
            balanced,
        }
    }

    /// Rates and pacing.
    fn timing(&self) -> Timing {
        let (st, produced) = (&self.streamed.stats, &self.streamed.produced);
        let wall = self.streamed.wall_s;
        Timing {
            wall_s: wall,
            achieved_fps: st.processed as f64 / wall,
            push_fps: produced.rate(),
            late_pushes: produced.late,
            max_push_lateness_ms: produced.max_late.as_secs_f64() * 1e3,
            max_push_call_ms: produced.max_call.as_secs_f64() * 1e3,
            prepare_s: self.prepare_s,
            gif_s: self.animation.seconds,
        }
    }

    /// The real-time targets (and the overload ones) against what was measured.
    fn targets(&self, counts: &Counts, memory: &Memory, interrupted: bool) -> Targets {
        let st = &self.streamed.stats;
        let zero_dropped =
            st.dropped + st.rejected + st.failed + st.discarded + st.unread_dropped == 0;
        let (fps, p99_limit_ms) = real_time_target(self.src.fps);
        let fps_reached = self.src.fps >= fps && self.streamed.produced.rate() >= 0.99 * fps;
        let p99_ok = st.processed > 0 && st.latency_p99_ms < p99_limit_ms;
        Targets {
            fps,
            p99_limit_ms,
            fps_reached,
            zero_dropped,
            p99_ok,
            met: fps_reached && zero_dropped && p99_ok && !interrupted,
            accounted: counts.balanced && counts.polled + st.unread_dropped == st.pushed,
            memory_within_10_percent: memory.growth_without_records_percent.map(|g| g <= 10.0),
        }
    }
}
