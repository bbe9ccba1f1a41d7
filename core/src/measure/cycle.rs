//! End-diastole and end-systole from the LV area curve, without ECG, frame by frame.
//!
//! End-diastole is the largest LV cavity of a cycle and end-systole the smallest (the CAMUS
//! and ASE definitions, in terms of volume; the area follows it). The detector sees the area of
//! each segmented frame, in order, with its time; frames that were dropped or failed are simply
//! missing (the curve is handled in time, not in frame counts).
//!
//! 1. **Smoothing**: the median of ±k samples (k = 20 ms worth, at least 1), which removes single
//!    bad segmentations without moving extremes.
//! 2. **Extremes with hysteresis**: the smoothed curve is followed up to a maximum and confirmed
//!    as ED once it has fallen by δ below it; then down to a minimum, confirmed as ES once it has
//!    risen by δ. δ is 6 % of the area until a cycle has been seen, then 35 % of the last cycle's
//!    amplitude, kept within 3–15 % of the area: above the noise of a clean curve, below the
//!    stroke of a weak ventricle (EF 30 % is an area change of about 18 %). The diastasis and
//!    atrial kick rise monotonically and make no extra extremes. A first extreme with no rise
//!    (fall) of δ before it is the start of the recording, not a landmark, and is not reported.
//! 3. **Timing**: a two-sided parabola (its own curvature each side: end-diastole and
//!    end-systole are skewed peaks) fitted to the raw areas (less those far off the smoothed
//!    curve) within ±10 % of the cycle (at least ±2 samples) around the smoothed extreme gives
//!    its time between frames; the landmark
//!    is the frame nearest to that time.
//! 4. **Gaps**: a gap longer than [`CycleConfig::max_gap_s`] (or a time going backwards) starts
//!    the detector afresh ([`CycleDetector::epoch`] counts restarts), so that no cycle spans
//!    frames that were never seen.

use crate::meta::Phase;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Settings of [`CycleDetector`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CycleConfig {
    /// Half-width of the median smoothing, seconds (at least one sample each side).
    pub smooth_half_s: f64,
    /// Hysteresis before the first cycle, as a fraction of the area.
    pub hysteresis_first: f64,
    /// Hysteresis after it, as a fraction of the last cycle's amplitude…
    pub hysteresis_of_amplitude: f64,
    /// …but at least this fraction of the area…
    pub hysteresis_min: f64,
    /// …and at most this one.
    pub hysteresis_max: f64,
    /// Half-width of the parabola fit, as a fraction of the RR interval.
    pub fit_half_of_rr: f64,
    /// Shortest plausible RR interval, seconds (200 bpm).
    pub min_rr_s: f64,
    /// Longest plausible RR interval, seconds (30 bpm).
    pub max_rr_s: f64,
    /// Longest gap between samples before the detector starts afresh, seconds.
    pub max_gap_s: f64,
}

impl Default for CycleConfig {
    fn default() -> Self {
        Self {
            smooth_half_s: 0.02,
            hysteresis_first: 0.06,
            hysteresis_of_amplitude: 0.35,
            hysteresis_min: 0.03,
            hysteresis_max: 0.15,
            fit_half_of_rr: 0.06,
            min_rr_s: 0.3,
            max_rr_s: 2.0,
            max_gap_s: 0.3,
        }
    }
}

/// A detected end-diastole or end-systole.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Landmark {
    /// ED (largest area) or ES (smallest).
    pub phase: Phase,
    /// The frame nearest the extreme.
    pub seq: u64,
    /// That frame's time, seconds.
    pub time_s: f64,
    /// The extreme's time from the parabola fit, seconds (between frames).
    pub peak_time_s: f64,
    /// The frame's raw area.
    pub area: f64,
    /// Epoch of the detector that found it ([`CycleDetector::epoch`]).
    pub epoch: u64,
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    seq: u64,
    t: f64,
    v: f64,
}

#[derive(Debug, Clone, Copy)]
struct Cand {
    at: Sample,
    /// The opposite extreme before it (the lowest value before a maximum, the highest before
    /// a minimum).
    before: f64,
}

#[derive(Debug, Clone, Copy)]
enum Hunt {
    /// No extreme confirmed yet: follow both.
    Start { hi: Cand, lo: Cand },
    /// Following a rise to a maximum (ED).
    Max(Cand),
    /// Following a fall to a minimum (ES).
    Min(Cand),
}

