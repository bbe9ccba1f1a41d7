//! Unit tests of the pipeline: epochs, prompt modes, mixes, augmentation, resizing and the
//! loader's threads.

use super::*;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use synboost_core::prompt::{PromptAttrs, PromptKind, PromptScheme, Wording};
use synboost_core::raster::GrayImage;
use synboost_core::raster::Mask;
use synboost_core::structure::Structure;
use synboost_core::vocab::Tokenizer;
use synboost_data::{DataError, Sample, SampleSource};
use synboost_phantom::rng::SplitMix64;
use synboost_phantom::source::PhantomSource;
use tch::Kind;

fn phantoms(patients: usize, size: usize) -> Arc<dyn SampleSource> {
    Arc::new(PhantomSource::new(patients, 0, size, 11))
}

fn small(batch_size: usize) -> PipelineConfig {
    PipelineConfig {
        batch_size,
        input: (64, 64),
        seed: 5,
        ..PipelineConfig::default()
    }
}

/// A source of constant in-memory samples, counting loads; sample 1 fails when `bad`.
struct Fake {
    ids: Vec<String>,
    size: (usize, usize),
    bad: bool,
    delay: Duration,
}

impl Fake {
    fn new(n: usize, size: (usize, usize)) -> Self {
        Self {
            ids: (0..n).map(|i| format!("fake{i:03}_2CH_ED")).collect(),
            size,
            bad: false,
            delay: Duration::ZERO,
        }
    }
}

impl SampleSource for Fake {
    fn len(&self) -> usize {
        self.ids.len()
    }
    fn id(&self, index: usize) -> Option<&str> {
        self.ids.get(index).map(String::as_str)
    }
    fn load(&self, index: usize) -> Result<Sample, DataError> {
        std::thread::sleep(self.delay);
        if self.bad && index == 1 {
            return Err(DataError::Index { index, len: 0 });
        }
        let (w, h) = self.size;
        let image: Vec<u8> = (0..w * h).map(|p| ((p + index) % 251) as u8).collect();
        let mask = |s: usize| Mask::from_fn(w, h, &image, |v| usize::from(v) % 3 == s).unwrap();
        Ok(Sample {
            id: self.ids[index].clone(),
            patient: format!("fake{index:03}"),
            image: GrayImage::new(w, h, image.clone()).unwrap(),
            masks: [mask(0), mask(1), mask(2)],
            meta: synboost_core::meta::ScanMeta {
                view: Some(synboost_core::View::TwoChamber),
                phase: Some(synboost_core::Phase::EndDiastole),
                ..Default::default()
            },
            shapes: [None; 3],
        })
    }
}

#[test]
fn epoch_items_cover_every_pair_once_and_shuffle_by_seed_and_epoch() {
    let cfg = PipelineConfig {
        seed: 3,
        structures: vec![
            Structure::LvCavity,
            Structure::LaCavity,
            Structure::LvCavity,
        ],
        ..PipelineConfig::default()
    };
    let a = epoch_items(50, &cfg, 0);
    assert_eq!(a.len(), 100);
    let set: HashSet<Item> = a.iter().copied().collect();
    assert_eq!(set.len(), 100);
    assert!(
        a.iter()
            .all(|i| i.sample < 50 && i.structure != Structure::Myocardium)
    );
    assert_eq!(a, epoch_items(50, &cfg, 0));
    let b = epoch_items(50, &cfg, 1);
    assert_ne!(a, b);
    assert_eq!(set, b.iter().copied().collect());
    let other_seed = PipelineConfig {
        seed: 4,
        ..cfg.clone()
    };
    assert_ne!(a, epoch_items(50, &other_seed, 0));
    let plain = PipelineConfig {
        shuffle: false,
        ..cfg
    };
    let p = epoch_items(2, &plain, 7);
    assert_eq!(
        p,
        [
            Item {
                sample: 0,
                structure: Structure::LvCavity
            },
            Item {
                sample: 0,
                structure: Structure::LaCavity
            },
            Item {
                sample: 1,
                structure: Structure::LvCavity
            },
            Item {
                sample: 1,
                structure: Structure::LaCavity
            },
        ]
    );
    assert!(epoch_items(0, &PipelineConfig::default(), 0).is_empty());
}

