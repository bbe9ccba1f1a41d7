//! The JSON report of a live run; its short table for people is in `table.rs`
//! ([`LiveReport::table`]).

mod table;

use super::abi::EngineInfo;
use serde::Serialize;
use std::collections::BTreeMap;
use synboost_data::metrics::Summary;

/// Everything a live run measured.
#[derive(Debug, Clone, Serialize)]
pub struct LiveReport {
    /// How the run was set up.
    pub settings: Settings,
    /// What was streamed (phantom patient or DICOM file).
    pub source: serde_json::Value,
    /// The library that ran the frames.
    pub library: LibraryInfo,
    /// The model (`sb_engine_get_info`) and its bundle.
    pub model: ModelInfo,
    /// The run was stopped early (Ctrl-C): fewer frames than planned were pushed, the queue was
    /// drained, and the real-time targets count as not met.
    pub interrupted: bool,
    /// Frame accounting (`sb_stream_get_stats` after the drain, and what was polled).
    pub counts: Counts,
    /// Push-to-result latency of segmented frames, ms.
    pub latency_ms: Latency,
    /// Push-to-worker wait, ms.
    pub queue_wait_ms: QueueWait,
    /// Mean per-stage times of segmented frames, ms.
    pub stage_mean_ms: Stages,
    /// Rates and pacing.
    pub timing: Timing,
    /// Dice per structure against the phantom's truth (`None` for a DICOM cine).
    pub dice: Option<BTreeMap<String, Summary>>,
    /// Mean dice over every structure of every segmented frame (phantom only).
    pub dice_mean: Option<f64>,
    /// Predicted mask areas per structure.
    pub areas: BTreeMap<String, Areas>,
    /// Resident memory of this process (`VmRSS`), KiB.
    pub memory: Memory,
    /// Clinical measurements: quality flags, cycles, EF, heart rate, and the phantom's truth.
    pub clinical: super::clinical::Clinical,
    /// Whether the real-time targets were met.
    pub targets: Targets,
    /// Files written.
    pub outputs: Outputs,
}

/// Run settings.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Frames per second pushed.
    pub fps: f64,
    /// Length of the stream, seconds.
    pub seconds: f64,
    /// Frames the producer was to push.
    pub frames_planned: u64,
    /// Worker threads.
    pub workers: u32,
    /// Matrix-kernel threads per worker.
    pub threads: u32,
    /// Queue capacity.
    pub queue: u32,
    /// Queue policy.
    pub policy: String,
    /// Result buffer capacity.
    pub result_capacity: u32,
    /// Requested image-model variant.
    pub variant: String,
    /// Inference runtime asked for ("tract" or "onnxruntime").
    pub backend: String,
}

/// The loaded library.
#[derive(Debug, Clone, Serialize)]
pub struct LibraryInfo {
    /// File.
    pub path: String,
    /// `sb_version()`.
    pub version: String,
    /// `sb_abi_version()`.
    pub abi_version: u32,
}

/// The model.
#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    /// Bundle path.
    pub bundle: String,
    /// What the engine says.
    #[serde(flatten)]
    pub info: EngineInfo,
}

/// Frame accounting.
#[derive(Debug, Clone, Serialize)]
pub struct Counts {
    /// Frames the stream took.
    pub pushed: u64,
    /// Frames segmented.
    pub processed: u64,
    /// Frames dropped from a full queue.
    pub dropped: u64,
    /// Pushes refused (reject policy), not in `pushed`.
    pub rejected: u64,
    /// Frames the model failed on.
    pub failed: u64,
    /// Frames discarded by a discarding stop.
    pub discarded: u64,
    /// Results lost because they were not polled in time.
    pub unread_dropped: u64,
    /// Results this program polled.
    pub polled: u64,
    /// `processed + dropped + failed + discarded == pushed`.
    pub balanced: bool,
}

/// Latency quantiles, ms.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// Queue wait, ms.
#[derive(Debug, Clone, Serialize)]
pub struct QueueWait {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// Mean stage times, ms.
#[derive(Debug, Clone, Serialize)]
pub struct Stages {
    /// Preprocessing.
    pub preprocess: f64,
    /// Text conditioning and image model.
    pub model: f64,
    /// Postprocessing.
    pub postprocess: f64,
}

/// Rates and pacing.
#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    /// From the first push to the last result, seconds.
    pub wall_s: f64,
    /// Frames segmented per second of `wall_s`.
    pub achieved_fps: f64,
    /// Frames pushed per second, between the first and the last push.
    pub push_fps: f64,
    /// Pushes made more than 5 ms after their due time.
    pub late_pushes: u64,
    /// Largest delay of a push after its due time, ms.
    pub max_push_lateness_ms: f64,
    /// Longest `sb_stream_push` call, ms.
    pub max_push_call_ms: f64,
    /// Time to render or read the frames before streaming, seconds.
    pub prepare_s: f64,
    /// Time to draw and encode the GIF after streaming, seconds.
    pub gif_s: f64,
}

