//! The licence of exported weights, from what they were made of: the run's recorded
//! [`Provenance`] and the calibration frames' source ([`crate::provenance`]).

use crate::checkpoint::RunState;
use crate::provenance::{DataProvenance, Provenance};

/// What the exported weights are made from: the run's provenance (every phase's training and
/// validation data, a teacher's) and, for an int8 variant, where its calibration frames came
/// from.
pub fn weights_provenance(state: &RunState, calibration: Option<&DataProvenance>) -> Provenance {
    let mut p = state.provenance.clone();
    if let Some(c) = calibration {
        p.insert(c.clone());
    }
    p
}

/// The licence text of the exported weights ([`Provenance::licence`]).
pub fn licence(state: &RunState, calibration: Option<&DataProvenance>) -> &'static str {
    weights_provenance(state, calibration).licence()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Architecture;
    use crate::provenance::{CAMUS_LICENCE, PHANTOM_LICENCE};
    use synboost_core::model::spec::ModelSpec;

    /// A finished run's state with this configuration text and provenance.
    fn state(config: serde_json::Value, provenance: Provenance) -> RunState {
        RunState {
            arch: Architecture::Student(ModelSpec::tiny(10, 8)),
            config,
            phase: 1,
            epoch: 0,
            lr: 1e-3,
            best: None,
            since_best: 0,
            history: Vec::new(),
            finished: true,
            ema_updates: 0,
            provenance,
        }
    }

    #[test]
    fn camus_trained_weights_carry_the_camus_licence_whatever_the_config_says() {
        let camus = Provenance::of([DataProvenance::Camus]);
        // Nothing in the configuration text names camus224.
        let quiet = serde_json::json!({"phases": [{"name": "train", "data": "real data"}]});
        assert_eq!(licence(&state(quiet, camus.clone()), None), CAMUS_LICENCE);
        let mut tagged = camus.clone();
        tagged.insert(DataProvenance::Phantom);
        assert_eq!(
            licence(&state(serde_json::json!({}), tagged), None),
            CAMUS_LICENCE
        );
        // Phantom-trained, calibrated on CAMUS frames.
        let phantom = Provenance::of([DataProvenance::Phantom]);
        let s = state(serde_json::json!({}), phantom);
        assert_eq!(licence(&s, Some(&DataProvenance::Camus)), CAMUS_LICENCE);
        assert!(
            weights_provenance(&s, Some(&DataProvenance::Camus)).contains(&DataProvenance::Camus)
        );
    }

    #[test]
    fn phantom_only_weights_do_not_whatever_the_config_says() {
        let phantom = Provenance::of([DataProvenance::Phantom]);
        // The configuration text mentions camus224 (a phase name, a folder's spelling), the
        // data was phantoms all along.
        let loud = serde_json::json!({
            "phases": [{"name": "camus224-like", "data": "phantom:200 (not camus224)"}],
            "note": "camus224"
        });
        let s = state(loud, phantom);
        assert_eq!(licence(&s, None), PHANTOM_LICENCE);
        assert_eq!(licence(&s, Some(&DataProvenance::Phantom)), PHANTOM_LICENCE);
        assert_ne!(licence(&s, None), CAMUS_LICENCE);
        // A run saved before provenance was recorded cannot be shown to be free of CAMUS.
        let old = state(serde_json::json!({}), Provenance::unrecorded());
        assert_eq!(licence(&old, Some(&DataProvenance::Phantom)), CAMUS_LICENCE);
    }
}
