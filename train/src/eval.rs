//! Evaluation of a [`Network`] (the student or a teacher) on a dataset: dice, IoU, Hausdorff and
//! HD95 per prompt kind and structure, at the dataset's native mask resolution, as the seed
//! reports them.
//!
//! **Pipeline per (image, prompt) pair**, the same as the deployed engine:
//!
//! 1. The sample's image is resized to the model input with [`Preprocessor`] (the spec's
//!    [`Fit`](synboost_core::preprocess::Fit), whole image as the region).
//! 2. The prompt of each asked [`PromptKind`] and [`Structure`] is built from the sample's
//!    metadata ([`PromptAttrs::from_meta`]); the shape word (P7, synthetic P6) is the dataset's
//!    where it has one, else derived from the truth mask ([`shape_of`]), as for training.
//!    A pair whose sample lacks an attribute the kind writes (no sex for P4, say) is not scored
//!    but counted as `unprompted`.
//! 3. Pairs are batched (`batch_size`), run under `no_grad` in eval mode (teachers' dropout off,
//!    batch norm on its running statistics).
//! 4. The logits are thresholded at model resolution, cleaned (largest component + hole fill,
//!    [`EvalConfig::postprocess`], on by default as in the engine), and mapped back to the
//!    sample's size by bilinear interpolation of the logits ([`FrameMapper`]) and thresholding.
//! 5. [`metrics::pair`] against the sample's mask: distances in mm when the sample has a pixel
//!    spacing, else in pixels ([`DistanceUnit`] says which).
//!
//! **Means.** A kind's `mean_dice` is the mean over all its scored image-structure pairs (as
//! the seed reported it); each structure has its own mean ± std (population std). Dice and IoU
//! are fractions in [0, 1]; [`EvalReport::table`] shows them ×100.
//!
//! Samples that fail to decode are skipped with a warning and listed in
//! [`EvalReport::failed`]; only when none can be scored is the evaluation an error.
//!
//! **What it was measured on.** Every report carries a [`DataRecord`] ([`EvalReport::data`]):
//! the dataset's name and the fingerprint of the samples it scored, so a score recorded
//! somewhere (a bundle's manifest) can later be told apart from one made on other data
//! ([`crate::recorded`]).

use crate::model::{ModelError, Network};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use synboost_core::engine::{Engine, EngineError};
use synboost_core::frame::FrameView;
use synboost_core::meta::PixelSpacing;
use synboost_core::postprocess::{FrameMapper, PostprocessError, PostprocessOptions, postprocess};
use synboost_core::preprocess::{Geometry, PreprocessError, PreprocessOptions, Preprocessor};
use synboost_core::prompt::{PromptAttrs, PromptError, PromptKind, PromptScheme, Wording};
use synboost_core::raster::{GrayImage, Mask};
use synboost_core::structure::Structure;
use synboost_core::vocab::{Tokenizer, Vocab, VocabError};
use synboost_data::fingerprint::{DataRecord, Fingerprinter};
use synboost_data::metrics::{self, MetricsError, PairMetrics, Summary};
use synboost_data::shape::shape_of;
use synboost_data::{Sample, SampleSource};
use tch::{Device, Kind, Tensor};

/// Evaluation errors.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The configuration cannot be evaluated.
    #[error("invalid evaluation config: {0}")]
    Config(String),
    /// No sample of the dataset could be scored.
    #[error("dataset {dataset:?}: no sample could be evaluated ({failed} failed to load)")]
    NoSamples {
        /// Dataset name.
        dataset: String,
        /// Samples that failed to load.
        failed: usize,
    },
    /// A sample could not be resized to the model input.
    #[error("sample {id}: {source}")]
    Preprocess {
        /// Sample id.
        id: String,
        /// Cause.
        source: PreprocessError,
    },
    /// Logits could not be turned into a mask.
    #[error("sample {id}: {source}")]
    Postprocess {
        /// Sample id.
        id: String,
        /// Cause.
        source: PostprocessError,
    },
    /// A prediction could not be compared with its truth (a mask of another size).
    #[error("sample {id}: {source}")]
    Metrics {
        /// Sample id.
        id: String,
        /// Cause.
        source: MetricsError,
    },
    /// A prompt could not be tokenised.
    #[error(transparent)]
    Vocab(#[from] VocabError),
    /// The model failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The bundle's engine failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// libtorch refused an operation.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// The model returned logits of an unexpected shape.
    #[error("model returned logits of shape {found:?}, expected {expected:?}")]
    LogitShape {
        /// Expected `[B, 1, H, W]`.
        expected: Vec<i64>,
        /// Returned.
        found: Vec<i64>,
    },
    /// A report file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A report file is not a valid report.
    #[error("{path}: {source}")]
    Json {
        /// File.
        path: PathBuf,
        /// Cause.
        source: serde_json::Error,
    },
}

