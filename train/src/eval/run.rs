//! The state of one evaluation: samples brought to the model input, their (image, prompt)
//! pairs queued and run in batches, each scored against its truth, the metrics gathered per
//! (kind, structure).

use super::backend::torch_logits;
use super::{
    Backend, DistanceUnit, EvalConfig, EvalError, EvalReport, FailedSample, KindReport, PairScore,
    Prediction, StructureReport,
};
use std::collections::BTreeMap;
use std::rc::Rc;
use synboost_core::frame::FrameView;
use synboost_core::meta::PixelSpacing;
use synboost_core::postprocess::{FrameMapper, PostprocessOptions, postprocess};
use synboost_core::preprocess::{Geometry, PreprocessOptions, Preprocessor};
use synboost_core::prompt::{PromptAttrs, PromptError, PromptKind};
use synboost_core::raster::{GrayImage, Mask};
use synboost_core::structure::Structure;
use synboost_core::vocab::Tokenizer;
use synboost_data::Sample;
use synboost_data::metrics::{self, PairMetrics};
use synboost_data::shape::shape_of;

/// A decoded sample, resized to the model input.
pub(super) struct Loaded {
    id: String,
    /// Position in the evaluation order (for progress).
    order: usize,
    /// The image at the model input.
    pub(super) input: Vec<u8>,
    geometry: Geometry,
    image: GrayImage,
    masks: [Mask; 3],
    spacing: Option<PixelSpacing>,
}

/// One (image, prompt) pair waiting for the model.
pub(super) struct Pending {
    /// The sample.
    pub(super) sample: Rc<Loaded>,
    structure: Structure,
    kind: PromptKind,
    /// The prompt's token ids.
    pub(super) tokens: Vec<i64>,
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
pub(super) struct Run<'a> {
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
    /// Every scored pair, in order.
    scores: Vec<PairScore>,
    without_spacing: usize,
}

impl<'a> Run<'a> {
    /// A fresh evaluation of `backend` at the model input `input` (frames fitted by `fit`),
    /// tokenising prompts with `tokenizer`.
    pub(super) fn new(
        backend: Backend<'a>,
        input: (usize, usize),
        fit: synboost_core::preprocess::Fit,
        cfg: &'a EvalConfig,
        tokenizer: Tokenizer,
    ) -> Self {
        Self {
            backend,
            input,
            fit,
            cfg,
            tokenizer,
            pre: Preprocessor::new(input.0, input.1),
            mapper: FrameMapper::new(),
            acc: BTreeMap::new(),
            queue: Vec::new(),
            kept: Vec::new(),
            keep_queued: 0,
            with_spacing: 0,
            without_spacing: 0,
            scores: Vec::new(),
        }
    }

    /// Resize the sample and queue its pairs.
    pub(super) fn add(&mut self, sample: Sample, order: usize) -> Result<(), EvalError> {
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
                if !self.cfg.exclusive && self.queue.len() >= self.cfg.batch_size {
                    self.flush()?;
                }
            }
            // Exclusion needs every structure of an image and kind in the same flush.
            if self.cfg.exclusive && self.queue.len() >= self.cfg.batch_size {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Run the model on the queued pairs and score them.
    pub(super) fn flush(&mut self) -> Result<(), EvalError> {
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
        let mut values = values;
        if self.cfg.exclusive {
            exclude(&self.queue, &mut values, mw * mh);
        }
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
            self.scores.push(PairScore {
                id: s.id.clone(),
                kind: p.kind.to_string(),
                structure: p.structure.code().to_string(),
                dice: m.dice,
            });
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
    pub(super) fn done(&self, next: usize) -> usize {
        self.queue.first().map_or(next, |p| p.sample.order)
    }

    /// The report of what was scored (its `data` record is the caller's to fill in).
    pub(super) fn report(
        &self,
        dataset: &str,
        samples: usize,
        failed: Vec<FailedSample>,
    ) -> EvalReport {
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
            exclusive: self.cfg.exclusive,
            pairs: self.scores.clone(),
            scheme: self.cfg.scheme,
            wording: self.cfg.wording,
            model_input: self.input,
            distance_unit,
            per_kind,
            data: None,
        }
    }

    /// The predictions kept for pictures.
    pub(super) fn into_kept(self) -> Vec<Prediction> {
        self.kept
    }
}

/// Logit given to a pixel that another structure of the same image and prompt kind wins: far
/// below any threshold's logit.
const EXCLUDED: f32 = -1.0e4;

/// Mutual exclusion in place: within each run of queued pairs of the same image and prompt kind
/// (`add` queues an image's structures together), every pixel keeps its logit only in the
/// plane where it is highest; the other planes get [`EXCLUDED`] there.
fn exclude(queue: &[Pending], values: &mut [f32], plane: usize) {
    let mut start = 0;
    while start < queue.len() {
        let same = |p: &Pending| {
            Rc::ptr_eq(&p.sample, &queue[start].sample) && p.kind == queue[start].kind
        };
        let end = start + queue[start..].iter().take_while(|p| same(p)).count();
        if end - start > 1 {
            exclusive_planes(&mut values[start * plane..end * plane], plane);
        }
        start = end;
    }
}

/// Mutual exclusion over consecutive planes of `plane` values each: every position keeps its
/// value in the plane where it is highest (the first of equals) and gets [`EXCLUDED`] in the
/// others.
pub(super) fn exclusive_planes(group: &mut [f32], plane: usize) {
    let n = group.len().checked_div(plane).unwrap_or(0);
    for i in 0..plane {
        let mut best = 0;
        for k in 1..n {
            if group[k * plane + i] > group[best * plane + i] {
                best = k;
            }
        }
        for k in (0..n).filter(|&k| k != best) {
            group[k * plane + i] = EXCLUDED;
        }
    }
}
