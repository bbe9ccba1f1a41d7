//! Pre- and postprocessing of one frame, exactly what `Engine::segment_prompts` does per frame
//! except the model (issue 26): `Preprocessor::run` into the model buffer, then for 3 structures
//! `postprocess` of a 224² logit plane and `FrameMapper::map` back to the frame size. One
//! thread, no criterion: every row is timed `ITERS` times after a warm-up and printed as median
//! and p99 in microseconds, with the heap allocations per run (a counting global allocator).
//!
//! `cargo bench -p synboost-core --bench pipeline` (optionally `-- ITERS`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use synboost_core::frame::{FrameView, PixelFormat};
use synboost_core::postprocess::{
    FrameMapper, PostprocessOptions, Postprocessor, fill_holes, largest_component, postprocess,
    threshold,
};
use synboost_core::preprocess::{Geometry, PreprocessOptions, Preprocessor};

/// Counts heap allocations, to show which rows allocate per frame.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const MODEL: usize = 224;
const STRUCTURES: usize = 3;
const WARMUP: usize = 20;

/// xorshift64: deterministic noise without a dependency.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in [-1, 1).
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// Three 224² logit planes: an LV-like ellipse with a hole and a speck, a myocardium-like
/// horseshoe around it (open at the base), an LA-like ellipse below; all with ±1.2 of noise so
/// that the boundaries are ragged and a few noise components appear.
fn logit_planes() -> Vec<f32> {
    let n = MODEL as f32;
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::with_capacity(STRUCTURES * MODEL * MODEL);
    for k in 0..STRUCTURES {
        for i in 0..MODEL * MODEL {
            let (x, y) = ((i % MODEL) as f32 + 0.5, (i / MODEL) as f32 + 0.5);
            let lv = |x: f32, y: f32| {
                let (dx, dy) = ((x - 0.55 * n) / 40.0, (y - 0.4 * n) / 75.0);
                (dx * dx + dy * dy).sqrt()
            };
            let v = match k {
                0 => 4.0 * (1.0 - lv(x, y)),
                1 => {
                    let r = lv(x, y);
                    let ring = 4.0 * (0.18 - (r - 1.2).abs()) / 0.18;
                    if y > 0.4 * n + 75.0 { -4.0 } else { ring }
                }
                _ => {
                    let (dx, dy) = ((x - 0.55 * n) / 35.0, (y - 0.82 * n) / 25.0);
                    4.0 * (1.0 - (dx * dx + dy * dy).sqrt())
                }
            };
            out.push(v + 1.2 * noise.unit());
        }
        let plane = &mut out[k * MODEL * MODEL..];
        // A hole in the middle of each structure and a speck far from it.
        let (hx, hy) = match k {
            0 => (123, 90),
            1 => (123, 180),
            _ => (123, 184),
        };
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            plane[(hy + dy) * MODEL + hx + dx] = -6.0;
        }
        plane[12 * MODEL + 12 + 5 * k] = 6.0;
    }
    out
}

/// An ultrasound-like frame: a sector of speckle on black, with a text strip at the top.
fn frame_bytes(format: PixelFormat, w: usize, h: usize, stride: usize) -> Vec<u8> {
    let bpp = format.bytes_per_pixel();
    let mut noise = Noise(0x2545_f491_4f6c_dd1d);
    let mut data = vec![0u8; stride * h];
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32 / w as f32 - 0.5, y as f32 / h as f32);
            let inside = fx.abs() < 0.45 * fy + 0.05 && fy < 0.95;
            let g = if y < h / 20 && x % 7 < 3 {
                255
            } else if inside {
                (60.0 + 50.0 * fy + 60.0 * noise.unit()).clamp(0.0, 255.0) as u8
            } else {
                0
            };
            let px = &mut data[y * stride + x * bpp..y * stride + (x + 1) * bpp];
            match format {
                PixelFormat::Gray8 => px[0] = g,
                PixelFormat::Gray16 => px.copy_from_slice(&(u16::from(g) * 257).to_le_bytes()),
                PixelFormat::Rgb8 => px.copy_from_slice(&[g, g / 2 + 10, g.saturating_add(7)]),
                _ => px.copy_from_slice(&[g.saturating_add(7), g / 2 + 10, g, 255]),
            }
        }
    }
    data
}

