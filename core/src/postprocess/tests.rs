//! Unit tests of postprocessing: thresholds, components, holes, the frame mapper.
use super::*;
use crate::preprocess::{Fit, Roi};

fn mask(w: usize, rows: &[&str]) -> Mask {
    let data = rows
        .iter()
        .flat_map(|r| r.bytes().map(|b| u8::from(b == b'#')))
        .collect();
    Mask::new(w, rows.len(), data).unwrap()
}

/// Signed-distance logits of a disc: positive inside.
fn disc(w: usize, h: usize, cx: f32, cy: f32, r: f32) -> Vec<f32> {
    (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as f32 + 0.5, (i / w) as f32 + 0.5);
            r - ((x - cx).powi(2) + (y - cy).powi(2)).sqrt()
        })
        .collect()
}

#[test]
fn threshold_is_strictly_above_the_logit() {
    assert!((sigmoid(logit_of(0.8)) - 0.8).abs() < 1e-6);
    assert_eq!(sigmoid(0.0), 0.5);
    let l = [-1.0, 0.0, 0.1, 2.0, f32::NAN, logit_of(0.9)];
    let m = threshold(&l, 3, 2, 0.5).unwrap();
    assert_eq!(m.data(), &[0, 0, 1, 1, 0, 1]);
    let m = threshold(&l, 6, 1, 0.9).unwrap();
    assert_eq!(m.data(), &[0, 0, 0, 0, 0, 0]);
    for bad in [0.0, 1.0, f32::NAN, -0.5] {
        assert!(matches!(
            threshold(&l, 3, 2, bad),
            Err(PostprocessError::Threshold(_))
        ));
    }
    assert!(matches!(
        threshold(&l, 4, 2, 0.5),
        Err(PostprocessError::Size { .. })
    ));
}

#[test]
fn largest_component_keeps_the_bigger_blob() {
    let m = mask(
        7,
        &[
            "##.....", //
            "##...#.", //
            ".....##", //
            "....#..", //
            ".....#.", //
        ],
    );
    let (kept, n) = largest_component(&m);
    assert_eq!(n, 2);
    assert_eq!(kept.count(), 5);
    assert!(kept.get(5, 1) && kept.get(5, 4) && !kept.get(0, 0));
    // Tie: the first in raster order.
    let m = mask(5, &["#...#"]);
    let (kept, n) = largest_component(&m);
    assert_eq!((n, kept.data()), (2, &[1, 0, 0, 0, 0][..]));
    let (kept, n) = largest_component(&Mask::zeros(3, 3).unwrap());
    assert_eq!((n, kept.count()), (0, 0));
}

/// Reference: component labels by flood fill, 8- or 4-connected, in raster order of first
/// pixel; the pixel-by-pixel algorithm the run-based one replaced.
fn flood_labels(m: &Mask, value: u8, eight: bool) -> (Vec<u32>, u32) {
    let (w, h, d) = (m.width() as i64, m.height() as i64, m.data());
    let mut labels = vec![0u32; d.len()];
    let mut n = 0;
    for start in 0..d.len() {
        if d[start] != value || labels[start] != 0 {
            continue;
        }
        n += 1;
        labels[start] = n;
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            let (x, y) = (i as i64 % w, i as i64 / w);
            for dy in -1..=1i64 {
                for dx in -1..=1i64 {
                    if (dx != 0 && dy != 0 && !eight) || (dx == 0 && dy == 0) {
                        continue;
                    }
                    let (nx, ny) = (x + dx, y + dy);
                    if nx < 0 || ny < 0 || nx >= w || ny >= h {
                        continue;
                    }
                    let j = (ny * w + nx) as usize;
                    if d[j] == value && labels[j] == 0 {
                        labels[j] = n;
                        stack.push(j);
                    }
                }
            }
        }
    }
    (labels, n)
}

#[test]
fn run_labelling_matches_flood_fill_on_random_masks() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for case in 0..300 {
        let (w, h) = (1 + (next() % 23) as usize, 1 + (next() % 19) as usize);
        let density = [10, 35, 50, 65, 90][case % 5];
        let data: Vec<u8> = (0..w * h)
            .map(|_| u8::from(next() % 100 < density))
            .collect();
        let m = Mask::new(w, h, data).unwrap();
        // Largest component: count, area and the raster-order tie rule.
        let (labels, n) = flood_labels(&m, 1, true);
        let mut area = vec![0usize; n as usize + 1];
        for &l in labels.iter().filter(|&&l| l != 0) {
            area[l as usize] += 1;
        }
        let best = (1..=n as usize).fold(0, |b, l| if area[l] > area[b] { l } else { b });
        let want: Vec<u8> = labels
            .iter()
            .map(|&l| u8::from(best != 0 && l as usize == best))
            .collect();
        let (kept, count) = largest_component(&m);
        assert_eq!(count, n as usize, "case {case}");
        assert_eq!(kept.data(), &want[..], "case {case} {w}x{h}");
        // Holes: 4-connected background components off the border.
        let (bg, nb) = flood_labels(&m, 0, false);
        let mut open = vec![false; nb as usize + 1];
        for (i, &l) in bg.iter().enumerate() {
            let (x, y) = (i % w, i / w);
            if l != 0 && (x == 0 || y == 0 || x + 1 == w || y + 1 == h) {
                open[l as usize] = true;
            }
        }
        let want: Vec<u8> = m
            .data()
            .iter()
            .zip(&bg)
            .map(|(&v, &l)| u8::from(v == 1 || !open[l as usize]))
            .collect();
        assert_eq!(fill_holes(&m).data(), &want[..], "case {case} {w}x{h}");
    }
}

