//! Training a network (the student or a teacher): strategies `real`, `synthetic` and `pt-ft`
//! (synthetic pretraining, then real finetuning from the weights only, with a fresh optimiser
//! and schedule) and `mixed`.
//!
//! Each phase: AdamW (with an optional linear warm-up), loss = binary cross-entropy + soft dice
//! on the logits, gradient clipping, ReduceLROnPlateau on the validation dice, early stopping after `patience` epochs without a
//! better dice, bf16 autocast on CUDA. After every epoch: validation (loss and dice at the
//! validation prompt kind, model resolution), `last.safetensors`, `best.safetensors` when the
//! dice improved, `state.json` and a line in `log.jsonl`. The epoch of the best dice per phase is
//! recorded, so that convergence speed can be compared between strategies.
//!
//! **Distillation** ([`Distillation`]): the student's loss becomes
//! `(1 − w) · (BCE + soft dice against the truth) + w · T² · BCE(s / T, σ(t / T))`, where `t`
//! are the teacher's logits for the same (image, prompt) pair (teacher in eval mode, no
//! gradients, its frames resized to its input and its logits back to the student's), shifted so
//! that the teacher's own threshold (CRIS: 0.35) maps to the student's 0.5.

use crate::checkpoint::{CheckpointError, EpochRecord, RunDir, RunState};
use crate::data::{Loader, PipelineConfig, PipelineError, PromptMode};
use crate::model::{ModelError, Network};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};
use synboost_core::prompt::PromptKind;
use synboost_core::structure::Structure;
use synboost_data::SampleSource;
use synboost_data::fingerprint::{DataRecord, fingerprint};
use tch::nn::{OptimizerConfig, VarStore};
use tch::{Device, Kind, Tensor};

/// Training strategies of the paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Real images only.
    Real,
    /// Synthetic images only.
    Synthetic,
    /// Pretrain on synthetic, finetune on real.
    PtFt,
    /// Real and synthetic images mixed in one phase (a model that must segment both).
    Mixed,
}

impl std::str::FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "real" => Ok(Self::Real),
            "synthetic" => Ok(Self::Synthetic),
            "pt-ft" => Ok(Self::PtFt),
            "mixed" => Ok(Self::Mixed),
            _ => Err(format!(
                "unknown strategy {s:?}: expected real, synthetic, pt-ft or mixed"
            )),
        }
    }
}

/// How the learning rate moves during a phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Schedule {
    /// Constant, cut by [`PhaseConfig::plateau_factor`] whenever validation dice stalls for
    /// [`PhaseConfig::plateau_patience`] epochs.
    #[default]
    Plateau,
    /// Half a cosine from the phase's rate down to [`PhaseConfig::min_lr`] over all of its
    /// epochs, stepped every batch: the same curve whatever validation does, so a run of fixed
    /// epochs is reproducible and its last epoch is as well annealed as it gets.
    Cosine,
}

impl Schedule {
    /// The rate at `progress` ∈ [0, 1] through a phase that starts at `lr` (cosine), or `lr`
    /// itself (plateau: its cuts are made by the trainer).
    pub fn rate(self, lr: f64, min_lr: f64, progress: f64) -> f64 {
        match self {
            Self::Plateau => lr,
            Self::Cosine => {
                let p = progress.clamp(0.0, 1.0);
                min_lr + 0.5 * (lr - min_lr) * (1.0 + (std::f64::consts::PI * p).cos())
            }
        }
    }
}

impl std::str::FromStr for Schedule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "plateau" => Ok(Self::Plateau),
            "cosine" => Ok(Self::Cosine),
            _ => Err(format!(
                "unknown schedule {s:?}: expected plateau or cosine"
            )),
        }
    }
}

/// Optimisation settings of one phase.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhaseConfig {
    /// Most epochs.
    pub epochs: usize,
    /// Initial learning rate.
    pub lr: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Epochs without a better validation dice before stopping.
    pub patience: usize,
    /// Epochs without improvement before the learning rate is cut.
    pub plateau_patience: usize,
    /// Factor of each cut.
    pub plateau_factor: f64,
    /// Learning rate floor.
    pub min_lr: f64,
    /// Gradient norm clip.
    pub clip_norm: f64,
    /// Steps over which the learning rate ramps linearly from 0 at the start of the phase
    /// (transformers trained from scratch need it; 0 for none).
    #[serde(default)]
    pub warmup_steps: usize,
    /// Learning-rate schedule (runs saved before it existed used plateau cuts).
    #[serde(default)]
    pub schedule: Schedule,
}

