//! Progress of a long run (`live`, `soak`), reported to a callback: the library draws nothing,
//! the caller (the binary's progress bar) decides how to show it.

/// One progress report of a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// The timed part of the run starts: `total` steps (frames for `live`, seconds for `soak`).
    Start {
        /// Steps planned.
        total: u64,
    },
    /// `done` steps so far, and a new status line when there is one.
    Step {
        /// Steps done.
        done: u64,
        /// Status line.
        message: Option<String>,
    },
    /// The timed part has ended: what shows the progress can go.
    Finish,
}