#[test]
fn holes_are_filled_but_open_notches_are_not() {
    let ring = mask(
        6,
        &[
            "......", //
            ".####.", //
            ".#..#.", //
            ".#..#.", //
            ".####.", //
            "......", //
        ],
    );
    assert_eq!(fill_holes(&ring).count(), 16);
    let notch = mask(
        6,
        &[
            "......", //
            ".####.", //
            ".#..#.", //
            ".#..#.", //
            ".##.#.", //
            "......", //
        ],
    );
    assert_eq!(fill_holes(&notch), notch);
    // A diagonal gap does not open a hole (background is 4-connected).
    let diag = mask(
        5,
        &[
            ".....", //
            ".##..", //
            ".#.#.", //
            "..##.", //
            ".....", //
        ],
    );
    assert!(fill_holes(&diag).get(2, 2));
}

#[test]
fn postprocess_reports_stats() {
    let (w, h) = (40, 30);
    let mut l = disc(w, h, 12.0, 15.0, 8.0);
    let small = disc(w, h, 33.0, 15.0, 3.0);
    for (a, b) in l.iter_mut().zip(&small) {
        *a = a.max(*b);
    }
    // A hole in the big disc.
    l[15 * w + 12] = -5.0;
    let (m, s) = postprocess(&l, w, h, &PostprocessOptions::default()).unwrap();
    assert_eq!(s.components, 2);
    assert!(m.get(12, 15) && !m.get(33, 15));
    assert_eq!(s.area_model_px, m.count());
    assert!(s.kept_fraction > 0.8 && s.kept_fraction < 1.0, "{s:?}");
    assert!(
        (s.max_prob - sigmoid(8.0 - 0.5f32.hypot(0.5))).abs() < 1e-3,
        "{s:?}"
    );
    assert!(s.mean_prob_inside > 0.5 && s.mean_prob_inside < s.max_prob);
    let keep_all = PostprocessOptions {
        largest_component: false,
        fill_holes: false,
        ..Default::default()
    };
    let (m2, s2) = postprocess(&l, w, h, &keep_all).unwrap();
    assert!(!m2.get(12, 15) && m2.get(33, 15));
    assert_eq!(s2.area_model_px, threshold(&l, w, h, 0.5).unwrap().count());
    assert_eq!(s2.components, 2);
    let (e, s) = postprocess(&[-3.0; 16], 4, 4, &PostprocessOptions::default()).unwrap();
    assert!(e.is_empty());
    assert_eq!(
        (s.components, s.kept_fraction, s.mean_prob_inside),
        (0, 0.0, 0.0)
    );
}

#[test]
fn identity_geometry_reproduces_the_clean_mask() {
    let (w, h) = (48, 40);
    let mut l = disc(w, h, 20.0, 18.0, 12.0);
    l[18 * w + 20] = -2.0; // a hole the clean mask fills
    let (clean, _) = postprocess(&l, w, h, &PostprocessOptions::default()).unwrap();
    assert!(clean.get(20, 18));
    let g = Geometry::new((w, h), None, (w, h), Fit::Stretch).unwrap();
    assert_eq!(to_frame(&l, &clean, &g, 0.5).unwrap(), clean);
    // Forced agreement also holds against contradicting logits.
    let inverted: Vec<f32> = l.iter().map(|v| -v).collect();
    assert_eq!(to_frame(&inverted, &clean, &g, 0.5).unwrap(), clean);
}

#[test]
fn upscaled_disc_area_scales() {
    let (w, h) = (64, 64);
    let l = disc(w, h, 30.0, 34.0, 20.0);
    let (clean, _) = postprocess(&l, w, h, &PostprocessOptions::default()).unwrap();
    let g = Geometry::new((256, 192), None, (w, h), Fit::Stretch).unwrap();
    let mut mapper = FrameMapper::new();
    for _ in 0..2 {
        let big = mapper.map(&l, &clean, &g, 0.5).unwrap();
        let expected = clean.count() as f64 * 12.0;
        let rel = (big.count() as f64 - expected).abs() / expected;
        assert!(rel < 0.02, "{} vs {expected}", big.count());
        // An ellipse of semi-axes 80 × 60 px.
        let exact = std::f64::consts::PI * 80.0 * 60.0;
        assert!((big.count() as f64 - exact).abs() / exact < 0.01);
    }
}

