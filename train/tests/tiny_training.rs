//! A tiny CPU training on phantom data: the loss falls, the validation dice passes a stated
//! threshold, checkpoints and logs are written, and the exported bundle loads and runs in
//! `core::engine`, where the evaluator scores it as it scores the network.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use synboost_core::engine::{Engine, EngineOptions};
use synboost_core::frame::FrameView;
use synboost_core::model::spec::ModelSpec;
use synboost_core::{PromptKind, Structure, Tokenizer, Vocab};
use synboost_data::SampleSource;
use synboost_export::student::{BundleInfo, write_student_bundle};
use synboost_phantom::source::PhantomSource;
use synboost_train::checkpoint::RunDir;
use synboost_train::data::PromptMode;
use synboost_train::eval::{Backend, EvalConfig, evaluate, evaluate_with};
use synboost_train::model::Network;
use synboost_train::provenance::{DataProvenance, Provenance};
use synboost_train::student::Student;
use synboost_train::trainer::{Phase, PhaseConfig, TrainConfig, train};
use tch::Device;
use tch::nn::VarStore;

/// Mean validation dice the tiny run must reach (phantom, 64², P3, 3 structures).
const DICE_THRESHOLD: f64 = 0.70;

#[test]
fn tiny_phantom_training_learns_and_exports() {
    tch::manual_seed(0);
    tch::set_num_threads(2);
    let size = 64;
    let mut spec = ModelSpec::student(Vocab::builtin().len(), Tokenizer::DEFAULT_MAX_LEN);
    spec.input.width = size;
    spec.input.height = size;
    let train_src: Arc<dyn SampleSource> = Arc::new(PhantomSource::new(24, 0, size, 1));
    let val_src: Arc<dyn SampleSource> = Arc::new(PhantomSource::new(4, 1000, size, 1));
    // 24 patients × 4 frames × 3 structures / 16 = 18 steps per epoch; 16 epochs ≈ 290 steps.
    let phases = [Phase {
        name: "train".into(),
        data: "phantom:24".into(),
        train: train_src,
        val: Arc::clone(&val_src),
        provenance: Provenance::of([DataProvenance::Phantom]),
        config: PhaseConfig {
            epochs: 16,
            lr: 3e-3,
            patience: 16,
            ..Default::default()
        },
    }];
    let cfg = TrainConfig {
        batch_size: 16,
        prompt: PromptMode::Fixed(PromptKind::P3),
        val_kind: PromptKind::P3,
        val_limit: None,
        seed: 3,
        time_limit: None,
        pause_after: None,
        device: Device::Cpu,
        workers: 1,
        augment: false,
    };
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::create(&dir.path().join("run")).unwrap();
    let mut vs = VarStore::new(Device::Cpu);
    let net = Network::Student(Student::new(&vs.root(), &spec).unwrap());
    let report = train(&mut vs, &net, &phases, &cfg, &run, false, None).unwrap();
    let h = &report.history;
    for r in h {
        println!(
            "epoch {:2}: train loss {:.4}, val loss {:.4}, val dice {:.4}, {:.0} pairs/s",
            r.epoch, r.train_loss, r.val_loss, r.val_dice, r.pairs_per_sec
        );
    }
    let first = h.first().unwrap().train_loss;
    let last = h.last().unwrap().train_loss;
    assert!(
        last < 0.6 * first,
        "train loss {first} → {last} did not fall enough"
    );
    let best = h.iter().map(|r| r.val_dice).fold(0.0, f64::max);
    assert!(
        best >= DICE_THRESHOLD,
        "best val dice {best} < {DICE_THRESHOLD}"
    );
    assert!(run.best().is_file() && run.last().is_file());
    let log = std::fs::read_to_string(run.path().join("log.jsonl")).unwrap();
    assert_eq!(
        log.lines().filter(|l| l.contains("val_dice")).count(),
        h.len()
    );

    // Resume continues from the saved state without redoing finished work.
    let again = train(&mut vs, &net, &phases, &cfg, &run, true, None).unwrap();
    assert_eq!(
        again.history.len(),
        h.len(),
        "a finished run resumes as finished"
    );

    // Export the best weights and run them in the engine.
    RunDir::load_weights(&mut vs, &run.best()).unwrap();
    let bundle = dir.path().join("bundle");
    let info = BundleInfo {
        provenance: serde_json::json!({"data": "phantom"}),
        metrics: serde_json::json!({"val_dice": best}),
        ..BundleInfo::new("tiny-phantom", "Apache-2.0 (phantom data)", 3)
    };
    write_student_bundle(
        &bundle,
        info,
        &spec,
        &Vocab::builtin(),
        &net.as_student().unwrap().weights().unwrap(),
        None,
    )
    .unwrap();
    // Scored through the bundle in core's engine (tract), the model gets the dice it gets in tch.
    let cfg = EvalConfig {
        kinds: vec![PromptKind::P3],
        ..Default::default()
    };
    let (torch, _) = evaluate(&net, Device::Cpu, val_src.as_ref(), "val", &cfg, |_, _| {}).unwrap();
    let mut engine = Engine::open(&bundle, EngineOptions::default()).unwrap();
    let (tract, _) = evaluate_with(
        Backend::Bundle(&mut engine),
        val_src.as_ref(),
        "val",
        &cfg,
        |_, _| {},
    )
    .unwrap();
    let (a, b) = (
        torch.per_kind["P3"].mean_dice,
        tract.per_kind["P3"].mean_dice,
    );
    println!("val P3 dice: tch {a:.4}, bundle {b:.4}");
    assert!((a - b).abs() < 0.002, "tch {a} vs bundle {b}");

    let mut e = Engine::open(&bundle, EngineOptions::default()).unwrap();
    let s = val_src.load(0).unwrap();
    let v = FrameView::gray8(size, size, s.image.data()).unwrap();
    let seg = e.segment(&v, &s.meta, &Structure::ALL).unwrap();
    let lv = &seg.structures[0];
    let truth = s.mask(Structure::LvCavity);
    let inter = lv
        .mask
        .data()
        .iter()
        .zip(truth.data())
        .filter(|(a, b)| **a != 0 && **b != 0)
        .count();
    let dice = 2.0 * inter as f64 / (lv.mask.count() + truth.count()).max(1) as f64;
    println!("engine LV dice on a validation phantom: {dice:.3}");
    assert!(dice > 0.6, "engine LV dice {dice}");
}