/// What to evaluate and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EvalConfig {
    /// Prompt kinds, each scored separately (default P0–P7).
    pub kinds: Vec<PromptKind>,
    /// Structures (default all three).
    pub structures: Vec<Structure>,
    /// Prompt family (real CAMUS or synthetic).
    pub scheme: PromptScheme,
    /// Prompt wording (default [`Wording::Heart`]).
    pub wording: Wording,
    /// Probability above which a pixel is inside, strictly between 0 and 1 (default 0.5).
    pub threshold: f32,
    /// Keep the largest component and fill holes, as the engine does (default true).
    pub postprocess: bool,
    /// (image, prompt) pairs per forward pass (default 32).
    pub batch_size: usize,
    /// Evaluate only the first N samples (quick evaluations); `None`: all.
    pub limit: Option<usize>,
    /// Return the predictions of the first N pairs of the first kind (for overlay pictures);
    /// memory stays bounded by N (default 0).
    pub keep_predictions: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            kinds: PromptKind::ALL.to_vec(),
            structures: Structure::ALL.to_vec(),
            scheme: PromptScheme::Camus,
            wording: Wording::Heart,
            threshold: 0.5,
            postprocess: true,
            batch_size: 32,
            limit: None,
            keep_predictions: 0,
        }
    }
}

impl EvalConfig {
    /// Check that the configuration can be evaluated.
    pub fn validate(&self) -> Result<(), EvalError> {
        let bad = |m: String| Err(EvalError::Config(m));
        if self.kinds.is_empty() {
            return bad("no prompt kind to evaluate".into());
        }
        if self.structures.is_empty() {
            return bad("no structure to evaluate".into());
        }
        if self.batch_size == 0 {
            return bad("batch size must be at least 1".into());
        }
        if !(self.threshold.is_finite() && self.threshold > 0.0 && self.threshold < 1.0) {
            return bad(format!(
                "threshold {} is not a probability strictly between 0 and 1",
                self.threshold
            ));
        }
        if let Some(k) = self.kinds.iter().find(|k| k.fields(self.scheme).is_none()) {
            return bad(format!("{k} does not exist for {:?} prompts", self.scheme));
        }
        Ok(())
    }
}

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
    fn label(self) -> &'static str {
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
            "{}: {} samples, threshold {}, postprocess {}\ndata: {data}\n\n\
             | Prompt | Structure | Dice (%) | IoU (%) | HD95 ({unit}) | Pairs | Empty pred. |\n\
             |---|---|---|---|---|---|---|\n",
            self.dataset,
            self.samples,
            self.threshold,
            if self.postprocess { "on" } else { "off" },
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

/// One kept prediction, at the sample's resolution (for overlay pictures).
#[derive(Debug, Clone)]
pub struct Prediction {
    /// Sample id.
    pub id: String,
    /// Structure.
    pub structure: Structure,
    /// Prompt kind.
    pub kind: PromptKind,
    /// Dice of this pair, in [0, 1].
    pub dice: f64,
    /// The sample's image.
    pub image: GrayImage,
    /// Ground truth.
    pub truth: Mask,
    /// Prediction after postprocessing.
    pub predicted: Mask,
}

/// A decoded sample, resized to the model input.
struct Loaded {
    id: String,
    /// Position in the evaluation order (for progress).
    order: usize,
    input: Vec<u8>,
    geometry: Geometry,
    image: GrayImage,
    masks: [Mask; 3],
    spacing: Option<PixelSpacing>,
}

/// One (image, prompt) pair waiting for the model.
struct Pending {
    sample: Rc<Loaded>,
    structure: Structure,
    kind: PromptKind,
    tokens: Vec<i64>,
    prompt: String,
    keep: bool,
}

/// Metrics gathered for one (kind, structure).
#[derive(Default)]
struct Acc {
    pairs: Vec<PairMetrics>,
    empty_prediction: usize,
    empty_truth: usize,
    both_empty: usize,
    unprompted: usize,
}

impl Acc {
    fn report(&self) -> StructureReport {
        let s = metrics::SetSummary::of(&self.pairs);
        StructureReport {
            pairs: self.pairs.len(),
            dice: s.dice.into(),
            iou: s.iou.into(),
            hausdorff: s.hausdorff.into(),
            hd95: s.hd95.into(),
            empty_prediction: self.empty_prediction,
            empty_truth: self.empty_truth,
            both_empty: self.both_empty,
            unprompted: self.unprompted,
        }
    }
}

/// State of one evaluation.
struct Run<'a> {
    backend: Backend<'a>,
    /// Model input (width, height) and fit.
    input: (usize, usize),
    fit: synboost_core::preprocess::Fit,
    cfg: &'a EvalConfig,
    tokenizer: Tokenizer,
    pre: Preprocessor,
    mapper: FrameMapper,
    acc: BTreeMap<(PromptKind, Structure), Acc>,
    queue: Vec<Pending>,
    kept: Vec<Prediction>,
    /// Pairs queued with `keep` set so far.
    keep_queued: usize,
    /// Scored pairs with and without a pixel spacing.
    with_spacing: usize,
    without_spacing: usize,
}

