//! The deployable student model as data, and the bundle format that carries it.
//!
//! - [`spec`]: [`spec::ModelSpec`], the architecture and the name and shape of every parameter,
//!   shared by the ONNX writer here and the tch builder in `synboost-train`.
//! - [`bundle`]: a directory with `manifest.json` and model files, each checked by SHA-256.

pub mod bundle;
pub mod spec;
