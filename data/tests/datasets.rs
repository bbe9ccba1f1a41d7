//! Dataset readers on fixtures built here in the real formats: raw CAMUS (NIfTI-1 gz, MetaImage
//! .mhd/.raw, Info cfg) and the seed layout. Good fixtures round-trip exactly; corrupt ones give
//! errors that name the file and the problem, and never stop a scan.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use synboost_core::{ImageQuality, Phase, Sex, Structure, View};
use synboost_data::camus::{CamusRaw, read_patient_list};
use synboost_data::png::GrayPng;
use synboost_data::seed::SeedDataset;
use synboost_data::{DataError, SampleSource, metaimage, nifti, scan, split_patients};

const W: usize = 40;
const H: usize = 56;

/// A deterministic echo-like fixture: image and CAMUS label map (0..3) for one patient/view/phase.
fn fixture(seed: u32) -> (Vec<u8>, Vec<u8>) {
    let mut labels = vec![0u8; W * H];
    let cx = 20.0 + (seed % 5) as f64;
    for y in 0..H {
        for x in 0..W {
            let (fx, fy) = (x as f64, y as f64);
            let lv = ((fx - cx) / 8.0).powi(2) + ((fy - 20.0) / 14.0).powi(2);
            let la = ((fx - cx) / 7.0).powi(2) + ((fy - 45.0) / 6.0).powi(2);
            labels[y * W + x] = if lv <= 1.0 {
                1
            } else if lv <= 1.8 && fy < 34.0 {
                2
            } else if la <= 1.0 {
                3
            } else {
                0
            };
        }
    }
    let image = labels
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            let n = (i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 27;
            [30u8, 10, 160, 15][l as usize].saturating_add(n as u8)
        })
        .collect();
    (image, labels)
}

fn write_patient(root: &Path, patient: &str, seed: u32, mhd: bool) {
    let dir = root.join(patient);
    std::fs::create_dir_all(&dir).unwrap();
    for (v, view) in [("2CH", 0u32), ("4CH", 1)] {
        std::fs::write(
            dir.join(format!("Info_{v}.cfg")),
            "ED: 1\nES: 12\nNbFrame: 12\nSex: F\nAge: 73\nImageQuality: Poor\nEF: 55.5\nFrameRate: 40\nSonographer: X\n",
        )
        .unwrap();
        for (p, phase) in [("ED", 0u32), ("ES", 1)] {
            let (img, lab) = fixture(seed + view * 2 + phase);
            let stem = format!("{patient}_{v}_{p}");
            if mhd {
                metaimage::write_u8(
                    &dir.join(format!("{stem}.mhd")),
                    [W, H, 1],
                    [0.308, 0.154, 1.0],
                    &img,
                )
                .unwrap();
                metaimage::write_u8(
                    &dir.join(format!("{stem}_gt.mhd")),
                    [W, H, 1],
                    [0.308, 0.154, 1.0],
                    &lab,
                )
                .unwrap();
            } else {
                nifti::write_u8(
                    &dir.join(format!("{stem}.nii.gz")),
                    [W, H, 1],
                    [0.308, 0.154, 1.0],
                    &img,
                )
                .unwrap();
                nifti::write_u8(
                    &dir.join(format!("{stem}_gt.nii.gz")),
                    [W, H, 1],
                    [0.308, 0.154, 1.0],
                    &lab,
                )
                .unwrap();
            }
        }
    }
}

#[test]
fn raw_camus_nifti_and_mhd_round_trip() {
    for mhd in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let root = if mhd {
            tmp.path().to_path_buf()
        } else {
            tmp.path().join("database_nifti")
        };
        write_patient(&root, "patient0001", 1, mhd);
        write_patient(&root, "patient0002", 9, mhd);
        let ds = CamusRaw::open(tmp.path()).unwrap();
        assert_eq!(ds.len(), 8);
        assert_eq!(ds.patients(), vec!["patient0001", "patient0002"]);
        let ids: Vec<&str> = (0..ds.len()).map(|i| ds.id(i).unwrap()).collect();
        assert_eq!(
            ids[..4],
            [
                "patient0001_2CH_ED",
                "patient0001_2CH_ES",
                "patient0001_4CH_ED",
                "patient0001_4CH_ES"
            ]
        );
        for (i, s) in ds.iter().enumerate() {
            let s = s.unwrap();
            let seed = if i < 4 { 1 } else { 9 } + i as u32 % 4;
            let (img, lab) = fixture(seed);
            assert_eq!(s.image.data(), &img[..], "{}", s.id);
            assert_eq!(s.label_map(), lab, "{}", s.id);
            for st in Structure::ALL {
                let n = lab.iter().filter(|&&l| l == st.label()).count();
                assert_eq!(s.mask(st).count(), n);
                assert!(n > 0);
            }
            assert_eq!(s.meta.sex, Some(Sex::Female));
            assert_eq!(s.meta.age_years, Some(73));
            assert_eq!(s.meta.quality, Some(ImageQuality::Poor));
            assert_eq!(s.meta.frame_time_ms, Some(25.0));
            let sp = s.meta.pixel_spacing.unwrap();
            assert!((sp.row_mm - 0.154).abs() < 1e-6 && (sp.col_mm - 0.308).abs() < 1e-6);
            let want_view = if i % 4 < 2 {
                View::TwoChamber
            } else {
                View::FourChamber
            };
            let want_phase = if i % 2 == 0 {
                Phase::EndDiastole
            } else {
                Phase::EndSystole
            };
            assert_eq!(
                (s.meta.view, s.meta.phase),
                (Some(want_view), Some(want_phase))
            );
        }
        let mut keep = CamusRaw::open(tmp.path()).unwrap();
        keep.retain_patients(&["patient0002".to_string()]);
        assert_eq!(keep.len(), 4);
    }
}