impl Default for PhaseConfig {
    fn default() -> Self {
        Self {
            epochs: 30,
            lr: 3e-3,
            weight_decay: 1e-4,
            patience: 8,
            plateau_patience: 3,
            plateau_factor: 0.5,
            min_lr: 1e-5,
            clip_norm: 5.0,
            warmup_steps: 0,
            schedule: Schedule::Plateau,
        }
    }
}

/// One phase of a run: a name, its data and its settings.
pub struct Phase {
    /// `train`, `pretrain` or `finetune`.
    pub name: String,
    /// What the data is (recorded in the run state and the bundle's provenance), e.g.
    /// `camus224 train` or `phantom:200`.
    pub data: String,
    /// Training pairs come from here.
    pub train: Arc<dyn SampleSource>,
    /// Validation pairs come from here.
    pub val: Arc<dyn SampleSource>,
    /// Settings.
    pub config: PhaseConfig,
}

/// Settings shared by the phases.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// Batch size.
    pub batch_size: usize,
    /// Training prompts.
    pub prompt: PromptMode,
    /// Prompt kind of validation.
    pub val_kind: PromptKind,
    /// Validate on at most this many samples (each with every structure).
    pub val_limit: Option<usize>,
    /// Base seed.
    pub seed: u64,
    /// Stop training (after validating) once this much time has passed.
    pub time_limit: Option<Duration>,
    /// Device.
    pub device: Device,
    /// Loader threads.
    pub workers: usize,
    /// Show progress bars.
    pub progress: bool,
    /// Random affine and gamma augmentation of training pairs ([`crate::data::Augment`]).
    pub augment: bool,
}

/// Trainer errors.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The model failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The data failed.
    #[error(transparent)]
    Data(#[from] PipelineError),
    /// Checkpointing failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// libtorch failed.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// The saved state does not fit this run.
    #[error("cannot resume: {0}")]
    Resume(String),
    /// A validation sample could not be read while fingerprinting the validation data.
    #[error("fingerprinting the validation data: {0}")]
    Fingerprint(#[from] synboost_data::DataError),
    /// A loss became NaN or infinite.
    #[error("{phase} epoch {epoch}: the loss is not finite (learning rate {lr} too high?)")]
    Diverged {
        /// Phase.
        phase: String,
        /// Epoch.
        epoch: usize,
        /// Learning rate.
        lr: f64,
    },
}

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
}

/// Binary cross-entropy + soft dice, averaged over the batch.
pub fn loss(logits: &Tensor, masks: &Tensor) -> Tensor {
    let logits = logits.to_kind(Kind::Float);
    let bce =
        logits.binary_cross_entropy_with_logits::<Tensor>(masks, None, None, tch::Reduction::Mean);
    let p = logits.sigmoid().flatten(1, -1);
    let t = masks.flatten(1, -1);
    let inter = (&p * &t).sum_dim_intlist(&[1i64][..], false, Kind::Float);
    let denom = p.sum_dim_intlist(&[1i64][..], false, Kind::Float)
        + t.sum_dim_intlist(&[1i64][..], false, Kind::Float);
    let dice = (inter * 2.0 + 1.0) / (denom + 1.0);
    let soft: Tensor = 1.0 - dice;
    bce + soft.mean(Kind::Float)
}

/// Distillation from a trained teacher into the network being trained.
#[derive(Debug)]
pub struct Distillation {
    /// The teacher (its weights are not changed).
    pub teacher: Network,
    /// Softening temperature T (≥ 1 softens).
    pub temperature: f64,
    /// Weight w of the teacher term, in [0, 1].
    pub weight: f64,
}

