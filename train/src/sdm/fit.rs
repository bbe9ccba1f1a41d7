//! Training the denoiser: ε-prediction with mean squared error on (image, label map) pairs,
//! Adam, an exponential moving average of the weights for sampling, periodic checkpoints and
//! resume.
//!
//! The pairs are read once into memory at the model's size (CAMUS train at 112² is 20 MB): the
//! image resized by core's preprocessor (antialiased), the label map ([`LabelMap`]) by nearest
//! neighbour. Step `k` draws its batch, timesteps and noise from `seed ⊕ k`, so a resumed run
//! sees the same data as an uninterrupted one (Adam's moments restart; a warm-up of
//! `warmup_steps` covers that).
//!
//! A run folder holds `sdm.json` (shape, schedule, step, losses), `model.safetensors`,
//! `ema.safetensors` (the weights samplers use), `log.jsonl` and `loss.png`.

use super::SdmError;
use super::labels::LabelMap;
use super::schedule::Schedule;
use super::unet::{Unet, UnetConfig, one_hot};
use crate::checkpoint::RunDir;
use crate::data::resize_gray;
use crate::plot::{Series, line_chart};
use crate::progress::Progress;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::{Duration, Instant};
use synboost_core::preprocess::Preprocessor;
use synboost_data::SampleSource;
use tch::nn::{OptimizerConfig, VarStore};
use tch::{Device, Kind, Tensor, nn};

/// What a run folder records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SdmState {
    /// The denoiser's shape.
    pub unet: UnetConfig,
    /// Training timesteps T of the cosine schedule.
    pub timesteps: usize,
    /// Optimiser steps done.
    pub step: usize,
    /// EMA decay.
    pub ema_decay: f64,
    /// Where the pairs came from.
    pub data: String,
    /// Number of training pairs.
    pub pairs: usize,
    /// (step, mean loss over the last `log_every` steps).
    pub losses: Vec<(usize, f64)>,
    /// Seconds spent training, all sessions.
    pub seconds: f64,
}

/// Settings of a training run.
#[derive(Debug, Clone)]
pub struct SdmTrainConfig {
    /// Total optimiser steps.
    pub steps: usize,
    /// Pairs per step.
    pub batch: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Linear warm-up, steps (after a resume too).
    pub warmup_steps: usize,
    /// EMA decay (the effective decay ramps up as (1 + k)/(10 + k) early on).
    pub ema_decay: f64,
    /// Training timesteps T.
    pub timesteps: usize,
    /// Save every this many steps (and at the end).
    pub checkpoint_every: usize,
    /// Average the loss over this many steps per log line.
    pub log_every: usize,
    /// Base seed.
    pub seed: u64,
    /// Stop (with a checkpoint) after this long.
    pub time_limit: Option<Duration>,
    /// Run the network in bf16 autocast on CUDA.
    pub bf16: bool,
}

impl Default for SdmTrainConfig {
    fn default() -> Self {
        Self {
            steps: 10_000,
            batch: 16,
            lr: 2e-4,
            warmup_steps: 200,
            ema_decay: 0.999,
            timesteps: 1000,
            checkpoint_every: 500,
            log_every: 50,
            seed: 0,
            time_limit: None,
            bf16: true,
        }
    }
}

/// Training pairs at the model's size: images `[N, 1, S, S]` u8, label maps `[N, S, S]` u8.
#[derive(Debug)]
pub struct PairSet {
    /// Images.
    pub images: Tensor,
    /// Label maps.
    pub labels: Tensor,
}

