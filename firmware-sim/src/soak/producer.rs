//! The soak's producers: the main one pushes phantom frames at a fixed rate with the faults of
//! [`super::faults`] injected, the burst one pushes runs of frames back to back from a second
//! thread; both keep the books ([`super::ledger`]).

use super::faults::{Corruption, Fault, FaultPlan, Invalid, MetaGap, Views};
use super::ledger::{ACCEPTED, Ledger, Tally};
use super::options::SoakOptions;
use crate::error::Result;
use crate::live::abi::sys::{SB_NO_TIMESTAMP, SB_VIEW_2CH, SB_VIEW_4CH, SB_VIEW_UNKNOWN, sb_meta};
use crate::live::abi::{FrameDesc, Stream};
use crate::live::source::{self, PhantomPlan, Source};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use synboost_phantom::PhantomConfig;

/// The frames a soak pushes.
pub(crate) struct Frames {
    main: Source,
    resized: Source,
}

impl Frames {
    /// Both apical views of the soak's phantom, and a few frames of another size.
    pub fn render(o: &SoakOptions) -> Result<Self> {
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
pub(crate) struct Pusher<'a> {
    /// The stream to push into.
    pub stream: &'a Stream,
    /// One mark per sequence number.
    pub ledger: &'a Ledger,
    /// What the producers did.
    pub tally: &'a Mutex<Tally>,
    /// Whether this is the burst thread.
    pub burst: bool,
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
pub(crate) fn produce(
    p: &Pusher<'_>,
    frames: &Frames,
    o: &SoakOptions,
    t0: Instant,
    stop: &AtomicBool,
) {
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
pub(crate) fn bursts(
    p: &Pusher<'_>,
    frames: &Frames,
    o: &SoakOptions,
    t0: Instant,
    stop: &AtomicBool,
) {
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
