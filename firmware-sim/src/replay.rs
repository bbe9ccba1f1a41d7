//! DICOM cines (or any frames with metadata) as timed, looping frame streams, the way a scanner
//! delivers them to `libsynboost.so`.
//!
//! A [`Replay`] yields [`TimedFrame`]s at the file's frame time or at an fps override. Timestamps
//! are computed from the frame's position in the stream (`sequence × period`), never by adding
//! up periods, so they do not drift. With [`ReplayOptions::real_time`] each frame is held back
//! until its due time, measured from the first frame against a monotonic clock: a consumer that
//! is late for one frame gets the next ones immediately until the schedule is met again, so the
//! stream keeps its rate over any length.
//!
//! ```no_run
//! # use std::path::Path;
//! # use synboost_dicom::ReadOptions;
//! # use synboost_sim::replay::{Replay, ReplayOptions};
//! let opts = ReplayOptions { max_loops: Some(3), real_time: true, ..ReplayOptions::default() };
//! for f in Replay::open(Path::new("cine.dcm"), &ReadOptions::default(), opts)? {
//!     println!("frame {} loop {} at {} ns", f.index, f.loop_index, f.timestamp_ns);
//! }
//! # Ok::<(), synboost_sim::replay::ReplayError>(())
//! ```

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use synboost_core::meta::ScanMeta;
use synboost_core::raster::GrayImage;
use synboost_dicom::{DicomCine, DicomError, ReadOptions, read_cine};

/// How a [`Replay`] runs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReplayOptions {
    /// Frames per second, overriding the frame time of the source.
    pub fps: Option<f64>,
    /// Hold each frame until its due time (`std::thread::sleep`), as a live scanner would.
    pub real_time: bool,
    /// Stop after this many passes through the frames (`None`: no limit).
    pub max_loops: Option<u64>,
    /// Stop before the first frame due at or after this stream time (`None`: no limit).
    pub max_duration: Option<Duration>,
    /// Stop after this many frames in total (`None`: no limit).
    pub max_frames: Option<u64>,
}

/// One frame of a replayed stream.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedFrame {
    /// Index of the frame within the source (0-based).
    pub index: usize,
    /// Which pass through the source this is (0-based).
    pub loop_index: u64,
    /// Position in the stream (0-based, counting every frame emitted).
    pub sequence: u64,
    /// Due time from the start of the stream, ns.
    pub timestamp_ns: u64,
    /// The pixels (shared, not copied).
    pub image: Arc<GrayImage>,
    /// The source's metadata, with `frame_time_ms` set to the replay's frame period.
    pub meta: ScanMeta,
}

/// Errors when setting up a replay.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// There are no frames to replay.
    #[error("no frames to replay")]
    NoFrames,
    /// Neither the source nor the options give a frame rate.
    #[error("the frame rate is unknown: the source has no frame time; give an fps")]
    NoFrameRate,
    /// The fps override (or the source's frame time) is not a finite positive number.
    #[error("invalid frame rate {0} fps (a finite positive number is needed)")]
    InvalidFps(f64),
    /// The DICOM file could not be read.
    #[error(transparent)]
    Dicom(#[from] DicomError),
}

/// A timed, looping frame stream over a fixed set of frames. Iterate it, or call
/// [`Replay::next_frame`].
#[derive(Debug, Clone)]
pub struct Replay {
    frames: Vec<Arc<GrayImage>>,
    meta: ScanMeta,
    fps: f64,
    period_ns: f64,
    opts: ReplayOptions,
    sequence: u64,
    started: Option<Instant>,
}

impl Replay {
    /// A replay of `frames` described by `meta`, at `opts.fps` or else at
    /// `meta.frame_time_ms`.
    pub fn new(
        frames: Vec<GrayImage>,
        meta: ScanMeta,
        opts: ReplayOptions,
    ) -> Result<Self, ReplayError> {
        Self::from_shared(frames.into_iter().map(Arc::new).collect(), meta, opts)
    }

    /// Like [`Replay::new`], with frames already shared.
    pub fn from_shared(
        frames: Vec<Arc<GrayImage>>,
        mut meta: ScanMeta,
        opts: ReplayOptions,
    ) -> Result<Self, ReplayError> {
        if frames.is_empty() {
            return Err(ReplayError::NoFrames);
        }
        let fps = match (opts.fps, meta.frame_time_ms) {
            (Some(fps), _) => fps,
            (None, Some(t)) => 1000.0 / t,
            (None, None) => return Err(ReplayError::NoFrameRate),
        };
        if !(fps.is_finite() && fps > 0.0) {
            return Err(ReplayError::InvalidFps(fps));
        }
        let period_ns = 1e9 / fps;
        if !(period_ns.is_finite() && period_ns >= 1.0) {
            return Err(ReplayError::InvalidFps(fps));
        }
        meta.frame_time_ms = Some(1000.0 / fps);
        log::debug!("replay of {} frame(s) at {fps:.3} fps", frames.len());
        Ok(Self {
            frames,
            meta,
            fps,
            period_ns,
            opts,
            sequence: 0,
            started: None,
        })
    }

