//! The deployable student model as data, and the bundle format that carries it.
//!
//! - [`spec`]: [`spec::ModelSpec`], the architecture and the name and shape of every parameter,
//!   shared by the ONNX writer here and the tch builder in `synboost-train`.
//! - [`onnx`]: ONNX (opset 17) text and image graphs from a spec and named weights.
//! - [`quant`]: static int8 (QDQ) quantisation: calibration ranges, parameters, fake-quant.
//! - [`reference`]: a plain-Rust forward pass, the yardstick for runtimes.
//! - [`bundle`]: a directory with `manifest.json` and model files, each checked by SHA-256.
//! - [`export`]: a student (weights, optional int8 calibration) → a bundle.

pub mod bundle;
pub mod export;
pub mod onnx;
pub mod quant;
pub mod reference;
pub mod spec;
