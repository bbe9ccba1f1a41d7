//! The consumer of a live run: the calling thread polls every result, scores it, keeps a sample
//! for the animation, logs the cycles the library completes, and reports progress.

use super::abi::{FrameResult, Poll, Stream};
use super::anim::{self, Kept, PackedMask, Sampler};
use super::clinical;
use super::producer::PushedFrame;
use super::report::Memory;
use super::resident_kib;
use super::scores::Scores;
use super::source::Source;
use crate::error::{Result, SimError};
use crate::live::abi::sys::sb_cycle;
use crate::live::abi::sys::{
    SB_NO_TIMESTAMP, SB_STRUCTURE_LA_CAVITY, SB_STRUCTURE_LV_CAVITY, SB_STRUCTURE_MYOCARDIUM,
    SB_VIEW_2CH,
};
use crate::live::abi::sys::{
    SB_OUTCOME_DISCARDED, SB_OUTCOME_DROPPED, SB_OUTCOME_FAILED, SB_OUTCOME_SEGMENTED,
    sb_result_info,
};
use crate::progress::Progress;
use std::collections::VecDeque;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Index (LV cavity, myocardium, LA: [`super::scores::NAMES`]) of a `SB_STRUCTURE_*` bit.
fn structure_index(bit: u32) -> Option<usize> {
    match bit {
        SB_STRUCTURE_LV_CAVITY => Some(0),
        SB_STRUCTURE_MYOCARDIUM => Some(1),
        SB_STRUCTURE_LA_CAVITY => Some(2),
        _ => None,
    }
}

/// What the consumer polled.
#[derive(Debug, Default)]
pub(crate) struct Consumed {
    /// Results polled.
    pub polled: u64,
    /// Of them, segmented.
    pub segmented: u64,
    /// Failed.
    pub failed: u64,
    /// Dropped from a full queue.
    pub dropped: u64,
    /// Dropped by a discarding stop.
    pub discarded: u64,
    /// The first few failures' messages.
    pub first_errors: Vec<String>,
    /// Per-structure scores.
    pub scores: Scores,
    /// When the last result came.
    pub last_result: Option<Instant>,
    /// Measurements and cycles.
    pub clinical: clinical::ClinicalLog,
    /// Resident memory after the warm-up ([`Memory::WARM_UP_S`]).
    pub rss_warm: Option<u64>,
}

/// Finds the source frame of each result (results come in sequence order; the producer sends
/// `(seq, frame)` right after each push).
pub(crate) struct SeqMap {
    rx: mpsc::Receiver<PushedFrame>,
    pending: VecDeque<PushedFrame>,
    /// Every pushed frame seen so far: `(seq, source frame, time s)`.
    all: Vec<PushedFrame>,
}

impl SeqMap {
    /// A map fed by the producer through `rx`.
    pub fn new(rx: mpsc::Receiver<PushedFrame>) -> Self {
        Self {
            rx,
            pending: VecDeque::new(),
            all: Vec::new(),
        }
    }

    /// The source frame of sequence number `seq`.
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
    pub fn into_all(mut self) -> Vec<PushedFrame> {
        while let Ok(x) = self.rx.try_recv() {
            self.all.push(x);
        }
        self.all
    }
}

/// What the consumer works with.
pub(crate) struct Consumer<'a> {
    /// The stream to poll.
    pub stream: &'a Stream,
    /// The frames pushed (for their truth).
    pub src: &'a Source,
    /// Sequence numbers to source frames.
    pub seqs: &'a mut SeqMap,
    /// The animation's sample.
    pub sampler: &'a mut Sampler,
    /// The animation's downscale factor.
    pub gif_factor: usize,
    /// When frame 0 was due.
    pub t0: Instant,
}

