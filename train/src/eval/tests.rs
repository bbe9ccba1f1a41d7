//! Unit tests of evaluation: reports of random and constant students, limits, config checks
//! and recorded scores.

use super::*;
use crate::student::Student;
use synboost_core::meta::{ImageQuality, Phase, PixelSpacing, ScanMeta, Sex, View};
use synboost_core::model::spec::ModelSpec;
use synboost_core::prompt::{PromptKind, PromptScheme};
use synboost_core::raster::{GrayImage, Mask};
use synboost_core::structure::Structure;
use synboost_data::metrics;
use synboost_data::{DataError, Sample};
use synboost_export::onnx::random_weights;
use tch::nn;

/// A small student for a 48 × 64 input (the default student, scaled down).
fn spec() -> ModelSpec {
    let mut s = ModelSpec::student(Vocab::builtin().len(), Tokenizer::DEFAULT_MAX_LEN);
    (s.input.width, s.input.height) = (48, 64);
    (s.encoder, s.decoder) = (vec![8, 12, 16], vec![12, 8]);
    (s.text.embed_dim, s.text.hidden) = (16, 24);
    s
}

/// A random-weight student; with `constant`, its head outputs that logit everywhere.
fn student(constant: Option<f32>) -> (nn::VarStore, Network) {
    let spec = spec();
    let vs = nn::VarStore::new(Device::Cpu);
    let mut st = Student::new(&vs.root(), &spec).unwrap();
    let mut w = random_weights(&spec, 7);
    if let Some(c) = constant {
        w.get_mut("head.weight").unwrap().fill(0.0);
        w.get_mut("head.bias").unwrap().fill(c);
    }
    st.load(&w).unwrap();
    (vs, Network::Student(st))
}

/// A `w × h` mask, inside on columns `x0..x1` of rows `y0..y1`.
pub(crate) fn rect(w: usize, h: usize, x0: usize, y0: usize, x1: usize, y1: usize) -> Mask {
    let data = (0..w * h)
        .map(|i| u8::from((x0..x1).contains(&(i % w)) && (y0..y1).contains(&(i / w))))
        .collect();
    Mask::new(w, h, data).unwrap()
}

fn minus(a: &Mask, b: &Mask) -> Mask {
    let data = a
        .data()
        .iter()
        .zip(b.data())
        .map(|(&x, &y)| x & (1 - y))
        .collect();
    Mask::new(a.width(), a.height(), data).unwrap()
}

/// Two samples of sizes other than the model's, then one that fails to load.
struct Mem(Vec<Sample>);

impl SampleSource for Mem {
    fn len(&self) -> usize {
        self.0.len() + 1
    }
    fn id(&self, index: usize) -> Option<&str> {
        self.0.get(index).map(|s| s.id.as_str()).or(Some("broken"))
    }
    fn load(&self, index: usize) -> Result<Sample, DataError> {
        self.0.get(index).cloned().ok_or(DataError::Index {
            index,
            len: self.0.len(),
        })
    }
}

fn source() -> Mem {
    let image = |w: usize, h: usize| {
        GrayImage::new(w, h, (0..w * h).map(|i| (i * 37 % 251) as u8).collect()).unwrap()
    };
    let (w, h) = (40, 30);
    let lv = rect(w, h, 10, 5, 25, 20);
    let myo = minus(&rect(w, h, 7, 3, 28, 23), &lv);
    let la = rect(w, h, 12, 23, 24, 29);
    let full = ScanMeta {
        view: Some(View::TwoChamber),
        phase: Some(Phase::EndDiastole),
        sex: Some(Sex::Female),
        age_years: Some(56),
        quality: Some(ImageQuality::Good),
        pixel_spacing: Some(PixelSpacing::new(0.3, 0.3).unwrap()),
        ..ScanMeta::default()
    };
    let a = Sample {
        id: "patient0001_2CH_ED".into(),
        patient: "patient0001".into(),
        image: image(w, h),
        masks: [lv, myo, la],
        meta: full.clone(),
        shapes: [None; 3],
    };
    let (w, h) = (56, 70);
    let no_sex = ScanMeta {
        sex: None,
        pixel_spacing: None,
        view: Some(View::FourChamber),
        phase: Some(Phase::EndSystole),
        ..full
    };
    let b = Sample {
        id: "patient0002_4CH_ES".into(),
        patient: "patient0002".into(),
        image: image(w, h),
        masks: [
            rect(w, h, 20, 10, 40, 45),
            rect(w, h, 15, 5, 45, 50),
            Mask::zeros(w, h).unwrap(),
        ],
        meta: no_sex,
        shapes: [None; 3],
    };
    Mem(vec![a, b])
}