impl Distillation {
    /// The teacher's logits for a batch at the student's input size, shifted so that its
    /// threshold maps to probability 0.5.
    fn targets(&self, images: &Tensor, tokens: &Tensor) -> Result<Tensor, TrainError> {
        let (tw, th) = self.teacher.input();
        let s = images.size();
        let (h, w) = (s[2], s[3]);
        let frames = images.to_kind(Kind::Float);
        let frames = if (tw as i64, th as i64) == (w, h) {
            frames
        } else {
            frames.upsample_bilinear2d([th as i64, tw as i64], false, None, None)
        };
        let t = tch::no_grad(|| self.teacher.forward_t(&frames, tokens, false))?;
        let t = if t.size()[2..] == [h, w] {
            t
        } else {
            t.upsample_bilinear2d([h, w], false, None, None)
        };
        let thr = f64::from(self.teacher.threshold());
        Ok(t.to_kind(Kind::Float) - (thr / (1.0 - thr)).ln())
    }

    /// `T² · BCE(s / T, σ(t / T))`, averaged.
    fn loss(&self, student: &Tensor, teacher: &Tensor) -> Tensor {
        let t = self.temperature;
        let soft = (teacher / t).sigmoid();
        (student.to_kind(Kind::Float) / t).binary_cross_entropy_with_logits::<Tensor>(
            &soft,
            None,
            None,
            tch::Reduction::Mean,
        ) * (t * t)
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return Err(format!("temperature {} must be > 0", self.temperature));
        }
        if !(0.0..=1.0).contains(&self.weight) {
            return Err(format!(
                "distillation weight {} must be in [0, 1]",
                self.weight
            ));
        }
        Ok(())
    }
}

/// Dice per pair of thresholded logits (above `logit`, the threshold's logit) against masks;
/// both empty counts as 1.
fn hard_dice(logits: &Tensor, masks: &Tensor, logit: f64) -> Result<Vec<f64>, TrainError> {
    let p = logits.gt(logit).to_kind(Kind::Float).flatten(1, -1);
    let t = masks.flatten(1, -1);
    let inter = (&p * &t).sum_dim_intlist(&[1i64][..], false, Kind::Double);
    let denom = p.sum_dim_intlist(&[1i64][..], false, Kind::Double)
        + t.sum_dim_intlist(&[1i64][..], false, Kind::Double);
    let inter = Vec::<f64>::try_from(inter.to_device(Device::Cpu))?;
    let denom = Vec::<f64>::try_from(denom.to_device(Device::Cpu))?;
    Ok(inter
        .iter()
        .zip(&denom)
        .map(|(i, d)| if *d == 0.0 { 1.0 } else { 2.0 * i / d })
        .collect())
}

/// A source limited to its first `n` samples (quick runs, partial validation).
pub struct Take {
    inner: Arc<dyn SampleSource>,
    n: usize,
}

impl Take {
    /// The first `n` samples of `inner`.
    pub fn new(inner: Arc<dyn SampleSource>, n: usize) -> Self {
        Self { inner, n }
    }
}

impl SampleSource for Take {
    fn len(&self) -> usize {
        self.inner.len().min(self.n)
    }
    fn name(&self) -> String {
        if self.n < self.inner.len() {
            format!("{} (first {})", self.inner.name(), self.n)
        } else {
            self.inner.name()
        }
    }
    fn id(&self, index: usize) -> Option<&str> {
        if index < self.len() {
            self.inner.id(index)
        } else {
            None
        }
    }
    fn load(&self, index: usize) -> Result<synboost_data::Sample, synboost_data::DataError> {
        self.inner.load(index)
    }
}

/// Validation result: loss, mean dice, dice per structure label.
type Validation = (f64, f64, Vec<(String, f64)>);