    /// A replay of a decoded DICOM cine, at its frame time unless `opts.fps` says otherwise.
    pub fn from_cine(cine: DicomCine, opts: ReplayOptions) -> Result<Self, ReplayError> {
        let mut meta = cine.meta;
        if meta.frame_time_ms.is_none() {
            meta.frame_time_ms = cine.frame_time_ms;
        }
        Self::new(cine.frames, meta, opts)
    }

    /// Read a DICOM file and replay it.
    pub fn open(path: &Path, read: &ReadOptions, opts: ReplayOptions) -> Result<Self, ReplayError> {
        Self::from_cine(read_cine(path, read)?, opts)
    }

    /// Frames per second of the stream.
    pub fn fps(&self) -> f64 {
        self.fps
    }

    /// Time between frames.
    pub fn period(&self) -> Duration {
        Duration::from_nanos(self.period_ns.round() as u64)
    }

    /// Number of frames in one pass.
    pub fn frames_per_loop(&self) -> usize {
        self.frames.len()
    }

    /// The metadata every frame carries.
    pub fn meta(&self) -> &ScanMeta {
        &self.meta
    }

    /// Start over: the next frame is frame 0 of loop 0 at time 0, and the real-time clock
    /// restarts with it.
    pub fn reset(&mut self) {
        self.sequence = 0;
        self.started = None;
    }

    /// Due time of stream position `sequence`, ns from the start.
    pub fn timestamp_ns(&self, sequence: u64) -> u64 {
        (sequence as f64 * self.period_ns).round() as u64
    }

    /// The next frame, or `None` when a limit is reached. With real-time pacing this sleeps
    /// until the frame is due.
    pub fn next_frame(&mut self) -> Option<TimedFrame> {
        let seq = self.sequence;
        let n = self.frames.len() as u64;
        let loop_index = seq / n;
        let index = (seq % n) as usize;
        let timestamp_ns = self.timestamp_ns(seq);
        if self.opts.max_loops.is_some_and(|m| loop_index >= m)
            || self.opts.max_frames.is_some_and(|m| seq >= m)
            || self
                .opts
                .max_duration
                .is_some_and(|d| u128::from(timestamp_ns) >= d.as_nanos())
        {
            return None;
        }
        let image = Arc::clone(self.frames.get(index)?);
        if self.opts.real_time {
            let start = *self.started.get_or_insert_with(Instant::now);
            let due = start + Duration::from_nanos(timestamp_ns);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        self.sequence += 1;
        Some(TimedFrame {
            index,
            loop_index,
            sequence: seq,
            timestamp_ns,
            image,
            meta: self.meta.clone(),
        })
    }
}

impl Iterator for Replay {
    type Item = TimedFrame;

