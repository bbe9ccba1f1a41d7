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
pub use options::{Backend, LiveOptions, Policy, Variant};
pub use resident::resident_kib;
pub use run::run;

/// The library's file name.
pub const LIB_NAME: &str = "libsynboost.so";
/// Where the default model bundle lives, relative to the repository root.
pub const DEFAULT_BUNDLE: &str = "models/default";
/// The lowest frame rate of the real-time targets (and the default rate of a run).
pub const TARGET_FPS: f64 = 50.0;

/// The real-time targets of a run streamed at `run_fps`: (the frame rate it must reach, the p99
/// latency limit in ms). A run faster than [`TARGET_FPS`] is judged at its own rate and frame
/// period (80 fps: p99 < 12.5 ms); a slower one against [`TARGET_FPS`] (50 fps, 20 ms), which
/// it cannot reach.
pub fn real_time_target(run_fps: f64) -> (f64, f64) {
    let fps = if run_fps.is_finite() {
        run_fps.max(TARGET_FPS)
    } else {
        TARGET_FPS
    };
    (fps, 1000.0 / fps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latency_target_is_the_run_s_own_frame_period() {
        assert_eq!(real_time_target(50.0), (50.0, 20.0));
        assert_eq!(real_time_target(80.0), (80.0, 12.5));
        assert_eq!(real_time_target(200.0), (200.0, 5.0));
        // Slower runs (a 25 fps cine) are held to the 50 fps floor, as before.
        assert_eq!(real_time_target(25.0), (50.0, 20.0));
        assert_eq!(real_time_target(f64::NAN), (50.0, 20.0));
    }
}
