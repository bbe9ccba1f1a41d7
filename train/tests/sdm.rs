//! The SDM end to end on the CPU: a tiny denoiser trains on phantom pairs, resumes, samples
//! images that follow their label maps, and writes a dataset that core's reader loads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use synboost_core::structure::Structure;
use synboost_data::SampleSource;
use synboost_data::seed::SeedDataset;
use synboost_phantom::source::PhantomSource;
use synboost_train::progress::Progress;
use synboost_train::sdm::fit::{PairSet, SdmModel, SdmTrainConfig, read_state, train_sdm};
use synboost_train::sdm::generate::{GenerateOptions, generate_dataset};
use synboost_train::sdm::perturb::Perturbation;
use synboost_train::sdm::schedule::Sampler;
use synboost_train::sdm::unet::UnetConfig;
use tch::Device;

/// Mean grey level of `image` where `mask` is set.
fn mean_inside(image: &[u8], mask: &[u8]) -> f64 {
    let (mut s, mut n) = (0f64, 0usize);
    for (&p, &m) in image.iter().zip(mask) {
        if m != 0 {
            s += p as f64;
            n += 1;
        }
    }
    s / n.max(1) as f64
}

/// Mean over a dataset of (myocardium mean − LV cavity mean).
fn contrast(ds: &dyn SampleSource) -> f64 {
    let mut d = Vec::new();
    for i in 0..ds.len() {
        let s = ds.load(i).unwrap();
        let lv = mean_inside(s.image.data(), s.mask(Structure::LvCavity).data());
        let myo = mean_inside(s.image.data(), s.mask(Structure::Myocardium).data());
        d.push(myo - lv);
    }
    d.iter().sum::<f64>() / d.len() as f64
}

#[test]
fn tiny_sdm_trains_resumes_and_samples_images_that_follow_the_label_map() {
    tch::set_num_threads(2);
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("sdm");
    let cfg = UnetConfig::tiny();
    let phantoms = PhantomSource::new(16, 0, cfg.size, 5);
    let pairs = PairSet::load(&phantoms, cfg.size, None).unwrap();
    assert_eq!(pairs.len(), 64);
    let mut tc = SdmTrainConfig {
        steps: 300,
        batch: 8,
        lr: 1e-3,
        warmup_steps: 20,
        checkpoint_every: 100,
        log_every: 25,
        seed: 1,
        ..SdmTrainConfig::default()
    };
    let s = train_sdm(&run, &cfg, &pairs, "phantom:16", &tc, Device::Cpu, false).unwrap();
    assert_eq!(s.step, 300);
    let (first, last) = (s.losses[0].1, s.losses.last().unwrap().1);
    assert!(last < 0.6 * first, "loss {first} → {last}");
    // A second start without --resume is refused; with it, training continues from step 300.
    assert!(train_sdm(&run, &cfg, &pairs, "phantom:16", &tc, Device::Cpu, false).is_err());
    tc.steps = 320;
    let s = train_sdm(&run, &cfg, &pairs, "phantom:16", &tc, Device::Cpu, true).unwrap();
    assert_eq!(s.step, 320);
    assert_eq!(read_state(&run).unwrap().unwrap().step, 320);
    assert!(run.join("loss.png").is_file());

    // Sample from perturbed label maps of unseen phantoms, written at another size.
    let (model, state) = SdmModel::open(&run, Device::Cpu).unwrap();
    let unseen = PhantomSource::new(3, 500, 96, 9);
    let out = dir.path().join("synthetic");
    let opts = GenerateOptions {
        per_source: 2,
        limit: None,
        perturbation: Perturbation::default(),
        sampler: Sampler::Ddim {
            steps: 20,
            eta: 0.0,
        },
        batch: 8,
        out_size: 96,
        split: "train".into(),
        seed: 3,
        bf16: false,
    };
    let mut reports = Vec::new();
    let rep = generate_dataset(&model, state.timesteps, &unseen, &out, &opts, |p| {
        reports.push(p)
    })
    .unwrap();
    assert_eq!(rep.images, 24);
    // Progress: the images to write, then how many are written, batch by batch.
    assert!(
        matches!(
            reports.first(),
            Some(Progress::Start {
                total: 24,
                done: 0,
                ..
            })
        ),
        "{reports:?}"
    );
    assert_eq!(reports.last(), Some(&Progress::Finish));
    let written: Vec<u64> = reports
        .iter()
        .filter_map(|p| match p {
            Progress::Advance { done, .. } => Some(*done),
            _ => None,
        })
        .collect();
    assert_eq!(written, [8, 16, 24]);
    assert!(rep.sampling_seconds > 0.0);

    // The written dataset loads through core's reader, with synthetic patients and metadata.
    let ds = SeedDataset::open(&out, "train").unwrap();
    assert_eq!(ds.len(), 24);
    let first = ds.load(0).unwrap();
    assert_eq!(first.image.width(), 96);
    assert!(first.patient.ends_with("s00"), "{}", first.patient);
    assert!(first.meta.view.is_some() && first.meta.phase.is_some());
    assert!(first.meta.quality.is_none());
    let anns = std::fs::read_to_string(out.join("anns/train.json")).unwrap();
    assert!(anns.contains("\"p6\"") && !anns.contains("\"p7\""));

    // The samples follow their label maps: blood (LV cavity) darker than myocardium, as in
    // the phantoms themselves.
    let real = contrast(&unseen);
    let synthetic = contrast(&ds);
    assert!(real > 20.0, "phantom contrast {real}");
    assert!(
        synthetic > 10.0,
        "synthetic myocardium − LV cavity {synthetic:.1} grey levels (phantoms {real:.1})"
    );
    eprintln!("myocardium − LV cavity: phantoms {real:.1}, SDM samples {synthetic:.1}");

    // DDPM sampling works too and is deterministic by seed.
    let ddpm = GenerateOptions {
        sampler: Sampler::Ddpm { steps: 25 },
        per_source: 1,
        limit: Some(2),
        ..opts
    };
    let a = generate_dataset(
        &model,
        state.timesteps,
        &unseen,
        &dir.path().join("a"),
        &ddpm,
        |_| {},
    )
    .unwrap();
    generate_dataset(
        &model,
        state.timesteps,
        &unseen,
        &dir.path().join("b"),
        &ddpm,
        |_| {},
    )
    .unwrap();
    assert_eq!(a.images, 2);
    let (da, db) = (
        SeedDataset::open(&dir.path().join("a"), "train").unwrap(),
        SeedDataset::open(&dir.path().join("b"), "train").unwrap(),
    );
    assert_eq!(
        da.load(1).unwrap().image.data(),
        db.load(1).unwrap().image.data()
    );
}