impl Run<'_> {
    /// Resize the sample and queue its pairs.
    fn add(&mut self, sample: Sample, order: usize) -> Result<(), EvalError> {
        let (w, h) = (sample.image.width(), sample.image.height());
        let frame =
            FrameView::gray8(w, h, sample.image.data()).map_err(|e| EvalError::Preprocess {
                id: sample.id.clone(),
                source: e.into(),
            })?;
        let opts = PreprocessOptions {
            fit: self.fit,
            ..PreprocessOptions::default()
        };
        let mut input = Vec::new();
        let geometry =
            self.pre
                .run(&frame, &opts, &mut input)
                .map_err(|source| EvalError::Preprocess {
                    id: sample.id.clone(),
                    source,
                })?;
        let Sample {
            id,
            image,
            masks,
            meta,
            shapes,
            ..
        } = sample;
        let loaded = Rc::new(Loaded {
            id,
            order,
            input,
            geometry,
            image,
            masks,
            spacing: meta.pixel_spacing,
        });
        let first_kind = self.cfg.kinds.first().copied();
        for &kind in &self.cfg.kinds {
            for &structure in &self.cfg.structures {
                let idx = structure.index();
                let mut attrs = PromptAttrs::from_meta(structure, &meta);
                attrs.shape = shapes
                    .get(idx)
                    .copied()
                    .flatten()
                    .or_else(|| loaded.masks.get(idx).and_then(shape_of));
                let prompt = match attrs.build(kind, self.cfg.wording, self.cfg.scheme) {
                    Ok(p) => p,
                    Err(PromptError::Missing { field, .. }) => {
                        log::debug!("{}: no {field} for {kind}; pair not scored", loaded.id);
                        self.acc.entry((kind, structure)).or_default().unprompted += 1;
                        continue;
                    }
                    Err(e) => return Err(EvalError::Config(e.to_string())),
                };
                let (tokens, _) = self.tokenizer.encode(&prompt)?;
                let keep = Some(kind) == first_kind && self.keep_queued < self.cfg.keep_predictions;
                self.keep_queued += usize::from(keep);
                self.queue.push(Pending {
                    sample: Rc::clone(&loaded),
                    structure,
                    kind,
                    tokens,
                    prompt,
                    keep,
                });
                if self.queue.len() >= self.cfg.batch_size {
                    self.flush()?;
                }
            }
        }
        Ok(())
    }

    /// Run the model on the queued pairs and score them.
    fn flush(&mut self) -> Result<(), EvalError> {
        if self.queue.is_empty() {
            return Ok(());
        }
        let (mw, mh) = self.input;
        let values = match &mut self.backend {
            Backend::Torch(model, device) => torch_logits(
                model,
                *device,
                &self.queue,
                (mw, mh),
                self.tokenizer.max_len(),
            )?,
            Backend::Bundle(engine) => {
                let mut values = Vec::with_capacity(self.queue.len() * mw * mh);
                for p in &self.queue {
                    values.extend(engine.logits(&p.sample.input, &[p.prompt.as_str()])?);
                }
                values
            }
        };
        let opts = PostprocessOptions {
            threshold: self.cfg.threshold,
            largest_component: self.cfg.postprocess,
            fill_holes: self.cfg.postprocess,
        };
        let queue = std::mem::take(&mut self.queue);
        for (p, plane) in queue.into_iter().zip(values.chunks_exact(mw * mh)) {
            let s = &p.sample;
            let post_err = |source| EvalError::Postprocess {
                id: s.id.clone(),
                source,
            };
            let (clean, _) = postprocess(plane, mw, mh, &opts).map_err(post_err)?;
            let predicted = self
                .mapper
                .map(plane, &clean, &s.geometry, opts.threshold)
                .map_err(post_err)?;
            let truth = &s.masks[p.structure.index()];
            let m = metrics::pair(&predicted, truth, s.spacing).map_err(|source| {
                EvalError::Metrics {
                    id: s.id.clone(),
                    source,
                }
            })?;
            let acc = self.acc.entry((p.kind, p.structure)).or_default();
            match (predicted.is_empty(), truth.is_empty()) {
                (true, true) => acc.both_empty += 1,
                (true, false) => acc.empty_prediction += 1,
                (false, true) => acc.empty_truth += 1,
                (false, false) => {}
            }
            acc.pairs.push(m);
            if s.spacing.is_some() {
                self.with_spacing += 1;
            } else {
                self.without_spacing += 1;
            }
            if p.keep {
                self.kept.push(Prediction {
                    id: s.id.clone(),
                    structure: p.structure,
                    kind: p.kind,
                    dice: m.dice,
                    image: s.image.clone(),
                    truth: truth.clone(),
                    predicted,
                });
            }
        }
        Ok(())
    }

    /// Samples (in evaluation order) whose pairs are all scored, given `next` samples added.
    fn done(&self, next: usize) -> usize {
        self.queue.first().map_or(next, |p| p.sample.order)
    }

    fn report(&self, dataset: &str, samples: usize, failed: Vec<FailedSample>) -> EvalReport {
        let mut per_kind = BTreeMap::new();
        for &kind in &self.cfg.kinds {
            let mut all = Vec::new();
            let mut per_structure = BTreeMap::new();
            for &structure in &self.cfg.structures {
                let empty = Acc::default();
                let acc = self.acc.get(&(kind, structure)).unwrap_or(&empty);
                all.extend_from_slice(&acc.pairs);
                per_structure.insert(structure.code().to_string(), acc.report());
            }
            let s = metrics::SetSummary::of(&all);
            per_kind.insert(
                kind.to_string(),
                KindReport {
                    mean_dice: s.dice.mean,
                    pairs: all.len(),
                    dice: s.dice.into(),
                    iou: s.iou.into(),
                    hd95: s.hd95.into(),
                    per_structure,
                },
            );
        }
        let distance_unit = match (self.with_spacing, self.without_spacing) {
            (_, 0) => DistanceUnit::Mm,
            (0, _) => DistanceUnit::Px,
            _ => DistanceUnit::Mixed,
        };
        EvalReport {
            dataset: dataset.to_string(),
            samples,
            failed,
            threshold: self.cfg.threshold,
            postprocess: self.cfg.postprocess,
            scheme: self.cfg.scheme,
            wording: self.cfg.wording,
            model_input: self.input,
            distance_unit,
            per_kind,
            data: None,
        }
    }
}

