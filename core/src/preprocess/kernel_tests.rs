//! The vector kernels (resampling here, BGRA luma in `crate::frame`) and the whole preprocessor
//! against the scalar reference on random inputs: every format, odd sizes, 1×1, constant frames,
//! stride padding, ROIs, letterbox.
use super::kernels::{resample_row, resample_row_scalar, vertical_row, vertical_row_scalar};
use super::*;
use crate::frame::{PixelFormat, luma};

/// xorshift64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self, n: usize, kind: usize) -> Vec<u8> {
        (0..n)
            .map(|_| match kind % 4 {
                0 => 0,
                1 => 255,
                _ => (self.next() >> 32) as u8,
            })
            .collect()
    }
}

#[test]
fn vector_kernels_match_scalar() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut acc = Vec::new();
    for case in 0..600 {
        let n_in = 1 + rng.below(if case % 3 == 0 { 2000 } else { 60 });
        let n_out = 1 + rng.below(if case % 4 == 0 { 300 } else { 60 });
        let mut t = Taps::default();
        t.build(n_in, n_out);
        let src = rng.bytes(n_in, case);
        let (mut a, mut b) = (vec![0u8; n_out], vec![0u8; n_out]);
        resample_row(&src, &t, &mut a);
        resample_row_scalar(&src, &t, &mut b);
        assert_eq!(a, b, "row {n_in} -> {n_out}");
        // Vertical: `n_in` rows of `width` pixels, first row y0 of the taps' range.
        let width = 1 + rng.below(70);
        let (y0, y1) = t.range();
        let inter = rng.bytes((y1 - y0) * width, case + 2);
        for j in 0..n_out {
            let (mut a, mut b) = (vec![0u8; width], vec![0u8; width]);
            vertical_row(&inter, width, y0, &t, j, &mut acc, &mut a);
            vertical_row_scalar(&inter, width, y0, &t, j, &mut acc, &mut b);
            assert_eq!(a, b, "column {n_in} -> {n_out}, row {j}, width {width}");
        }
    }
}

/// Grey of pixel `x` of a row of `format`, per pixel.
fn grey(format: PixelFormat, p: &[u8], window: Window) -> u8 {
    match format {
        PixelFormat::Gray8 => p[0],
        PixelFormat::Gray16 => window.apply(u16::from_le_bytes([p[0], p[1]])),
        PixelFormat::Rgb8 => luma(p[0], p[1], p[2]),
        _ => luma(p[2], p[1], p[0]),
    }
}

/// The preprocessing rule with scalar kernels only.
fn reference(f: &FrameView<'_>, opts: &PreprocessOptions, mw: usize, mh: usize) -> Vec<u8> {
    let g = Geometry::new((f.width(), f.height()), opts.roi, (mw, mh), opts.fit).unwrap();
    let (roi, c) = (g.roi(), g.content());
    let (mut xt, mut yt) = (Taps::default(), Taps::default());
    xt.build(roi.width, c.width);
    yt.build(roi.height, c.height);
    let bpp = f.format().bytes_per_pixel();
    let window = opts.window.unwrap_or_default();
    let (y0, y1) = yt.range();
    let mut inter = vec![0u8; (y1 - y0) * c.width];
    for (sy, irow) in (y0..y1).zip(inter.chunks_exact_mut(c.width)) {
        let row = f.row(roi.y + sy).unwrap();
        let src: Vec<u8> = row[roi.x * bpp..(roi.x + roi.width) * bpp]
            .chunks_exact(bpp)
            .map(|p| grey(f.format(), p, window))
            .collect();
        resample_row_scalar(&src, &xt, irow);
    }
    let mut out = vec![0u8; mw * mh];
    let mut acc = Vec::new();
    for j in 0..c.height {
        let dst = &mut out[(c.y + j) * mw + c.x..(c.y + j) * mw + c.x + c.width];
        vertical_row_scalar(&inter, c.width, y0, &yt, j, &mut acc, dst);
    }
    out
}

#[test]
fn preprocessor_matches_the_scalar_rule() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let formats = [
        PixelFormat::Gray8,
        PixelFormat::Gray16,
        PixelFormat::Rgb8,
        PixelFormat::Bgra8,
    ];
    let mut pre = Preprocessor::new(1, 1);
    let mut out = Vec::new();
    for case in 0..300 {
        let format = formats[case % 4];
        let (w, h) = match case % 7 {
            0 => (1, 1),
            1 => (800, 600),
            _ => (1 + rng.below(300), 1 + rng.below(200)),
        };
        let (mw, mh) = match case % 5 {
            0 => (w, h),
            1 => (224, 224),
            2 => (1, 1 + rng.below(9)),
            _ => (1 + rng.below(250), 1 + rng.below(250)),
        };
        let bpp = format.bytes_per_pixel();
        let stride = w * bpp + rng.below(3) * (1 + rng.below(40));
        // Constant frames, random ones, and all-255 padding that must not leak.
        let mut data = rng.bytes(stride * h, case / 4);
        for y in 0..h {
            data[y * stride + w * bpp..(y + 1) * stride].fill(255);
        }
        let f = FrameView::new(format, w, h, stride, &data).unwrap();
        let opts = PreprocessOptions {
            fit: if case % 2 == 0 {
                Fit::Stretch
            } else {
                Fit::Letterbox
            },
            roi: (case % 3 == 2).then(|| {
                let (x, y) = (rng.below(w), rng.below(h));
                Roi::new(x, y, 1 + rng.below(w - x), 1 + rng.below(h - y))
            }),
            window: (case % 8 == 1).then(|| Window::new(1000, 40000).unwrap()),
        };
        if pre.model_size() != (mw, mh) {
            pre = Preprocessor::new(mw, mh);
        }
        pre.run(&f, &opts, &mut out).unwrap();
        assert_eq!(
            out,
            reference(&f, &opts, mw, mh),
            "case {case}: {format} {w}x{h} stride {stride} -> {mw}x{mh} {opts:?}"
        );
    }
}

#[test]
fn luma_division_by_shifts_is_exact() {
    // Every x = 299 R + 587 G + 114 B + 500 luma can reach (`crate::frame`'s SSE2 BGRA luma).
    for x in 500u32..=255 * 1000 + 500 {
        assert_eq!(((x >> 3) * 33555) >> 22, x / 1000, "{x}");
    }
}

#[test]
fn bgra_vector_luma_matches_scalar() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut bytes = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect()
    };
    let mut src = bytes(4 * 1000);
    // Every channel at every value, and the extremes.
    for v in 0..=255u8 {
        src[4 * v as usize] = v;
        src[4 * (256 + v as usize) + 1] = v;
        src[4 * (512 + v as usize) + 2] = v;
    }
    src[4 * 800..4 * 816].fill(255);
    src[4 * 816..4 * 832].fill(0);
    let conv = crate::frame::GrayConverter::default();
    for n in [0, 1, 15, 16, 17, 63, 1000] {
        let mut out = vec![0u8; n];
        conv.convert(PixelFormat::Bgra8, &src[..4 * n], &mut out);
        for (i, (&o, p)) in out.iter().zip(src.chunks_exact(4)).enumerate() {
            assert_eq!(o, luma(p[2], p[1], p[0]), "pixel {i} of {n}");
        }
    }
    // Shorter output than input, and the other way round.
    let mut out = vec![7u8; 40];
    conv.convert(PixelFormat::Bgra8, &src[..4 * 33], &mut out);
    assert!(out[33..].iter().all(|&v| v == 7));
}
