//! The real CAMUS 224² derivative (`SYNBOOST_CAMUS_DIR`) reads completely: 1800 images with their
//! three masks, view and phase, and per-label pixel totals equal `manifest.csv`.

use std::collections::BTreeMap;
use synboost_core::data::seed::SeedDataset;
use synboost_core::data::{SampleSource, scan};
use synboost_core::{Phase, View};

#[test]
fn reads_all_1800_images_and_matches_manifest() {
    let Some(root) = synboost_tests::camus_dir_or_skip() else {
        return;
    };
    // split,image,source_sha256_16,px_lv,px_myo,px_la
    let manifest = std::fs::read_to_string(root.join("manifest.csv")).unwrap();
    let mut expected: BTreeMap<(String, String), [usize; 3]> = BTreeMap::new();
    for line in manifest.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 6, "{line}");
        let px = [f[3], f[4], f[5]].map(|v| v.parse::<usize>().unwrap());
        expected.insert((f[0].to_string(), f[1].to_string()), px);
    }
    assert_eq!(expected.len(), 1800);

    let mut seen = 0;
    for (split, images, patients) in [("train", 1600, 400), ("val", 200, 50)] {
        let ds = SeedDataset::open(&root, split).unwrap();
        assert_eq!(ds.len(), images, "{split}");
        assert_eq!(ds.patients().len(), patients, "{split}");
        let mut views = BTreeMap::new();
        let report = scan(&ds, |s| {
            let want = expected
                .get(&(split.to_string(), s.id.clone()))
                .unwrap_or_else(|| panic!("{} not in manifest", s.id));
            let got = [s.masks[0].count(), s.masks[1].count(), s.masks[2].count()];
            assert_eq!(&got, want, "{split}/{}", s.id);
            assert_eq!((s.image.width(), s.image.height()), (224, 224));
            let view = s.meta.view.expect("view from the file name");
            let phase = s.meta.phase.expect("phase from the file name");
            assert!(s.id.contains(view.code()) && s.id.ends_with(phase.code()));
            *views.entry((view, phase)).or_insert(0usize) += 1;
            // Structures do not overlap in a label map derived from one CAMUS annotation.
            let overlap = (0..s.image.data().len())
                .filter(|&i| s.masks.iter().filter(|m| m.data()[i] != 0).count() > 1)
                .count();
            assert_eq!(overlap, 0, "{}", s.id);
        });
        assert!(report.failed.is_empty(), "{:?}", report.failed);
        assert_eq!(report.ok, images);
        for v in [View::TwoChamber, View::FourChamber] {
            for p in [Phase::EndDiastole, Phase::EndSystole] {
                assert_eq!(views.get(&(v, p)), Some(&patients), "{split} {v} {p}");
            }
        }
        seen += report.ok;
    }
    assert_eq!(seen, 1800);
}

#[test]
fn train_and_val_patients_are_disjoint() {
    let Some(root) = synboost_tests::camus_dir() else {
        return;
    };
    let train = SeedDataset::open(&root, "train").unwrap().patients();
    let val = SeedDataset::open(&root, "val").unwrap().patients();
    assert!(val.iter().all(|p| !train.contains(p)));
}
