//! [`EvalReport`]: the metrics of an evaluation per prompt kind and structure, as JSON, a
//! markdown table and the summary a bundle's manifest records.

use super::EvalError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use synboost_core::prompt::{PromptKind, PromptScheme, Wording};
use synboost_core::structure::Structure;
use synboost_data::fingerprint::DataRecord;
use synboost_data::metrics::Summary;

/// `f64` fields that may be NaN (a mean over nothing) are written as JSON `null` and read back
/// as NaN, so that reports stay valid JSON.
mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_some(v)
        } else {
            s.serialize_none()
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

/// Mean ± std of one metric (a [`Summary`] that survives JSON: NaN is written as `null`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    /// Pairs with a defined value.
    pub n: usize,
    /// Mean over defined values; NaN when `n` is 0.
    #[serde(with = "nan_as_null")]
    pub mean: f64,
    /// Population standard deviation; NaN when `n` is 0.
    #[serde(with = "nan_as_null")]
    pub std: f64,
    /// Pairs whose value was undefined (a distance with exactly one mask empty).
    pub undefined: usize,
}

impl From<Summary> for Stat {
    fn from(s: Summary) -> Self {
        Self {
            n: s.n,
            mean: s.mean,
            std: s.std,
            undefined: s.undefined,
        }
    }
}

impl Stat {
    /// `mean ± std` with `decimals`, values multiplied by `scale`; `–` when undefined.
    fn cell(&self, scale: f64, decimals: usize) -> String {
        if self.n == 0 || !self.mean.is_finite() {
            return "–".into();
        }
        let mut s = format!(
            "{:.d$} ± {:.d$}",
            self.mean * scale,
            self.std * scale,
            d = decimals
        );
        if self.undefined > 0 {
            let _ = write!(s, " ({} undef.)", self.undefined);
        }
        s
    }
}

/// The unit of Hausdorff distances in a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DistanceUnit {
    /// Every scored pair's sample had a pixel spacing: millimetres.
    Mm,
    /// No scored pair's sample had a pixel spacing: pixels.
    Px,
    /// Some had, some had not: the means mix mm and pixels.
    Mixed,
}

impl DistanceUnit {
    pub(super) fn label(self) -> &'static str {
        match self {
            Self::Mm => "mm",
            Self::Px => "px",
            Self::Mixed => "mm/px mixed",
        }
    }
}

/// Metrics of one structure under one prompt kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StructureReport {
    /// Scored pairs.
    pub pairs: usize,
    /// Dice, in [0, 1].
    pub dice: Stat,
    /// IoU, in [0, 1].
    pub iou: Stat,
    /// Hausdorff distance (undefined where exactly one mask is empty).
    pub hausdorff: Stat,
    /// 95th-percentile Hausdorff distance (undefined where exactly one mask is empty).
    pub hd95: Stat,
    /// Pairs whose prediction is empty while the truth is not (missed structure).
    pub empty_prediction: usize,
    /// Pairs whose truth is empty while the prediction is not (hallucinated structure).
    pub empty_truth: usize,
    /// Pairs where both are empty (dice 1 by convention).
    pub both_empty: usize,
    /// Pairs not scored because the sample lacks an attribute this kind writes.
    pub unprompted: usize,
}

/// Metrics of one prompt kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindReport {
    /// Mean dice over all scored image-structure pairs of this kind (NaN, `null` in JSON, when
    /// none was scored).
    #[serde(with = "nan_as_null")]
    pub mean_dice: f64,
    /// Scored pairs.
    pub pairs: usize,
    /// Dice over all pairs.
    pub dice: Stat,
    /// IoU over all pairs.
    pub iou: Stat,
    /// HD95 over all pairs.
    pub hd95: Stat,
    /// Per structure, keyed by [`Structure::code`] (`lv`, `myo`, `la`).
    pub per_structure: BTreeMap<String, StructureReport>,
}

/// A sample that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedSample {
    /// Sample id (`?` when the source has none).
    pub id: String,
    /// Why.
    pub error: String,
}

/// One scored pair: which sample, prompt kind and structure, and its dice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairScore {
    /// Sample id.
    pub id: String,
    /// Prompt kind (`P3`).
    pub kind: String,
    /// Structure code (`lv`, `myo`, `la`).
    pub structure: String,
    /// Dice in [0, 1].
    pub dice: f64,
}

/// The result of [`evaluate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Dataset name, as the caller gave it.
    pub dataset: String,
    /// Samples loaded and evaluated.
    pub samples: usize,
    /// Samples that failed to load (skipped).
    pub failed: Vec<FailedSample>,
    /// Probability threshold.
    pub threshold: f32,
    /// Whether largest component + hole fill was applied.
    pub postprocess: bool,
    /// Whether the structures were mutually exclusive ([`super::EvalConfig::exclusive`]).
    #[serde(default)]
    pub exclusive: bool,
    /// Prompt family.
    pub scheme: PromptScheme,
    /// Prompt wording.
    pub wording: Wording,
    /// Model input (width, height).
    pub model_input: (usize, usize),
    /// Unit of the Hausdorff distances.
    pub distance_unit: DistanceUnit,
    /// Per prompt kind, keyed `P0`..`P7`.
    pub per_kind: BTreeMap<String, KindReport>,
    /// What was scored: the dataset's name and the fingerprint of the samples evaluated, in
    /// order (`None` only in reports written before fingerprints were recorded).
    #[serde(default)]
    pub data: Option<DataRecord>,
    /// Every scored pair, in scoring order, for paired tests between models
    /// ([`EvalReport::write_pairs_csv`]; not part of `report.json`).
    #[serde(skip)]
    pub pairs: Vec<PairScore>,
}

