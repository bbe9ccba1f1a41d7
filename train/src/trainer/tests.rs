//! Unit tests of the trainer's settings.

use super::*;

#[test]
fn cosine_falls_from_the_rate_to_the_floor_and_plateau_holds() {
    let c = Schedule::Cosine;
    assert!((c.rate(3e-3, 1e-5, 0.0) - 3e-3).abs() < 1e-12);
    assert!((c.rate(3e-3, 1e-5, 1.0) - 1e-5).abs() < 1e-12);
    assert!((c.rate(3e-3, 1e-5, 0.5) - (3e-3 + 1e-5) / 2.0).abs() < 1e-12);
    let mut last = f64::INFINITY;
    for i in 0..=20 {
        let r = c.rate(3e-3, 1e-5, f64::from(i) / 20.0);
        assert!(r < last, "not falling at step {i}");
        last = r;
    }
    // Out of range progress is clamped (a resumed run past its epochs).
    assert_eq!(c.rate(3e-3, 1e-5, 1.5), c.rate(3e-3, 1e-5, 1.0));
    assert_eq!(Schedule::Plateau.rate(3e-3, 1e-5, 0.7), 3e-3);
    assert_eq!("cosine".parse::<Schedule>(), Ok(Schedule::Cosine));
    assert!("linear".parse::<Schedule>().is_err());
    // Runs saved before schedules existed read as plateau.
    let old: PhaseConfig = serde_json::from_value(serde_json::json!({
        "epochs": 3, "lr": 1e-3, "weight_decay": 0.0, "patience": 2, "plateau_patience": 1,
        "plateau_factor": 0.5, "min_lr": 1e-5, "clip_norm": 1.0
    }))
    .unwrap();
    assert_eq!(old.schedule, Schedule::Plateau);
}
