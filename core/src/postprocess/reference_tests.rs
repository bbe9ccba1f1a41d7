//! The fast paths against plain reference implementations on random inputs: odd sizes, 1×1,
//! all outside, all inside, NaN, extreme logits, letterbox and ROI geometries, reused buffers.
use super::*;
use crate::preprocess::{Fit, Roi};

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
    /// Uniform in [-1, 1).
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// Component labels by flood fill (8- or 4-connected), numbered in raster order of their
/// first pixel from 1; 0 for pixels of the other value.
fn flood(d: &[u8], w: usize, h: usize, value: u8, eight: bool) -> (Vec<usize>, usize) {
    let mut labels = vec![0usize; d.len()];
    let mut n = 0;
    for start in 0..d.len() {
        if d[start] != value || labels[start] != 0 {
            continue;
        }
        n += 1;
        labels[start] = n;
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            let (x, y) = ((i % w) as i64, (i / w) as i64);
            for (dx, dy) in [
                (-1, -1),
                (0, -1),
                (1, -1),
                (-1, 0),
                (1, 0),
                (-1, 1),
                (0, 1),
                (1, 1),
            ] {
                if !eight && dx != 0 && dy != 0 {
                    continue;
                }
                let (nx, ny) = (x + dx, y + dy);
                if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                    continue;
                }
                let j = ny as usize * w + nx as usize;
                if d[j] == value && labels[j] == 0 {
                    labels[j] = n;
                    stack.push(j);
                }
            }
        }
    }
    (labels, n)
}

/// The postprocessing rule, pixel by pixel.
fn reference(l: &[f32], w: usize, h: usize, opts: &PostprocessOptions) -> (Vec<u8>, ProbStats) {
    let lt = logit_of(opts.threshold);
    let raw: Vec<u8> = l.iter().map(|&v| u8::from(v > lt)).collect();
    let (labels, n) = flood(&raw, w, h, 1, true);
    let mut area = vec![0usize; n + 1];
    for &k in labels.iter().filter(|&&k| k != 0) {
        area[k] += 1;
    }
    let best = (1..=n).fold(0, |b, k| if area[k] > area[b] { k } else { b });
    let total: usize = area.iter().sum();
    let mut m: Vec<u8> = if opts.largest_component {
        labels
            .iter()
            .map(|&k| u8::from(k != 0 && k == best))
            .collect()
    } else {
        raw.clone()
    };
    if opts.fill_holes {
        let (bg, nb) = flood(&m, w, h, 0, false);
        let mut open = vec![false; nb + 1];
        for (i, &k) in bg.iter().enumerate() {
            let (x, y) = (i % w, i / w);
            if k != 0 && (x == 0 || y == 0 || x + 1 == w || y + 1 == h) {
                open[k] = true;
            }
        }
        for (v, &k) in m.iter_mut().zip(&bg) {
            if k != 0 && !open[k] {
                *v = 1;
            }
        }
    }
    let max = l
        .iter()
        .fold(f32::NEG_INFINITY, |a, &v| if v > a { v } else { a });
    let (mut sum, mut inside) = (0f64, 0usize);
    for (&v, _) in l.iter().zip(&m).filter(|(_, m)| **m != 0) {
        let p = sigmoid(v);
        if !p.is_nan() {
            sum += f64::from(p);
        }
        inside += 1;
    }
    let stats = ProbStats {
        max_prob: sigmoid(max),
        mean_prob_inside: if inside == 0 {
            0.0
        } else {
            (sum / inside as f64) as f32
        },
        area_model_px: inside,
        components: n,
        kept_fraction: if total == 0 {
            0.0
        } else {
            area[best] as f32 / total as f32
        },
    };
    (m, stats)
}

/// Random logits: blobs with noise, all inside, all outside, NaN and extremes sprinkled.
fn logits(rng: &mut Rng, w: usize, h: usize, case: usize) -> Vec<f32> {
    let (cx, cy) = (rng.below(w) as f32, rng.below(h) as f32);
    let r = 1.0 + rng.below(w.max(h)) as f32 / 2.0;
    let noise = [0.0, 0.5, 2.0, 6.0][case % 4];
    let mut l: Vec<f32> = (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as f32, (i / w) as f32);
            let d = ((x - cx).powi(2) + (y - cy).powi(2)).sqrt();
            match case % 7 {
                0 => -3.0,
                1 => 3.0,
                _ => (r - d) + noise * rng.unit(),
            }
        })
        .collect();
    if case % 5 == 3 {
        for _ in 0..(w * h / 20).max(1) {
            let i = rng.below(l.len());
            l[i] = [f32::NAN, 1e6, -1e6, f32::INFINITY, f32::NEG_INFINITY][rng.below(5)];
        }
    }
    l
}

#[test]
fn postprocessor_matches_the_pixel_rule() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut post = Postprocessor::new();
    let mut out = Mask::zeros(3, 5).unwrap();
    for case in 0..1500 {
        let (w, h) = match case % 10 {
            0 => (1, 1),
            1 => (1 + rng.below(3), 1 + rng.below(40)),
            2 => (1 + rng.below(40), 1 + rng.below(3)),
            _ => (1 + rng.below(70), 1 + rng.below(50)),
        };
        let l = logits(&mut rng, w, h, case);
        let opts = PostprocessOptions {
            threshold: [0.5, 0.3, 0.8, 0.999][case % 4],
            largest_component: case % 3 != 1,
            fill_holes: case % 5 != 2,
        };
        let (want, stats) = reference(&l, w, h, &opts);
        let got = post.run_into(&l, w, h, &opts, &mut out).unwrap();
        assert_eq!(out.data(), &want[..], "case {case} {w}x{h} {opts:?}");
        assert_eq!((out.width(), out.height()), (w, h));
        assert_eq!(got, stats, "case {case} {w}x{h}");
        let (m, s) = postprocess(&l, w, h, &opts).unwrap();
        assert_eq!((m.data(), s), (&want[..], stats));
        let lt = logit_of(opts.threshold);
        let raw: Vec<u8> = l.iter().map(|&v| u8::from(v > lt)).collect();
        assert_eq!(
            threshold(&l, w, h, opts.threshold).unwrap().data(),
            &raw[..]
        );
    }
}