impl EvalReport {
    /// The report of one kind.
    pub fn kind(&self, kind: PromptKind) -> Option<&KindReport> {
        self.per_kind.get(&kind.to_string())
    }

    /// Mean dice of one kind (`None` when it was not evaluated or nothing was scored).
    pub fn mean_dice(&self, kind: PromptKind) -> Option<f64> {
        self.kind(kind)
            .map(|k| k.mean_dice)
            .filter(|d| d.is_finite())
    }

    /// The numbers a bundle's manifest records: per prompt kind, the mean dice, the scored
    /// pairs and the mean dice and mean HD95 of each structure, as `report.json` has them
    /// (dice as fractions in [0, 1]; the printed table rounds them to percent), and under
    /// `data` what they were measured on ([`DataRecord`]).
    pub fn summary(&self) -> serde_json::Value {
        let kinds: serde_json::Map<String, serde_json::Value> = self
            .per_kind
            .iter()
            .map(|(kind, k)| {
                let per = |f: &dyn Fn(&StructureReport) -> f64| {
                    k.per_structure
                        .iter()
                        .map(|(s, r)| (s.clone(), serde_json::json!(finite(f(r)))))
                        .collect::<serde_json::Map<String, serde_json::Value>>()
                };
                (
                    kind.clone(),
                    serde_json::json!({
                        "mean_dice": finite(k.mean_dice),
                        "pairs": k.pairs,
                        "dice": per(&|r| r.dice.mean),
                        "hd95": per(&|r| r.hd95.mean),
                        "hd95_unit": self.distance_unit.label(),
                    }),
                )
            })
            .collect();
        let mut out = serde_json::Value::Object(kinds);
        if let Some(d) = &self.data {
            out["data"] = serde_json::json!(d);
        }
        out
    }

    /// Write every scored pair as CSV (`id,kind,structure,dice`), the input of `compare`.
    pub fn write_pairs_csv(&self, path: &Path) -> Result<(), EvalError> {
        let mut text = String::from("id,kind,structure,dice\n");
        for p in &self.pairs {
            text.push_str(&format!(
                "{},{},{},{:.6}\n",
                p.id, p.kind, p.structure, p.dice
            ));
        }
        std::fs::write(path, text).map_err(|source| EvalError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Read pairs written by [`EvalReport::write_pairs_csv`].
    pub fn read_pairs_csv(path: &Path) -> Result<Vec<PairScore>, EvalError> {
        let text = std::fs::read_to_string(path).map_err(|source| EvalError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let bad =
            |line: usize, why: &str| EvalError::Config(format!("{}:{line}: {why}", path.display()));
        let mut pairs = Vec::new();
        for (i, line) in text.lines().enumerate().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let [id, kind, structure, dice] = f[..] else {
                return Err(bad(i + 1, "expected id,kind,structure,dice"));
            };
            let dice = dice
                .parse::<f64>()
                .map_err(|_| bad(i + 1, "dice is not a number"))?;
            pairs.push(PairScore {
                id: id.into(),
                kind: kind.into(),
                structure: structure.into(),
                dice,
            });
        }
        Ok(pairs)
    }

    /// Write as pretty JSON.
    pub fn write_json(&self, path: &Path) -> Result<(), EvalError> {
        let json = serde_json::to_string_pretty(self).map_err(|source| EvalError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        std::fs::write(path, json + "\n").map_err(|source| EvalError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Read a report written by [`EvalReport::write_json`].
    pub fn read_json(path: &Path) -> Result<Self, EvalError> {
        let text = std::fs::read_to_string(path).map_err(|source| EvalError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| EvalError::Json {
            path: path.to_path_buf(),
            source,
        })
    }

    /// A markdown table: one row per kind × structure and one `all` row per kind, with dice and
    /// IoU ×100 (mean ± std), HD95, scored pairs and empty predictions.
    pub fn table(&self) -> String {
        let unit = self.distance_unit.label();
        let data = self
            .data
            .as_ref()
            .map_or_else(|| "not fingerprinted".to_string(), |d| d.to_string());
        let mut s = format!(
            "{}: {} samples, threshold {}, postprocess {}{}\ndata: {data}\n\n\
             | Prompt | Structure | Dice (%) | IoU (%) | HD95 ({unit}) | Pairs | Empty pred. |\n\
             |---|---|---|---|---|---|---|\n",
            self.dataset,
            self.samples,
            self.threshold,
            if self.postprocess { "on" } else { "off" },
            if self.exclusive {
                ", structures mutually exclusive"
            } else {
                ""
            },
        );
        for (kind, k) in &self.per_kind {
            // Label order (LV, myocardium, LA), then any other key.
            let known = Structure::ALL.into_iter().filter_map(|st| {
                k.per_structure
                    .get(st.code())
                    .map(|r| (st.prompt_name(), r))
            });
            let other = k
                .per_structure
                .iter()
                .filter(|(c, _)| !Structure::ALL.iter().any(|st| st.code() == c.as_str()))
                .map(|(c, r)| (c.as_str(), r));
            for (name, r) in known.chain(other) {
                let _ = writeln!(
                    s,
                    "| {kind} | {name} | {} | {} | {} | {} | {} |",
                    r.dice.cell(100.0, 2),
                    r.iou.cell(100.0, 2),
                    r.hd95.cell(1.0, 2),
                    r.pairs,
                    r.empty_prediction,
                );
            }
            let empty: usize = k.per_structure.values().map(|r| r.empty_prediction).sum();
            let _ = writeln!(
                s,
                "| {kind} | **all** | **{}** | {} | {} | {} | {empty} |",
                k.dice.cell(100.0, 2),
                k.iou.cell(100.0, 2),
                k.hd95.cell(1.0, 2),
                k.pairs,
            );
        }
        s
    }
}

/// `v` when finite, else `None` (JSON `null`).
fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}
