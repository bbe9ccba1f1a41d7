//! Progress of long jobs (an epoch of training, SDM training steps, sampling a dataset),
//! reported to a callback: the library says how far it is, the caller decides how to show it.
//! The `synboost-train` binary draws progress bars; tests pass `|_| {}`.
//!
//! [`crate::eval::evaluate`] reports `(done, total)` samples the same way.

/// One progress report of a long job.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// A stage starts: `total` units (`unit`: `batches`, `steps`, `images`), `done` of them
    /// already done (a resumed run). `label` names the stage (`train 3/30`, `SDM`).
    Start {
        /// What the stage is.
        label: String,
        /// What is counted.
        unit: &'static str,
        /// Units in the stage.
        total: u64,
        /// Units done before it started.
        done: u64,
    },
    /// `done` units of the stage are done; `note` is news to show beside the count (the
    /// running loss), when there is some.
    Advance {
        /// Units done.
        done: u64,
        /// Short status text.
        note: Option<String>,
    },
    /// The stage is over.
    Finish,
}
