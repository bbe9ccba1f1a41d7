//! The phantom behaves like echo: Rayleigh speckle statistics as measured on real RF data, and an
//! LV whose area over the cycle follows the target ejection fraction.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use synboost_core::meta::{ImageQuality, Phase, View};
use synboost_phantom::heart::{LONGITUDINAL_RATIO, Region};
use synboost_phantom::{Phantom, PhantomConfig};

/// Envelope samples of background tissue at least 4 samples (axially and laterally) from any
/// other region, between 25 and 120 mm deep, pooled over several patients.
fn background_envelope() -> Vec<f64> {
    let mut out = Vec::new();
    for seed in 1..=6 {
        let ph = Phantom::new(PhantomConfig {
            view: if seed % 2 == 0 {
                View::TwoChamber
            } else {
                View::FourChamber
            },
            quality: ImageQuality::Good,
            seed,
            ..PhantomConfig::default()
        })
        .unwrap();
        let p = ph.polar(0.5, seed);
        let (n_r, n_t) = (p.n_r, p.n_t);
        let bg = |t: usize, r: usize| p.regions[t * n_r + r] == Region::Background;
        for t in 4..n_t - 4 {
            for r in 4..n_r - 4 {
                let depth = (r as f64 + 0.5) * p.dr;
                if !(25.0..120.0).contains(&depth) {
                    continue;
                }
                let clear = (t - 4..=t + 4).all(|tt| (r - 4..=r + 4).all(|rr| bg(tt, rr)));
                if clear {
                    out.push(f64::from(p.envelope[t * n_r + r]));
                }
            }
        }
    }
    out
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
    (m, var.sqrt())
}

#[test]
fn speckle_statistics_match_real_ultrasound() {
    let env = background_envelope();
    assert!(env.len() > 5_000, "only {} samples", env.len());
    let (m, s) = mean_std(&env);
    let snr = m / s;
    let db: Vec<f64> = env.iter().map(|a| 20.0 * a.log10()).collect();
    let (_, db_std) = mean_std(&db);
    println!(
        "speckle: {} samples, envelope mean/std = {snr:.3}, log std = {db_std:.3} dB",
        env.len()
    );
    // Real RF (PyMUST PWI_disk): 1.91 and 5.57 dB.
    assert!((snr - 1.91).abs() <= 0.10, "envelope mean/std {snr}");
    assert!(
        (db_std - 5.57).abs() <= 0.40,
        "log-compressed std {db_std} dB"
    );
}

#[test]
fn lv_area_change_follows_target_ef() {
    for (i, ef) in [30.0, 45.0, 60.0, 75.0].into_iter().enumerate() {
        for view in [View::TwoChamber, View::FourChamber] {
            let ph = Phantom::new(PhantomConfig {
                view,
                ef_percent: Some(ef),
                seed: 10 + i as u64,
                fps: 50.0,
                ..PhantomConfig::default()
            })
            .unwrap();
            assert!((ph.patient().ef_percent - ef).abs() < 1e-6);
            let n = ph.frames_per_cycle().floor() as u64;
            let mut areas = Vec::new();
            let (mut ed, mut es) = (Vec::new(), Vec::new());
            for k in 0..n {
                let f = ph.frame(k).unwrap();
                areas.push(f.masks[0].count() as f64);
                match f.meta.phase {
                    Some(Phase::EndDiastole) => ed.push(k),
                    Some(Phase::EndSystole) => es.push(k),
                    None => {}
                }
            }
            let max = areas.iter().cloned().fold(0.0, f64::max);
            let min = areas.iter().cloned().fold(f64::INFINITY, f64::min);
            let measured = (max - min) / max;
            // Area scales with s_R · s_L, volume (area–length) with s_R² · s_L.
            let sr = ph.shape().radial_es;
            let expected = 1.0 - sr * (1.0 - LONGITUDINAL_RATIO * (1.0 - sr));
            println!(
                "EF {ef}% {view}: area change {:.1}% (expected {:.1}%)",
                100.0 * measured,
                100.0 * expected
            );
            assert!(
                (measured - expected).abs() <= 0.02,
                "EF {ef} {view}: {measured} vs {expected}"
            );
            // One ED and one ES frame per cycle, at the largest and smallest cavity.
            assert_eq!(ed.len(), 1, "{ed:?}");
            assert_eq!(es.len(), 1, "{es:?}");
            assert!(areas[ed[0] as usize] >= max * 0.995);
            assert!(areas[es[0] as usize] <= min * 1.01);
        }
    }
}

#[test]
fn frames_carry_truth_and_metadata() {
    let ph = Phantom::new(PhantomConfig {
        seed: 4,
        ..PhantomConfig::default()
    })
    .unwrap();
    let ed = ph.frame_at(Phase::EndDiastole, 0).unwrap();
    let es = ph.frame_at(Phase::EndSystole, 0).unwrap();
    let p = ph.patient();
    assert!((ed.truth.lv_volume_ml - p.edv_ml).abs() < 1e-9);
    assert!((es.truth.lv_volume_ml - p.esv_ml).abs() < 1e-9);
    let m = &ed.meta;
    assert_eq!(m.view, Some(View::FourChamber));
    assert_eq!(m.quality, Some(ImageQuality::Good));
    assert!(m.sex.is_some() && m.age_years.is_some());
    assert_eq!(m.frame_time_ms, Some(20.0));
    let sp = m.pixel_spacing.unwrap();
    // Mask area in mm² agrees with the analytic area (discretisation only).
    let area = ed.masks[0].count() as f64 * sp.pixel_area_mm2();
    assert!(
        (area / ed.truth.lv_area_mm2 - 1.0).abs() < 0.03,
        "{area} vs {}",
        ed.truth.lv_area_mm2
    );
    // Structures never overlap and lie inside the sector.
    for i in 0..ed.image.data().len() {
        let n = ed.masks.iter().filter(|m| m.data()[i] != 0).count();
        assert!(n <= 1);
    }
    // Different patients differ in size and shape.
    let other = Phantom::new(PhantomConfig {
        seed: 5,
        ..PhantomConfig::default()
    })
    .unwrap();
    assert_ne!(other.shape(), ph.shape());
}
