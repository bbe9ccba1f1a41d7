//! [`Training`]: one run of the phases, step by step. The run's state is set up (fresh, or
//! read back to resume), each phase gets a fresh optimiser and runs its epochs (batches, then
//! validation, then checkpoints, the best weights and the plateau cut), and each phase ends on
//! its best weights.

use super::distill::Distillation;
use super::ema::Ema;
use super::loss::loss;
use super::val_data::{check_val_data, fingerprint_val_data};
use super::validate::validate;
use super::{Phase, PhaseConfig, Schedule, TrainConfig, TrainError, TrainReport};
use crate::checkpoint::{EpochRecord, RunDir, RunState};
use crate::data::{Batch, Loader, PipelineConfig};
use crate::model::Network;
use crate::progress::Progress;
use crate::provenance::Provenance;
use std::sync::Arc;
use std::time::Instant;
use synboost_data::fingerprint::DataRecord;
use tch::Tensor;
use tch::nn::{Optimizer, OptimizerConfig, VarStore};

/// One training run: the network, its phases and settings, the run folder, whether to resume
/// it, and an optional teacher. [`Training::run`] trains.
pub struct Training<'a> {
    /// The network being trained (its variables are in the store given to [`Training::run`]).
    pub net: &'a Network,
    /// The phases, in order.
    pub phases: &'a [Phase],
    /// Settings shared by the phases.
    pub cfg: &'a TrainConfig,
    /// Where checkpoints, state and log go.
    pub run: &'a RunDir,
    /// Continue from the run's saved state.
    pub resume: bool,
    /// Learn from this teacher's logits as well as the truth.
    pub distill: Option<&'a Distillation>,
}

/// Wall time of a run against its limit.
struct Clock {
    start: Instant,
    limit: Option<std::time::Duration>,
    /// True once the limit stopped the run.
    stopped: bool,
    /// Pause at an epoch boundary after this long.
    pause_after: Option<std::time::Duration>,
    /// True once the run paused.
    paused: bool,
}

impl Clock {
    fn out_of_time(&self) -> bool {
        self.limit.is_some_and(|t| self.start.elapsed() >= t)
    }

    fn pause_due(&self) -> bool {
        self.pause_after.is_some_and(|t| self.start.elapsed() >= t)
    }
}

/// What an epoch's optimiser steps change: the optimiser, the phase's counters and, with a
/// weight average, the average.
struct StepContext<'a> {
    opt: &'a mut Optimizer,
    counters: &'a mut PhaseCounters,
    ema: Option<&'a mut Ema>,
}

/// What one phase counts across its epochs.
struct PhaseCounters {
    /// Epochs without a better dice since the last learning-rate cut.
    stalled: usize,
    /// Optimiser steps so far (for the warm-up).
    step: usize,
}

/// Loss summed over the pairs of an epoch.
struct EpochLoss {
    sum: f64,
    pairs: usize,
}