/// Areas of one structure's predicted masks.
#[derive(Debug, Clone, Serialize)]
pub struct Areas {
    /// Pixels.
    pub px: Summary,
    /// mm², when the pixel spacing is known.
    pub mm2: Option<Summary>,
    /// Frames where the mask was empty.
    pub empty: u64,
    /// Mean confidence (mean probability inside the mask).
    pub confidence: Summary,
}

/// Resident memory, KiB.
#[derive(Debug, Clone, Serialize)]
pub struct Memory {
    /// Before the first push (frames rendered, model loaded, stream started).
    pub rss_before_kib: Option<u64>,
    /// The start of steady streaming: after the warm-up ([`Memory::WARM_UP_S`]), when every
    /// worker has run the model and its buffers exist. The run's growth is measured from here.
    pub rss_start_kib: Option<u64>,
    /// When streaming ended (before drawing the GIF).
    pub rss_end_kib: Option<u64>,
    /// `(end − start) / start`, percent.
    pub growth_percent: Option<f64>,
    /// What the simulator itself keeps per frame for this report (scores, areas, measurements,
    /// the push log), KiB at the end: it grows with the run's length whatever the library does.
    pub records_kib: u64,
    /// The growth without those records, `(end − records − start) / start`, percent: what the
    /// library and the stream grew by. The memory target judges this.
    pub growth_without_records_percent: Option<f64>,
}

impl Memory {
    /// Seconds of streaming before the start sample.
    pub const WARM_UP_S: f64 = 2.0;

    /// The three samples, the simulator's own records (KiB) and the growths from the start to
    /// the end.
    pub fn new(
        before: Option<u64>,
        start: Option<u64>,
        end: Option<u64>,
        records_kib: u64,
    ) -> Self {
        let growth = |sub: u64| match (start, end) {
            (Some(s), Some(e)) if s > 0 => {
                Some((e as f64 - sub as f64 - s as f64) / s as f64 * 100.0)
            }
            _ => None,
        };
        Self {
            rss_before_kib: before,
            rss_start_kib: start,
            rss_end_kib: end,
            growth_percent: growth(0),
            records_kib,
            growth_without_records_percent: growth(records_kib),
        }
    }
}

/// The real-time targets.
#[derive(Debug, Clone, Serialize)]
pub struct Targets {
    /// The frame rate the targets are for: the run's own, at least `TARGET_FPS`.
    pub fps: f64,
    /// Largest acceptable p99 latency, ms: one frame period at `fps`.
    pub p99_limit_ms: f64,
    /// The run pushed at least that rate.
    pub fps_reached: bool,
    /// No frame was dropped, rejected, failed or lost.
    pub zero_dropped: bool,
    /// p99 latency below the limit.
    pub p99_ok: bool,
    /// All of the above, over the whole planned length (not interrupted).
    pub met: bool,
    /// Every pushed frame has exactly one outcome (the overload target).
    pub accounted: bool,
    /// Resident memory at the end within 10 % of the start of steady streaming (the overload
    /// target; unknown without `/proc`).
    pub memory_within_10_percent: Option<bool>,
}

/// Files written.
#[derive(Debug, Clone, Serialize)]
pub struct Outputs {
    /// The overlay animation.
    pub gif: Option<String>,
    /// Up to 8 of its frames as a PNG contact sheet.
    pub sheet: Option<String>,
    /// Frames in it.
    pub gif_frames: usize,
    /// This report.
    pub report: String,
}

#[cfg(test)]
mod tests {
    use super::Memory;

    #[test]
    fn memory_growth_is_judged_without_the_reports_own_records() {
        let m = Memory::new(Some(60_000), Some(100_000), Some(120_000), 15_000);
        assert!((m.growth_percent.unwrap() - 20.0).abs() < 1e-9);
        assert!((m.growth_without_records_percent.unwrap() - 5.0).abs() < 1e-9);
        let m = Memory::new(None, None, Some(120_000), 0);
        assert_eq!(
            (m.growth_percent, m.growth_without_records_percent),
            (None, None)
        );
    }
}