impl PairSet {
    /// Read every sample of `source` (at most `limit`), resized to `size`². Samples that fail
    /// to load are skipped with a warning; none at all is an error.
    pub fn load(
        source: &dyn SampleSource,
        size: usize,
        limit: Option<usize>,
    ) -> Result<Self, SdmError> {
        let n = limit.map_or(source.len(), |l| l.min(source.len()));
        let mut prep = Preprocessor::new(size, size);
        let (mut imgs, mut labs) = (Vec::with_capacity(n * size * size), Vec::new());
        let mut count = 0usize;
        for i in 0..n {
            let s = match source.load(i) {
                Ok(s) => s,
                Err(e) => {
                    log::warn!("skipping sample {i}: {e}");
                    continue;
                }
            };
            let label = LabelMap::of_sample(&s).resized(size, size);
            let img = resize_gray(&mut prep, &s.image, size, size)
                .map_err(|e| SdmError::Data(format!("{}: {e}", s.id)))?;
            imgs.extend_from_slice(&img);
            labs.extend_from_slice(&label.data);
            count += 1;
        }
        if count == 0 {
            return Err(SdmError::Data("no training pairs could be read".into()));
        }
        let s = size as i64;
        Ok(Self {
            images: Tensor::from_slice(&imgs).view([count as i64, 1, s, s]),
            labels: Tensor::from_slice(&labs).view([count as i64, s, s]),
        })
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.images.size()[0] as usize
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Images 0–255 → [−1, 1].
pub fn to_unit(images: &Tensor) -> Tensor {
    images.to_kind(Kind::Float) / 127.5 - 1.0
}

/// The network and its EMA copy, built and (when the run has them) loaded.
#[derive(Debug)]
pub struct SdmModel {
    /// Trained weights.
    pub vs: VarStore,
    /// The network over `vs`.
    pub net: Unet,
    /// EMA weights.
    pub ema_vs: VarStore,
    /// The network over `ema_vs`.
    pub ema: Unet,
}

impl SdmModel {
    /// Fresh weights on `device`.
    pub fn new(cfg: &UnetConfig, device: Device) -> Result<Self, SdmError> {
        let vs = VarStore::new(device);
        let net = Unet::new(&vs.root(), cfg).map_err(SdmError::Config)?;
        let mut ema_vs = VarStore::new(device);
        let ema = Unet::new(&ema_vs.root(), cfg).map_err(SdmError::Config)?;
        ema_vs
            .copy(&vs)
            .map_err(|e| SdmError::Config(e.to_string()))?;
        ema_vs.freeze();
        Ok(Self {
            vs,
            net,
            ema_vs,
            ema,
        })
    }

    /// The model of a run folder, EMA weights loaded (and the trained ones when present).
    pub fn open(dir: &Path, device: Device) -> Result<(Self, SdmState), SdmError> {
        let state = read_state(dir)?.ok_or_else(|| {
            SdmError::Config(format!("{}: no sdm.json (not an SDM run)", dir.display()))
        })?;
        let mut m = Self::new(&state.unet, device)?;
        let run = RunDir::create(dir)?;
        RunDir::load_weights(&mut m.ema_vs, &ema_path(&run))?;
        if model_path(&run).is_file() {
            RunDir::load_weights(&mut m.vs, &model_path(&run))?;
        }
        Ok((m, state))
    }

    fn update_ema(&mut self, decay: f64) {
        tch::no_grad(|| {
            let src = self.vs.variables();
            for (name, mut dst) in self.ema_vs.variables() {
                if let Some(s) = src.get(&name) {
                    dst.copy_(&(&dst * decay + s * (1.0 - decay)));
                }
            }
        });
    }
}

fn model_path(run: &RunDir) -> std::path::PathBuf {
    run.path().join("model.safetensors")
}

fn ema_path(run: &RunDir) -> std::path::PathBuf {
    run.path().join("ema.safetensors")
}

fn state_path(dir: &Path) -> std::path::PathBuf {
    dir.join("sdm.json")
}

/// The state of a run folder, if it has one.
pub fn read_state(dir: &Path) -> Result<Option<SdmState>, SdmError> {
    let p = state_path(dir);
    if !p.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&p).map_err(|e| SdmError::io(&p, e))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| SdmError::Config(format!("{}: {e}", p.display())))
}

fn write_state(dir: &Path, s: &SdmState) -> Result<(), SdmError> {
    let p = state_path(dir);
    let tmp = p.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(s).map_err(|e| SdmError::Config(e.to_string()))?;
    std::fs::write(&tmp, text).map_err(|e| SdmError::io(&tmp, e))?;
    std::fs::rename(&tmp, &p).map_err(|e| SdmError::io(&p, e))
}