#[test]
fn corrupt_raw_camus_files_give_named_errors_and_the_scan_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for p in 1..=7 {
        write_patient(root, &format!("patient000{p}"), p, p % 2 == 0);
    }
    // 1: truncated gzip image.
    let f = root.join("patient0001/patient0001_2CH_ED.nii.gz");
    let b = std::fs::read(&f).unwrap();
    std::fs::write(&f, &b[..b.len() / 2]).unwrap();
    // 2: truncated raw data (MetaImage).
    std::fs::write(root.join("patient0002/patient0002_2CH_ED.raw"), [0u8; 100]).unwrap();
    // 3: label outside 0..3.
    let (_, mut lab) = fixture(3);
    lab[W * 3 + 5] = 7;
    nifti::write_u8(
        &root.join("patient0003/patient0003_2CH_ED_gt.nii.gz"),
        [W, H, 1],
        [1.0; 3],
        &lab,
    )
    .unwrap();
    // 4: ground truth of another size.
    metaimage::write_u8(
        &root.join("patient0004/patient0004_2CH_ED_gt.mhd"),
        [W, H - 1, 1],
        [1.0; 3],
        &vec![0; W * (H - 1)],
    )
    .unwrap();
    // 5: missing ground truth.
    std::fs::remove_file(root.join("patient0005/patient0005_2CH_ED_gt.nii.gz")).unwrap();
    // 6: malformed Info cfg.
    std::fs::write(
        root.join("patient0006/Info_2CH.cfg"),
        "ED: 1\nAge seventy\n",
    )
    .unwrap();
    // 7: not a NIfTI file at all.
    std::fs::write(
        root.join("patient0007/patient0007_2CH_ED.nii.gz"),
        b"hello, not an image",
    )
    .unwrap();

    let ds = CamusRaw::open(root).unwrap();
    assert_eq!(ds.len(), 28);
    let report = scan(&ds, |_| {});
    assert_eq!(report.ok, 28 - 7 - 1, "{:?}", report.failed); // patient6's 2CH ES shares the cfg
    let msg = |id: &str| -> (String, &DataError) {
        let (_, e) = report
            .failed
            .iter()
            .find(|(i, _)| i == id)
            .unwrap_or_else(|| panic!("{id} did not fail"));
        (e.to_string(), e)
    };
    let (m, e) = msg("patient0001_2CH_ED");
    assert!(
        matches!(e, DataError::Corrupt { .. }) && m.contains("patient0001_2CH_ED.nii.gz"),
        "{m}"
    );
    let (m, e) = msg("patient0002_2CH_ED");
    assert!(
        matches!(
            e,
            DataError::Truncated {
                expected: 2240,
                found: 100,
                ..
            }
        ) && m.contains(".raw"),
        "{m}"
    );
    let (m, e) = msg("patient0003_2CH_ED");
    assert!(
        matches!(e, DataError::LabelOutOfRange { x: 5, y: 3, .. }) && m.contains("label 7"),
        "{m}"
    );
    let (m, e) = msg("patient0004_2CH_ED");
    assert!(
        matches!(e, DataError::SizeMismatch { .. }) && m.contains("_gt.mhd"),
        "{m}"
    );
    let (m, e) = msg("patient0005_2CH_ED");
    assert!(
        matches!(e, DataError::Missing { .. }) && m.contains("missing ground truth"),
        "{m}"
    );
    let (m, _) = msg("patient0006_2CH_ED");
    assert!(m.contains("Info_2CH.cfg:2"), "{m}");
    let (m, _) = msg("patient0006_2CH_ES");
    assert!(m.contains("Info_2CH.cfg:2"), "{m}");
    let (m, _) = msg("patient0007_2CH_ED");
    assert!(
        m.contains("patient0007_2CH_ED.nii.gz") && m.contains("NIfTI"),
        "{m}"
    );
}

