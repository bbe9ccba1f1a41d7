//! The predicted timing of a view's cycles, for the phases of frames not yet segmented.

use crate::meta::{Phase, View};

/// The predicted timing of a view's cycles, for phases of frames not yet segmented.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhaseClock {
    /// The view.
    pub view: Option<View>,
    /// Time of the latest end-diastole, seconds.
    pub last_ed_s: f64,
    /// Median RR interval, seconds.
    pub rr_s: f64,
    /// Median ED-to-ES interval, seconds.
    pub es_offset_s: f64,
    /// Median interval between the view's frames, seconds (interleaved views each have a
    /// fraction of the stream's frames).
    pub frame_s: f64,
}

impl PhaseClock {
    /// The phase of the view's frame at `time_s`: ED or ES when the predicted instant is
    /// nearer to it than to its neighbours (`frame_s` apart), else `None`.
    pub fn phase_at(&self, time_s: f64) -> Option<Phase> {
        let frame_s = self.frame_s;
        if !(time_s.is_finite() && frame_s > 0.0 && self.rr_s > 0.0) {
            return None;
        }
        let near = |offset: f64| {
            let x = (time_s - self.last_ed_s - offset).rem_euclid(self.rr_s);
            x.min(self.rr_s - x) < frame_s / 2.0
        };
        // Predictions beyond three cycles are not trusted.
        if time_s - self.last_ed_s > 3.0 * self.rr_s {
            return None;
        }
        if near(0.0) {
            Some(Phase::EndDiastole)
        } else if near(self.es_offset_s) {
            Some(Phase::EndSystole)
        } else {
            None
        }
    }
}