/// The denoising loss of one batch: images `[B, 1, S, S]` u8, labels `[B, S, S]` u8,
/// timesteps `[B]`.
pub fn loss(
    net: &Unet,
    schedule_ab: &Tensor,
    images: &Tensor,
    labels: &Tensor,
    t: &Tensor,
    noise: &Tensor,
    train: bool,
) -> Tensor {
    let x0 = to_unit(images);
    let ab = schedule_ab.index_select(0, t).view([-1, 1, 1, 1]);
    let xt = &x0 * ab.sqrt() + noise * (ab.ones_like() - &ab).sqrt();
    let eps = net.forward_t(&xt, t, &one_hot(labels), train);
    (eps.to_kind(Kind::Float) - noise)
        .square()
        .mean(Kind::Float)
}

/// ᾱ for every timestep as a tensor on `device`.
pub fn alpha_bar_tensor(s: &Schedule, device: Device) -> Tensor {
    let v: Vec<f32> = (0..s.steps()).map(|t| s.alpha_bar(t) as f32).collect();
    Tensor::from_slice(&v).to_device(device)
}

/// Train (or resume) the run in `dir` on `pairs` until `cfg.steps`, silently
/// ([`SdmTraining::run`] reports progress). Returns the final state.
pub fn train_sdm(
    dir: &Path,
    unet: &UnetConfig,
    pairs: &PairSet,
    data: &str,
    cfg: &SdmTrainConfig,
    device: Device,
    resume: bool,
) -> Result<SdmState, SdmError> {
    SdmTraining {
        dir,
        unet,
        pairs,
        data,
        cfg,
        device,
        resume,
    }
    .run(|_| {})
}

/// One training run of the denoiser: its folder, shape, pairs and settings.
pub struct SdmTraining<'a> {
    /// The run folder.
    pub dir: &'a Path,
    /// The denoiser's shape.
    pub unet: &'a UnetConfig,
    /// The training pairs.
    pub pairs: &'a PairSet,
    /// Where the pairs came from (recorded).
    pub data: &'a str,
    /// Settings.
    pub cfg: &'a SdmTrainConfig,
    /// Device.
    pub device: Device,
    /// Continue the run in `dir`.
    pub resume: bool,
}