fn cfg(kinds: &[PromptKind]) -> EvalConfig {
    EvalConfig {
        kinds: kinds.to_vec(),
        batch_size: 4,
        keep_predictions: 100,
        ..EvalConfig::default()
    }
}

#[test]
fn random_model_report_has_what_was_asked() {
    let (_vs, st) = student(None);
    let src = source();
    let mut calls = Vec::new();
    let c = cfg(&[PromptKind::P1, PromptKind::P3]);
    let (report, preds) =
        evaluate(&st, Device::Cpu, &src, "mem", &c, |d, t| calls.push((d, t))).unwrap();
    assert_eq!(report.dataset, "mem");
    assert_eq!(report.samples, 2);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].id, "broken");
    assert_eq!(report.distance_unit, DistanceUnit::Mixed);
    assert_eq!(report.model_input, (48, 64));
    let kinds: Vec<&str> = report.per_kind.keys().map(String::as_str).collect();
    assert_eq!(kinds, ["P1", "P3"]);
    for k in report.per_kind.values() {
        assert_eq!(k.pairs, 6);
        let codes: Vec<&str> = k.per_structure.keys().map(String::as_str).collect();
        assert_eq!(codes, ["la", "lv", "myo"]);
        assert!((0.0..=1.0).contains(&k.mean_dice), "{}", k.mean_dice);
        for r in k.per_structure.values() {
            assert_eq!(r.pairs, 2);
            assert_eq!(r.unprompted, 0);
            assert!(r.dice.mean >= 0.0 && r.dice.mean <= 1.0);
            assert!(r.iou.mean <= r.dice.mean + 1e-12);
            assert_eq!(r.dice.n, 2);
            assert_eq!(
                r.hd95.n + r.hd95.undefined,
                2,
                "every pair has a distance or counts as undefined"
            );
        }
    }
    // The data record: the two loaded samples (the broken one is not scored), under the
    // source's name, and the same fingerprint a standalone pass gives.
    let data = report.data.as_ref().expect("data record");
    assert_eq!(data.samples, 2);
    assert_eq!(data.name, "unnamed dataset");
    let mut f = Fingerprinter::new();
    src.0.iter().for_each(|s| f.add(s));
    assert_eq!(data.fingerprint, f.finish());
    assert!(report.table().contains(data.fingerprint.short()));
    assert_eq!(
        report.summary()["data"]["fingerprint"],
        data.fingerprint.as_str()
    );
    // Kept: the pairs of the first kind, at the samples' own sizes.
    assert_eq!(preds.len(), 6);
    assert!(preds.iter().all(|p| p.kind == PromptKind::P1));
    let sizes: Vec<(usize, usize)> = preds
        .iter()
        .map(|p| (p.predicted.width(), p.predicted.height()))
        .collect();
    assert_eq!(
        sizes,
        [(40, 30), (40, 30), (40, 30), (56, 70), (56, 70), (56, 70)]
    );
    for p in &preds {
        let (d, _) = metrics::overlap(&p.predicted, &p.truth).unwrap();
        assert_eq!(p.dice, d);
    }
    // Progress is monotone and ends at the total.
    assert_eq!(calls.last(), Some(&(3, 3)));
    assert!(calls.windows(2).all(|w| w[0].0 < w[1].0));

    // Batching does not change the numbers.
    let one = EvalConfig {
        batch_size: 1,
        ..c.clone()
    };
    let (again, _) = evaluate(&st, Device::Cpu, &src, "mem", &one, |_, _| {}).unwrap();
    for (a, b) in report.per_kind.values().zip(again.per_kind.values()) {
        assert!((a.mean_dice - b.mean_dice).abs() < 1e-9);
    }

    // JSON round trip and the table.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    report.write_json(&path).unwrap();
    let back = EvalReport::read_json(&path).unwrap();
    // Every scored pair is listed once, and survives its CSV.
    let scored: usize = report.per_kind.values().map(|k| k.pairs).sum();
    assert_eq!(report.pairs.len(), scored);
    let csv = dir.path().join("pairs.csv");
    report.write_pairs_csv(&csv).unwrap();
    let pairs = EvalReport::read_pairs_csv(&csv).unwrap();
    assert_eq!(pairs.len(), scored);
    for (a, b) in pairs.iter().zip(&report.pairs) {
        assert_eq!(
            (&a.id, &a.kind, &a.structure),
            (&b.id, &b.kind, &b.structure)
        );
        assert!((a.dice - b.dice).abs() < 1e-6);
    }
    assert_eq!(
        (back.samples, &back.failed),
        (report.samples, &report.failed)
    );
    assert_eq!(back.distance_unit, report.distance_unit);
    for ((ka, a), (kb, b)) in report.per_kind.iter().zip(&back.per_kind) {
        assert_eq!((ka, a.pairs), (kb, b.pairs));
        // serde_json parses floats to within an ulp or so.
        assert!((a.mean_dice - b.mean_dice).abs() < 1e-12);
        let hd = |k: &KindReport| k.per_structure["la"].hd95;
        assert_eq!((hd(a).n, hd(a).undefined), (hd(b).n, hd(b).undefined));
        assert!((hd(a).mean - hd(b).mean).abs() < 1e-9);
    }
    let table = report.table();
    assert!(table.contains("| Prompt | Structure | Dice (%)"), "{table}");
    assert!(table.contains("| P3 | Myocardium |"), "{table}");
    assert_eq!(table.matches("**all**").count(), 2);
    let rows = table
        .lines()
        .filter(|l| l.starts_with("| P1 ") || l.starts_with("| P3 "));
    assert_eq!(rows.count(), 8);
}