#[test]
fn prompt_modes_parse() {
    assert_eq!(
        "p3".parse::<PromptMode>().unwrap(),
        PromptMode::Fixed(PromptKind::P3)
    );
    assert_eq!(
        "p1, P3,5".parse::<PromptMode>().unwrap(),
        PromptMode::Mix(vec![PromptKind::P1, PromptKind::P3, PromptKind::P5])
    );
    let mix: PromptMode = "mix".parse().unwrap();
    assert_eq!(mix.kinds(PromptScheme::Camus).len(), 8);
    assert_eq!(mix.kinds(PromptScheme::Synthetic).len(), 7);
    assert!(!mix.kinds(PromptScheme::Synthetic).contains(&PromptKind::P7));
    assert!("p9".parse::<PromptMode>().is_err());
    assert!("p1,".parse::<PromptMode>().is_err());
    assert_eq!(
        "Heart".parse::<WordingMode>().unwrap(),
        WordingMode::Fixed(Wording::Heart)
    );
    assert_eq!(
        "random".parse::<WordingMode>().unwrap(),
        WordingMode::Random
    );
    assert!("x".parse::<WordingMode>().is_err());
    assert_eq!(mix.to_string(), "mix(P0,P1,P2,P3,P4,P5,P6,P7)");
}

#[test]
fn mix_respects_weights_and_covers_sources() {
    let a: Arc<dyn SampleSource> = Arc::new(Fake::new(10, (4, 4)));
    let b: Arc<dyn SampleSource> = Arc::new(Fake::new(7, (4, 4)));
    let m = Mix::new(vec![(a, 3.0), (b, 1.0)], 4000, 9).unwrap();
    assert_eq!(m.len(), 4000);
    let from_a = (0..4000).filter(|&i| m.origin(i).unwrap().0 == 0).count();
    let share = from_a as f64 / 4000.0;
    assert!((share - 0.75).abs() < 0.05, "{share}");
    // Without replacement: the first 10 draws from source a are all its samples.
    let first_a: HashSet<usize> = (0..4000)
        .filter_map(|i| m.origin(i).filter(|o| o.0 == 0).map(|o| o.1))
        .take(10)
        .collect();
    assert_eq!(first_a.len(), 10);
    let (k, j) = m.origin(17).unwrap();
    assert_eq!(m.id(17).unwrap(), format!("fake{j:03}_2CH_ED"));
    assert_eq!(m.load(17).unwrap().id, m.id(17).unwrap());
    assert!(k < 2);
    // Deterministic by seed.
    let again = Mix::new(
        vec![
            (
                Arc::new(Fake::new(10, (4, 4))) as Arc<dyn SampleSource>,
                3.0,
            ),
            (Arc::new(Fake::new(7, (4, 4))) as Arc<dyn SampleSource>, 1.0),
        ],
        4000,
        9,
    )
    .unwrap();
    assert!((0..4000).all(|i| m.origin(i) == again.origin(i)));
    assert!(m.load(4000).is_err());
    // Zero weight is never drawn; bad weights are errors.
    let z = Mix::new(
        vec![
            (Arc::new(Fake::new(3, (4, 4))) as Arc<dyn SampleSource>, 0.0),
            (Arc::new(Fake::new(3, (4, 4))) as Arc<dyn SampleSource>, 2.0),
        ],
        100,
        1,
    )
    .unwrap();
    assert!((0..100).all(|i| z.origin(i).unwrap().0 == 1));
    assert!(Mix::new(vec![(Arc::new(Fake::new(3, (4, 4))) as _, f64::NAN)], 5, 1).is_err());
    assert!(Mix::new(vec![(Arc::new(Fake::new(0, (4, 4))) as _, 1.0)], 5, 1).is_err());
}