/// Validation loss, mean dice and dice per structure at one prompt kind.
fn validate(
    net: &Network,
    val: &Arc<dyn SampleSource>,
    cfg: &TrainConfig,
) -> Result<Validation, TrainError> {
    let source: Arc<dyn SampleSource> = match cfg.val_limit {
        Some(n) => Arc::new(Take::new(Arc::clone(val), n)),
        None => Arc::clone(val),
    };
    let pcfg = PipelineConfig {
        batch_size: cfg.batch_size,
        prompt: PromptMode::Fixed(cfg.val_kind),
        wording: crate::data::WordingMode::Fixed(synboost_core::prompt::Wording::Heart),
        shuffle: false,
        augment: false,
        seed: cfg.seed,
        workers: cfg.workers,
        input: net.input(),
        ..Default::default()
    };
    let thr = f64::from(net.threshold());
    let logit = (thr / (1.0 - thr)).ln();
    let (mut loss_sum, mut n) = (0.0, 0usize);
    let mut per: Vec<(Structure, f64, usize)> =
        Structure::ALL.iter().map(|s| (*s, 0.0, 0)).collect();
    tch::no_grad(|| -> Result<(), TrainError> {
        for batch in Loader::epoch(source, pcfg, 0) {
            let b = batch?;
            let images = b.images.to_device(cfg.device);
            let tokens = b.tokens.to_device(cfg.device);
            let masks = b.masks.to_device(cfg.device);
            let logits = net.forward_t(&images, &tokens, false)?;
            let bs = b.structures.len();
            loss_sum += loss(&logits, &masks).double_value(&[]) * bs as f64;
            n += bs;
            for (d, s) in hard_dice(&logits, &masks, logit)?.iter().zip(&b.structures) {
                if let Some(e) = per.iter_mut().find(|e| e.0 == *s) {
                    e.1 += d;
                    e.2 += 1;
                }
            }
        }
        Ok(())
    })?;
    let total: f64 = per.iter().map(|e| e.1).sum();
    let count: usize = per.iter().map(|e| e.2).sum();
    let per_structure = per
        .iter()
        .filter(|e| e.2 > 0)
        .map(|e| (e.0.code().to_string(), e.1 / e.2 as f64))
        .collect();
    Ok((
        loss_sum / n.max(1) as f64,
        total / count.max(1) as f64,
        per_structure,
    ))
}