#[test]
fn all_foreground_dice_matches_hand_computation() {
    let (_vs, st) = student(Some(50.0));
    let src = source();
    let c = cfg(&[PromptKind::P2, PromptKind::P0]);
    let (report, preds) = evaluate(&st, Device::Cpu, &src, "mem", &c, |_, _| {}).unwrap();
    assert_eq!(preds.len(), 6);
    let mut want_all = Vec::new();
    for p in &preds {
        let n = p.truth.width() * p.truth.height();
        assert_eq!(p.predicted.count(), n, "{} {}", p.id, p.structure);
        let t = p.truth.count();
        let want = 2.0 * t as f64 / (t + n) as f64;
        assert_eq!(p.dice, want, "{} {}", p.id, p.structure);
        want_all.push(want);
    }
    let mean = want_all.iter().sum::<f64>() / want_all.len() as f64;
    for kind in ["P2", "P0"] {
        let k = &report.per_kind[kind];
        assert!((k.mean_dice - mean).abs() < 1e-12, "{kind}");
        assert_eq!(report.mean_dice(kind.parse().unwrap()), Some(k.mean_dice));
        for s in Structure::ALL {
            let r = &k.per_structure[s.code()];
            let per: Vec<f64> = preds
                .iter()
                .filter(|p| p.structure == s)
                .map(|p| p.dice)
                .collect();
            let m = per.iter().sum::<f64>() / per.len() as f64;
            assert!((r.dice.mean - m).abs() < 1e-12, "{kind} {s}");
            assert_eq!(r.empty_prediction, 0);
        }
        // The second sample has no LA: predicted everywhere, dice 0, distance undefined.
        let la = &k.per_structure["la"];
        assert_eq!((la.empty_truth, la.hd95.undefined), (1, 1));
    }
}

