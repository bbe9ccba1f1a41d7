//! `synboost-sim soak`: a fault-injected soak of `libsynboost.so` through its C ABI.
//!
//! A producer thread pushes phantom frames (both apical views, rendered ahead) at a fixed rate
//! (80 fps by default, faster than one worker segments on two cores) with the faults of
//! [`faults`] injected; a second thread pushes bursts at random moments, so pushes also race
//! (`producer.rs`). The calling thread polls every result (`consumer.rs`). At the end the run
//! checks (`findings.rs`):
//!
//! - **accounting**: every accepted push has exactly one result (segmented, failed, dropped or
//!   discarded), no result is unknown or repeated, and the library's counters agree;
//! - **refusals**: every wrong description was refused with its status and nothing else was;
//! - **no failures**: every frame that was taken was segmented or dropped by the queue policy;
//! - **bounded latency**: the p99 of push-to-result is within what the queue allows
//!   (`(queue + workers + 1) × service time × 1.5 + 25 ms`), and no result took over a second;
//! - **flat memory**: resident memory after the warm-up grows by less than `--max-growth-mib`.
//!
//! The host side keeps only fixed-size records (one byte per sequence number, core's latency
//! histogram: `ledger.rs`), so the resident memory measured is the library's. It writes
//! `soak-report.json` ([`SoakReport`], [`table`]) and `soak.png` (memory and latency over
//! time: `chart.rs`). The steps of a run are in `run.rs` ([`run()`]).

mod chart;
mod consumer;
pub mod faults;
mod findings;
mod ledger;
mod options;
mod producer;
mod report;
mod run;

pub use options::SoakOptions;
pub use report::{Check, Outcomes, Second, SoakReport, table};
pub use run::run;
