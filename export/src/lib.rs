//! `synboost-export`: the model writers. A student's weights become a deployable bundle here:
//! ONNX graphs, int8 quantisation and the manifest. Host side only; `libsynboost.so` reads
//! bundles with `synboost-core` and links none of this.
//!
//! - [`onnx`]: ONNX (opset 17) text and image graphs from a [`ModelSpec`] and named weights.
//! - [`quant`]: static int8 (QDQ) quantisation: calibration ranges, parameters, fake-quant.
//! - [`reference`]: a plain-Rust forward pass, the yardstick for runtimes.
//! - [`student`]: a student (weights, optional int8 calibration) → a bundle.
//!
//! [`ModelSpec`]: synboost_core::model::spec::ModelSpec
#![deny(missing_docs)]

pub mod onnx;
pub mod quant;
pub mod reference;
pub mod student;
