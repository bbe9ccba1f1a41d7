//! Tiny teachers train on CPU: each beats its untrained self by a stated margin of validation
//! dice on phantom data, and a student distilled from the CLIPSeg-like one learns too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use synboost_core::model::spec::ModelSpec;
use synboost_core::{PromptKind, Tokenizer, Vocab};
use synboost_data::SampleSource;
use synboost_phantom::source::PhantomSource;
use synboost_train::checkpoint::RunDir;
use synboost_train::data::PromptMode;
use synboost_train::eval::{EvalConfig, evaluate};
use synboost_train::model::{Architecture, Network};
use synboost_train::provenance::{DataProvenance, Provenance};
use synboost_train::teacher::{TeacherConfig, TeacherKind, TeacherSize};
use synboost_train::trainer::{Distillation, Phase, PhaseConfig, TrainConfig, train};
use tch::Device;
use tch::nn::VarStore;

/// Dice points (×100) a trained tiny model must gain over its untrained initialisation.
const MARGIN: f64 = 25.0;

fn sources() -> (Arc<dyn SampleSource>, Arc<dyn SampleSource>) {
    (
        Arc::new(PhantomSource::new(24, 0, 64, 1)),
        Arc::new(PhantomSource::new(4, 1000, 64, 1)),
    )
}

fn phases(epochs: usize, lr: f64) -> Vec<Phase> {
    let (train, val) = sources();
    vec![Phase {
        name: "train".into(),
        data: "phantom:24".into(),
        train,
        val,
        provenance: Provenance::of([DataProvenance::Phantom]),
        config: PhaseConfig {
            epochs,
            lr,
            patience: epochs,
            ..Default::default()
        },
    }]
}

fn config() -> TrainConfig {
    TrainConfig {
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
    }
}

/// Mean P3 dice ×100 on the validation phantoms, at the model's threshold.
fn val_dice(net: &Network) -> f64 {
    let (_, val) = sources();
    let cfg = EvalConfig {
        kinds: vec![PromptKind::P3],
        threshold: net.architecture().threshold(),
        ..Default::default()
    };
    let (report, _) = evaluate(net, Device::Cpu, val.as_ref(), "val", &cfg, |_, _| {}).unwrap();
    report.per_kind["P3"].mean_dice * 100.0
}

/// Train `arch` for `epochs` epochs; returns the network, its store, and its dice before and
/// after.
fn fit(
    arch: &Architecture,
    epochs: usize,
    lr: f64,
    distill: Option<&Distillation>,
) -> (VarStore, Network, f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::create(dir.path()).unwrap();
    let mut vs = VarStore::new(Device::Cpu);
    let net = arch.build(&vs.root()).unwrap();
    let before = val_dice(&net);
    let report = train(
        &mut vs,
        &net,
        &phases(epochs, lr),
        &config(),
        &run,
        false,
        distill,
    )
    .unwrap();
    for r in &report.history {
        println!(
            "{} epoch {:2}: train loss {:.4}, val dice {:.4}",
            arch.name(),
            r.epoch,
            r.train_loss,
            r.val_dice
        );
    }
    // The run state records what was trained (and, distilling, from what).
    let state = run.load_state().unwrap().unwrap();
    assert_eq!(&state.arch, arch);
    assert_eq!(
        state.config["distill"].is_null(),
        distill.is_none(),
        "{}",
        state.config
    );
    // The best weights are in the network for the evaluation after.
    RunDir::load_weights(&mut vs, &run.best()).unwrap();
    let after = val_dice(&net);
    println!(
        "{}: val dice {before:.1} untrained → {after:.1}",
        arch.name()
    );
    (vs, net, before, after)
}

#[test]
fn tiny_teachers_learn_and_a_student_distils_from_one() {
    tch::manual_seed(0);
    tch::set_num_threads(2);
    let (v, l) = (Vocab::builtin().len(), Tokenizer::DEFAULT_MAX_LEN);
    let mut clipseg = None;
    for kind in [TeacherKind::ClipSeg, TeacherKind::Cris] {
        let arch = Architecture::Teacher(TeacherConfig::preset(kind, TeacherSize::Tiny, v, l));
        let (vs, net, before, after) = fit(&arch, 12, 2e-3, None);
        assert!(
            after >= before + MARGIN,
            "{kind:?}: {before:.1} → {after:.1}, less than {MARGIN} points gained"
        );
        if kind == TeacherKind::ClipSeg {
            clipseg = Some((vs, net));
        }
    }
    let (_teacher_vs, teacher) = clipseg.unwrap();
    let mut spec = ModelSpec::student(v, l);
    (spec.input.width, spec.input.height) = (64, 64);
    let d = Distillation {
        teacher,
        temperature: 2.0,
        weight: 0.5,
        provenance: Provenance::of([DataProvenance::Phantom]),
    };
    let (_, _, before, after) = fit(&Architecture::Student(spec), 8, 3e-3, Some(&d));
    assert!(
        after >= before + MARGIN,
        "distilled student: {before:.1} → {after:.1}"
    );
}