fn bar(len: u64, show: bool, prefix: String) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(
        "{prefix:>18} [{elapsed_precise}] {bar:30} {pos}/{len} batches {msg}",
    ) {
        pb.set_style(style);
    }
    pb.set_prefix(prefix);
    pb
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
fn check_val_data(state: &RunState, now: &[DataRecord]) -> Result<(), TrainError> {
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

/// Run the phases, resuming from `run`'s saved state when `resume` is set; with `distill`,
/// the network learns from the teacher's logits as well as the truth. The validation data of
/// every phase is fingerprinted first and recorded in the run's state (`val_data`); resuming
/// on other validation data is an error.
pub fn train(
    vs: &mut VarStore,
    net: &Network,
    phases: &[Phase],
    cfg: &TrainConfig,
    run: &RunDir,
    resume: bool,
    distill: Option<&Distillation>,
) -> Result<TrainReport, TrainError> {
    let start = Instant::now();
    if let Some(d) = distill {
        d.validate().map_err(TrainError::Resume)?;
    }
    let arch = net.architecture();
    // What every phase's validation dice is measured on (model selection depends on it); a
    // source shared by phases (pt-ft validates both on camus224 val) is read once.
    let mut val_data: Vec<DataRecord> = Vec::with_capacity(phases.len());
    for (i, p) in phases.iter().enumerate() {
        let seen = phases[..i].iter().position(|q| Arc::ptr_eq(&q.val, &p.val));
        val_data.push(match seen {
            Some(j) => val_data[j].clone(),
            None => fingerprint(p.val.as_ref(), cfg.val_limit)?,
        });
    }
    let mut state = match (resume, run.load_state()?) {
        (true, Some(s)) => {
            if s.arch != arch {
                return Err(TrainError::Resume(
                    "the saved spec differs from this model's".into(),
                ));
            }
            check_val_data(&s, &val_data)?;
            RunDir::load_weights(vs, &run.last())?;
            log::info!(
                "resuming phase {} after epoch {} (lr {})",
                s.phase,
                s.epoch,
                s.lr
            );
            s
        }
        (true, None) => {
            return Err(TrainError::Resume(format!(
                "no state.json in {}",
                run.path().display()
            )));
        }
        (false, _) => RunState {
            arch: arch.clone(),
            config: serde_json::json!({
                "model": arch.name(),
                "distill": distill.map(|d| serde_json::json!({
                    "teacher": d.teacher.architecture(),
                    "temperature": d.temperature,
                    "weight": d.weight,
                })),
                "batch_size": cfg.batch_size,
                "prompt": format!("{:?}", cfg.prompt),
                "val_kind": cfg.val_kind,
                "seed": cfg.seed,
                "augment": cfg.augment,
                "phases": phases.iter().zip(&val_data).map(|(p, v)| serde_json::json!({
                    "name": p.name, "data": p.data, "train_samples": p.train.len(),
                    "val_samples": p.val.len(), "val_data": v, "config": p.config,
                })).collect::<Vec<_>>(),
            }),
            phase: 0,
            epoch: 0,
            lr: phases.first().map_or(1e-3, |p| p.config.lr),
            best: None,
            since_best: 0,
            history: Vec::new(),
            finished: false,
        },
    };
    run.log(&serde_json::json!({"event": "start", "resume": resume, "device": format!("{:?}", cfg.device)}))?;
    let mut time_limited = false;
    let mut summary = Vec::new();
    while state.phase < phases.len() && !state.finished {
        let phase = &phases[state.phase];
        let pc = &phase.config;
        // A fresh optimiser per phase (pt-ft finetunes from the weights only).
        let mut opt = tch::nn::AdamW {
            wd: pc.weight_decay,
            ..Default::default()
        }
        .build(vs, state.lr)?;
        let mut stalled = 0usize;
        let mut step = 0usize;
        while state.epoch < pc.epochs {
            let epoch = state.epoch + 1;
            let t0 = Instant::now();
            let pcfg = PipelineConfig {
                batch_size: cfg.batch_size,
                prompt: cfg.prompt.clone(),
                seed: cfg.seed ^ (state.phase as u64) << 32,
                workers: cfg.workers,
                input: arch.input(),
                augment: cfg.augment,
                ..Default::default()
            };
            let loader = Loader::epoch(Arc::clone(&phase.train), pcfg, epoch);
            let batches = loader.batches().max(1);
            let pb = bar(
                loader.batches() as u64,
                cfg.progress,
                format!("{} {epoch}/{}", phase.name, pc.epochs),
            );
            let (mut loss_sum, mut pairs) = (0.0, 0usize);
            for (bi, batch) in loader.enumerate() {
                let b = batch?;
                let images = b.images.to_device(cfg.device);
                let tokens = b.tokens.to_device(cfg.device);
                let masks = b.masks.to_device(cfg.device);
                let cuda = cfg.device.is_cuda();
                let l = tch::autocast(cuda, || -> Result<Tensor, TrainError> {
                    let logits = net.forward_t(&images, &tokens, true)?;
                    let gt = loss(&logits, &masks);
                    Ok(match distill {
                        Some(d) => {
                            let t = d.targets(&images, &tokens)?;
                            gt * (1.0 - d.weight) + d.loss(&logits, &t) * d.weight
                        }
                        None => gt,
                    })
                })?;
                let progress =
                    (state.epoch as f64 + bi as f64 / batches as f64) / pc.epochs.max(1) as f64;
                let rate = pc.schedule.rate(state.lr, pc.min_lr, progress);
                if step < pc.warmup_steps {
                    opt.set_lr(rate * (step + 1) as f64 / pc.warmup_steps as f64);
                } else if pc.schedule != Schedule::Plateau || (step == pc.warmup_steps && step > 0)
                {
                    opt.set_lr(rate);
                }
                step += 1;
                opt.zero_grad();
                l.backward();
                opt.clip_grad_norm(pc.clip_norm);
                opt.step();
                let lv = l.double_value(&[]);
                if !lv.is_finite() {
                    return Err(TrainError::Diverged {
                        phase: phase.name.clone(),
                        epoch,
                        lr: state.lr,
                    });
                }
                let bs = b.structures.len();
                loss_sum += lv * bs as f64;
                pairs += bs;
                pb.inc(1);
                pb.set_message(format!("loss {:.4}", loss_sum / pairs.max(1) as f64));
                if cfg.time_limit.is_some_and(|t| start.elapsed() >= t) {
                    time_limited = true;
                    break;
                }
            }
            pb.finish_and_clear();
            let train_secs = t0.elapsed().as_secs_f64();
            let (val_loss, val_dice, per) = validate(net, &phase.val, cfg)?;
            let rec = EpochRecord {
                phase: phase.name.clone(),
                epoch,
                train_loss: loss_sum / pairs.max(1) as f64,
                val_loss,
                val_dice,
                val_dice_per_structure: per,
                lr: pc.schedule.rate(
                    state.lr,
                    pc.min_lr,
                    state.epoch as f64 / pc.epochs.max(1) as f64,
                ),
                seconds: t0.elapsed().as_secs_f64(),
                pairs_per_sec: pairs as f64 / train_secs.max(1e-9),
            };
            log::info!(
                "{} epoch {epoch}: train loss {:.4}, val loss {:.4}, val dice {:.4} ({}), {:.1} pairs/s",
                phase.name,
                rec.train_loss,
                rec.val_loss,
                rec.val_dice,
                rec.val_dice_per_structure
                    .iter()
                    .map(|(s, d)| format!("{s} {d:.3}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                rec.pairs_per_sec
            );
            run.log(&serde_json::to_value(&rec).unwrap_or_default())?;
            state.epoch = epoch;
            state.history.push(rec);
            run.save_weights(vs, &run.last())?;
            if state.best.is_none_or(|(b, _)| val_dice > b) {
                state.best = Some((val_dice, epoch));
                state.since_best = 0;
                stalled = 0;
                run.save_weights(vs, &run.best())?;
            } else {
                state.since_best += 1;
                stalled += 1;
                if pc.schedule == Schedule::Plateau
                    && stalled >= pc.plateau_patience
                    && state.lr > pc.min_lr
                {
                    state.lr = (state.lr * pc.plateau_factor).max(pc.min_lr);
                    opt.set_lr(state.lr);
                    stalled = 0;
                    log::info!("val dice plateaued: learning rate → {}", state.lr);
                }
            }
            run.save_state(&state)?;
            if state.since_best >= pc.patience {
                log::info!(
                    "early stop: {} epochs without a better val dice",
                    pc.patience
                );
                break;
            }
            if time_limited {
                break;
            }
        }
        let (bd, be) = state.best.unwrap_or((0.0, 0));
        summary.push((phase.name.clone(), bd, be, state.epoch));
        // Continue from the phase's best weights.
        if run.best().is_file() {
            RunDir::load_weights(vs, &run.best())?;
        }
        run.save_weights(vs, &run.phase_end(&phase.name))?;
        if time_limited {
            state.finished = true;
        } else {
            state.phase += 1;
            state.epoch = 0;
            state.best = None;
            state.since_best = 0;
            state.lr = phases.get(state.phase).map_or(state.lr, |p| p.config.lr);
            if state.phase < phases.len() {
                // The next phase's best starts from scratch.
                std::fs::remove_file(run.best()).ok();
            }
        }
        run.save_state(&state)?;
    }
    state.finished = true;
    run.save_state(&state)?;
    let report = TrainReport {
        history: state.history.clone(),
        phases: summary,
        seconds: start.elapsed().as_secs_f64(),
        time_limited,
    };
    run.log(&serde_json::json!({"event": "end", "phases": report.phases, "seconds": report.seconds, "time_limited": time_limited}))?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_falls_from_the_rate_to_the_floor_and_plateau_holds() {
        let c = Schedule::Cosine;
        assert!((c.rate(3e-3, 1e-5, 0.0) - 3e-3).abs() < 1e-12);
        assert!((c.rate(3e-3, 1e-5, 1.0) - 1e-5).abs() < 1e-12);
        assert!((c.rate(3e-3, 1e-5, 0.5) - (3e-3 + 1e-5) / 2.0).abs() < 1e-12);
        let mut last = f64::INFINITY;
        for i in 0..=20 {
            let r = c.rate(3e-3, 1e-5, f64::from(i) / 20.0);
            assert!(r < last, "not falling at step {i}");
            last = r;
        }
        // Out of range progress is clamped (a resumed run past its epochs).
        assert_eq!(c.rate(3e-3, 1e-5, 1.5), c.rate(3e-3, 1e-5, 1.0));
        assert_eq!(Schedule::Plateau.rate(3e-3, 1e-5, 0.7), 3e-3);
        assert_eq!("cosine".parse::<Schedule>(), Ok(Schedule::Cosine));
        assert!("linear".parse::<Schedule>().is_err());
        // Runs saved before schedules existed read as plateau.
        let old: PhaseConfig = serde_json::from_value(serde_json::json!({
            "epochs": 3, "lr": 1e-3, "weight_decay": 0.0, "patience": 2, "plateau_patience": 1,
            "plateau_factor": 0.5, "min_lr": 1e-5, "clip_norm": 1.0
        }))
        .unwrap();
        assert_eq!(old.schedule, Schedule::Plateau);
    }
}