#[test]
fn augment_identity_is_identity_and_masks_stay_binary() {
    let (w, h) = (40, 30);
    let img: Vec<u8> = (0..w * h).map(|p| (p * 7 % 256) as u8).collect();
    let mask: Vec<u8> = (0..w * h)
        .map(|p| u8::from((p % w) > 10 && (p % w) < 25 && (p / w) > 5 && (p / w) < 20))
        .collect();
    assert_eq!(Augment::IDENTITY.apply_gray(&img, w, h), img);
    assert_eq!(Augment::IDENTITY.apply_mask(&mask, w, h), mask);
    // An integer shift moves the mask exactly.
    let shift = Augment {
        shift: (3.0, -2.0),
        ..Augment::IDENTITY
    };
    let m = shift.apply_mask(&mask, w, h);
    for y in 0..h {
        for x in 0..w {
            let src = (x >= 3 && y + 2 < h).then(|| mask[(y + 2) * w + x - 3]);
            assert_eq!(m[y * w + x], src.unwrap_or(0), "({x}, {y})");
        }
    }
    // Random parameters: binary masks, the image of a binary picture agrees with the mask.
    let mut rng = SplitMix64::new(1);
    let picture: Vec<u8> = mask.iter().map(|&v| v * 255).collect();
    for _ in 0..20 {
        let a = Augment {
            gamma: 1.0,
            ..Augment::draw(&mut rng)
        };
        assert!((0.9..1.1).contains(&a.scale) && a.rotation_deg.abs() <= 10.0);
        let m = a.apply_mask(&mask, w, h);
        assert!(m.iter().all(|&v| v <= 1));
        let g = a.apply_gray(&picture, w, h);
        let disagree = m
            .iter()
            .zip(&g)
            .filter(|(m, g)| (**m == 1) != (**g >= 128))
            .count();
        assert!(
            disagree * 10 < mask.iter().filter(|&&v| v == 1).count(),
            "{a:?}"
        );
        assert!(m.contains(&1));
    }
    // Gamma darkens mid-greys when above 1 and keeps 0 and 255.
    let dark = Augment {
        gamma: 1.2,
        ..Augment::IDENTITY
    }
    .apply_gray(&[0, 128, 255], 3, 1);
    assert_eq!(dark[0], 0);
    assert!(dark[1] < 128);
    assert_eq!(dark[2], 255);
}

#[test]
fn nearest_mask_resize_is_pixel_centre_aligned() {
    let m = Mask::new(4, 1, vec![0, 1, 0, 1]).unwrap();
    assert_eq!(m.resized(2, 1).unwrap().data(), [1, 1]);
    let m = Mask::new(2, 2, vec![1, 0, 0, 1]).unwrap();
    assert_eq!(
        m.resized(4, 4).unwrap().data(),
        [1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1]
    );
}

#[test]
fn loader_batches_phantoms_with_prompts_and_masks() {
    let source = phantoms(2, 64);
    let cfg = small(5);
    let mut loader = Loader::epoch(Arc::clone(&source), cfg.clone(), 0);
    assert_eq!(loader.batches(), 5); // 8 samples × 3 structures = 24 pairs
    let tok = Tokenizer::default();
    let mut pairs = 0;
    let mut wordings = HashSet::new();
    let items = epoch_items(8, &cfg, 0);
    for (b, batch) in loader.by_ref().enumerate() {
        let batch = batch.unwrap();
        let n = batch.len() as i64;
        assert_eq!(n, if b == 4 { 4 } else { 5 });
        assert_eq!(batch.images.size(), [n, 1, 64, 64]);
        assert_eq!(batch.images.kind(), Kind::Uint8);
        assert_eq!(batch.masks.size(), [n, 1, 64, 64]);
        assert_eq!(batch.masks.kind(), Kind::Float);
        assert_eq!(batch.tokens.size(), [n, Tokenizer::DEFAULT_MAX_LEN as i64]);
        assert_eq!(batch.tokens.kind(), Kind::Int64);
        let masks = Vec::<f32>::try_from(batch.masks.flatten(0, -1)).unwrap();
        assert!(masks.iter().all(|&v| v == 0.0 || v == 1.0));
        let images = Vec::<u8>::try_from(batch.images.flatten(0, -1)).unwrap();
        for k in 0..batch.len() {
            let item = items[b * 5 + k];
            assert_eq!(batch.structures[k], item.structure);
            let sample = source.load(item.sample).unwrap();
            assert_eq!(batch.ids[k], sample.id);
            let px = 64 * 64;
            let m: Vec<u8> = masks[k * px..(k + 1) * px]
                .iter()
                .map(|&v| v as u8)
                .collect();
            assert_eq!(m, sample.mask(item.structure).data());
            assert_eq!(&images[k * px..(k + 1) * px], sample.image.data());
            assert_eq!(batch.kinds[k], PromptKind::P3);
            let mut attrs = PromptAttrs::from_meta(item.structure, &sample.meta);
            attrs.shape = sample.shapes[item.structure.index()];
            let heart = attrs.build(PromptKind::P3, Wording::Heart, PromptScheme::Camus);
            let us = attrs.build(
                PromptKind::P3,
                Wording::CardiacUltrasound,
                PromptScheme::Camus,
            );
            let p = &batch.prompts[k];
            if *p == heart.unwrap() {
                wordings.insert(Wording::Heart);
            } else {
                assert_eq!(*p, us.unwrap());
                wordings.insert(Wording::CardiacUltrasound);
            }
            let row = Vec::<i64>::try_from(batch.tokens.get(k as i64)).unwrap();
            let (ids, count) = tok.encode(p).unwrap();
            assert_eq!(row, ids);
            assert_eq!(row.iter().filter(|&&t| t != 0).count(), count);
            let words: Vec<String> = synboost_core::vocab::split_words(p).collect();
            assert_eq!(count, words.len());
            assert_eq!(tok.decode(&row), words.join(" "));
        }
        pairs += batch.len();
    }
    assert_eq!(pairs, 24);
    assert_eq!(wordings.len(), 2);
    assert!(loader.next().is_none());
}

