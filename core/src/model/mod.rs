//! The deployable student model as data, and the bundle format that carries it.
//!
//! - [`spec`]: [`spec::ModelSpec`], the architecture and the name and shape of every parameter,
//!   shared by the ONNX writer (`synboost-export`) and the tch builder (`synboost-train`).
//! - [`bundle`]: a directory with `manifest.json` and model files, each checked by SHA-256.
//!
//! The writers (ONNX graphs, int8 quantisation, the reference forward pass, student export)
//! are in `synboost-export`: a scanner only reads bundles.

pub mod bundle;
pub mod spec;
