//! A run paused at epoch boundaries (`TrainConfig::pause_after`, `fit --pause-after-min`) and
//! resumed again and again does every epoch of every phase exactly once, in order, stays
//! unfinished until the last one, and starts its second phase from the first phase's best
//! weights even when the pause fell between the phases. A phase with a weight average
//! (`PhaseConfig::ema`) validates and keeps the average and carries it across a pause.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;
use synboost_core::model::spec::ModelSpec;
use synboost_core::{PromptKind, Tokenizer, Vocab};
use synboost_data::SampleSource;
use synboost_phantom::source::PhantomSource;
use synboost_train::checkpoint::RunDir;
use synboost_train::data::PromptMode;
use synboost_train::model::Network;
use synboost_train::provenance::{DataProvenance, Provenance};
use synboost_train::student::Student;
use synboost_train::trainer::{Phase, PhaseConfig, TrainConfig, train};
use tch::Device;
use tch::nn::VarStore;

fn phase(name: &str, first_patient: usize, val: &Arc<dyn SampleSource>, size: usize) -> Phase {
    phase_with(name, first_patient, val, size, 2, None)
}

fn phase_with(
    name: &str,
    first_patient: usize,
    val: &Arc<dyn SampleSource>,
    size: usize,
    epochs: usize,
    ema: Option<f64>,
) -> Phase {
    Phase {
        name: name.into(),
        data: "phantom:3".into(),
        train: Arc::new(PhantomSource::new(3, first_patient, size, 1)),
        val: Arc::clone(val),
        provenance: Provenance::of([DataProvenance::Phantom]),
        config: PhaseConfig {
            epochs,
            lr: 3e-3,
            patience: epochs,
            ema,
            ..Default::default()
        },
    }
}

const SIZE: usize = 32;

fn spec() -> ModelSpec {
    let mut spec = ModelSpec::student(Vocab::builtin().len(), Tokenizer::DEFAULT_MAX_LEN);
    spec.input.width = SIZE;
    spec.input.height = SIZE;
    spec
}

/// One epoch per call: the pause is due at once.
fn pausing() -> TrainConfig {
    TrainConfig {
        batch_size: 8,
        prompt: PromptMode::Fixed(PromptKind::P3),
        val_kind: PromptKind::P3,
        val_limit: None,
        seed: 1,
        time_limit: None,
        // Due at once: every call trains one epoch (or only ends a phase) and pauses.
        pause_after: Some(Duration::ZERO),
        device: Device::Cpu,
        workers: 1,
        augment: false,
    }
}

fn epochs(r: &RunDir) -> Vec<(String, usize)> {
    let s = r.load_state().unwrap().unwrap();
    s.history
        .iter()
        .map(|e| (e.phase.clone(), e.epoch))
        .collect()
}

fn finished(r: &RunDir) -> bool {
    r.load_state().unwrap().unwrap().finished
}