/// Every ROI pixel interpolated: the mapping rule without shortcuts.
fn map_reference(l: &[f32], clean: &Mask, g: &Geometry, prob: f32) -> Vec<u8> {
    let lt = logit_of(prob);
    let (mw, _) = g.model_size();
    let (fw, fh) = g.frame_size();
    let forced: Vec<f32> = l
        .iter()
        .zip(clean.data())
        .map(|(&v, &m)| {
            let f = if m != 0 {
                v.max(lt + MARGIN)
            } else {
                v.min(lt - MARGIN)
            };
            f.clamp(-1e4, 1e4)
        })
        .collect();
    let (r, c) = (g.roi(), g.content());
    let (sx, sy) = g.scale();
    let (mut cols, mut rows) = (Vec::new(), Vec::new());
    build_lerps(&mut cols, r.width, sx, c.width);
    build_lerps(&mut rows, r.height, sy, c.height);
    let at = |x: usize, y: usize| forced[(c.y + y) * mw + c.x + x];
    let mut want = vec![0u8; fw * fh];
    for (fy, lr) in rows.iter().enumerate() {
        for (fx, lc) in cols.iter().enumerate() {
            let a0 = at(lc.i0, lr.i0) + (at(lc.i0, lr.i1) - at(lc.i0, lr.i0)) * lr.t;
            let a1 = at(lc.i1, lr.i0) + (at(lc.i1, lr.i1) - at(lc.i1, lr.i0)) * lr.t;
            want[(r.y + fy) * fw + r.x + fx] = u8::from(a0 + (a1 - a0) * lc.t > lt);
        }
    }
    want
}

#[test]
fn frame_mapper_matches_every_pixel_interpolated() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut mapper = FrameMapper::new();
    let mut out = Mask::zeros(1, 1).unwrap();
    let mut post = Postprocessor::new();
    for case in 0..400 {
        let (mw, mh) = if case % 9 == 0 {
            (1, 1)
        } else {
            (1 + rng.below(40), 1 + rng.below(40))
        };
        let (fw, fh) = (1 + rng.below(150), 1 + rng.below(150));
        let roi = (case % 3 == 1).then(|| {
            let (x, y) = (rng.below(fw), rng.below(fh));
            Roi::new(x, y, 1 + rng.below(fw - x), 1 + rng.below(fh - y))
        });
        let fit = if case % 2 == 0 {
            Fit::Stretch
        } else {
            Fit::Letterbox
        };
        let g = Geometry::new((fw, fh), roi, (mw, mh), fit).unwrap();
        let mut l = logits(&mut rng, mw, mh, case);
        if case % 11 == 4 {
            // Big but finite logits: the pixel path.
            for v in l.iter_mut() {
                *v *= 500.0;
            }
        }
        let prob = [0.5, 0.2, 0.9][case % 3];
        let clean = match case % 4 {
            0 => {
                let data = (0..mw * mh).map(|_| u8::from(rng.below(3) == 0)).collect();
                Mask::new(mw, mh, data).unwrap()
            }
            1 => Mask::new(mw, mh, vec![1; mw * mh]).unwrap(),
            _ => {
                let opts = PostprocessOptions {
                    threshold: prob,
                    ..Default::default()
                };
                post.run(&l, mw, mh, &opts).unwrap().0
            }
        };
        let want = map_reference(&l, &clean, &g, prob);
        let got = mapper.map(&l, &clean, &g, prob).unwrap();
        assert_eq!(got.data(), &want[..], "case {case} {g:?}");
        mapper.map_into(&l, &clean, &g, prob, &mut out).unwrap();
        assert_eq!(out.data(), &want[..], "case {case} into");
        assert_eq!((out.width(), out.height()), (fw, fh));
    }
}

#[test]
fn frame_mapper_is_exact_at_the_run_bound() {
    // Logits at ±RUN_BOUND, where the run path's error bound is tightest, against a mask
    // that disagrees with them, upscaled by awkward factors.
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    for case in 0..200 {
        let (mw, mh) = (2 + rng.below(20), 2 + rng.below(20));
        let l: Vec<f32> = (0..mw * mh)
            .map(|_| match rng.below(4) {
                0 => mapper::RUN_BOUND,
                1 => -mapper::RUN_BOUND,
                2 => 0.0,
                _ => rng.unit() * mapper::RUN_BOUND,
            })
            .collect();
        let data = (0..mw * mh).map(|_| u8::from(rng.below(2) == 0)).collect();
        let clean = Mask::new(mw, mh, data).unwrap();
        let (fw, fh) = (mw * 3 + rng.below(50), mh * 7 + rng.below(50));
        let g = Geometry::new((fw, fh), None, (mw, mh), Fit::Stretch).unwrap();
        let prob = [0.5, 0.01, 0.99][case % 3];
        let want = map_reference(&l, &clean, &g, prob);
        let got = FrameMapper::new().map(&l, &clean, &g, prob).unwrap();
        assert_eq!(got.data(), &want[..], "case {case}");
    }
}