/// Online ED/ES detector over one view's LV area curve.
#[derive(Debug, Clone)]
pub struct CycleDetector {
    cfg: CycleConfig,
    raw: VecDeque<Sample>,
    /// Index in `raw` of the next sample to smooth.
    next: usize,
    /// The smoothed samples (recent ones), for the timing fit.
    smooth: VecDeque<Sample>,
    hunt: Option<Hunt>,
    amplitude: Option<f64>,
    rr: Option<f64>,
    epoch: u64,
}

/// Seconds of raw samples kept.
const KEEP_S: f64 = 4.0;

impl CycleDetector {
    /// A detector with `cfg`.
    pub fn new(cfg: CycleConfig) -> Self {
        Self {
            cfg,
            raw: VecDeque::new(),
            next: 0,
            smooth: VecDeque::new(),
            hunt: None,
            amplitude: None,
            rr: None,
            epoch: 0,
        }
    }

    /// Restarts so far (gaps, time going backwards).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Tell the detector the current RR interval (from its own landmarks), which scales the
    /// parabola fit.
    pub fn set_rr(&mut self, rr_s: Option<f64>) {
        self.rr = rr_s.filter(|r| r.is_finite() && *r > 0.0);
    }

    /// Median spacing of the recent samples, seconds.
    fn dt(&self) -> f64 {
        let n = self.raw.len();
        if n < 2 {
            return 0.02;
        }
        let from = n.saturating_sub(17);
        let mut d: Vec<f64> = (from + 1..n)
            .map(|i| self.raw[i].t - self.raw[i - 1].t)
            .collect();
        d.sort_by(f64::total_cmp);
        d[d.len() / 2].max(1e-4)
    }

    fn restart(&mut self) {
        self.raw.clear();
        self.smooth.clear();
        self.next = 0;
        self.hunt = None;
        self.epoch += 1;
    }

    /// Add frame `seq`'s area at `time_s`; returns a landmark when this sample confirms one.
    /// Non-finite or negative areas are ignored.
    pub fn push(&mut self, seq: u64, time_s: f64, area: f64) -> Option<Landmark> {
        if !(area.is_finite() && area >= 0.0 && time_s.is_finite()) {
            return None;
        }
        if let Some(last) = self.raw.back()
            && (time_s <= last.t || time_s - last.t > self.cfg.max_gap_s)
        {
            log::debug!(
                "cycle detector restarts: {:.3} s after {:.3} s",
                time_s,
                last.t
            );
            self.restart();
        }
        self.raw.push_back(Sample {
            seq,
            t: time_s,
            v: area,
        });
        while self
            .raw
            .front()
            .is_some_and(|s| time_s - s.t > KEEP_S && self.next > 0)
        {
            self.raw.pop_front();
            self.next -= 1;
        }
        let k = ((self.cfg.smooth_half_s / self.dt()).round() as usize).max(1);
        if self.next + k >= self.raw.len() {
            return None;
        }
        let j = self.next;
        self.next += 1;
        let lo = j.saturating_sub(k);
        let mut w: Vec<f64> = (lo..=j + k).map(|i| self.raw[i].v).collect();
        w.sort_by(f64::total_cmp);
        let smoothed = Sample {
            v: w[w.len() / 2],
            ..self.raw[j]
        };
        self.smooth.push_back(smoothed);
        while self.smooth.front().is_some_and(|s| time_s - s.t > KEEP_S) {
            self.smooth.pop_front();
        }
        self.follow(smoothed)
    }

    fn delta(&self, v: f64) -> f64 {
        let c = &self.cfg;
        let rel = match self.amplitude {
            Some(a) if v > 0.0 => {
                (c.hysteresis_of_amplitude * a / v).clamp(c.hysteresis_min, c.hysteresis_max)
            }
            _ => c.hysteresis_first,
        };
        rel * v.max(0.0)
    }

