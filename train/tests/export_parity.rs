//! A student exported from tch to a bundle, run by `core::engine` (tract), gives tch's logits
//! within 1e-4.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use synboost_core::engine::{Engine, EngineOptions, VariantChoice};
use synboost_core::model::spec::ModelSpec;
use synboost_core::{Tokenizer, Vocab};
use synboost_export::student::{BundleInfo, write_student_bundle};
use synboost_train::student::Student;
use tch::{Device, Kind, Tensor, nn};

#[test]
fn exported_bundle_matches_tch() {
    tch::manual_seed(5);
    let vocab = Vocab::builtin();
    let spec = ModelSpec::student(vocab.len(), Tokenizer::DEFAULT_MAX_LEN);
    let vs = nn::VarStore::new(Device::Cpu);
    let st = Student::new(&vs.root(), &spec).unwrap();
    // Non-zero biases, so that every parameter matters; the head scaled so that logits have
    // a trained model's range (about ±10) rather than a random network's ±100, since float32
    // differences grow with the logits' size.
    tch::no_grad(|| {
        for (name, mut t) in vs.variables() {
            if name.ends_with(".bias") {
                let _ = t.uniform_(-0.1, 0.1);
            }
            if name == "head.weight" {
                let _ = t.g_mul_scalar_(0.1);
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let info = BundleInfo::new("parity", "test", 3);
    write_student_bundle(
        dir.path(),
        info,
        &spec,
        &vocab,
        &st.weights().unwrap(),
        None,
    )
    .unwrap();
    let mut e = Engine::open(
        dir.path(),
        EngineOptions {
            variant: VariantChoice::F32,
            ..Default::default()
        },
    )
    .unwrap();
    let prompts = [
        "Left ventricular cavity in four-chamber view of the heart at end of the systole cycle.",
        "Myocardium in two-chamber view in the cardiac ultrasound.",
        "Left atrium cavity of the heart.",
    ];
    let (h, w) = (spec.input.height, spec.input.width);
    let frame: Vec<u8> = (0..h * w)
        .map(|i| ((i * 131 + i / w * 7) % 256) as u8)
        .collect();
    let got = e.logits(&frame, &prompts).unwrap();
    let tok = Tokenizer::default();
    let ids: Vec<i64> = prompts
        .iter()
        .flat_map(|p| tok.encode(p).unwrap().0)
        .collect();
    let tokens = Tensor::from_slice(&ids).view([3, Tokenizer::DEFAULT_MAX_LEN as i64]);
    let images = Tensor::from_slice(&frame)
        .view([1, 1, h as i64, w as i64])
        .repeat([3, 1, 1, 1]);
    let want = tch::no_grad(|| st.forward(&images, &tokens)).unwrap();
    let want = Vec::<f32>::try_from(want.to_kind(Kind::Float).flatten(0, -1)).unwrap();
    assert_eq!(got.len(), want.len());
    let d = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    let spread = want.iter().map(|v| v.abs()).fold(0.0f32, f32::max);
    println!("engine (tract) vs tch: max |Δ logit| = {d:e} (logits up to {spread:.3})");
    assert!(d <= 1e-4, "max diff {d}");
}
