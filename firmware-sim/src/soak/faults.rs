//! The faults a soak injects, drawn per frame from a seeded generator, so a run can be
//! repeated exactly (`--seed`).
//!
//! What a scanner or its transport can do to a live stream, and what the library must do:
//!
//! | fault | what is pushed | the library must |
//! |---|---|---|
//! | drop | nothing (a gap in time) | carry on; the cycle detector sees a gap |
//! | duplicate | the same frame and timestamp twice | take both, one result each |
//! | corrupt | noise, a blank or a torn frame | segment it (it cannot know) |
//! | resize | a frame of another size | take it (sizes may change at any frame) |
//! | reorder | frames k+1 then k (time goes back) | take both; results stay in push order |
//! | invalid | a wrong description (see [`Invalid`]) | refuse it with the right status, take the next |
//! | metadata gap | frames with NULL or partial metadata for a while | degrade the prompt |
//! | view switch | runs of one view, or both interleaved | keep a track per view |
//! | burst | many frames at once, from a second thread | drop the oldest, never block |

use crate::live::abi::sys::{SB_ERR_FRAME, SB_ERR_INVALID, sb_status};
use synboost_phantom::rng::SplitMix64;

/// A wrong frame or metadata description, and the status it must be refused with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Invalid {
    /// `stride` one byte less than a row.
    StrideTooSmall,
    /// `data_size` one byte short of the last row.
    ShortData,
    /// `width` 0.
    ZeroWidth,
    /// `width` 16385 (over the limit).
    HugeWidth,
    /// `format` 9 (no `SB_PIXEL_*`).
    BadFormat,
    /// `struct_size` 8 (an old or broken caller).
    BadStructSize,
    /// `meta.view` 7 (no `SB_VIEW_*`).
    BadView,
    /// `meta.pixel_spacing_x_mm` NaN.
    NanSpacing,
}

impl Invalid {
    /// Every kind.
    pub const ALL: [Invalid; 8] = [
        Self::StrideTooSmall,
        Self::ShortData,
        Self::ZeroWidth,
        Self::HugeWidth,
        Self::BadFormat,
        Self::BadStructSize,
        Self::BadView,
        Self::NanSpacing,
    ];

    /// The status the push must fail with.
    pub fn expected(self) -> sb_status {
        match self {
            Self::StrideTooSmall | Self::ShortData | Self::ZeroWidth | Self::HugeWidth => {
                SB_ERR_FRAME
            }
            Self::BadFormat | Self::BadStructSize | Self::BadView | Self::NanSpacing => {
                SB_ERR_INVALID
            }
        }
    }

    /// A short name for the report.
    pub fn name(self) -> &'static str {
        match self {
            Self::StrideTooSmall => "stride_too_small",
            Self::ShortData => "short_data",
            Self::ZeroWidth => "zero_width",
            Self::HugeWidth => "huge_width",
            Self::BadFormat => "bad_format",
            Self::BadStructSize => "bad_struct_size",
            Self::BadView => "bad_view",
            Self::NanSpacing => "nan_spacing",
        }
    }
}

/// How pixels are corrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corruption {
    /// A band of random bytes over a third of the frame.
    Noise,
    /// All zero (a frozen, blank screen).
    Blank,
    /// The lower half taken from another frame (a torn buffer).
    Torn,
}

/// What happens at one tick of the producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The frame is pushed as it is.
    None,
    /// The frame is not pushed.
    Drop,
    /// The frame is pushed twice.
    Duplicate,
    /// The frame's pixels are corrupted.
    Corrupt(Corruption),
    /// A frame of another size is pushed instead.
    Resize,
    /// The next frame is pushed first, then this one.
    Reorder,
    /// A wrong description is pushed (and refused), then the frame itself.
    Invalid(Invalid),
}

impl Fault {
    /// A short name for the report.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Drop => "drop",
            Self::Duplicate => "duplicate",
            Self::Corrupt(_) => "corrupt",
            Self::Resize => "resize",
            Self::Reorder => "reorder",
            Self::Invalid(_) => "invalid",
        }
    }
}

/// Which views the scanner sends for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Views {
    /// Both apical views interleaved (a biplane probe).
    Both,
    /// Four-chamber only.
    FourChamber,
    /// Two-chamber only.
    TwoChamber,
}

/// What the metadata is during a gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaGap {
    /// Complete.
    None,
    /// NULL: nothing known.
    Null,
    /// The view unknown.
    NoView,
    /// No pixel spacing and no frame rate.
    NoCalibration,
}

/// Draws the faults: per-frame ones with fixed rates, and runs (view regimes, metadata gaps)
/// with random lengths.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    rng: SplitMix64,
    fps: f64,
    views: Views,
    views_left: u64,
    gap: MetaGap,
    gap_left: u64,
}