impl SdmTraining<'_> {
    /// Train (or resume) until `cfg.steps`, reporting the steps to `progress`. Returns the
    /// final state.
    pub fn run(&self, mut progress: impl FnMut(Progress)) -> Result<SdmState, SdmError> {
        let (dir, unet, pairs, cfg, device) =
            (self.dir, self.unet, self.pairs, self.cfg, self.device);
        if pairs.is_empty() || cfg.batch == 0 || cfg.log_every == 0 || cfg.checkpoint_every == 0 {
            return Err(SdmError::Config(
                "need pairs, a batch, log_every and checkpoint_every ≥ 1".into(),
            ));
        }
        let run = RunDir::create(dir)?;
        let mut model = SdmModel::new(unet, device)?;
        let mut state = self.initial_state(&run, &mut model)?;
        let schedule = Schedule::cosine(state.timesteps);
        let ab = alpha_bar_tensor(&schedule, device);
        let mut opt = nn::Adam::default()
            .build(&model.vs, cfg.lr)
            .map_err(|e| SdmError::Config(e.to_string()))?;
        let n = pairs.len() as i64;
        let b = cfg.batch as i64;
        let start = Instant::now();
        // Seconds of earlier sessions; `state.seconds` is this plus the time of this one.
        let before = state.seconds;
        let first = state.step;
        progress(Progress::Start {
            label: "SDM".into(),
            unit: "steps",
            total: cfg.steps as u64,
            done: first as u64,
        });
        let (mut acc, mut acc_n) = (0f64, 0usize);
        let use_bf16 = cfg.bf16 && device.is_cuda();
        while state.step < cfg.steps {
            let k = state.step;
            let warm = (k - first + 1) as f64 / cfg.warmup_steps.max(1) as f64;
            opt.set_lr(cfg.lr * warm.min(1.0));
            tch::manual_seed((cfg.seed ^ (k as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)) as i64);
            let idx = Tensor::randint(n, [b], (Kind::Int64, Device::Cpu));
            let images = pairs.images.index_select(0, &idx).to_device(device);
            let labels = pairs.labels.index_select(0, &idx).to_device(device);
            let t = Tensor::randint(state.timesteps as i64, [b], (Kind::Int64, Device::Cpu))
                .to_device(device);
            let noise = Tensor::randn(
                [b, 1, unet.size as i64, unet.size as i64],
                (Kind::Float, Device::Cpu),
            )
            .to_device(device);
            let l = super::autocast::bf16(use_bf16, || {
                loss(&model.net, &ab, &images, &labels, &t, &noise, true)
            });
            opt.backward_step(&l);
            let decay = cfg.ema_decay.min((1.0 + k as f64) / (10.0 + k as f64));
            model.update_ema(decay);
            let lv = l.double_value(&[]);
            if !lv.is_finite() {
                return Err(SdmError::Diverged { step: k, loss: lv });
            }
            acc += lv;
            acc_n += 1;
            state.step += 1;
            let mut note = None;
            if acc_n == cfg.log_every || state.step == cfg.steps {
                let mean = acc / acc_n as f64;
                state.losses.push((state.step, mean));
                run.log(&serde_json::json!({"step": state.step, "loss": mean,
                    "seconds": before + start.elapsed().as_secs_f64()}))?;
                note = Some(format!("loss {mean:.4}"));
                (acc, acc_n) = (0.0, 0);
            }
            progress(Progress::Advance {
                done: state.step as u64,
                note,
            });
            let out_of_time = cfg.time_limit.is_some_and(|lim| start.elapsed() >= lim);
            if state.step.is_multiple_of(cfg.checkpoint_every)
                || state.step == cfg.steps
                || out_of_time
            {
                state.seconds = before + start.elapsed().as_secs_f64();
                save(&run, &model, &state, dir)?;
            }
            if out_of_time {
                log::info!("time limit reached at step {}", state.step);
                break;
            }
        }
        progress(Progress::Finish);
        state.seconds = before + start.elapsed().as_secs_f64();
        save(&run, &model, &state, dir)?;
        Ok(state)
    }

    /// The saved state with its weights loaded into `model` (resuming), or a fresh one; a
    /// fresh start in a folder that holds a run is refused.
    fn initial_state(&self, run: &RunDir, model: &mut SdmModel) -> Result<SdmState, SdmError> {
        let (dir, unet, cfg) = (self.dir, self.unet, self.cfg);
        match (self.resume, read_state(dir)?) {
            (true, Some(s)) => {
                if s.unet != *unet {
                    return Err(SdmError::Config(format!(
                        "{}: the run was trained with another shape ({:?})",
                        dir.display(),
                        s.unet
                    )));
                }
                RunDir::load_weights(&mut model.vs, &model_path(run))?;
                RunDir::load_weights(&mut model.ema_vs, &ema_path(run))?;
                log::info!("resuming {} at step {}", dir.display(), s.step);
                Ok(s)
            }
            (false, Some(_)) => Err(SdmError::Config(format!(
                "{} already holds an SDM run: resume it or choose another folder",
                dir.display()
            ))),
            _ => Ok(SdmState {
                unet: unet.clone(),
                timesteps: cfg.timesteps,
                step: 0,
                ema_decay: cfg.ema_decay,
                data: self.data.to_string(),
                pairs: self.pairs.len(),
                losses: Vec::new(),
                seconds: 0.0,
            }),
        }
    }
}

fn save(run: &RunDir, model: &SdmModel, state: &SdmState, dir: &Path) -> Result<(), SdmError> {
    run.save_weights(&model.vs, &model_path(run))?;
    run.save_weights(&model.ema_vs, &ema_path(run))?;
    write_state(dir, state)?;
    let pts: Vec<(f64, f64)> = state.losses.iter().map(|&(s, l)| (s as f64, l)).collect();
    if pts.len() >= 2
        && let Err(e) = line_chart(
            &dir.join("loss.png"),
            "SDM denoising loss",
            "step",
            "MSE of the predicted noise",
            &[Series::new("train", pts)],
        )
    {
        log::warn!("loss chart: {e}");
    }
    Ok(())
}