#[test]
fn all_background_counts_empty_predictions_and_unprompted_pairs() {
    let (_vs, st) = student(Some(-50.0));
    let src = source();
    let c = EvalConfig {
        postprocess: false,
        ..cfg(&[PromptKind::P5])
    };
    let (report, _) = evaluate(&st, Device::Cpu, &src, "mem", &c, |_, _| {}).unwrap();
    let k = &report.per_kind["P5"];
    // P5 writes the sex, which the second sample lacks: only the first is scored.
    assert_eq!(k.pairs, 3);
    assert_eq!(k.mean_dice, 0.0);
    for r in k.per_structure.values() {
        assert_eq!((r.pairs, r.unprompted, r.empty_prediction), (1, 1, 1));
        assert_eq!((r.hausdorff.n, r.hausdorff.undefined), (0, 1));
        assert!(r.hausdorff.mean.is_nan());
    }
    // Only the first sample was scored, and it has a spacing.
    assert_eq!(report.distance_unit, DistanceUnit::Mm);
    let json = serde_json::to_string(&report).unwrap();
    assert!(json.contains("\"mean\":null"), "NaN is written as null");
    let back: EvalReport = serde_json::from_str(&json).unwrap();
    assert!(back.per_kind["P5"].per_structure["lv"].hd95.mean.is_nan());
    assert!(
        report
            .table()
            .contains("| P5 | Left ventricular cavity | 0.00 ± 0.00 |")
    );
}

#[test]
fn limit_and_config_checks() {
    let (_vs, st) = student(None);
    let src = source();
    let c = EvalConfig {
        limit: Some(1),
        keep_predictions: 2,
        ..cfg(&[PromptKind::P7])
    };
    let (report, preds) = evaluate(&st, Device::Cpu, &src, "mem", &c, |_, _| {}).unwrap();
    assert_eq!((report.samples, report.failed.len()), (1, 0));
    assert_eq!(report.distance_unit, DistanceUnit::Mm);
    // P7's shape word comes from the truth mask when the dataset has none.
    assert_eq!(report.per_kind["P7"].pairs, 3);
    assert_eq!(preds.len(), 2);

    let bad = [
        EvalConfig {
            batch_size: 0,
            ..EvalConfig::default()
        },
        EvalConfig {
            threshold: 1.0,
            ..EvalConfig::default()
        },
        EvalConfig {
            kinds: vec![],
            ..EvalConfig::default()
        },
        EvalConfig {
            scheme: PromptScheme::Synthetic,
            kinds: vec![PromptKind::P7],
            ..EvalConfig::default()
        },
    ];
    for c in &bad {
        let err = evaluate(&st, Device::Cpu, &src, "mem", c, |_, _| {}).unwrap_err();
        assert!(matches!(err, EvalError::Config(_)), "{err}");
    }
    let empty = Mem(vec![]);
    let err = evaluate(
        &st,
        Device::Cpu,
        &empty,
        "none",
        &cfg(&[PromptKind::P1]),
        |_, _| {},
    )
    .unwrap_err();
    assert!(
        matches!(err, EvalError::NoSamples { failed: 1, .. }),
        "{err}"
    );
}