#[test]
fn patient_lists_and_splits() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("subgroup_validation.txt");
    std::fs::write(&f, "patient0002\n\npatient0001\n").unwrap();
    assert_eq!(
        read_patient_list(&f).unwrap(),
        vec!["patient0002", "patient0001"]
    );
    let ids: Vec<String> = (1..=10).map(|i| format!("patient{i:04}")).collect();
    let (train, val) = split_patients(&ids, 0.3, 1);
    assert_eq!((train.len(), val.len()), (7, 3));
}

fn write_seed(root: &Path) {
    use synboost_core::{GrayImage, Mask};
    for d in [
        "images/val",
        "masks/val/mask_1",
        "masks/val/mask_2",
        "masks/val/mask_3",
        "anns",
    ] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let mut anns = Vec::new();
    for (i, name) in [
        "patient0100_2CH_ED",
        "patient0100_4CH_ES",
        "patient0101_2CH_ES",
    ]
    .iter()
    .enumerate()
    {
        let (img, lab) = fixture(i as u32);
        GrayImage::new(W, H, img)
            .unwrap()
            .write_png(&root.join(format!("images/val/{name}.png")))
            .unwrap();
        for s in Structure::ALL {
            let m = Mask::from_fn(W, H, &lab, |v| v == s.label()).unwrap();
            let mask_name = format!("mask_{}/{name}_gt.png", s.label());
            m.to_gray()
                .write_png(&root.join("masks/val").join(&mask_name))
                .unwrap();
            let mut a = serde_json::json!({"img_name": format!("{name}.png"), "mask_name": mask_name,
                "prompts": {"p0": ""}});
            if i == 0 {
                a["sex"] = "male".into();
                a["age"] = 61.into();
                a["quality"] = "good".into();
                a["shape"] = "oval".into();
                a["pixel_spacing_mm"] = serde_json::json!([0.3, 0.3]);
            }
            anns.push(a);
        }
    }
    std::fs::write(
        root.join("anns/val.json"),
        serde_json::to_string(&anns).unwrap(),
    )
    .unwrap();
}

#[test]
fn seed_layout_reads_attributes_and_reports_bad_samples() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write_seed(root);
    let ds = SeedDataset::open(root, "val").unwrap();
    assert_eq!(ds.len(), 3);
    assert_eq!(ds.patients(), vec!["patient0100", "patient0101"]);
    let s = ds.load(0).unwrap();
    assert_eq!(s.id, "patient0100_2CH_ED");
    assert_eq!(s.meta.sex, Some(Sex::Male));
    assert_eq!(s.meta.age_years, Some(61));
    assert_eq!(s.meta.view, Some(View::TwoChamber));
    assert_eq!(s.shapes[1].map(|x| x.word()), Some("oval"));
    let (_, lab) = fixture(0);
    assert_eq!(s.label_map(), lab);
    // Without the annotation file the listing finds the same samples and masks.
    std::fs::rename(root.join("anns/val.json"), root.join("anns/old.json")).unwrap();
    let listed = SeedDataset::open(root, "val").unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed.load(2).unwrap().label_map(), fixture(2).1);
    std::fs::rename(root.join("anns/old.json"), root.join("anns/val.json")).unwrap();

    // Break two samples: a missing mask and a non-binary mask.
    std::fs::remove_file(root.join("masks/val/mask_2/patient0100_4CH_ES_gt.png")).unwrap();
    synboost_core::GrayImage::new(W, H, vec![128; W * H])
        .unwrap()
        .write_png(&root.join("masks/val/mask_3/patient0101_2CH_ES_gt.png"))
        .unwrap();
    let ds = SeedDataset::open(root, "val").unwrap();
    let report = scan(&ds, |_| {});
    assert_eq!(report.ok, 1);
    assert_eq!(report.failed.len(), 2);
    let m0 = report.failed[0].1.to_string();
    assert!(m0.contains("missing mask for Myocardium"), "{m0}");
    let m1 = report.failed[1].1.to_string();
    assert!(
        m1.contains("patient0101_2CH_ES_gt.png") && m1.contains("not binary"),
        "{m1}"
    );
    assert!(matches!(
        ds.load(9),
        Err(DataError::Index { index: 9, len: 3 })
    ));

    // A broken annotation file is refused as a whole, naming it.
    std::fs::write(root.join("anns/val.json"), "[{\"img_name\": 3}]").unwrap();
    let e = SeedDataset::open(root, "val").unwrap_err().to_string();
    assert!(e.contains("val.json"), "{e}");
    std::fs::write(
        root.join("anns/val.json"),
        r#"[{"img_name": "a.png", "mask_name": "mask_9/a.png"}]"#,
    )
    .unwrap();
    let e = SeedDataset::open(root, "val").unwrap_err().to_string();
    assert!(e.contains("mask_9"), "{e}");
}