    fn follow(&mut self, s: Sample) -> Option<Landmark> {
        let fresh = |before: f64| Cand { at: s, before };
        let hunt = match self.hunt {
            None => Hunt::Start {
                hi: fresh(s.v),
                lo: fresh(s.v),
            },
            Some(h) => h,
        };
        let (next, found) = match hunt {
            Hunt::Start { mut hi, mut lo } => {
                if s.v > hi.at.v {
                    hi = Cand {
                        at: s,
                        before: lo.at.v.min(hi.before),
                    };
                }
                if s.v < lo.at.v {
                    lo = Cand {
                        at: s,
                        before: hi.at.v.max(lo.before),
                    };
                }
                if s.v < hi.at.v - self.delta(hi.at.v) {
                    let real = hi.at.v - hi.before >= self.delta(hi.at.v);
                    (
                        Hunt::Min(fresh(hi.at.v)),
                        real.then_some((Phase::EndDiastole, hi)),
                    )
                } else if s.v > lo.at.v + self.delta(lo.at.v) {
                    let real = lo.before - lo.at.v >= self.delta(lo.at.v);
                    (
                        Hunt::Max(fresh(lo.at.v)),
                        real.then_some((Phase::EndSystole, lo)),
                    )
                } else {
                    (Hunt::Start { hi, lo }, None)
                }
            }
            Hunt::Max(mut c) => {
                if s.v > c.at.v {
                    c.at = s;
                }
                if s.v < c.at.v - self.delta(c.at.v) {
                    (Hunt::Min(fresh(c.at.v)), Some((Phase::EndDiastole, c)))
                } else {
                    (Hunt::Max(c), None)
                }
            }
            Hunt::Min(mut c) => {
                if s.v < c.at.v {
                    c.at = s;
                }
                if s.v > c.at.v + self.delta(c.at.v) {
                    (Hunt::Max(fresh(c.at.v)), Some((Phase::EndSystole, c)))
                } else {
                    (Hunt::Min(c), None)
                }
            }
        };
        self.hunt = Some(next);
        let (phase, c) = found?;
        let amp = (c.at.v - c.before).abs();
        if amp > 0.0 {
            self.amplitude = Some(amp);
        }
        Some(self.landmark(phase, c.at))
    }

    /// The frame nearest the fitted extreme around `at`.
    fn landmark(&self, phase: Phase, at: Sample) -> Landmark {
        let dt = self.dt();
        let half = (self.cfg.fit_half_of_rr * self.rr.unwrap_or(0.85)).max(2.2 * dt);
        // Raw areas around the extreme, without the ones far from the smoothed curve (single
        // bad segmentations): the median itself leans towards the flatter side of a skewed peak.
        let smooth: Vec<Sample> = self
            .smooth
            .iter()
            .filter(|s| (s.t - at.t).abs() <= half)
            .copied()
            .collect();
        let resid: Vec<(Sample, f64)> = self
            .raw
            .iter()
            .filter_map(|r| {
                let m = smooth.iter().find(|m| m.seq == r.seq)?;
                Some((*r, r.v - m.v))
            })
            .collect();
        let mut abs: Vec<f64> = resid.iter().map(|(_, d)| d.abs()).collect();
        abs.sort_by(f64::total_cmp);
        let mad = abs.get(abs.len() / 2).copied().unwrap_or(0.0);
        let tol = (3.0 * 1.4826 * mad).max(0.02 * at.v.abs());
        let near: Vec<Sample> = resid
            .iter()
            .filter(|(_, d)| d.abs() <= tol)
            .map(|(r, _)| *r)
            .collect();
        let maximum = phase == Phase::EndDiastole;
        // Without enough points for the fit: the smoothed extreme.
        let peak =
            fit_vertex(&near, at.t, maximum).map_or(at.t, |t| t.clamp(at.t - half, at.t + half));
        let frame = self
            .raw
            .iter()
            .filter(|s| (s.t - at.t).abs() <= half)
            .min_by(|a, b| (a.t - peak).abs().total_cmp(&(b.t - peak).abs()))
            .copied()
            .unwrap_or(at);
        Landmark {
            phase,
            seq: frame.seq,
            time_s: frame.t,
            peak_time_s: peak,
            area: frame.v,
            epoch: self.epoch,
        }
    }
}

