//! Checking a bundle's recorded scores against a fresh evaluation.
//!
//! A bundle's manifest records what it scores (`metrics.camus224_val.<variant>`, written by
//! `export` or `rescore` from [`EvalReport::summary`]) together with the [`DataRecord`] of the
//! data it was scored on. [`check`] compares such a record with a new [`EvalReport`] and
//! tells the two ways they can disagree apart, because they call for different actions:
//!
//! - [`Mismatch::DatasetChanged`]: the data is not the data the bundle was scored on (the
//!   masks were cleaned, a sample was added, a folder holds another split). The model may be
//!   fine; its recorded numbers are simply about other data. Re-score it.
//! - [`Mismatch::ScoresDiffer`]: same data, other numbers: the model, the engine or the
//!   evaluation changed. That is a regression to look into.
//! - [`Mismatch::NotFingerprinted`]: the record predates fingerprints, so neither can be
//!   ruled out.

use crate::eval::EvalReport;
use std::fmt;
use synboost_data::fingerprint::DataRecord;

/// Largest difference between a recorded and a fresh score taken as equal. tract is
/// deterministic on one machine and thread count, so the bar is round-off in the JSON text.
pub const SCORE_TOLERANCE: f64 = 1e-9;

/// How a recorded score and a fresh evaluation disagree.
#[derive(Debug, Clone, PartialEq)]
pub enum Mismatch {
    /// The record is not there or not of the expected shape.
    Missing {
        /// What is missing, e.g. `metrics.camus224_val.int8`.
        what: String,
    },
    /// The record has no data fingerprint (scored before fingerprints were recorded).
    NotFingerprinted {
        /// The variant checked.
        variant: String,
        /// What the fresh evaluation ran on.
        now: DataRecord,
    },
    /// The data changed since the bundle was scored: the scores are about other data.
    DatasetChanged {
        /// The variant checked.
        variant: String,
        /// What the bundle was scored on.
        recorded: DataRecord,
        /// What the fresh evaluation ran on.
        now: DataRecord,
    },
    /// Same data, different scores.
    ScoresDiffer {
        /// The variant checked.
        variant: String,
        /// The data both were measured on.
        data: DataRecord,
        /// One line per differing number: `P3 lv dice: recorded 0.9170 vs now 0.9201`.
        differences: Vec<String>,
    },
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing { what } => write!(f, "the manifest records no {what}"),
            Self::NotFingerprinted { variant, now } => write!(
                f,
                "{variant}: the manifest's scores carry no data fingerprint (recorded before \
                 fingerprints were), so they cannot be checked against {now}; re-score the \
                 bundle (`synboost-train rescore`)"
            ),
            Self::DatasetChanged {
                variant,
                recorded,
                now,
            } => write!(
                f,
                "{variant}: the dataset changed since this bundle was scored (fingerprint {} vs \
                 {}): it was scored on {recorded}, this evaluation ran on {now}; the scores are \
                 about other data, so re-score the bundle (`synboost-train rescore`) rather than \
                 compare them",
                recorded.fingerprint, now.fingerprint
            ),
            Self::ScoresDiffer {
                variant,
                data,
                differences,
            } => write!(
                f,
                "{variant}: the model scores differently on the same data ({data}): {}",
                differences.join("; ")
            ),
        }
    }
}

impl std::error::Error for Mismatch {}

/// Compare `recorded` (one variant's entry of a manifest's `metrics.camus224_val`, as
/// [`EvalReport::summary`] wrote it) with `report`, a fresh evaluation of the same variant:
/// first the data, then every recorded kind's pairs, mean dice and per-structure dice (and
/// HD95 where recorded). `Ok` when both agree within [`SCORE_TOLERANCE`]; the mismatch is
/// boxed (it carries two data records).
pub fn check(
    variant: &str,
    recorded: &serde_json::Value,
    report: &EvalReport,
) -> Result<(), Box<Mismatch>> {
    compare(variant, recorded, report).map_err(Box::new)
}

// Boxed once, at the public boundary ([`check`]).
#[allow(clippy::result_large_err)]
fn compare(
    variant: &str,
    recorded: &serde_json::Value,
    report: &EvalReport,
) -> Result<(), Mismatch> {
    let missing = |what: String| Mismatch::Missing { what };
    if !recorded.is_object() {
        return Err(missing(format!("scores for {variant}")));
    }
    let now = report
        .data
        .clone()
        .ok_or_else(|| missing(format!("data fingerprint in the new {variant} report")))?;
    let was = match recorded.get("data") {
        None | Some(serde_json::Value::Null) => {
            return Err(Mismatch::NotFingerprinted {
                variant: variant.into(),
                now,
            });
        }
        Some(v) => serde_json::from_value::<DataRecord>(v.clone())
            .map_err(|e| missing(format!("readable data record for {variant} ({e})")))?,
    };
    if !was.same_data(&now) {
        return Err(Mismatch::DatasetChanged {
            variant: variant.into(),
            recorded: was,
            now,
        });
    }
    let mut differences = Vec::new();
    let kinds = recorded
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.starts_with('P'));
    let mut compared = 0usize;
    for (kind, want) in kinds {
        let Some(got) = report.per_kind.get(kind) else {
            differences.push(format!("{kind}: recorded, not evaluated now"));
            continue;
        };
        compared += 1;
        if want["pairs"].as_u64() != Some(got.pairs as u64) {
            differences.push(format!(
                "{kind} pairs: recorded {} vs now {}",
                want["pairs"], got.pairs
            ));
        }
        let mut number = |what: String, w: &serde_json::Value, g: f64| {
            let agree = match w.as_f64() {
                Some(w) => (w - g).abs() <= SCORE_TOLERANCE,
                None => w.is_null() && !g.is_finite(),
            };
            if !agree {
                differences.push(format!("{what}: recorded {w} vs now {g:.6}"));
            }
        };
        number(
            format!("{kind} mean dice"),
            &want["mean_dice"],
            got.mean_dice,
        );
        for (s, r) in &got.per_structure {
            if let Some(w) = want["dice"].get(s) {
                number(format!("{kind} {s} dice"), w, r.dice.mean);
            }
            if let Some(w) = want.get("hd95").and_then(|h| h.get(s)) {
                number(format!("{kind} {s} HD95"), w, r.hd95.mean);
            }
        }
    }
    if compared == 0 && differences.is_empty() {
        return Err(missing(format!("prompt-kind scores for {variant}")));
    }
    if differences.is_empty() {
        Ok(())
    } else {
        Err(Mismatch::ScoresDiffer {
            variant: variant.into(),
            data: now,
            differences,
        })
    }
}