#[test]
fn mixed_kinds_degrade_and_resize() {
    // Fake samples know view and phase only: P4+ degrades to P3; P0 stays empty.
    let source: Arc<dyn SampleSource> = Arc::new(Fake::new(6, (50, 40)));
    let cfg = PipelineConfig {
        batch_size: 18,
        prompt: PromptMode::Mix(PromptKind::ALL.to_vec()),
        wording: WordingMode::Fixed(Wording::Heart),
        input: (32, 24),
        ..PipelineConfig::default()
    };
    let batches: Vec<Batch> = Loader::epoch(Arc::clone(&source), cfg, 2)
        .map(Result::unwrap)
        .collect();
    assert_eq!(batches.len(), 1);
    let b = &batches[0];
    assert_eq!(b.images.size(), [18, 1, 24, 32]);
    assert!(b.kinds.iter().all(|&k| k <= PromptKind::P3));
    assert!(b.kinds.contains(&PromptKind::P0) && b.kinds.contains(&PromptKind::P3));
    for (k, p) in b.kinds.iter().zip(&b.prompts) {
        assert_eq!(p.is_empty(), *k == PromptKind::P0);
        assert!(p.is_empty() || p.contains("of the heart"), "{p}");
    }
    // Masks are core's nearest-neighbour resize of the sample's.
    let masks = Vec::<f32>::try_from(b.masks.flatten(0, -1)).unwrap();
    let id: usize = b.ids[0][4..7].parse().unwrap();
    let sample = source.load(id).unwrap();
    let want = sample
        .mask(b.structures[0])
        .resized(32, 24)
        .unwrap()
        .data()
        .to_vec();
    let got: Vec<u8> = masks[..32 * 24].iter().map(|&v| v as u8).collect();
    assert_eq!(got, want);
}

fn collect(source: &Arc<dyn SampleSource>, cfg: &PipelineConfig) -> Vec<Batch> {
    Loader::epoch(Arc::clone(source), cfg.clone(), 1)
        .map(Result::unwrap)
        .collect()
}

#[test]
fn same_seed_same_batches_for_any_worker_count() {
    let source = phantoms(2, 64);
    let one = PipelineConfig {
        prompt: "mix".parse().unwrap(),
        augment: true,
        workers: 1,
        ..small(4)
    };
    let two = PipelineConfig {
        workers: 2,
        prefetch: 1,
        ..one.clone()
    };
    let (a, b) = (collect(&source, &one), collect(&source, &two));
    assert_eq!(a.len(), 6);
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.ids, y.ids);
        assert_eq!(x.prompts, y.prompts);
        assert_eq!(x.kinds, y.kinds);
        assert!(x.images.equal(&y.images));
        assert!(x.masks.equal(&y.masks));
        assert!(x.tokens.equal(&y.tokens));
    }
    // Augmentation changed the images but kept masks binary.
    let plain = collect(
        &source,
        &PipelineConfig {
            augment: false,
            ..one.clone()
        },
    );
    assert_eq!(plain[0].ids, a[0].ids);
    assert_eq!(plain[0].prompts, a[0].prompts);
    assert!(!plain[0].images.equal(&a[0].images));
    let m = Vec::<f32>::try_from(a[0].masks.flatten(0, -1)).unwrap();
    assert!(m.iter().all(|&v| v == 0.0 || v == 1.0));
    // Another seed, other batches.
    let c = collect(&source, &PipelineConfig { seed: 6, ..one });
    assert_ne!(a[0].ids, c[0].ids);
}