/// A recorded summary checks out against the same evaluation; other data is reported as
/// a changed dataset, other numbers on the same data as different scores, an old record
/// without a fingerprint as such.
#[test]
fn recorded_scores_are_checked_data_first() {
    use crate::recorded::{Mismatch, check};
    let (_vs, st) = student(None);
    let src = source();
    let c = cfg(&[PromptKind::P1, PromptKind::P3]);
    let (report, _) = evaluate(&st, Device::Cpu, &src, "mem", &c, |_, _| {}).unwrap();
    let recorded = report.summary();
    assert_eq!(check("f32", &recorded, &report), Ok(()));
    assert!(recorded["P3"]["hd95"]["lv"].is_number() || recorded["P3"]["hd95"]["lv"].is_null());

    // One mask pixel less (a speck removed): the dataset changed, whatever the scores.
    let mut cleaned = source();
    let m = &mut cleaned.0[0].masks[0];
    let mut px = m.data().to_vec();
    let i = px.iter().position(|&v| v == 1).unwrap();
    px[i] = 0;
    *m = Mask::new(m.width(), m.height(), px).unwrap();
    let (now, _) = evaluate(&st, Device::Cpu, &cleaned, "mem", &c, |_, _| {}).unwrap();
    let err = check("f32", &recorded, &now).unwrap_err();
    assert!(matches!(*err, Mismatch::DatasetChanged { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("the dataset changed since this bundle was scored"),
        "{text}"
    );
    let (a, b) = (report.data.as_ref().unwrap(), now.data.as_ref().unwrap());
    assert!(
        text.contains(&format!(
            "(fingerprint {} vs {})",
            a.fingerprint, b.fingerprint
        )),
        "{text}"
    );

    // Same data, an edited number: the model scores differently.
    let mut edited = recorded.clone();
    let d = edited["P3"]["dice"]["lv"].as_f64().unwrap();
    edited["P3"]["dice"]["lv"] = serde_json::json!(d + 0.01);
    let err = check("int8", &edited, &report).unwrap_err();
    let Mismatch::ScoresDiffer { differences, .. } = &*err else {
        panic!("{err}")
    };
    assert_eq!(differences.len(), 1, "{differences:?}");
    assert!(
        differences[0].starts_with("P3 lv dice: recorded"),
        "{differences:?}"
    );
    assert!(
        err.to_string()
            .starts_with("int8: the model scores differently on the same data")
    );

    // A recorded kind not evaluated now, and a pair count that changed.
    let mut more = recorded.clone();
    more["P5"] = recorded["P3"].clone();
    more["P1"]["pairs"] = serde_json::json!(7);
    let Mismatch::ScoresDiffer { differences, .. } = *check("f32", &more, &report).unwrap_err()
    else {
        panic!("expected different scores")
    };
    assert_eq!(differences.len(), 2, "{differences:?}");

    // Recorded before fingerprints, or not at all.
    let mut old = recorded.clone();
    old.as_object_mut().unwrap().remove("data");
    let err = check("f32", &old, &report).unwrap_err();
    assert!(matches!(*err, Mismatch::NotFingerprinted { .. }), "{err}");
    let err = check("f32", &serde_json::Value::Null, &report).unwrap_err();
    assert!(matches!(*err, Mismatch::Missing { .. }), "{err}");
}

#[test]
fn exclusion_keeps_each_pixel_in_its_highest_plane_only() {
    use super::run::exclusive_planes;
    // Three planes of four pixels: pixel 0 won by plane 1, pixel 1 by plane 2, pixel 2 a tie
    // (the first plane keeps it), pixel 3 below every threshold stays highest in plane 0.
    let mut v = vec![
        0.5, -1.0, 2.0, -3.0, // plane 0
        3.0, 1.0, 2.0, -4.0, // plane 1
        -2.0, 4.0, 1.0, -5.0, // plane 2
    ];
    exclusive_planes(&mut v, 4);
    let x = -1.0e4;
    assert_eq!(v, vec![x, x, 2.0, -3.0, 3.0, x, x, x, x, 4.0, x, x]);
    // One plane: nothing to exclude.
    let mut one = vec![1.0, -1.0];
    exclusive_planes(&mut one, 2);
    assert_eq!(one, vec![1.0, -1.0]);
}
