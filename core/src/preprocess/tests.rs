//! Unit tests of preprocessing: constants, ramps, antialiasing, formats, strides, ROI, letterbox,
//! coordinates, table rebuilds.
use super::*;
use crate::frame::PixelFormat;

fn run(frame: &FrameView<'_>, opts: &PreprocessOptions, w: usize, h: usize) -> Vec<u8> {
    let mut out = Vec::new();
    Preprocessor::new(w, h).run(frame, opts, &mut out).unwrap();
    out
}

#[test]
fn constant_stays_constant_and_identity_is_identity() {
    for (fw, fh, mw, mh) in [(640, 480, 224, 224), (50, 30, 224, 224), (97, 13, 31, 57)] {
        let data = vec![173u8; fw * fh];
        let f = FrameView::gray8(fw, fh, &data).unwrap();
        let out = run(&f, &PreprocessOptions::default(), mw, mh);
        assert_eq!(out.len(), mw * mh);
        assert!(out.iter().all(|&v| v == 173), "{fw}x{fh} -> {mw}x{mh}");
    }
    let data: Vec<u8> = (0..37 * 23).map(|i| (i * 7919 % 256) as u8).collect();
    let f = FrameView::gray8(37, 23, &data).unwrap();
    assert_eq!(run(&f, &PreprocessOptions::default(), 37, 23), data);
}

#[test]
fn ramp_stays_monotone() {
    for (fw, mw) in [(300, 224), (100, 224), (224, 224)] {
        let data: Vec<u8> = (0..fw * 10)
            .map(|i| ((i % fw) * 255 / (fw - 1)) as u8)
            .collect();
        let f = FrameView::gray8(fw, 10, &data).unwrap();
        let out = run(&f, &PreprocessOptions::default(), mw, 8);
        for row in out.chunks(mw) {
            assert!(row.windows(2).all(|p| p[0] <= p[1]), "{fw}: {row:?}");
            assert!(row[0] < 10 && row[mw - 1] > 245);
        }
    }
}

#[test]
fn downsampling_is_antialiased() {
    // 2-px checker, phase chosen so that plain bilinear sampling by 4 would hit uniform
    // 2×2 blocks (0 or 255) at every output pixel.
    let n = 128;
    let b = |v: usize| v.div_ceil(2) % 2;
    let data: Vec<u8> = (0..n * n)
        .map(|i| (255 * (b(i % n) ^ b(i / n))) as u8)
        .collect();
    let f = FrameView::gray8(n, n, &data).unwrap();
    let out = run(&f, &PreprocessOptions::default(), n / 4, n / 4);
    let m = n / 4;
    for y in 1..m - 1 {
        for x in 1..m - 1 {
            let v = out[y * m + x];
            assert!((120..=135).contains(&v), "({x}, {y}) = {v}");
        }
    }
}

#[test]
fn gray16_window_and_colour_luma() {
    let vals: Vec<u8> = [0u16, 1000, 1128, 5000]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let f = FrameView::new(PixelFormat::Gray16, 4, 1, 8, &vals).unwrap();
    let opts = PreprocessOptions {
        window: Some(Window::new(1000, 1255).unwrap()),
        ..Default::default()
    };
    assert_eq!(run(&f, &opts, 4, 1), [0, 0, 128, 255]);
    assert_eq!(run(&f, &PreprocessOptions::default(), 4, 1), [0, 3, 4, 19]);
    let bad = PreprocessOptions {
        window: Some(Window { low: 9, high: 2 }),
        ..Default::default()
    };
    let mut out = Vec::new();
    assert!(matches!(
        Preprocessor::new(4, 1).run(&f, &bad, &mut out),
        Err(PreprocessError::Frame(FrameError::Window { .. }))
    ));

    let rgb = [10, 20, 30, 200, 100, 0];
    let f = FrameView::new(PixelFormat::Rgb8, 2, 1, 6, &rgb).unwrap();
    assert_eq!(run(&f, &PreprocessOptions::default(), 2, 1), [18, 119]);
    let bgra = [30, 20, 10, 255, 0, 100, 200, 0];
    let f = FrameView::new(PixelFormat::Bgra8, 2, 1, 8, &bgra).unwrap();
    assert_eq!(run(&f, &PreprocessOptions::default(), 2, 1), [18, 119]);
}

#[test]
fn stride_padding_does_not_leak() {
    let (w, h, stride) = (40, 30, 48);
    let mut data = vec![255u8; stride * h];
    for y in 0..h {
        data[y * stride..y * stride + w].fill(60);
    }
    let f = FrameView::new(PixelFormat::Gray8, w, h, stride, &data).unwrap();
    for (mw, mh) in [(16, 16), (100, 70)] {
        let out = run(&f, &PreprocessOptions::default(), mw, mh);
        assert!(out.iter().all(|&v| v == 60));
    }
}