impl Training<'_> {
    /// Run the phases, resuming from the run's saved state when `resume` is set; with
    /// `distill`, the network learns from the teacher's logits as well as the truth. The
    /// validation data of every phase is fingerprinted first and recorded in the run's state
    /// (`val_data`); resuming on other validation data is an error. Each epoch's batches are
    /// reported to `progress`.
    pub fn run(
        &self,
        vs: &mut VarStore,
        mut progress: impl FnMut(Progress),
    ) -> Result<TrainReport, TrainError> {
        let mut clock = Clock {
            start: Instant::now(),
            limit: self.cfg.time_limit,
            stopped: false,
            pause_after: self.cfg.pause_after,
            paused: false,
        };
        if let Some(d) = self.distill {
            d.validate().map_err(TrainError::Resume)?;
        }
        let val_data = fingerprint_val_data(self.phases, self.cfg.val_limit)?;
        let mut state = self.initial_state(vs, &val_data)?;
        self.run.log(&serde_json::json!({"event": "start", "resume": self.resume, "device": format!("{:?}", self.cfg.device)}))?;
        let mut summary = Vec::new();
        while state.phase < self.phases.len() && !state.finished {
            if state.epoch == 0 && !summary.is_empty() && clock.pause_due() {
                // Between phases: the next one starts when the run is resumed.
                clock.paused = true;
                break;
            }
            let phase = &self.phases[state.phase];
            self.run_phase(vs, phase, &mut state, &mut clock, &mut progress)?;
            let (bd, be) = state.best.unwrap_or((0.0, 0));
            summary.push((phase.name.clone(), bd, be, state.epoch));
            if clock.paused {
                break;
            }
            self.end_phase(vs, phase, &mut state, clock.stopped)?;
        }
        if !clock.paused {
            state.finished = true;
        }
        self.run.save_state(&state)?;
        let report = TrainReport {
            history: state.history.clone(),
            phases: summary,
            seconds: clock.start.elapsed().as_secs_f64(),
            time_limited: clock.stopped,
            paused: clock.paused,
        };
        self.run.log(&serde_json::json!({"event": if clock.paused { "pause" } else { "end" }, "phases": report.phases, "seconds": report.seconds, "time_limited": clock.stopped}))?;
        Ok(report)
    }

    /// What the weights are made from: every phase's data and the teacher's.
    fn provenance(&self) -> Provenance {
        let mut p = Provenance::default();
        for phase in self.phases {
            p.extend(&phase.provenance);
        }
        if let Some(d) = self.distill {
            p.extend(&d.provenance);
        }
        p
    }

    /// The saved state with its last weights loaded (resuming), or a fresh one.
    fn initial_state(
        &self,
        vs: &mut VarStore,
        val_data: &[DataRecord],
    ) -> Result<RunState, TrainError> {
        let arch = self.net.architecture();
        match (self.resume, self.run.load_state()?) {
            (true, Some(mut s)) => {
                if s.arch != arch {
                    return Err(TrainError::Resume(
                        "the saved spec differs from this model's".into(),
                    ));
                }
                check_val_data(&s, val_data)?;
                RunDir::load_weights(vs, &self.run.last())?;
                log::info!(
                    "resuming phase {} after epoch {} (lr {})",
                    s.phase,
                    s.epoch,
                    s.lr
                );
                // Whatever the run was made from before, and what it is trained on now.
                s.provenance.extend(&self.provenance());
                Ok(s)
            }
            (true, None) => Err(TrainError::Resume(format!(
                "no state.json in {}",
                self.run.path().display()
            ))),
            (false, _) => Ok(RunState {
                arch: arch.clone(),
                config: self.config_record(val_data),
                phase: 0,
                epoch: 0,
                lr: self.phases.first().map_or(1e-3, |p| p.config.lr),
                best: None,
                since_best: 0,
                history: Vec::new(),
                finished: false,
                ema_updates: 0,
                provenance: self.provenance(),
            }),
        }
    }

    /// The configuration a fresh run records.
    fn config_record(&self, val_data: &[DataRecord]) -> serde_json::Value {
        let (arch, cfg) = (self.net.architecture(), self.cfg);
        serde_json::json!({
            "model": arch.name(),
            "distill": self.distill.map(|d| serde_json::json!({
                "teacher": d.teacher.architecture(),
                "temperature": d.temperature,
                "weight": d.weight,
            })),
            "batch_size": cfg.batch_size,
            "prompt": format!("{:?}", cfg.prompt),
            "val_kind": cfg.val_kind,
            "seed": cfg.seed,
            "augment": cfg.augment,
            "phases": self.phases.iter().zip(val_data).map(|(p, v)| serde_json::json!({
                "name": p.name, "data": p.data, "train_samples": p.train.len(),
                "val_samples": p.val.len(), "val_data": v, "config": p.config,
            })).collect::<Vec<_>>(),
        })
    }

    /// The epochs of one phase, with a fresh optimiser (pt-ft finetunes from the weights
    /// only), until its epochs are done, early stopping or the time limit.
    fn run_phase(
        &self,
        vs: &mut VarStore,
        phase: &Phase,
        state: &mut RunState,
        clock: &mut Clock,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(), TrainError> {
        let pc = &phase.config;
        let mut opt = tch::nn::AdamW {
            wd: pc.weight_decay,
            ..Default::default()
        }
        .build(vs, state.lr)?;
        let mut counters = PhaseCounters {
            stalled: 0,
            step: 0,
        };
        // The phase's weight average: continued when resuming inside the phase, else new.
        let mut ema = match pc.ema {
            Some(d) if state.epoch > 0 && state.ema_updates > 0 && self.run.ema().is_file() => {
                Some(Ema::resume(vs, d, &self.run.ema(), state.ema_updates)?)
            }
            Some(d) => Some(Ema::new(vs, d)),
            None => None,
        };
        while state.epoch < pc.epochs {
            let epoch = state.epoch + 1;
            let t0 = Instant::now();
            let mut ctx = StepContext {
                opt: &mut opt,
                counters: &mut counters,
                ema: ema.as_mut(),
            };
            let l = self.train_epoch(&mut ctx, phase, state, clock, progress)?;
            let train_secs = t0.elapsed().as_secs_f64();
            // The raw weights are what training continues from; the average, when there is
            // one, is what is validated and kept.
            self.run.save_weights(vs, &self.run.last())?;
            if let Some(e) = ema.as_mut() {
                e.swap()?;
            }
            let (val_loss, val_dice, per) = validate(self.net, &phase.val, self.cfg)?;
            let rec = EpochRecord {
                phase: phase.name.clone(),
                epoch,
                train_loss: l.sum / l.pairs.max(1) as f64,
                val_loss,
                val_dice,
                val_dice_per_structure: per,
                lr: pc.schedule.rate(
                    state.lr,
                    pc.min_lr,
                    state.epoch as f64 / pc.epochs.max(1) as f64,
                ),
                seconds: t0.elapsed().as_secs_f64(),
                pairs_per_sec: l.pairs as f64 / train_secs.max(1e-9),
            };
            log_epoch(&rec);
            self.run
                .log(&serde_json::to_value(&rec).unwrap_or_default())?;
            state.epoch = epoch;
            state.history.push(rec);
            self.keep_best(vs, &mut opt, pc, state, &mut counters, (val_dice, epoch))?;
            if let Some(e) = ema.as_mut() {
                self.run.save_weights(vs, &self.run.ema())?;
                e.swap()?;
                state.ema_updates = e.updates();
            }
            self.run.save_state(state)?;
            if state.since_best >= pc.patience {
                log::info!(
                    "early stop: {} epochs without a better val dice",
                    pc.patience
                );
                break;
            }
            if clock.stopped {
                break;
            }
            if state.epoch < pc.epochs && clock.pause_due() {
                log::info!(
                    "pausing after epoch {epoch} of {} (resume to continue)",
                    pc.epochs
                );
                clock.paused = true;
                break;
            }
        }
        Ok(())
    }

    /// One epoch of optimiser steps over the phase's training pairs.
    fn train_epoch(
        &self,
        ctx: &mut StepContext<'_>,
        phase: &Phase,
        state: &RunState,
        clock: &mut Clock,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<EpochLoss, TrainError> {
        let (pc, cfg) = (&phase.config, self.cfg);
        let epoch = state.epoch + 1;
        let pcfg = PipelineConfig {
            batch_size: cfg.batch_size,
            prompt: cfg.prompt.clone(),
            seed: cfg.seed ^ (state.phase as u64) << 32,
            workers: cfg.workers,
            input: self.net.input(),
            augment: cfg.augment,
            ..Default::default()
        };
        let loader = Loader::epoch(Arc::clone(&phase.train), pcfg, epoch);
        let batches = loader.batches().max(1);
        progress(Progress::Start {
            label: format!("{} {epoch}/{}", phase.name, pc.epochs),
            unit: "batches",
            total: loader.batches() as u64,
            done: 0,
        });
        let mut l = EpochLoss { sum: 0.0, pairs: 0 };
        for (bi, batch) in loader.enumerate() {
            let b = batch?;
            let fraction =
                (state.epoch as f64 + bi as f64 / batches as f64) / pc.epochs.max(1) as f64;
            let lv = self.step(ctx.opt, &b, pc, state.lr, fraction, ctx.counters)?;
            if let Some(e) = ctx.ema.as_deref_mut() {
                e.update()?;
            }
            if !lv.is_finite() {
                return Err(TrainError::Diverged {
                    phase: phase.name.clone(),
                    epoch,
                    lr: state.lr,
                });
            }
            let bs = b.structures.len();
            l.sum += lv * bs as f64;
            l.pairs += bs;
            progress(Progress::Advance {
                done: bi as u64 + 1,
                note: Some(format!("loss {:.4}", l.sum / l.pairs.max(1) as f64)),
            });
            if clock.out_of_time() {
                clock.stopped = true;
                break;
            }
        }
        progress(Progress::Finish);
        Ok(l)
    }

    /// One optimiser step on a batch, `fraction` of the way through the phase; returns the
    /// batch's loss.
    fn step(
        &self,
        opt: &mut Optimizer,
        b: &Batch,
        pc: &PhaseConfig,
        lr: f64,
        fraction: f64,
        counters: &mut PhaseCounters,
    ) -> Result<f64, TrainError> {
        let device = self.cfg.device;
        let images = b.images.to_device(device);
        let tokens = b.tokens.to_device(device);
        let masks = b.masks.to_device(device);
        let l = tch::autocast(device.is_cuda(), || -> Result<Tensor, TrainError> {
            let logits = self.net.forward_t(&images, &tokens, true)?;
            let gt = loss(&logits, &masks);
            Ok(match self.distill {
                Some(d) => {
                    let t = d.targets(&images, &tokens)?;
                    gt * (1.0 - d.weight) + d.loss(&logits, &t) * d.weight
                }
                None => gt,
            })
        })?;
        set_rate(opt, pc, lr, fraction, counters.step);
        counters.step += 1;
        opt.zero_grad();
        l.backward();
        opt.clip_grad_norm(pc.clip_norm);
        opt.step();
        Ok(l.double_value(&[]))
    }

    /// After an epoch's validation: save the best weights when the dice improved, else count
    /// the stall and, on a plateau schedule, cut the learning rate.
    fn keep_best(
        &self,
        vs: &VarStore,
        opt: &mut Optimizer,
        pc: &PhaseConfig,
        state: &mut RunState,
        counters: &mut PhaseCounters,
        (val_dice, epoch): (f64, usize),
    ) -> Result<(), TrainError> {
        if state.best.is_none_or(|(b, _)| val_dice > b) {
            state.best = Some((val_dice, epoch));
            state.since_best = 0;
            counters.stalled = 0;
            self.run.save_weights(vs, &self.run.best())?;
            return Ok(());
        }
        state.since_best += 1;
        counters.stalled += 1;
        if pc.schedule == Schedule::Plateau
            && counters.stalled >= pc.plateau_patience
            && state.lr > pc.min_lr
        {
            state.lr = (state.lr * pc.plateau_factor).max(pc.min_lr);
            opt.set_lr(state.lr);
            counters.stalled = 0;
            log::info!("val dice plateaued: learning rate → {}", state.lr);
        }
        Ok(())
    }

    /// Continue from the phase's best weights, save them as the phase's end, and move the
    /// state to the next phase (or mark it finished when the time limit stopped it).
    fn end_phase(
        &self,
        vs: &mut VarStore,
        phase: &Phase,
        state: &mut RunState,
        time_limited: bool,
    ) -> Result<(), TrainError> {
        let run = self.run;
        if run.best().is_file() {
            RunDir::load_weights(vs, &run.best())?;
        }
        run.save_weights(vs, &run.phase_end(&phase.name))?;
        // `last` is what a resumed run loads: between phases, the weights the next one starts
        // from (this phase's best), not its final epoch's.
        run.save_weights(vs, &run.last())?;
        if time_limited {
            state.finished = true;
        } else {
            state.phase += 1;
            state.epoch = 0;
            state.ema_updates = 0;
            state.best = None;
            state.since_best = 0;
            state.lr = self
                .phases
                .get(state.phase)
                .map_or(state.lr, |p| p.config.lr);
            if state.phase < self.phases.len() {
                // The next phase's best starts from scratch.
                std::fs::remove_file(run.best()).ok();
            }
        }
        run.save_state(state)?;
        Ok(())
    }
}

/// The learning rate of optimiser step `step`, `fraction` of the way through a phase that
/// starts at `lr`: a linear warm-up over the first `warmup_steps`, then the schedule (a
/// plateau schedule's rate is set once, after the warm-up; its cuts are
/// [`Training::keep_best`]'s).
fn set_rate(opt: &mut Optimizer, pc: &PhaseConfig, lr: f64, fraction: f64, step: usize) {
    let rate = pc.schedule.rate(lr, pc.min_lr, fraction);
    if step < pc.warmup_steps {
        opt.set_lr(rate * (step + 1) as f64 / pc.warmup_steps as f64);
    } else if pc.schedule != Schedule::Plateau || (step == pc.warmup_steps && step > 0) {
        opt.set_lr(rate);
    }
}

/// The log line of an epoch.
fn log_epoch(rec: &EpochRecord) {
    log::info!(
        "{} epoch {}: train loss {:.4}, val loss {:.4}, val dice {:.4} ({}), {:.1} pairs/s",
        rec.phase,
        rec.epoch,
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
}
