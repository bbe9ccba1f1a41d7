//! What every phase validates on: its data record (name and fingerprint), recorded in the run
//! state, and checked when a run resumes.

use super::{Phase, TrainError};
use crate::checkpoint::RunState;
use std::sync::Arc;
use synboost_data::fingerprint::{DataRecord, fingerprint};

/// The data record of every phase's validation data; a source shared by phases (pt-ft
/// validates both on camus224 val) is read once.
pub(super) fn fingerprint_val_data(
    phases: &[Phase],
    limit: Option<usize>,
) -> Result<Vec<DataRecord>, TrainError> {
    let mut val_data: Vec<DataRecord> = Vec::with_capacity(phases.len());
    for (i, p) in phases.iter().enumerate() {
        let seen = phases[..i].iter().position(|q| Arc::ptr_eq(&q.val, &p.val));
        val_data.push(match seen {
            Some(j) => val_data[j].clone(),
            None => fingerprint(p.val.as_ref(), limit)?,
        });
    }
    Ok(val_data)
}

/// The validation data record of each phase of a saved run (`None` for a phase of a run
/// started before fingerprints were recorded).
pub fn recorded_val_data(state: &RunState) -> Vec<Option<DataRecord>> {
    state.config["phases"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| serde_json::from_value(p["val_data"].clone()).ok())
        .collect()
}

/// A run resumes only on the validation data it started on: its best epoch and the plateau
/// and early-stopping counters were all decided on those dice.
pub(super) fn check_val_data(state: &RunState, now: &[DataRecord]) -> Result<(), TrainError> {
    let was = recorded_val_data(state);
    for (i, n) in now.iter().enumerate() {
        match was.get(i).cloned().flatten() {
            Some(w) if !w.same_data(n) => {
                return Err(TrainError::Resume(format!(
                    "phase {i}: the validation data changed since this run started \
                     (fingerprint {} vs {}; was {w}, now {n}); its best epoch was chosen on other \
                     data. Start a new run (--init RUN/last.safetensors keeps the weights)",
                    w.fingerprint, n.fingerprint
                )));
            }
            Some(_) => {}
            None => log::warn!(
                "phase {i}: the run recorded no validation data fingerprint (started before \
                 fingerprints were); resuming on {n} unchecked"
            ),
        }
    }
    Ok(())
}