#[test]
fn roi_crops() {
    // 20×10 frame: 100 inside the ROI (5, 2) 8×4, 255 elsewhere.
    let roi = Roi::new(5, 2, 8, 4);
    let data: Vec<u8> = (0..200)
        .map(|i| {
            if roi.contains(i % 20, i / 20) {
                100
            } else {
                255
            }
        })
        .collect();
    let f = FrameView::gray8(20, 10, &data).unwrap();
    let opts = PreprocessOptions {
        roi: Some(roi),
        ..Default::default()
    };
    let mut pre = Preprocessor::new(3, 5);
    let mut out = Vec::new();
    let g = pre.run(&f, &opts, &mut out).unwrap();
    assert!(out.iter().all(|&v| v == 100));
    assert_eq!(g.roi(), roi);
    // Clipped to the frame; an ROI off the frame is an error.
    let opts = PreprocessOptions {
        roi: Some(Roi::new(15, 8, 100, 100)),
        ..Default::default()
    };
    assert_eq!(
        pre.run(&f, &opts, &mut out).unwrap().roi(),
        Roi::new(15, 8, 5, 2)
    );
    let opts = PreprocessOptions {
        roi: Some(Roi::new(20, 0, 5, 5)),
        ..Default::default()
    };
    assert!(matches!(
        pre.run(&f, &opts, &mut out),
        Err(PreprocessError::EmptyRoi { .. })
    ));
    assert!(matches!(
        Preprocessor::new(0, 4).run(&f, &PreprocessOptions::default(), &mut out),
        Err(PreprocessError::ModelSize { .. })
    ));
}

#[test]
fn letterbox_pads_with_zeros() {
    let data = vec![200u8; 200 * 100];
    let f = FrameView::gray8(200, 100, &data).unwrap();
    let opts = PreprocessOptions {
        fit: Fit::Letterbox,
        ..Default::default()
    };
    let mut out = Vec::new();
    let g = Preprocessor::new(64, 64).run(&f, &opts, &mut out).unwrap();
    let c = g.content();
    assert_eq!(c, Roi::new(0, 16, 64, 32));
    for y in 0..64 {
        for x in 0..64 {
            let v = out[y * 64 + x];
            assert_eq!(v, if c.contains(x, y) { 200 } else { 0 }, "({x}, {y})");
        }
    }
    // Tall frame: pillarbox.
    let f = FrameView::gray8(50, 100, &data[..5000]).unwrap();
    let g = Preprocessor::new(64, 64).run(&f, &opts, &mut out).unwrap();
    assert_eq!(g.content(), Roi::new(16, 0, 32, 64));
    assert_eq!(out[0], 0);
    assert_eq!(out[16], 200);
}

#[test]
fn coordinates_round_trip() {
    for fit in [Fit::Stretch, Fit::Letterbox] {
        let g = Geometry::new(
            (800, 600),
            Some(Roi::new(100, 50, 500, 400)),
            (224, 224),
            fit,
        )
        .unwrap();
        for p in [(100.0f32, 50.0f32), (333.3, 201.7), (600.0, 450.0)] {
            let m = g.frame_to_model(p.0, p.1);
            let q = g.model_to_frame(m.0, m.1);
            assert!(
                (q.0 - p.0).abs() < 1e-3 && (q.1 - p.1).abs() < 1e-3,
                "{p:?} {q:?}"
            );
        }
        // The ROI's corners map to the content box's corners.
        let c = g.content();
        let (x, y) = g.model_to_frame(c.x as f32, c.y as f32);
        assert!((x - 100.0).abs() < 1e-4 && (y - 50.0).abs() < 1e-4);
        let (x, y) = g.model_to_frame((c.x + c.width) as f32, (c.y + c.height) as f32);
        assert!((x - 600.0).abs() < 1e-3 && (y - 450.0).abs() < 1e-3);
    }
    let g = Geometry::new((448, 224), None, (224, 224), Fit::Stretch).unwrap();
    let (cw, rh) = g.mm_per_model_px(PixelSpacing::new(0.3, 0.25).unwrap());
    assert!((cw - 0.5).abs() < 1e-6 && (rh - 0.3).abs() < 1e-6);
}

#[test]
fn tables_follow_geometry_changes() {
    let a = vec![10u8; 64 * 48];
    let b = vec![90u8; 32 * 32];
    let mut pre = Preprocessor::new(16, 16);
    let mut out = Vec::new();
    let fa = FrameView::gray8(64, 48, &a).unwrap();
    let fb = FrameView::gray8(32, 32, &b).unwrap();
    for _ in 0..2 {
        assert_eq!(
            pre.run(&fa, &PreprocessOptions::default(), &mut out)
                .unwrap()
                .scale(),
            (4.0, 3.0)
        );
        assert!(out.iter().all(|&v| v == 10));
        pre.run(&fb, &PreprocessOptions::default(), &mut out)
            .unwrap();
        assert!(out.iter().all(|&v| v == 90));
    }
}