#[test]
fn dropping_mid_epoch_returns_promptly() {
    let mut fake = Fake::new(400, (64, 64));
    fake.delay = Duration::from_millis(5);
    let source: Arc<dyn SampleSource> = Arc::new(fake);
    let cfg = PipelineConfig {
        workers: 2,
        batch_size: 8,
        ..small(8)
    };
    let mut loader = Loader::epoch(source, cfg, 0);
    assert_eq!(loader.batches(), 150);
    assert!(loader.next().unwrap().is_ok());
    // Let the threads fill their buffers and block.
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    drop(loader);
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn errors_are_items_and_bad_configs_are_reported() {
    let mut fake = Fake::new(4, (16, 16));
    fake.bad = true;
    let source: Arc<dyn SampleSource> = Arc::new(fake);
    let cfg = PipelineConfig {
        batch_size: 3,
        shuffle: false,
        input: (16, 16),
        workers: 2,
        ..PipelineConfig::default()
    };
    let results: Vec<_> = Loader::epoch(Arc::clone(&source), cfg.clone(), 0).collect();
    assert_eq!(results.len(), 4);
    // Pairs 3..6 are sample 1's.
    assert!(results[0].is_ok() && results[2].is_ok() && results[3].is_ok());
    assert!(matches!(results[1], Err(PipelineError::Data(_))));
    let bad = PipelineConfig {
        batch_size: 0,
        ..cfg.clone()
    };
    let mut l = Loader::epoch(Arc::clone(&source), bad, 0);
    assert_eq!(l.batches(), 0);
    assert!(matches!(l.next(), Some(Err(PipelineError::Config(_)))));
    assert!(l.next().is_none());
    let synthetic_p7 = PipelineConfig {
        prompt: PromptMode::Fixed(PromptKind::P7),
        scheme: PromptScheme::Synthetic,
        ..cfg
    };
    assert!(synthetic_p7.validate().is_err());
}

#[test]
fn data_specs_parse_open_and_know_their_provenance() {
    use crate::provenance::DataProvenance;
    assert_eq!("camus".parse::<DataSpec>().unwrap(), DataSpec::Camus);
    let p: DataSpec = "phantom:10".parse().unwrap();
    assert_eq!(p, DataSpec::Phantom { patients: 10 });
    assert_eq!(p.to_string(), "phantom:10");
    assert_eq!(p.provenance(), DataProvenance::Phantom);
    assert_eq!(p.open(None, "train", 32, 1).unwrap().len(), 40);
    // Validation phantoms: a fifth of the patients, at least 4, other patients.
    let val = p.open(None, "val", 32, 1).unwrap();
    assert_eq!(val.len(), 16);
    let train = p.open(None, "train", 32, 1).unwrap();
    assert!((0..val.len()).all(|i| (0..train.len()).all(|j| val.id(i) != train.id(j))));
    let err = "phantom:x".parse::<DataSpec>().unwrap_err();
    assert_eq!(err.to_string(), "bad phantom count in \"phantom:x\"");
    // A folder is a folder whatever its name says.
    let f: DataSpec = "runs/camus224-sdm".parse().unwrap();
    assert_eq!(f, DataSpec::Folder("runs/camus224-sdm".into()));
    assert_eq!(
        f.provenance(),
        DataProvenance::Folder("runs/camus224-sdm".into())
    );
    assert_eq!(DataSpec::Camus.provenance(), DataProvenance::Camus);
    let err = DataSpec::Camus.open(None, "val", 224, 0).err().unwrap();
    assert!(matches!(err, DataSpecError::NoCamus), "{err}");
    let missing = std::path::Path::new("/nonexistent/camus224");
    let err = DataSpec::Camus
        .open(Some(missing), "val", 224, 0)
        .err()
        .unwrap();
    assert_eq!(err.to_string(), "opening /nonexistent/camus224 (val)");
}