/// Time of the extreme of a two-sided parabola fitted to `pts` by least squares:
/// `v = A ∓ k₁(t − t*)²` before `t*` and `A ∓ k₂(t − t*)²` after it, with `k₁, k₂ ≥ 0`. End-
/// diastole and end-systole are skewed (the atrial kick rises faster than systole begins; the
/// ventricle fills faster than it empties), and a single parabola or a cubic leans towards the
/// flatter side. `t*` is searched on a grid of 1/50 of the window around `t0`; `A`, `k₁`, `k₂`
/// are linear given `t*`. Needs at least five points.
fn fit_vertex(pts: &[Sample], t0: f64, maximum: bool) -> Option<f64> {
    if pts.len() < 5 {
        return None;
    }
    let half = pts
        .iter()
        .map(|s| (s.t - t0).abs())
        .fold(0.0, f64::max)
        .max(1e-6);
    let sign = if maximum { -1.0 } else { 1.0 };
    let vmean = pts.iter().map(|s| s.v).sum::<f64>() / pts.len() as f64;
    let mut best: Option<(f64, f64)> = None;
    for g in -25..=25 {
        let ts = t0 + half * 0.6 * g as f64 / 25.0;
        let mut m = vec![vec![0.0f64; 3]; 3];
        let mut r = vec![0.0f64; 3];
        let basis = |t: f64| {
            let x = (t - ts) / half;
            let q = sign * x * x;
            if t < ts { [1.0, q, 0.0] } else { [1.0, 0.0, q] }
        };
        for s in pts {
            let phi = basis(s.t);
            for i in 0..3 {
                for j in 0..3 {
                    m[i][j] += phi[i] * phi[j];
                }
                r[i] += phi[i] * (s.v - vmean);
            }
        }
        // A side without points leaves its curvature undetermined: not a candidate.
        let Some(c) = solve(m, r) else {
            continue;
        };
        if c[1] < 0.0 || c[2] < 0.0 {
            continue;
        }
        let sse: f64 = pts
            .iter()
            .map(|s| {
                let phi = basis(s.t);
                let f = c[0] + c[1] * phi[1] + c[2] * phi[2];
                (s.v - vmean - f).powi(2)
            })
            .sum();
        if best.is_none_or(|(_, b)| sse < b) {
            best = Some((ts, sse));
        }
    }
    best.map(|(t, _)| t)
}