/// Draws one fault of a kind (its variant, when it has one).
type Draw = fn(&mut FaultPlan) -> Fault;

/// Per-frame fault rates (the rest is [`Fault::None`]), each with how its fault is drawn.
const RATES: [(f64, Draw); 6] = [
    (0.04, |_| Fault::Drop),
    (0.03, |_| Fault::Duplicate),
    (0.03, |p| {
        Fault::Corrupt([Corruption::Noise, Corruption::Blank, Corruption::Torn][p.pick(3)])
    }),
    (0.03, |_| Fault::Resize),
    (0.03, |_| Fault::Reorder),
    (0.04, |p| {
        Fault::Invalid(Invalid::ALL[p.pick(Invalid::ALL.len())])
    }),
];

impl FaultPlan {
    /// A plan for a stream at `fps`, from `seed`.
    pub fn new(seed: u64, fps: f64) -> Self {
        Self {
            rng: SplitMix64::new(seed),
            fps,
            views: Views::Both,
            views_left: 0,
            gap: MetaGap::None,
            gap_left: 0,
        }
    }

    /// The fault of the next tick.
    pub fn next_fault(&mut self) -> Fault {
        let mut u = self.rng.unit();
        for (p, draw) in RATES {
            if u < p {
                return draw(self);
            }
            u -= p;
        }
        Fault::None
    }

    /// The views sent at the next tick: a regime lasts 2–6 s.
    pub fn next_views(&mut self) -> Views {
        if self.views_left == 0 {
            self.views = [Views::Both, Views::FourChamber, Views::TwoChamber][self.pick(3)];
            self.views_left = (self.rng.range(2.0, 6.0) * self.fps) as u64;
        }
        self.views_left -= 1;
        self.views
    }

    /// The metadata of the next tick: a gap starts at 1 % of frames and lasts 10–60 frames.
    pub fn next_meta(&mut self) -> MetaGap {
        if self.gap_left == 0 {
            self.gap = MetaGap::None;
            if self.rng.unit() < 0.01 {
                self.gap = [MetaGap::Null, MetaGap::NoView, MetaGap::NoCalibration][self.pick(3)];
                self.gap_left = 10 + (self.rng.unit() * 50.0) as u64;
            }
        }
        self.gap_left = self.gap_left.saturating_sub(1);
        self.gap
    }

    /// Seconds to the next burst (1–4 s) and its size (8–24 frames).
    pub fn next_burst(&mut self) -> (f64, usize) {
        (self.rng.range(1.0, 4.0), 8 + self.pick(17))
    }

    /// A random byte offset or index below `n`.
    pub fn pick(&mut self, n: usize) -> usize {
        ((self.rng.unit() * n as f64) as usize).min(n.saturating_sub(1))
    }

    /// Random bytes.
    pub fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let r = self.rng.next_u64().to_le_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_come_at_their_rates_and_repeat_with_the_seed() {
        let mut a = FaultPlan::new(7, 80.0);
        let mut b = FaultPlan::new(7, 80.0);
        let n = 20_000;
        let mut counts = std::collections::BTreeMap::new();
        for _ in 0..n {
            let f = a.next_fault();
            assert_eq!(f, b.next_fault());
            *counts.entry(f.name()).or_insert(0usize) += 1;
        }
        let mut scratch = FaultPlan::new(1, 80.0);
        for (p, draw) in RATES {
            let name = draw(&mut scratch).name();
            let got = counts.get(name).copied().unwrap_or(0) as f64 / n as f64;
            assert!((got - p).abs() < 0.01, "{name}: {got} vs {p}");
        }
        let mut kinds = std::collections::BTreeSet::new();
        for _ in 0..5_000 {
            if let Fault::Invalid(k) = a.next_fault() {
                kinds.insert(k);
            }
        }
        assert_eq!(kinds.len(), Invalid::ALL.len());
    }

    #[test]
    fn regimes_and_gaps_are_runs() {
        let mut p = FaultPlan::new(3, 80.0);
        let views: Vec<Views> = (0..8_000).map(|_| p.next_views()).collect();
        let switches = views.windows(2).filter(|w| w[0] != w[1]).count();
        // 100 s at 80 fps with 2–6 s regimes (some draws repeat the same regime).
        assert!((8..=50).contains(&switches), "{switches}");
        let gaps: Vec<MetaGap> = (0..8_000).map(|_| p.next_meta()).collect();
        let in_gap = gaps.iter().filter(|g| **g != MetaGap::None).count();
        assert!(in_gap > 100 && in_gap < 4_000, "{in_gap}");
    }
}
