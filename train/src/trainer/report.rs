//! [`TrainReport`]: the summary of a finished run.

use crate::checkpoint::EpochRecord;
use serde::{Deserialize, Serialize};

/// Summary of a finished run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainReport {
    /// Every epoch.
    pub history: Vec<EpochRecord>,
    /// Per phase: (name, best dice, epoch of the best, epochs run).
    pub phases: Vec<(String, f64, usize, usize)>,
    /// Wall time, seconds.
    pub seconds: f64,
    /// True when the time limit stopped the run.
    pub time_limited: bool,
    /// True when the run paused at an epoch boundary (`pause_after`): resume it to go on.
    pub paused: bool,
}