/// Median and p99 in microseconds of `iters` runs of `f` after a warm-up, and the heap
/// allocations per run.
fn time(iters: usize, mut f: impl FnMut()) -> (f64, f64, f64) {
    for _ in 0..WARMUP {
        f();
    }
    let mut t = vec![0f64; iters];
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for v in t.iter_mut() {
        let t0 = Instant::now();
        f();
        *v = t0.elapsed().as_secs_f64() * 1e6;
    }
    let allocs = (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / iters as f64;
    t.sort_by(f64::total_cmp);
    let at = |q: f64| t[((t.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99), allocs)
}

fn row(name: &str, (median, p99, allocs): (f64, f64, f64)) {
    println!("| {name:<50} | {median:>9.1} | {p99:>9.1} | {allocs:>7.1} |");
}

fn main() {
    let iters = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(300);
    let logits = logit_planes();
    let planes: Vec<&[f32]> = logits.chunks_exact(MODEL * MODEL).collect();
    let opts = PostprocessOptions::default();
    println!("pipeline: one thread, {iters} runs per row after {WARMUP} warm-up, microseconds");
    println!(
        "| {:<50} | {:>9} | {:>9} | {:>7} |",
        "row", "median", "p99", "allocs"
    );
    println!("|{:-<52}|{:->11}|{:->11}|{:->9}|", "", "", "", "");

    // Model-resolution steps, 3 structures.
    row(
        "threshold 224² ×3",
        time(iters, || {
            for p in &planes {
                black_box(threshold(p, MODEL, MODEL, 0.5).unwrap());
            }
        }),
    );
    let raw: Vec<_> = planes
        .iter()
        .map(|p| threshold(p, MODEL, MODEL, 0.5).unwrap())
        .collect();
    row(
        "largest_component 224² ×3",
        time(iters, || {
            for m in &raw {
                black_box(largest_component(m));
            }
        }),
    );
    let clean: Vec<_> = planes
        .iter()
        .map(|p| postprocess(p, MODEL, MODEL, &opts).unwrap().0)
        .collect();
    row(
        "fill_holes 224² ×3",
        time(iters, || {
            for m in &clean {
                black_box(fill_holes(m));
            }
        }),
    );
    row(
        "postprocess 224² ×3",
        time(iters, || {
            for p in &planes {
                black_box(postprocess(p, MODEL, MODEL, &opts).unwrap());
            }
        }),
    );
    let mut post = Postprocessor::new();
    let mut out: Vec<_> = clean.clone();
    row(
        "Postprocessor::run_into 224² ×3",
        time(iters, || {
            for (p, o) in planes.iter().zip(out.iter_mut()) {
                black_box(post.run_into(p, MODEL, MODEL, &opts, o).unwrap());
            }
        }),
    );
    for (p, o) in planes.iter().zip(&out) {
        assert_eq!(o, &postprocess(p, MODEL, MODEL, &opts).unwrap().0);
    }

    for (label, format, (w, h)) in [
        ("800×600 BGRA8", PixelFormat::Bgra8, (800, 600)),
        ("800×600 GRAY8", PixelFormat::Gray8, (800, 600)),
        ("224² GRAY8", PixelFormat::Gray8, (MODEL, MODEL)),
    ] {
        let stride = w * format.bytes_per_pixel();
        let data = frame_bytes(format, w, h, stride);
        let view = FrameView::new(format, w, h, stride, &data).unwrap();
        let pre_opts = PreprocessOptions::default();
        let mut pre = Preprocessor::new(MODEL, MODEL);
        let mut input = Vec::new();
        let geom: Geometry = pre.run(&view, &pre_opts, &mut input).unwrap();
        row(
            &format!("{label}: preprocess"),
            time(iters, || {
                black_box(pre.run(&view, &pre_opts, &mut input).unwrap());
            }),
        );
        let mut mapper = FrameMapper::new();
        row(
            &format!("{label}: map ×3"),
            time(iters, || {
                for (p, c) in planes.iter().zip(&clean) {
                    black_box(mapper.map(p, c, &geom, 0.5).unwrap());
                }
            }),
        );
        // What segment_prompts does per frame, the model aside.
        row(
            &format!("{label}: whole frame (pre + 3 × post + map)"),
            time(iters, || {
                let g = pre.run(&view, &pre_opts, &mut input).unwrap();
                for p in &planes {
                    let (c, s) = postprocess(p, MODEL, MODEL, &opts).unwrap();
                    black_box((mapper.map(p, &c, &g, 0.5).unwrap(), s));
                }
            }),
        );
        // The same with every buffer reused (Postprocessor + FrameMapper::map_into).
        let mut masks = clean.clone();
        row(
            &format!("{label}: whole frame, buffers reused"),
            time(iters, || {
                let g = pre.run(&view, &pre_opts, &mut input).unwrap();
                for ((p, c), m) in planes.iter().zip(out.iter_mut()).zip(masks.iter_mut()) {
                    let s = post.run_into(p, MODEL, MODEL, &opts, c).unwrap();
                    mapper.map_into(p, c, &g, 0.5, m).unwrap();
                    black_box((&*m, s));
                }
            }),
        );
    }
}
