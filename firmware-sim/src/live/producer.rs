//! The producer of a live run: a thread that pushes the source's frames at absolute deadlines
//! (`start + k / fps`), as a scanner does, and then stops the stream.

use super::abi::{AbiError, Stream};
use super::options::LiveOptions;
use super::source::Source;
use crate::live::abi::sys::SB_ERR_QUEUE_FULL;
use crate::live::abi::sys::{SB_STOP_DISCARD, SB_STOP_DRAIN};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What the producer sends the consumer after each accepted push: `(seq, source frame, time s)`.
pub(crate) type PushedFrame = (u64, usize, f64);

/// What the producer did.
#[derive(Debug, Default)]
pub(crate) struct Produced {
    /// Pushes the stream took.
    pub pushed: u64,
    /// Pushes refused with a full queue (reject policy).
    pub rejected: u64,
    /// Pushes made more than 5 ms after their due time.
    pub late: u64,
    /// Largest delay of a push after its due time.
    pub max_late: Duration,
    /// Longest push call.
    pub max_call: Duration,
    /// When the first and the last accepted push returned.
    span: Option<(Instant, Instant)>,
}

impl Produced {
    /// Accepted pushes per second between the first and the last.
    pub fn rate(&self) -> f64 {
        match self.span {
            Some((a, b)) if self.pushed > 1 && b > a => {
                (self.pushed - 1) as f64 / (b - a).as_secs_f64()
            }
            _ => 0.0,
        }
    }
}

/// What the producer works from.
pub(crate) struct Producer<'a> {
    /// The stream to push into.
    pub stream: &'a Stream,
    /// The frames, looped.
    pub src: &'a Source,
    /// Frames to push.
    pub total: u64,
    /// When frame 0 is due.
    pub t0: Instant,
    /// Set by the consumer when it failed: stop pushing and discard.
    pub abort: &'a AtomicBool,
    /// The run's options (interrupt flag, re-sends).
    pub opts: &'a LiveOptions,
}

impl Producer<'_> {
    /// Push `total` frames at `fps` from `t0`, then stop the stream (draining when all went
    /// well).
    pub fn run(&self, tx: mpsc::Sender<PushedFrame>) -> Result<Produced, AbiError> {
        let mut p = Produced::default();
        let pushed = (0..self.total)
            .take_while(|_| !self.should_stop())
            .try_for_each(|k| self.push_frame(k, &tx, &mut p));
        let mode = if pushed.is_ok() && !self.abort.load(Ordering::Relaxed) {
            SB_STOP_DRAIN
        } else {
            SB_STOP_DISCARD
        };
        let stopped = self.stream.stop(mode);
        pushed?;
        stopped?;
        Ok(p)
    }

    /// The consumer failed or the run was interrupted.
    fn should_stop(&self) -> bool {
        self.abort.load(Ordering::Relaxed) || self.opts.interrupted()
    }

    /// Wait for frame `k`'s deadline and push it (twice when it is a re-send).
    fn push_frame(
        &self,
        k: u64,
        tx: &mpsc::Sender<PushedFrame>,
        p: &mut Produced,
    ) -> Result<(), AbiError> {
        let src = self.src;
        let due = self.t0 + Duration::from_secs_f64(k as f64 / src.fps);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        let late = Instant::now().saturating_duration_since(due);
        if late > Duration::from_millis(5) {
            p.late += 1;
        }
        p.max_late = p.max_late.max(late);
        let idx = (k % src.frames.len() as u64) as usize;
        let f = &src.frames[idx];
        let img = &f.image;
        let ts = (k as f64 * 1e9 / src.fps) as i64;
        let resend_every = self.opts.resend_every;
        let sends = if resend_every > 0 && k % resend_every == resend_every - 1 {
            2
        } else {
            1
        };
        for _ in 0..sends {
            let call = Instant::now();
            let r = self.stream.push_gray8(
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
        Ok(())
    }
}
