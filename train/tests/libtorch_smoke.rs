//! libtorch is linked and works: an op runs, and a safetensors file round-trips.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use synboost_train::runtime;
use tch::{Device, Kind, Tensor};

#[test]
fn matmul_runs_on_cpu() {
    // [[0,1,2],[3,4,5]] · its transpose = [[5,14],[14,50]], sum 83.
    let s = runtime::smoke(Device::Cpu).unwrap();
    assert_eq!(s, 83.0);
    println!("{}", runtime::describe());
}

#[test]
fn safetensors_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    let w = Tensor::randn([4, 3], (Kind::Float, Device::Cpu));
    let b = Tensor::arange(5i64, (Kind::Int64, Device::Cpu));
    Tensor::write_safetensors(&[("enc.weight", &w), ("steps", &b)], &path).unwrap();
    let back = Tensor::read_safetensors(&path).unwrap();
    assert_eq!(back.len(), 2);
    let get = |n: &str| &back.iter().find(|(k, _)| k == n).unwrap().1;
    assert!(get("enc.weight").allclose(&w, 0.0, 0.0, false));
    assert_eq!(get("steps").kind(), Kind::Int64);
    assert!(get("steps").equal(&b));
    // A truncated file is an error, not a crash.
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    assert!(Tensor::read_safetensors(&path).is_err());
}
