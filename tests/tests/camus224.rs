//! The real CAMUS 224² derivative (`SYNBOOST_CAMUS_DIR`) reads completely: 1800 images with their
//! three masks, view and phase, per-label pixel totals equal `manifest.csv`, and (since the
//! masks were cleaned on 2026-12-02) every mask is exactly one 8-connected component. The
//! default model's manifest was scored on exactly this val split (its data fingerprint).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use synboost_core::postprocess::largest_component;
use synboost_core::{Mask, Phase, View};
use synboost_data::fingerprint::{DataRecord, fingerprint};
use synboost_data::seed::SeedDataset;
use synboost_data::{SampleSource, scan};

/// 8-connected foreground components of `m`, by breadth-first flood fill (independent of the
/// union-find in `postprocess`, which is checked against it).
fn components8(m: &Mask) -> usize {
    let (w, h) = (m.width(), m.height());
    let mut seen = vec![false; w * h];
    let mut count = 0;
    let mut queue = VecDeque::new();
    for start in 0..w * h {
        if m.data()[start] == 0 || seen[start] {
            continue;
        }
        count += 1;
        seen[start] = true;
        queue.push_back(start);
        while let Some(i) = queue.pop_front() {
            let (x, y) = ((i % w) as isize, (i / w) as isize);
            for dy in -1..=1 {
                for dx in -1..=1 {
                    let (nx, ny) = (x + dx, y + dy);
                    if nx < 0 || ny < 0 || nx >= w as isize || ny >= h as isize {
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if m.data()[j] != 0 && !seen[j] {
                        seen[j] = true;
                        queue.push_back(j);
                    }
                }
            }
        }
    }
    count
}

#[test]
fn components8_counts_diagonal_touching_as_one() {
    // Two pixels touching at a corner are one 8-connected component; a gap makes two.
    let m = Mask::new(4, 3, vec![1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1]).unwrap();
    assert_eq!(components8(&m), 2);
    assert_eq!(components8(&Mask::zeros(4, 3).unwrap()), 0);
}

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
            // Each structure is one region: no speck survived the cleaning.
            for (k, m) in s.masks.iter().enumerate() {
                let n = components8(m);
                assert_eq!(n, 1, "{split}/{} mask_{}: {n} components", s.id, k + 1);
                assert_eq!(largest_component(m).1, n, "{split}/{} mask_{}", s.id, k + 1);
            }
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

/// What the bundled model's manifest says its scores were measured on.
fn default_bundle_record(variant: &str) -> DataRecord {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/default/manifest.json");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let v = &m["metrics"]["camus224_val"];
    let rec = if variant.is_empty() {
        &v["data"]
    } else {
        &v[variant]["data"]
    };
    serde_json::from_value(rec.clone())
        .unwrap_or_else(|e| panic!("no data record for {variant:?} in the manifest: {e}"))
}

#[test]
fn default_bundle_was_scored_on_this_val_split() {
    let Some(root) = synboost_tests::camus_dir_or_skip() else {
        return;
    };
    let ds = SeedDataset::open(&root, "val").unwrap();
    let now = fingerprint(&ds, None).unwrap();
    assert_eq!(now.samples, 200);
    assert!(now.name.ends_with("/val"), "{}", now.name);
    // Fingerprints are deterministic.
    assert_eq!(fingerprint(&ds, None).unwrap(), now);
    // The train split is other data.
    let train = fingerprint(&SeedDataset::open(&root, "train").unwrap(), Some(200)).unwrap();
    assert!(!train.same_data(&now));
    for variant in ["", "f32", "int8"] {
        let recorded = default_bundle_record(variant);
        assert!(
            recorded.same_data(&now),
            "the dataset changed since models/default was scored (fingerprint {} vs {}): \
             re-score it with `synboost-train rescore`",
            recorded.fingerprint,
            now.fingerprint
        );
        assert_eq!(recorded.samples, now.samples);
    }
}