#[test]
fn letterbox_and_roi_place_the_mask() {
    // 200×100 frame, ROI (20, 10) 160×80 → 64×64 letterbox: content (0, 16) 64×32,
    // 2.5 frame px per model px.
    let g = Geometry::new(
        (200, 100),
        Some(Roi::new(20, 10, 160, 80)),
        (64, 64),
        Fit::Letterbox,
    )
    .unwrap();
    assert_eq!(g.content(), Roi::new(0, 16, 64, 32));
    // Disc of radius 6 at model (16, 30) → frame (60, 45), radius 15.
    let l = disc(64, 64, 16.0, 30.0, 6.0);
    let (clean, _) = postprocess(&l, 64, 64, &PostprocessOptions::default()).unwrap();
    let f = to_frame(&l, &clean, &g, 0.5).unwrap();
    assert_eq!((f.width(), f.height()), (200, 100));
    assert!(f.get(60, 45) && f.get(60, 33) && f.get(47, 45) && f.get(72, 45));
    assert!(!f.get(60, 28) && !f.get(43, 45) && !f.get(77, 45) && !f.get(60, 62));
    let area = std::f64::consts::PI * 15.0 * 15.0;
    assert!(
        (f.count() as f64 - area).abs() / area < 0.03,
        "{}",
        f.count()
    );

    // A full mask fills exactly the ROI, padding included: nothing outside it.
    let all = Mask::new(64, 64, vec![1; 64 * 64]).unwrap();
    let f = to_frame(&vec![-9.0; 64 * 64], &all, &g, 0.5).unwrap();
    for y in 0..100 {
        for x in 0..200 {
            assert_eq!(f.get(x, y), g.roi().contains(x, y), "({x}, {y})");
        }
    }
    // Padding predictions do not leak into the frame.
    let mut pad = vec![-9.0f32; 64 * 64];
    pad[..16 * 64].fill(9.0);
    let pad_mask = threshold(&pad, 64, 64, 0.5).unwrap();
    assert_eq!(pad_mask.count(), 16 * 64);
    assert!(to_frame(&pad, &pad_mask, &g, 0.5).unwrap().is_empty());
}

#[test]
fn bounding_box_mapping_matches_every_pixel_interpolated() {
    // Reference: every ROI pixel interpolated, as before the bounding-box shortcut.
    let (mw, mh) = (40, 30);
    let mut l = disc(mw, mh, 14.0, 12.0, 6.0);
    for (i, v) in l.iter_mut().enumerate() {
        *v += ((i * 37) % 11) as f32 * 0.3 - 1.5;
    }
    let (clean, _) = postprocess(&l, mw, mh, &PostprocessOptions::default()).unwrap();
    assert!(clean.count() > 50);
    for (frame, roi, fit) in [
        ((200, 150), None, Fit::Stretch),
        ((173, 211), Some(Roi::new(9, 17, 140, 150)), Fit::Letterbox),
        ((40, 30), None, Fit::Stretch),
    ] {
        let g = Geometry::new(frame, roi, (mw, mh), fit).unwrap();
        let got = to_frame(&l, &clean, &g, 0.5).unwrap();
        let lt = logit_of(0.5);
        let forced: Vec<f32> = l
            .iter()
            .zip(clean.data())
            .map(|(&v, &m)| {
                if m != 0 {
                    v.max(lt + MARGIN)
                } else {
                    v.min(lt - MARGIN)
                }
            })
            .collect();
        let (r, c) = (g.roi(), g.content());
        let (sx, sy) = g.scale();
        let (mut cols, mut rows) = (Vec::new(), Vec::new());
        build_lerps(&mut cols, r.width, sx, c.width);
        build_lerps(&mut rows, r.height, sy, c.height);
        let at = |x: usize, y: usize| forced[(c.y + y) * mw + c.x + x];
        let mut want = vec![0u8; frame.0 * frame.1];
        for (fy, lr) in rows.iter().enumerate() {
            for (fx, lc) in cols.iter().enumerate() {
                let a0 = at(lc.i0, lr.i0) + (at(lc.i0, lr.i1) - at(lc.i0, lr.i0)) * lr.t;
                let a1 = at(lc.i1, lr.i0) + (at(lc.i1, lr.i1) - at(lc.i1, lr.i0)) * lr.t;
                want[(r.y + fy) * frame.0 + r.x + fx] = u8::from(a0 + (a1 - a0) * lc.t > lt);
            }
        }
        assert_eq!(got.data(), &want[..], "{frame:?} {roi:?}");
        assert!(got.count() > 0);
    }
}

#[test]
fn mapping_checks_sizes() {
    let g = Geometry::new((10, 10), None, (5, 5), Fit::Stretch).unwrap();
    let m = Mask::zeros(5, 5).unwrap();
    assert!(matches!(
        to_frame(&[0.0; 24], &m, &g, 0.5),
        Err(PostprocessError::Size { .. })
    ));
    assert!(matches!(
        to_frame(&[0.0; 25], &Mask::zeros(4, 4).unwrap(), &g, 0.5),
        Err(PostprocessError::MaskSize { .. })
    ));
    assert!(to_frame(&[0.0; 25], &m, &g, 1.5).is_err());
}