#[test]
fn paused_run_resumes_epoch_by_epoch_and_phase_by_phase() {
    tch::manual_seed(0);
    tch::set_num_threads(1);
    let val: Arc<dyn SampleSource> = Arc::new(PhantomSource::new(1, 1000, SIZE, 1));
    let phases = [
        phase("pretrain", 0, &val, SIZE),
        phase("finetune", 500, &val, SIZE),
    ];
    let cfg = pausing();
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::create(&dir.path().join("run")).unwrap();
    let mut vs = VarStore::new(Device::Cpu);
    let net = Network::Student(Student::new(&vs.root(), &spec()).unwrap());

    // 1: pretrain epoch 1, paused inside the phase.
    let rep = train(&mut vs, &net, &phases, &cfg, &run, false, None).unwrap();
    assert!(rep.paused && !rep.time_limited);
    assert_eq!(epochs(&run), [("pretrain".to_string(), 1)]);
    assert!(!finished(&run));
    // 2: pretrain epoch 2 ends the phase; the pause falls between the phases.
    let rep = train(&mut vs, &net, &phases, &cfg, &run, true, None).unwrap();
    assert!(rep.paused);
    assert_eq!(epochs(&run).len(), 2);
    assert!(!finished(&run));
    let s = run.load_state().unwrap().unwrap();
    assert_eq!(
        (s.phase, s.epoch),
        (1, 0),
        "the next call starts the finetune phase"
    );
    assert_eq!(
        std::fs::read(run.last()).unwrap(),
        std::fs::read(run.phase_end("pretrain")).unwrap(),
        "a resumed second phase starts from the first phase's best weights"
    );
    // 3 and 4: the finetune phase's two epochs; the run finishes.
    let rep = train(&mut vs, &net, &phases, &cfg, &run, true, None).unwrap();
    assert!(rep.paused);
    assert!(!finished(&run));
    let rep = train(&mut vs, &net, &phases, &cfg, &run, true, None).unwrap();
    assert!(
        !rep.paused,
        "the last epoch ends the run instead of pausing"
    );
    assert!(finished(&run));
    let want: Vec<(String, usize)> = [
        ("pretrain", 1),
        ("pretrain", 2),
        ("finetune", 1),
        ("finetune", 2),
    ]
    .iter()
    .map(|(p, e)| (p.to_string(), *e))
    .collect();
    assert_eq!(epochs(&run), want);
    // 5: a finished run resumes as finished, with nothing trained again.
    let rep = train(&mut vs, &net, &phases, &cfg, &run, true, None).unwrap();
    assert!(!rep.paused);
    assert_eq!(epochs(&run), want);
    let log = std::fs::read_to_string(run.path().join("log.jsonl")).unwrap();
    assert_eq!(log.lines().filter(|l| l.contains("val_dice")).count(), 4);
    assert_eq!(log.lines().filter(|l| l.contains("\"pause\"")).count(), 3);
}

#[test]
fn weight_average_is_validated_kept_and_carried_across_a_pause() {
    tch::manual_seed(0);
    tch::set_num_threads(1);
    let val: Arc<dyn SampleSource> = Arc::new(PhantomSource::new(1, 1000, SIZE, 1));
    let phases = [phase_with("train", 0, &val, SIZE, 3, Some(0.9))];
    let dir = tempfile::tempdir().unwrap();

    // Paused after every epoch.
    let run = RunDir::create(&dir.path().join("paused")).unwrap();
    let mut vs = VarStore::new(Device::Cpu);
    let net = Network::Student(Student::new(&vs.root(), &spec()).unwrap());
    let cfg = pausing();
    train(&mut vs, &net, &phases, &cfg, &run, false, None).unwrap();
    let per_epoch = run.load_state().unwrap().unwrap().ema_updates;
    assert!(per_epoch > 0, "the average counts its steps");
    assert!(run.ema().is_file());
    assert_ne!(
        std::fs::read(run.ema()).unwrap(),
        std::fs::read(run.last()).unwrap(),
        "the average is not the raw weights"
    );
    // After epoch 1 the best is epoch 1's average.
    assert_eq!(
        std::fs::read(run.best()).unwrap(),
        std::fs::read(run.ema()).unwrap(),
        "the best weights are the validated average"
    );
    train(&mut vs, &net, &phases, &cfg, &run, true, None).unwrap();
    let s = run.load_state().unwrap().unwrap();
    assert_eq!(
        s.ema_updates,
        2 * per_epoch,
        "the average went on across the pause"
    );
    train(&mut vs, &net, &phases, &cfg, &run, true, None).unwrap();
    assert!(finished(&run));

    // The same run without pauses validates the same epochs.
    let straight = RunDir::create(&dir.path().join("straight")).unwrap();
    let mut vs2 = VarStore::new(Device::Cpu);
    let net2 = Network::Student(Student::new(&vs2.root(), &spec()).unwrap());
    let cfg2 = TrainConfig {
        pause_after: None,
        ..pausing()
    };
    train(&mut vs2, &net2, &phases, &cfg2, &straight, false, None).unwrap();
    assert_eq!(epochs(&straight), epochs(&run));
}