/// What computes the logits of an evaluation.
pub enum Backend<'a> {
    /// A tch network (its variables on the device).
    Torch(&'a Network, Device),
    /// A model bundle in core's engine (tract): the f32 or int8 graph as it ships.
    Bundle(&'a mut Engine),
}

/// Logits of the queued pairs from a tch network, flattened.
fn torch_logits(
    model: &Network,
    device: Device,
    queue: &[Pending],
    (mw, mh): (usize, usize),
    len: usize,
) -> Result<Vec<f32>, EvalError> {
    let b = queue.len();
    let mut frames = Vec::with_capacity(b * mw * mh);
    let mut tokens = Vec::with_capacity(b * len);
    for p in queue {
        frames.extend_from_slice(&p.sample.input);
        tokens.extend_from_slice(&p.tokens);
    }
    let dims = [b as i64, 1, mh as i64, mw as i64];
    let ft = Tensor::from_slice(&frames)
        .f_view(dims)?
        .f_to_device(device)?;
    let tt = Tensor::from_slice(&tokens)
        .f_view([b as i64, len as i64])?
        .f_to_device(device)?;
    let logits = model.forward_t(&ft, &tt, false)?;
    if logits.size() != dims {
        return Err(EvalError::LogitShape {
            expected: dims.to_vec(),
            found: logits.size(),
        });
    }
    let flat = logits
        .f_to_device(Device::Cpu)?
        .f_to_kind(Kind::Float)?
        .f_flatten(0, -1)?;
    Ok(Vec::<f32>::try_from(&flat)?)
}

/// Evaluate `model` (its variables on `device`) on the first `cfg.limit` samples of `source`.
///
/// `progress(done, total)` is called as samples are finished (`done` samples of `total` fully
/// scored), and once at the end with `done == total`. Returns the report and the predictions
/// asked for by [`EvalConfig::keep_predictions`].
pub fn evaluate(
    model: &Network,
    device: Device,
    source: &dyn SampleSource,
    name: &str,
    cfg: &EvalConfig,
    progress: impl FnMut(usize, usize),
) -> Result<(EvalReport, Vec<Prediction>), EvalError> {
    evaluate_with(Backend::Torch(model, device), source, name, cfg, progress)
}

/// [`evaluate`] with any [`Backend`]: a bundle's engine is scored exactly as a network is (its
/// own prompts are built the same way; the engine tokenises them with the bundle's vocabulary).
pub fn evaluate_with(
    backend: Backend<'_>,
    source: &dyn SampleSource,
    name: &str,
    cfg: &EvalConfig,
    mut progress: impl FnMut(usize, usize),
) -> Result<(EvalReport, Vec<Prediction>), EvalError> {
    cfg.validate()?;
    let arch = match &backend {
        Backend::Torch(model, _) => model.architecture(),
        Backend::Bundle(engine) => crate::model::Architecture::Student(engine.spec().clone()),
    };
    let tokenizer = Tokenizer::new(Vocab::builtin(), arch.max_len());
    if tokenizer.vocab().len() > arch.vocab_size() {
        return Err(EvalError::Config(format!(
            "the builtin vocabulary has {} words but the model embeds {}",
            tokenizer.vocab().len(),
            arch.vocab_size()
        )));
    }
    if let Some(spec) = arch.student()
        && let Some(s) = cfg.structures.iter().find(|s| !spec.structures.contains(s))
    {
        log::warn!("{name}: the model was not built for {s}; evaluating it anyway");
    }
    let (iw, ih) = arch.input();
    let _no_grad = tch::no_grad_guard();
    let total = cfg.limit.map_or(source.len(), |l| l.min(source.len()));
    let mut run = Run {
        backend,
        input: arch.input(),
        fit: arch.fit(),
        cfg,
        tokenizer,
        pre: Preprocessor::new(iw, ih),
        mapper: FrameMapper::new(),
        acc: BTreeMap::new(),
        queue: Vec::new(),
        kept: Vec::new(),
        keep_queued: 0,
        with_spacing: 0,
        without_spacing: 0,
    };
    let mut failed = Vec::new();
    let mut samples = 0usize;
    let mut reported = 0usize;
    let mut fingerprint = Fingerprinter::new();
    for index in 0..total {
        match source.load(index) {
            Ok(sample) => {
                fingerprint.add(&sample);
                run.add(sample, index)?;
                samples += 1;
            }
            Err(e) => {
                let id = source.id(index).unwrap_or("?").to_string();
                log::warn!("{name}: skipping sample {id}: {e}");
                failed.push(FailedSample {
                    id,
                    error: e.to_string(),
                });
            }
        }
        let done = run.done(index + 1);
        if done > reported {
            reported = done;
            progress(done, total);
        }
    }
    run.flush()?;
    if reported < total || total == 0 {
        progress(total, total);
    }
    if samples == 0 {
        return Err(EvalError::NoSamples {
            dataset: name.to_string(),
            failed: failed.len(),
        });
    }
    let mut report = run.report(name, samples, failed);
    let data = fingerprint.record(source.name());
    log::info!("{name}: data {data}");
    report.data = Some(data);
    for (kind, k) in &report.per_kind {
        log::info!(
            "{name} {kind}: mean dice {:.4} over {} pairs",
            k.mean_dice,
            k.pairs
        );
    }
    Ok((report, run.kept))
}

/// `v` when finite, else `None` (JSON `null`).
fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::student::Student;
    use synboost_core::meta::{ImageQuality, Phase, ScanMeta, Sex, View};
    use synboost_core::model::spec::ModelSpec;
    use synboost_data::DataError;
    use synboost_export::onnx::random_weights;
    use tch::nn;

    /// A small student for a 48 × 64 input (the default student, scaled down).
    fn spec() -> ModelSpec {
        let mut s = ModelSpec::student(Vocab::builtin().len(), Tokenizer::DEFAULT_MAX_LEN);
        (s.input.width, s.input.height) = (48, 64);
        (s.encoder, s.decoder) = (vec![8, 12, 16], vec![12, 8]);
        (s.text.embed_dim, s.text.hidden) = (16, 24);
        s
    }

    /// A random-weight student; with `constant`, its head outputs that logit everywhere.
    fn student(constant: Option<f32>) -> (nn::VarStore, Network) {
        let spec = spec();
        let vs = nn::VarStore::new(Device::Cpu);
        let mut st = Student::new(&vs.root(), &spec).unwrap();
        let mut w = random_weights(&spec, 7);
        if let Some(c) = constant {
            w.get_mut("head.weight").unwrap().fill(0.0);
            w.get_mut("head.bias").unwrap().fill(c);
        }
        st.load(&w).unwrap();
        (vs, Network::Student(st))
    }

    /// A `w × h` mask, inside on columns `x0..x1` of rows `y0..y1`.
    pub(crate) fn rect(w: usize, h: usize, x0: usize, y0: usize, x1: usize, y1: usize) -> Mask {
        let data = (0..w * h)
            .map(|i| u8::from((x0..x1).contains(&(i % w)) && (y0..y1).contains(&(i / w))))
            .collect();
        Mask::new(w, h, data).unwrap()
    }

    fn minus(a: &Mask, b: &Mask) -> Mask {
        let data = a
            .data()
            .iter()
            .zip(b.data())
            .map(|(&x, &y)| x & (1 - y))
            .collect();
        Mask::new(a.width(), a.height(), data).unwrap()
    }

    /// Two samples of sizes other than the model's, then one that fails to load.
    struct Mem(Vec<Sample>);

    impl SampleSource for Mem {
        fn len(&self) -> usize {
            self.0.len() + 1
        }
        fn id(&self, index: usize) -> Option<&str> {
            self.0.get(index).map(|s| s.id.as_str()).or(Some("broken"))
        }
        fn load(&self, index: usize) -> Result<Sample, DataError> {
            self.0.get(index).cloned().ok_or(DataError::Index {
                index,
                len: self.0.len(),
            })
        }
    }

    fn source() -> Mem {
        let image = |w: usize, h: usize| {
            GrayImage::new(w, h, (0..w * h).map(|i| (i * 37 % 251) as u8).collect()).unwrap()
        };
        let (w, h) = (40, 30);
        let lv = rect(w, h, 10, 5, 25, 20);
        let myo = minus(&rect(w, h, 7, 3, 28, 23), &lv);
        let la = rect(w, h, 12, 23, 24, 29);
        let full = ScanMeta {
            view: Some(View::TwoChamber),
            phase: Some(Phase::EndDiastole),
            sex: Some(Sex::Female),
            age_years: Some(56),
            quality: Some(ImageQuality::Good),
            pixel_spacing: Some(PixelSpacing::new(0.3, 0.3).unwrap()),
            ..ScanMeta::default()
        };
        let a = Sample {
            id: "patient0001_2CH_ED".into(),
            patient: "patient0001".into(),
            image: image(w, h),
            masks: [lv, myo, la],
            meta: full.clone(),
            shapes: [None; 3],
        };
        let (w, h) = (56, 70);
        let no_sex = ScanMeta {
            sex: None,
            pixel_spacing: None,
            view: Some(View::FourChamber),
            phase: Some(Phase::EndSystole),
            ..full
        };
        let b = Sample {
            id: "patient0002_4CH_ES".into(),
            patient: "patient0002".into(),
            image: image(w, h),
            masks: [
                rect(w, h, 20, 10, 40, 45),
                rect(w, h, 15, 5, 45, 50),
                Mask::zeros(w, h).unwrap(),
            ],
            meta: no_sex,
            shapes: [None; 3],
        };
        Mem(vec![a, b])
    }

    fn cfg(kinds: &[PromptKind]) -> EvalConfig {
        EvalConfig {
            kinds: kinds.to_vec(),
            batch_size: 4,
            keep_predictions: 100,
            ..EvalConfig::default()
        }
    }

    #[test]
    fn random_model_report_has_what_was_asked() {
        let (_vs, st) = student(None);
        let src = source();
        let mut calls = Vec::new();
        let c = cfg(&[PromptKind::P1, PromptKind::P3]);
        let (report, preds) =
            evaluate(&st, Device::Cpu, &src, "mem", &c, |d, t| calls.push((d, t))).unwrap();
        assert_eq!(report.dataset, "mem");
        assert_eq!(report.samples, 2);
        assert_eq!(report.failed.len(), 1);
        assert_eq!(report.failed[0].id, "broken");
        assert_eq!(report.distance_unit, DistanceUnit::Mixed);
        assert_eq!(report.model_input, (48, 64));
        let kinds: Vec<&str> = report.per_kind.keys().map(String::as_str).collect();
        assert_eq!(kinds, ["P1", "P3"]);
        for k in report.per_kind.values() {
            assert_eq!(k.pairs, 6);
            let codes: Vec<&str> = k.per_structure.keys().map(String::as_str).collect();
            assert_eq!(codes, ["la", "lv", "myo"]);
            assert!((0.0..=1.0).contains(&k.mean_dice), "{}", k.mean_dice);
            for r in k.per_structure.values() {
                assert_eq!(r.pairs, 2);
                assert_eq!(r.unprompted, 0);
                assert!(r.dice.mean >= 0.0 && r.dice.mean <= 1.0);
                assert!(r.iou.mean <= r.dice.mean + 1e-12);
                assert_eq!(r.dice.n, 2);
                assert_eq!(
                    r.hd95.n + r.hd95.undefined,
                    2,
                    "every pair has a distance or counts as undefined"
                );
            }
        }
        // The data record: the two loaded samples (the broken one is not scored), under the
        // source's name, and the same fingerprint a standalone pass gives.
        let data = report.data.as_ref().expect("data record");
        assert_eq!(data.samples, 2);
        assert_eq!(data.name, "unnamed dataset");
        let mut f = Fingerprinter::new();
        src.0.iter().for_each(|s| f.add(s));
        assert_eq!(data.fingerprint, f.finish());
        assert!(report.table().contains(data.fingerprint.short()));
        assert_eq!(
            report.summary()["data"]["fingerprint"],
            data.fingerprint.as_str()
        );
        // Kept: the pairs of the first kind, at the samples' own sizes.
        assert_eq!(preds.len(), 6);
        assert!(preds.iter().all(|p| p.kind == PromptKind::P1));
        let sizes: Vec<(usize, usize)> = preds
            .iter()
            .map(|p| (p.predicted.width(), p.predicted.height()))
            .collect();
        assert_eq!(
            sizes,
            [(40, 30), (40, 30), (40, 30), (56, 70), (56, 70), (56, 70)]
        );
        for p in &preds {
            let (d, _) = metrics::overlap(&p.predicted, &p.truth).unwrap();
            assert_eq!(p.dice, d);
        }
        // Progress is monotone and ends at the total.
        assert_eq!(calls.last(), Some(&(3, 3)));
        assert!(calls.windows(2).all(|w| w[0].0 < w[1].0));

        // Batching does not change the numbers.
        let one = EvalConfig {
            batch_size: 1,
            ..c.clone()
        };
        let (again, _) = evaluate(&st, Device::Cpu, &src, "mem", &one, |_, _| {}).unwrap();
        for (a, b) in report.per_kind.values().zip(again.per_kind.values()) {
            assert!((a.mean_dice - b.mean_dice).abs() < 1e-9);
        }

        // JSON round trip and the table.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        report.write_json(&path).unwrap();
        let back = EvalReport::read_json(&path).unwrap();
        assert_eq!(
            (back.samples, &back.failed),
            (report.samples, &report.failed)
        );
        assert_eq!(back.distance_unit, report.distance_unit);
        for ((ka, a), (kb, b)) in report.per_kind.iter().zip(&back.per_kind) {
            assert_eq!((ka, a.pairs), (kb, b.pairs));
            // serde_json parses floats to within an ulp or so.
            assert!((a.mean_dice - b.mean_dice).abs() < 1e-12);
            let hd = |k: &KindReport| k.per_structure["la"].hd95;
            assert_eq!((hd(a).n, hd(a).undefined), (hd(b).n, hd(b).undefined));
            assert!((hd(a).mean - hd(b).mean).abs() < 1e-9);
        }
        let table = report.table();
        assert!(table.contains("| Prompt | Structure | Dice (%)"), "{table}");
        assert!(table.contains("| P3 | Myocardium |"), "{table}");
        assert_eq!(table.matches("**all**").count(), 2);
        let rows = table
            .lines()
            .filter(|l| l.starts_with("| P1 ") || l.starts_with("| P3 "));
        assert_eq!(rows.count(), 8);
    }

    #[test]
    fn all_foreground_dice_matches_hand_computation() {
        let (_vs, st) = student(Some(50.0));
        let src = source();
        let c = cfg(&[PromptKind::P2, PromptKind::P0]);
        let (report, preds) = evaluate(&st, Device::Cpu, &src, "mem", &c, |_, _| {}).unwrap();
        assert_eq!(preds.len(), 6);
        let mut want_all = Vec::new();
        for p in &preds {
            let n = p.truth.width() * p.truth.height();
            assert_eq!(p.predicted.count(), n, "{} {}", p.id, p.structure);
            let t = p.truth.count();
            let want = 2.0 * t as f64 / (t + n) as f64;
            assert_eq!(p.dice, want, "{} {}", p.id, p.structure);
            want_all.push(want);
        }
        let mean = want_all.iter().sum::<f64>() / want_all.len() as f64;
        for kind in ["P2", "P0"] {
            let k = &report.per_kind[kind];
            assert!((k.mean_dice - mean).abs() < 1e-12, "{kind}");
            assert_eq!(report.mean_dice(kind.parse().unwrap()), Some(k.mean_dice));
            for s in Structure::ALL {
                let r = &k.per_structure[s.code()];
                let per: Vec<f64> = preds
                    .iter()
                    .filter(|p| p.structure == s)
                    .map(|p| p.dice)
                    .collect();
                let m = per.iter().sum::<f64>() / per.len() as f64;
                assert!((r.dice.mean - m).abs() < 1e-12, "{kind} {s}");
                assert_eq!(r.empty_prediction, 0);
            }
            // The second sample has no LA: predicted everywhere, dice 0, distance undefined.
            let la = &k.per_structure["la"];
            assert_eq!((la.empty_truth, la.hd95.undefined), (1, 1));
        }
    }

    #[test]
    fn all_background_counts_empty_predictions_and_unprompted_pairs() {
        let (_vs, st) = student(Some(-50.0));
        let src = source();
        let c = EvalConfig {
            postprocess: false,
            ..cfg(&[PromptKind::P5])
        };
        let (report, _) = evaluate(&st, Device::Cpu, &src, "mem", &c, |_, _| {}).unwrap();
        let k = &report.per_kind["P5"];
        // P5 writes the sex, which the second sample lacks: only the first is scored.
        assert_eq!(k.pairs, 3);
        assert_eq!(k.mean_dice, 0.0);
        for r in k.per_structure.values() {
            assert_eq!((r.pairs, r.unprompted, r.empty_prediction), (1, 1, 1));
            assert_eq!((r.hausdorff.n, r.hausdorff.undefined), (0, 1));
            assert!(r.hausdorff.mean.is_nan());
        }
        // Only the first sample was scored, and it has a spacing.
        assert_eq!(report.distance_unit, DistanceUnit::Mm);
        let json = serde_json::to_string(&report).unwrap();
        assert!(json.contains("\"mean\":null"), "NaN is written as null");
        let back: EvalReport = serde_json::from_str(&json).unwrap();
        assert!(back.per_kind["P5"].per_structure["lv"].hd95.mean.is_nan());
        assert!(
            report
                .table()
                .contains("| P5 | Left ventricular cavity | 0.00 ± 0.00 |")
        );
    }

    #[test]
    fn limit_and_config_checks() {
        let (_vs, st) = student(None);
        let src = source();
        let c = EvalConfig {
            limit: Some(1),
            keep_predictions: 2,
            ..cfg(&[PromptKind::P7])
        };
        let (report, preds) = evaluate(&st, Device::Cpu, &src, "mem", &c, |_, _| {}).unwrap();
        assert_eq!((report.samples, report.failed.len()), (1, 0));
        assert_eq!(report.distance_unit, DistanceUnit::Mm);
        // P7's shape word comes from the truth mask when the dataset has none.
        assert_eq!(report.per_kind["P7"].pairs, 3);
        assert_eq!(preds.len(), 2);

        let bad = [
            EvalConfig {
                batch_size: 0,
                ..EvalConfig::default()
            },
            EvalConfig {
                threshold: 1.0,
                ..EvalConfig::default()
            },
            EvalConfig {
                kinds: vec![],
                ..EvalConfig::default()
            },
            EvalConfig {
                scheme: PromptScheme::Synthetic,
                kinds: vec![PromptKind::P7],
                ..EvalConfig::default()
            },
        ];
        for c in &bad {
            let err = evaluate(&st, Device::Cpu, &src, "mem", c, |_, _| {}).unwrap_err();
            assert!(matches!(err, EvalError::Config(_)), "{err}");
        }
        let empty = Mem(vec![]);
        let err = evaluate(
            &st,
            Device::Cpu,
            &empty,
            "none",
            &cfg(&[PromptKind::P1]),
            |_, _| {},
        )
        .unwrap_err();
        assert!(
            matches!(err, EvalError::NoSamples { failed: 1, .. }),
            "{err}"
        );
    }

    /// A recorded summary checks out against the same evaluation; other data is reported as
    /// a changed dataset, other numbers on the same data as different scores, an old record
    /// without a fingerprint as such.
    #[test]
    fn recorded_scores_are_checked_data_first() {
        use crate::recorded::{Mismatch, check};
        let (_vs, st) = student(None);
        let src = source();
        let c = cfg(&[PromptKind::P1, PromptKind::P3]);
        let (report, _) = evaluate(&st, Device::Cpu, &src, "mem", &c, |_, _| {}).unwrap();
        let recorded = report.summary();
        assert_eq!(check("f32", &recorded, &report), Ok(()));
        assert!(recorded["P3"]["hd95"]["lv"].is_number() || recorded["P3"]["hd95"]["lv"].is_null());

        // One mask pixel less (a speck removed): the dataset changed, whatever the scores.
        let mut cleaned = source();
        let m = &mut cleaned.0[0].masks[0];
        let mut px = m.data().to_vec();
        let i = px.iter().position(|&v| v == 1).unwrap();
        px[i] = 0;
        *m = Mask::new(m.width(), m.height(), px).unwrap();
        let (now, _) = evaluate(&st, Device::Cpu, &cleaned, "mem", &c, |_, _| {}).unwrap();
        let err = check("f32", &recorded, &now).unwrap_err();
        assert!(matches!(*err, Mismatch::DatasetChanged { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("the dataset changed since this bundle was scored"),
            "{text}"
        );
        let (a, b) = (report.data.as_ref().unwrap(), now.data.as_ref().unwrap());
        assert!(
            text.contains(&format!(
                "(fingerprint {} vs {})",
                a.fingerprint, b.fingerprint
            )),
            "{text}"
        );

        // Same data, an edited number: the model scores differently.
        let mut edited = recorded.clone();
        let d = edited["P3"]["dice"]["lv"].as_f64().unwrap();
        edited["P3"]["dice"]["lv"] = serde_json::json!(d + 0.01);
        let err = check("int8", &edited, &report).unwrap_err();
        let Mismatch::ScoresDiffer { differences, .. } = &*err else {
            panic!("{err}")
        };
        assert_eq!(differences.len(), 1, "{differences:?}");
        assert!(
            differences[0].starts_with("P3 lv dice: recorded"),
            "{differences:?}"
        );
        assert!(
            err.to_string()
                .starts_with("int8: the model scores differently on the same data")
        );

        // A recorded kind not evaluated now, and a pair count that changed.
        let mut more = recorded.clone();
        more["P5"] = recorded["P3"].clone();
        more["P1"]["pairs"] = serde_json::json!(7);
        let Mismatch::ScoresDiffer { differences, .. } = *check("f32", &more, &report).unwrap_err()
        else {
            panic!("expected different scores")
        };
        assert_eq!(differences.len(), 2, "{differences:?}");

        // Recorded before fingerprints, or not at all.
        let mut old = recorded.clone();
        old.as_object_mut().unwrap().remove("data");
        let err = check("f32", &old, &report).unwrap_err();
        assert!(matches!(*err, Mismatch::NotFingerprinted { .. }), "{err}");
        let err = check("f32", &serde_json::Value::Null, &report).unwrap_err();
        assert!(matches!(*err, Mismatch::Missing { .. }), "{err}");
    }
}
