//! The tch student computes what the plain-Rust reference (and therefore the ONNX graphs run by
//! tract) computes, from the same named weights; and its weights round-trip by name.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use synboost_core::model::spec::ModelSpec;
use synboost_core::{Tokenizer, Vocab};
use synboost_export::onnx::random_weights;
use synboost_export::reference::{image_forward, text_forward};
use synboost_train::student::Student;
use tch::{Device, Kind, Tensor, nn};

fn spec() -> ModelSpec {
    ModelSpec::tiny(Vocab::builtin().len(), Tokenizer::DEFAULT_MAX_LEN)
}

#[test]
fn tch_student_matches_the_reference() {
    let spec = spec();
    let vs = nn::VarStore::new(Device::Cpu);
    let mut st = Student::new(&vs.root(), &spec).unwrap();
    let w = random_weights(&spec, 31);
    st.load(&w).unwrap();
    let back = st.weights().unwrap();
    assert_eq!(back, w, "weights round-trip by name");
    let tok = Tokenizer::default();
    let prompts = [
        "Left ventricular cavity in two-chamber view of the heart.",
        "Myocardium of the heart.",
        "",
    ];
    let ids: Vec<Vec<i64>> = prompts.iter().map(|p| tok.encode(p).unwrap().0).collect();
    let flat: Vec<i64> = ids.iter().flatten().copied().collect();
    let tokens = Tensor::from_slice(&flat).view([3, Tokenizer::DEFAULT_MAX_LEN as i64]);
    let cond = st.text(&tokens).unwrap();
    let (h, wd) = (spec.input.height, spec.input.width);
    let frame: Vec<u8> = (0..h * wd)
        .map(|i| ((i * 37 + i / wd * 11) % 256) as u8)
        .collect();
    let ft = Tensor::from_slice(&frame)
        .view([1, 1, h as i64, wd as i64])
        .repeat([3, 1, 1, 1]);
    let logits = tch::no_grad(|| st.image(&ft, &cond)).unwrap();
    assert_eq!(logits.size(), vec![3, 1, h as i64, wd as i64]);
    let conds: Vec<Vec<f32>> = ids.iter().map(|t| text_forward(&spec, &w, t)).collect();
    let got_c = Vec::<f32>::try_from(cond.detach().flatten(0, -1)).unwrap();
    let want_c: Vec<f32> = conds.iter().flatten().copied().collect();
    let dc = got_c
        .iter()
        .zip(&want_c)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(dc <= 1e-4, "text max diff {dc}");
    let want = image_forward(&spec, &w, &frame, &conds);
    let got = Vec::<f32>::try_from(logits.to_kind(Kind::Float).flatten(0, -1)).unwrap();
    let d = got
        .iter()
        .zip(&want.data)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    println!("tch vs reference: text {dc:e}, image {d:e}");
    assert!(d <= 1e-4, "image max diff {d}");
}

#[test]
fn bad_weights_are_refused() {
    let spec = spec();
    let vs = nn::VarStore::new(Device::Cpu);
    let mut st = Student::new(&vs.root(), &spec).unwrap();
    let mut w = random_weights(&spec, 1);
    w.remove("dec.0.lat.weight");
    assert!(st.load(&w).is_err());
    // Parameter names in the var store are the ONNX names.
    let names: Vec<String> = vs.variables().into_keys().collect();
    assert!(names.contains(&"dec.1.lat.bias".to_string()), "{names:?}");
    assert_eq!(names.len(), spec.parameters().len());
}