    fn next(&mut self) -> Option<TimedFrame> {
        self.next_frame()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use synboost_core::meta::{Sex, View};

    fn frames(n: u8) -> Vec<GrayImage> {
        (0..n)
            .map(|k| GrayImage::new(2, 2, vec![k; 4]).unwrap())
            .collect()
    }

    fn meta(frame_time_ms: Option<f64>) -> ScanMeta {
        ScanMeta {
            view: Some(View::FourChamber),
            sex: Some(Sex::Male),
            frame_time_ms,
            ..ScanMeta::default()
        }
    }

    #[test]
    fn timestamps_follow_the_frame_time() {
        let r = Replay::new(
            frames(3),
            meta(Some(40.0)),
            ReplayOptions {
                max_frames: Some(7),
                ..ReplayOptions::default()
            },
        )
        .unwrap();
        assert_eq!(r.fps(), 25.0);
        assert_eq!(r.period(), Duration::from_millis(40));
        let got: Vec<_> = r.collect();
        assert_eq!(got.len(), 7);
        for (k, f) in got.iter().enumerate() {
            assert_eq!(f.sequence, k as u64);
            assert_eq!(f.timestamp_ns, k as u64 * 40_000_000);
            assert_eq!(f.index, k % 3);
            assert_eq!(f.loop_index, k as u64 / 3);
            assert_eq!(f.image.data()[0], (k % 3) as u8);
            assert_eq!(f.meta.view, Some(View::FourChamber));
            assert_eq!(f.meta.frame_time_ms, Some(40.0));
        }
    }

    #[test]
    fn loops_are_bounded() {
        let opts = ReplayOptions {
            max_loops: Some(2),
            ..ReplayOptions::default()
        };
        let got: Vec<_> = Replay::new(frames(3), meta(Some(10.0)), opts)
            .unwrap()
            .map(|f| (f.loop_index, f.index))
            .collect();
        assert_eq!(got, [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]);
        let none = ReplayOptions {
            max_loops: Some(0),
            ..ReplayOptions::default()
        };
        assert_eq!(
            Replay::new(frames(3), meta(Some(10.0)), none)
                .unwrap()
                .count(),
            0
        );
    }

    #[test]
    fn duration_limit_and_reset() {
        let opts = ReplayOptions {
            max_duration: Some(Duration::from_millis(100)),
            ..ReplayOptions::default()
        };
        let mut r = Replay::new(frames(4), meta(Some(40.0)), opts).unwrap();
        let ts: Vec<u64> = r.by_ref().map(|f| f.timestamp_ns / 1_000_000).collect();
        assert_eq!(ts, [0, 40, 80]);
        assert!(r.next_frame().is_none());
        r.reset();
        assert_eq!(r.next_frame().unwrap().sequence, 0);
    }

    #[test]
    fn fps_override_wins_and_sets_the_frame_time() {
        let opts = ReplayOptions {
            fps: Some(30.0),
            max_frames: Some(4),
            ..ReplayOptions::default()
        };
        let r = Replay::new(frames(2), meta(Some(76.0)), opts).unwrap();
        assert_eq!(r.fps(), 30.0);
        let got: Vec<_> = r.collect();
        let ts: Vec<u64> = got.iter().map(|f| f.timestamp_ns).collect();
        // from the position, not summed: 33_333_333.3 ns per frame, rounded per frame
        assert_eq!(ts, [0, 33_333_333, 66_666_667, 100_000_000]);
        assert!((got[0].meta.frame_time_ms.unwrap() - 1000.0 / 30.0).abs() < 1e-12);
        // no drift over a long stream
        let r = Replay::new(
            frames(2),
            meta(None),
            ReplayOptions {
                fps: Some(30.0),
                ..ReplayOptions::default()
            },
        )
        .unwrap();
        assert_eq!(r.timestamp_ns(30 * 3600 * 24), 24 * 3600 * 1_000_000_000);
    }

    #[test]
    fn setup_errors() {
        assert!(matches!(
            Replay::new(vec![], meta(Some(40.0)), ReplayOptions::default()),
            Err(ReplayError::NoFrames)
        ));
        assert!(matches!(
            Replay::new(frames(2), meta(None), ReplayOptions::default()),
            Err(ReplayError::NoFrameRate)
        ));
        for fps in [0.0, -5.0, f64::NAN, f64::INFINITY, 1e12] {
            let opts = ReplayOptions {
                fps: Some(fps),
                ..ReplayOptions::default()
            };
            assert!(
                matches!(
                    Replay::new(frames(2), meta(Some(40.0)), opts),
                    Err(ReplayError::InvalidFps(_))
                ),
                "{fps}"
            );
        }
        for t in [0.0, -1.0, f64::NAN] {
            assert!(matches!(
                Replay::new(frames(2), meta(Some(t)), ReplayOptions::default()),
                Err(ReplayError::InvalidFps(_))
            ));
        }
        let e = Replay::open(
            Path::new("/nonexistent/cine.dcm"),
            &ReadOptions::default(),
            ReplayOptions::default(),
        )
        .unwrap_err();
        assert!(matches!(e, ReplayError::Dicom(_)), "{e}");
        assert!(e.to_string().contains("/nonexistent/cine.dcm"), "{e}");
    }

    #[test]
    fn real_time_pacing_keeps_the_schedule() {
        // 20 frames at 200 fps: due at 0, 5, …, 95 ms
        let opts = ReplayOptions {
            fps: Some(200.0),
            real_time: true,
            max_frames: Some(20),
            ..ReplayOptions::default()
        };
        let mut r = Replay::new(frames(3), meta(None), opts).unwrap();
        let start = Instant::now();
        let mut first_at = None;
        while let Some(f) = r.next_frame() {
            let now = start.elapsed();
            let t0 = *first_at.get_or_insert(now);
            // never early
            assert!(
                now - t0 + Duration::from_micros(200) >= Duration::from_nanos(f.timestamp_ns),
                "frame {} at {:?}, due {} ns",
                f.sequence,
                now - t0,
                f.timestamp_ns
            );
            if f.sequence == 5 {
                // a slow consumer: 60 ms late; the following frames catch up
                std::thread::sleep(Duration::from_millis(60));
            }
        }
        let total = start.elapsed();
        assert!(total >= Duration::from_millis(95), "{total:?}");
        // the 60 ms stall is absorbed, not added (a drifting schedule would take ≥ 155 ms;
        // the bound leaves room for a loaded machine)
        assert!(total < Duration::from_millis(140), "{total:?}");
    }

    #[test]
    fn from_cine_uses_the_file_frame_time() {
        let cine = DicomCine {
            frames: frames(2),
            meta: meta(None),
            frame_time_ms: Some(76.0),
            region: None,
            cropped: false,
            stored_width: 2,
            stored_height: 2,
            warnings: vec![],
            source: "x.dcm".into(),
            sop_class: String::new(),
            transfer_syntax: String::new(),
            photometric: String::new(),
        };
        let r = Replay::from_cine(cine, ReplayOptions::default()).unwrap();
        assert!((r.fps() - 1000.0 / 76.0).abs() < 1e-12);
        assert_eq!(r.frames_per_loop(), 2);
        assert_eq!(r.meta().sex, Some(Sex::Male));
    }
}