/// Solve the small system `m · x = r` by Gaussian elimination with partial pivoting (`None`
/// when singular).
fn solve(mut m: Vec<Vec<f64>>, mut r: Vec<f64>) -> Option<Vec<f64>> {
    let n = r.len();
    for col in 0..n {
        let piv = (col..n).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))?;
        if m[piv][col].abs() < 1e-12 {
            return None;
        }
        m.swap(col, piv);
        r.swap(col, piv);
        for row in col + 1..n {
            let f = m[row][col] / m[col][col];
            let pivot_row = m[col].clone();
            for (x, p) in m[row].iter_mut().zip(&pivot_row).skip(col) {
                *x -= f * p;
            }
            r[row] -= f * r[col];
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| m[i][k] * x[k]).sum();
        x[i] = (r[i] - s) / m[i][i];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth area curve with a flat-topped ED at phase 0 and a sharper ES at `es`: the
    /// phantom's contraction law shape.
    fn area(phase: f64, es: f64, stroke: f64) -> f64 {
        let p = phase.rem_euclid(1.0);
        let rc = |x: f64| 0.5 * (1.0 - (std::f64::consts::PI * x.clamp(0.0, 1.0)).cos());
        let c = if p <= es {
            rc(p / es)
        } else if p <= es + 0.35 * (1.0 - es) {
            1.0 - 0.75 * rc((p - es) / (0.35 * (1.0 - es)))
        } else if p <= 0.86 {
            0.25
        } else {
            0.25 * (1.0 - rc((p - 0.86) / 0.14))
        };
        1000.0 * (1.0 - stroke * c)
    }

    /// Deterministic noise in [−1, 1].
    fn noise(i: u64) -> f64 {
        let mut z = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xdead_beef;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) as f64 / u64::MAX as f64) * 2.0 - 1.0
    }

    /// Run a curve through the detector; frames for which `skip` is true are dropped.
    fn run(
        fps: f64,
        rr: f64,
        es: f64,
        stroke: f64,
        noise_rel: f64,
        frames: u64,
        skip: impl Fn(u64) -> bool,
    ) -> Vec<Landmark> {
        let mut d = CycleDetector::new(CycleConfig::default());
        let start = 0.37; // start mid-cycle
        let mut out = Vec::new();
        for i in 0..frames {
            if skip(i) {
                continue;
            }
            let t = i as f64 / fps;
            let a = area(t / rr + start, es, stroke) * (1.0 + noise_rel * noise(i));
            if let Some(l) = d.push(i, t, a) {
                out.push(l);
            }
        }
        out
    }

    /// Signed distance in frames from the landmark's frame to the true instant; the frame is
    /// the true nearest frame or one of its neighbours when it is at most 1.5.
    fn truth_error(l: &Landmark, fps: f64, rr: f64, es: f64) -> f64 {
        let start = 0.37;
        let target = if l.phase == Phase::EndDiastole {
            0.0
        } else {
            es
        };
        // Times where (t / rr + start) ≡ target (mod 1).
        let t = l.seq as f64 / fps;
        let phase = t / rr + start - target;
        let k = phase.round();
        let true_t = (k - start + target) * rr;
        (t - true_t) * fps
    }

    #[test]
    fn landmarks_within_one_frame_on_clean_and_noisy_curves() {
        for (fps, rr, es, stroke, noise_rel) in [
            (50.0, 0.8, 0.4, 0.3, 0.0),
            (50.0, 0.63, 0.45, 0.18, 0.004),
            (50.0, 1.05, 0.35, 0.55, 0.005),
            (30.0, 0.75, 0.42, 0.35, 0.01),
            (25.0, 0.9, 0.38, 0.25, 0.005),
        ] {
            let frames = (6.0 * rr * fps) as u64;
            let ls = run(fps, rr, es, stroke, noise_rel, frames, |_| false);
            let eds = ls.iter().filter(|l| l.phase == Phase::EndDiastole).count();
            let ess = ls.len() - eds;
            assert!(
                eds >= 5 && ess >= 5,
                "{fps} {rr}: {eds} ED, {ess} ES: {ls:?}"
            );
            // Alternating.
            for w in ls.windows(2) {
                assert_ne!(w[0].phase, w[1].phase);
            }
            for l in &ls {
                let e = truth_error(l, fps, rr, es);
                assert!(
                    e.abs() <= 1.5,
                    "{fps} {rr} {noise_rel}: {l:?} off by {e:.2} frames"
                );
            }
        }
    }

    #[test]
    fn dropped_frames_do_not_break_detection() {
        let (fps, rr, es) = (50.0, 0.8, 0.4);
        // Every 7th and 11th frame missing (about 23 %).
        let ls = run(fps, rr, es, 0.3, 0.01, 300, |i| i % 7 == 3 || i % 11 == 5);
        assert!(ls.len() >= 9, "{ls:?}");
        // With a fifth of the frames missing the fit often lacks points; within 2.5 frames.
        for l in &ls {
            let e = truth_error(l, fps, rr, es);
            assert!(e.abs() <= 2.5, "{l:?} off by {e:.2} frames");
        }
    }

    #[test]
    fn single_outliers_are_ignored_and_gaps_restart() {
        let mut d = CycleDetector::new(CycleConfig::default());
        let mut n = 0;
        for i in 0..400u64 {
            let t = i as f64 / 50.0;
            let mut a = area(t / 0.8 + 0.37, 0.4, 0.3);
            if i % 37 == 0 {
                a *= 0.6; // a bad segmentation
            }
            if let Some(l) = d.push(i, t, a) {
                n += 1;
                assert!(truth_error(&l, 50.0, 0.8, 0.4).abs() <= 1.5, "{l:?}");
            }
        }
        assert!(n >= 16, "{n}");
        assert_eq!(d.epoch(), 0);
        assert!(d.push(400, 400.0 / 50.0 + 1.0, 900.0).is_none());
        assert_eq!(d.epoch(), 1);
        assert!(d.push(401, 0.0, 900.0).is_none(), "time going back");
        assert_eq!(d.epoch(), 2);
    }

    #[test]
    fn a_flat_curve_gives_no_landmarks() {
        let mut d = CycleDetector::new(CycleConfig::default());
        for i in 0..500u64 {
            let a = 1000.0 * (1.0 + 0.01 * noise(i));
            assert!(d.push(i, i as f64 / 50.0, a).is_none());
        }
        assert!(d.push(500, 10.0, f64::NAN).is_none());
    }
}