impl Consumer<'_> {
    /// Poll results until the stream ends.
    pub fn run(&mut self, progress: &mut dyn FnMut(Progress)) -> Result<Consumed> {
        let mut c = Consumed::default();
        let mut last_ui = Instant::now();
        loop {
            match self.stream.poll(100)? {
                Poll::End => break,
                Poll::Timeout => {}
                Poll::Result(r) => self.take(&r, &mut c)?,
            }
            if c.rss_warm.is_none() && self.t0.elapsed().as_secs_f64() >= Memory::WARM_UP_S {
                c.rss_warm = resident_kib();
            }
            if last_ui.elapsed() >= Duration::from_millis(250) {
                last_ui = Instant::now();
                let message = self.status_line(&c)?;
                progress(Progress::Step {
                    done: c.polled,
                    message: Some(message),
                });
            }
        }
        progress(Progress::Step {
            done: c.polled,
            message: None,
        });
        Ok(c)
    }

    /// The progress line: rate, latency, drops and (phantom) dice so far.
    fn status_line(&self, c: &Consumed) -> Result<String> {
        let st = self.stream.stats()?;
        let secs = self.t0.elapsed().as_secs_f64().max(1e-9);
        let dice = match c.scores.mean_dice() {
            Some(d) => format!(" | dice {d:.3}"),
            None => String::new(),
        };
        Ok(format!(
            "{:.1} fps | p50 {:.1} ms p99 {:.1} ms | dropped {}{dice}",
            st.processed as f64 / secs,
            st.latency_p50_ms,
            st.latency_p99_ms,
            st.dropped + st.rejected
        ))
    }

    /// Account for one result.
    fn take(&mut self, r: &FrameResult, c: &mut Consumed) -> Result<()> {
        c.polled += 1;
        c.last_result = Some(Instant::now());
        let info = r.info()?;
        match info.outcome {
            SB_OUTCOME_SEGMENTED => {
                c.segmented += 1;
                self.segmented(r, &info, c)?;
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
        Ok(())
    }

    /// Score a segmented frame, keep its measurements and cycle, and offer it to the sampler.
    fn segmented(
        &mut self,
        r: &FrameResult,
        info: &sb_result_info,
        c: &mut Consumed,
    ) -> Result<()> {
        let src = self.src;
        let frame = self.seqs.frame_of(info.seq).ok_or_else(|| {
            SimError::Internal(format!("result {} matches no pushed frame", info.seq))
        })?;
        let f = &src.frames[frame];
        let t_s = if info.timestamp_ns == SB_NO_TIMESTAMP {
            info.seq as f64 / src.fps
        } else {
            info.timestamp_ns as f64 * 1e-9
        };
        let want = self.sampler.wants(t_s);
        let mut kept: [Option<PackedMask>; 3] = [None, None, None];
        for i in 0..info.structure_count {
            let s = r.structure(i)?;
            let Some(k) = structure_index(s.bit) else {
                continue;
            };
            c.scores.record(k, &s, f.truth.as_ref().map(|t| &t[k]))?;
            if want {
                kept[k] = Some(PackedMask::pack(&anim::downscale_mask(
                    s.mask,
                    (s.width, s.height),
                    self.gif_factor,
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
            log_cycle(&cy);
            c.clinical.cycles.push(cy);
        }
        self.sampler.offer(t_s, || {
            Some(Kept {
                frame,
                predicted: kept,
            })
        });
        Ok(())
    }
}

/// Log a cycle the library completed.
fn log_cycle(cy: &sb_cycle) {
    log::info!(
        "cycle {} ({}): ED frame {} ES frame {}, EF {:.1} % (Simpson {:.1} %{}), {} bpm",
        cy.index,
        if cy.view == SB_VIEW_2CH { "2CH" } else { "4CH" },
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structure_bits_map_to_truth_order() {
        assert_eq!(structure_index(SB_STRUCTURE_LV_CAVITY), Some(0));
        assert_eq!(structure_index(SB_STRUCTURE_MYOCARDIUM), Some(1));
        assert_eq!(structure_index(SB_STRUCTURE_LA_CAVITY), Some(2));
        assert_eq!(structure_index(8), None);
    }
}
