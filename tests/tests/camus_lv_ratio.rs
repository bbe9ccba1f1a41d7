//! On CAMUS there is no pixel spacing (the 224² derivative is stretched from images of various
//! sizes), so LV volumes cannot be given in ml. What can be checked is what the volumes are made
//! of: per patient and view, the ratio of the LV cavity area at end-systole to that at
//! end-diastole, predicted by the bundled model (P3 prompts, from the files' view and phase)
//! against the expert masks, on camus224 val (50 patients × 2 views). The single-plane
//! area–length EF (in pixels: the stretch is the same for the ED and ES frames of a view, so the
//! ratio survives it) and the biplane Simpson EF per patient are compared the same way, both
//! from the same measurement code applied to predicted and to expert masks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;
use synboost_core::engine::{Engine, EngineOptions};
use synboost_core::frame::FrameView;
use synboost_core::measure::{Agreement, Calibration, CavityGeometry, cavity_geometry, volume};
use synboost_core::{Phase, Structure, View};
use synboost_data::SampleSource;
use synboost_data::seed::SeedDataset;

/// Predicted and expert geometry of one image.
type Both = (CavityGeometry, CavityGeometry);
/// A patient-view with both its ED and ES images.
type EdEs<'a> = (&'a (String, View), (&'a Both, &'a Both));

#[derive(Default)]
struct Pair {
    ed: Option<(CavityGeometry, CavityGeometry)>,
    es: Option<(CavityGeometry, CavityGeometry)>,
}

#[test]
fn lv_area_ratio_es_over_ed_follows_the_experts() {
    let Some(root) = synboost_tests::camus_dir_or_skip() else {
        return;
    };
    let bundle = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/default");
    let mut engine = Engine::open(&bundle, EngineOptions::default()).unwrap();
    let ds = SeedDataset::open(&root, "val").unwrap();
    let cal = Calibration::pixels();
    let mut pairs: BTreeMap<(String, View), Pair> = BTreeMap::new();
    for i in 0..ds.len() {
        let s = ds.load(i).unwrap();
        let frame = FrameView::gray8(s.image.width(), s.image.height(), s.image.data()).unwrap();
        let seg = engine
            .segment(&frame, &s.meta, &[Structure::LvCavity])
            .unwrap();
        let pred = cavity_geometry(&seg.structures[0].mask, cal).expect("an LV is predicted");
        let truth = cavity_geometry(s.mask(Structure::LvCavity), cal).expect("an expert LV");
        let (Some(view), Some(phase)) = (s.meta.view, s.meta.phase) else {
            panic!("{}: no view or phase", s.id);
        };
        let p = pairs.entry((s.patient.clone(), view)).or_default();
        match phase {
            Phase::EndDiastole => p.ed = Some((pred, truth)),
            Phase::EndSystole => p.es = Some((pred, truth)),
        }
    }
    let complete: Vec<EdEs<'_>> = pairs
        .iter()
        .filter_map(|(k, p)| Some((k, (p.ed.as_ref()?, p.es.as_ref()?))))
        .collect();
    assert_eq!(complete.len(), 100, "50 patients × 2 views");
    let ratio = Agreement::of(
        complete
            .iter()
            .map(|(_, (ed, es))| (es.0.area / ed.0.area, es.1.area / ed.1.area)),
    );
    let ef = |ed: &CavityGeometry, es: &CavityGeometry| {
        volume::ejection_fraction(
            volume::area_length_of(ed).unwrap(),
            volume::area_length_of(es).unwrap(),
        )
        .unwrap()
    };
    let ef_single = Agreement::of(
        complete
            .iter()
            .map(|(_, (ed, es))| (ef(&ed.0, &es.0), ef(&ed.1, &es.1))),
    );
    // Biplane Simpson per patient, predicted and expert.
    let mut biplane = Vec::new();
    for ((patient, view), p) in &pairs {
        if *view != View::TwoChamber {
            continue;
        }
        let Some(four) = pairs.get(&(patient.clone(), View::FourChamber)) else {
            continue;
        };
        let (Some(ed2), Some(es2), Some(ed4), Some(es4)) = (&p.ed, &p.es, &four.ed, &four.es)
        else {
            continue;
        };
        let bi = |k: usize| {
            let pick = |g: &(CavityGeometry, CavityGeometry)| {
                if k == 0 { g.0.clone() } else { g.1.clone() }
            };
            let edv = volume::simpson_biplane(&pick(ed2), &pick(ed4)).unwrap();
            let esv = volume::simpson_biplane(&pick(es2), &pick(es4)).unwrap();
            volume::ejection_fraction(edv, esv).unwrap()
        };
        biplane.push((bi(0), bi(1)));
    }
    let ef_biplane = Agreement::of(biplane);
    println!(
        "camus224 val, default model (f32, P3), LV cavity, predicted vs expert masks:\n\
         ES/ED area ratio, {} patient-views: r = {:.3}, bias {:+.3}, mean |diff| {:.3}, sd {:.3}\n\
         area-length EF (pixels), {} patient-views: r = {:.3}, bias {:+.1}, mean |diff| {:.1} points\n\
         biplane Simpson EF (pixels), {} patients: r = {:.3}, bias {:+.1}, mean |diff| {:.1} points",
        ratio.n,
        ratio.pearson_r,
        ratio.bias,
        ratio.mean_abs_diff,
        ratio.sd_diff,
        ef_single.n,
        ef_single.pearson_r,
        ef_single.bias,
        ef_single.mean_abs_diff,
        ef_biplane.n,
        ef_biplane.pearson_r,
        ef_biplane.bias,
        ef_biplane.mean_abs_diff
    );
    // Measured with models/default 1.0.1 on the cleaned masks: ratio r 0.790 (bias +0.012);
    // area-length EF r 0.792 (bias -1.3); biplane EF r 0.835 (bias -1.4). On the specked masks
    // (1.0.0) the area-length bias was -6.8 points, most likely from the epicardial specks counted
    // in the expert LV (area and long axis).
    assert!(
        ratio.pearson_r >= 0.75,
        "ES/ED area ratio r = {}",
        ratio.pearson_r
    );
    assert!(ratio.bias.abs() <= 0.03, "bias {}", ratio.bias);
    assert!(
        ef_biplane.n == 50 && ef_biplane.pearson_r >= 0.75,
        "{ef_biplane:?}"
    );
    assert!(
        ef_single.pearson_r >= 0.75 && ef_single.bias.abs() <= 4.0,
        "{ef_single:?}"
    );
}
