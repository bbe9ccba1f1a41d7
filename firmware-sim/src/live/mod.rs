//! `synboost-sim live`: a simulated scanner streaming frames in real time through
//! `libsynboost.so`, loaded with `dlopen` and driven through its C ABI only ([`abi`]).
//!
//! The frames are prepared before streaming ([`source`]: phantom frames rendered ahead with
//! their truth, or a DICOM cine), so that preparing them never competes with inference. A
//! producer thread pushes them at absolute deadlines (`start + k / fps`: `producer.rs`); the
//! calling thread polls the results (`consumer.rs`), scores them (dice against the phantom
//! truth, mask areas: `scores.rs`), reports progress and keeps a sample for the overlay
//! animation ([`anim`]), which is drawn and encoded only after the stream has drained. The run
//! ([`run()`], `run.rs`) ends with a JSON report ([`report`], assembled in `summary.rs`).
//!
//! [`LiveOptions`], the queue [`Policy`] and the model [`Variant`] are in `options.rs`; where
//! the library and the default bundle are found ([`locate_library`], [`locate_bundle`]) in
//! `locate.rs`; the resident memory sampled while streaming ([`resident_kib`]) in
//! `resident.rs`.

pub mod abi;
pub mod anim;
pub mod clinical;
mod consumer;
pub mod curve;
mod locate;
mod options;
mod producer;
pub mod report;
mod resident;
mod run;
mod scores;
pub mod source;
mod summary;

pub use locate::{locate_bundle, locate_library};
pub use options::{LiveOptions, Policy, Variant};
pub use resident::resident_kib;
pub use run::run;

/// The library's file name.
pub const LIB_NAME: &str = "libsynboost.so";
/// Where the default model bundle lives, relative to the repository root.
pub const DEFAULT_BUNDLE: &str = "models/default";
/// The frame rate of the real-time targets.
pub const TARGET_FPS: f64 = 50.0;
/// The p99 latency limit of the real-time targets, ms.
pub const TARGET_P99_MS: f64 = 20.0;
