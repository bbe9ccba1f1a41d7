//! `synboost-train`: training of the deployable student, teachers and the SDM with tch
//! (libtorch 2.11.0), on CPU for tests and CUDA on GPU servers.
//!
//! Long jobs report progress through callbacks ([`progress`]); the `synboost-train` binary
//! draws the bars. What weights are made of is typed ([`provenance`]) and decides the licence
//! of an exported bundle ([`bundle`]).
#![deny(missing_docs)]

pub mod bundle;
pub mod checkpoint;
pub mod data;
pub mod eval;
pub mod model;
pub mod plot;
pub mod progress;
pub mod provenance;
pub mod recorded;
pub mod runtime;
pub mod sdm;
pub mod student;
pub mod teacher;
pub mod trainer;
