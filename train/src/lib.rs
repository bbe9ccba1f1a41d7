//! `synboost-train`: training of the deployable student, teachers and the SDM with tch
//! (libtorch 2.11.0), on CPU for tests and CUDA on GPU servers.
#![deny(missing_docs)]

pub mod checkpoint;
pub mod data;
pub mod eval;
pub mod model;
pub mod plot;
pub mod recorded;
pub mod runtime;
pub mod sdm;
pub mod student;
pub mod teacher;
pub mod trainer;
