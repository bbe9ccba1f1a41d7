//! `synboost-train fit`: train a student or a teacher (strategies real, synthetic, pt-ft and
//! mixed), optionally distilled from a teacher run, and draw its curves.

use super::common::{Common, parse_kind, setup, student_spec};
use super::progress::{Bars, TRAIN_LABEL_WIDTH};
use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use synboost_core::{Tokenizer, Vocab};
use synboost_data::SampleSource;
use synboost_train::checkpoint::{EpochRecord, RunDir, load_run};
use synboost_train::data::{DataSpec, Mix, PromptMode, Take};
use synboost_train::model::{Architecture, Network};
use synboost_train::plot::{Series, line_chart};
use synboost_train::provenance::{DataProvenance, Provenance};
use synboost_train::teacher::layers::parameter_count;
use synboost_train::teacher::{
    EncoderPart, TeacherConfig, TeacherKind, TeacherSize, load_encoder_weights,
};
use synboost_train::trainer::{
    Distillation, Phase, PhaseConfig, Schedule, Strategy, TrainConfig, Training,
};
use tch::nn::VarStore;

/// Arguments of `fit`.
#[derive(Args, Clone)]
pub struct FitArgs {
    #[command(flatten)]
    pub common: Common,
    /// real, synthetic, pt-ft or mixed (real and synthetic in one phase).
    #[arg(long, default_value = "real")]
    pub strategy: Strategy,
    /// Share of synthetic samples in each epoch of the mixed strategy, in [0, 1).
    #[arg(long, default_value_t = 0.25)]
    pub synthetic_share: f64,
    /// Start from these weights (a safetensors checkpoint of the same spec) instead of a
    /// random initialisation.
    #[arg(long, conflicts_with = "resume")]
    pub init: Option<PathBuf>,
    /// Synthetic data: `phantom:N` (N phantom patients, generated on the fly) or a folder in
    /// the seed layout.
    #[arg(long, default_value = "phantom:200")]
    pub synthetic: String,
    /// Run folder (checkpoints, state, log, curves).
    #[arg(long)]
    pub out: PathBuf,
    /// Epochs of the real (or only) phase.
    #[arg(long, default_value_t = 30)]
    pub epochs: usize,
    /// Epochs of synthetic pretraining (pt-ft).
    #[arg(long, default_value_t = 10)]
    pub pretrain_epochs: usize,
    /// Batch size.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Initial learning rate.
    #[arg(long, default_value_t = 3e-3)]
    pub lr: f64,
    /// Keep an exponential moving average of the weights with this decay (e.g. 0.999) and
    /// validate, keep and export the average instead of the raw weights.
    #[arg(long)]
    pub ema: Option<f64>,
    /// Learning-rate schedule: plateau (cut by half after 3 stalled epochs) or cosine (to 1e-5
    /// over --epochs, stepped per batch).
    #[arg(long, default_value = "plateau")]
    pub schedule: Schedule,
    /// Augment training pairs: random scale ±10 %, shift ±8 px, rotation ±10°, gamma 0.8–1.2.
    #[arg(long)]
    pub augment: bool,
    /// Early-stopping patience, epochs.
    #[arg(long, default_value_t = 8)]
    pub patience: usize,
    /// Linear learning-rate warm-up, steps at the start of each phase (default: 0 for the
    /// student, 300 for teachers).
    #[arg(long)]
    pub warmup: Option<usize>,
    /// Training prompts: p0..p7, a list (p1,p3) or mix.
    #[arg(long, default_value = "p3")]
    pub prompt: String,
    /// Validation prompt kind.
    #[arg(long, default_value = "p3")]
    pub val_prompt: String,
    /// Use at most this many training samples (quick runs).
    #[arg(long)]
    pub limit_train: Option<usize>,
    /// Validate on at most this many samples.
    #[arg(long)]
    pub limit_val: Option<usize>,
    /// Stop after this many minutes (validating and saving first); the run is then finished.
    #[arg(long, conflicts_with = "pause_after_min")]
    pub time_limit_min: Option<f64>,
    /// Pause at the first epoch boundary after this many minutes, resumable: `--resume`
    /// continues with the next epoch as if never stopped (for campaigns longer than a session).
    #[arg(long)]
    pub pause_after_min: Option<f64>,
    /// Seed of the weight initialisation (libtorch's generator), shuffling, prompt draws and
    /// augmentation.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Loader threads.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Continue the run in --out from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Model input size of the student (square); teachers use their preset's.
    #[arg(long, default_value_t = 224)]
    pub size: usize,
    /// Student channel widths `ENC,../DEC,..` (e.g. `8,16,48,128,256/128,48,16,8`; default: the
    /// shipped student's). Stored with the run, so eval, export and --resume follow it.
    #[arg(long)]
    pub widths: Option<String>,
    /// What to train: student, clipseg or cris.
    #[arg(long, default_value = "student")]
    pub model: String,
    /// Teacher size: tiny, small (CPU) or paper (the seed's shapes; GPU).
    #[arg(long, default_value = "small")]
    pub teacher_size: TeacherSize,
    /// Teachers: load the image encoder from this safetensors file (CLIP `visual.*` names).
    #[arg(long)]
    pub image_weights: Option<PathBuf>,
    /// Teachers: load the text encoder from this safetensors file (CLIP names).
    #[arg(long)]
    pub text_weights: Option<PathBuf>,
    /// Distil from this run folder (its best weights; a CRIS or CLIPSeg teacher, or a larger
    /// student): the student also learns the teacher's logits.
    #[arg(long)]
    pub distill_from: Option<PathBuf>,
    /// Distillation temperature.
    #[arg(long, default_value_t = 2.0)]
    pub distill_temperature: f64,
    /// Weight of the teacher term in [0, 1] (the truth gets the rest).
    #[arg(long, default_value_t = 0.5)]
    pub distill_weight: f64,
}

/// `fit`: build the network, its phases and settings, train (or resume) in `--out`, draw the
/// curves and print each phase's best.
pub fn fit(a: FitArgs) -> Result<()> {
    let device = setup(&a.common)?;
    // Initial weights come from libtorch's generator: seed it, so that a run is repeatable.
    tch::manual_seed(a.seed as i64);
    let arch = architecture(&a)?;
    check_model_flags(&a, &arch)?;
    if let Some(d) = a.ema
        && !(d > 0.0 && d < 1.0)
    {
        bail!("--ema {d}: give a decay in (0, 1), e.g. 0.999");
    }
    let phases = phases(&a, &arch)?;
    let cfg = TrainConfig {
        batch_size: a.batch,
        prompt: a.prompt.parse::<PromptMode>()?,
        val_kind: parse_kind(&a.val_prompt)?,
        val_limit: a.limit_val,
        seed: a.seed,
        time_limit: a.time_limit_min.map(|m| Duration::from_secs_f64(m * 60.0)),
        pause_after: a.pause_after_min.map(|m| Duration::from_secs_f64(m * 60.0)),
        device,
        workers: a.workers,
        augment: a.augment,
    };
    let mut vs = VarStore::new(device);
    let net = arch.build(&vs.root())?;
    log::info!("{}: {} parameters", arch.name(), parameter_count(&vs));
    load_initial_weights(&a, &mut vs)?;
    let distill = distillation(&a, device)?;
    let run = RunDir::create(&a.out)?;
    let mut bars = Bars::new(TRAIN_LABEL_WIDTH);
    let report = Training {
        net: &net,
        phases: &phases,
        cfg: &cfg,
        run: &run,
        resume: a.resume,
        distill: distill.as_ref(),
    }
    .run(&mut vs, |p| bars.show(p))?;
    plot_curves(&run, &report.history)?;
    for (name, dice, epoch, epochs) in &report.phases {
        println!(
            "{name}: best val dice {:.2} at epoch {epoch} of {epochs}",
            dice * 100.0
        );
    }
    println!(
        "{:.1} min{}; run folder {}",
        report.seconds / 60.0,
        if report.time_limited {
            " (time limit)"
        } else if report.paused {
            " (paused: run again with --resume to continue)"
        } else {
            ""
        },
        a.out.display()
    );
    Ok(())
}

/// The network `--model` asks for.
fn architecture(a: &FitArgs) -> Result<Architecture> {
    Ok(match a.model.as_str() {
        "student" => Architecture::Student(student_spec(a.size, a.widths.as_deref())?),
        other => Architecture::Teacher(TeacherConfig::preset(
            other.parse::<TeacherKind>().map_err(anyhow::Error::msg)?,
            a.teacher_size,
            Vocab::builtin().len(),
            Tokenizer::DEFAULT_MAX_LEN,
        )),
    })
}

/// Flags that only fit a student, or only a teacher.
fn check_model_flags(a: &FitArgs, arch: &Architecture) -> Result<()> {
    if arch.student().is_none() && a.distill_from.is_some() {
        bail!("--distill-from trains a student from a teacher: use it with --model student");
    }
    if arch.student().is_none() && a.widths.is_some() {
        bail!("--widths sets the student's channels: use it with --model student");
    }
    if arch.student().is_some() && (a.image_weights.is_some() || a.text_weights.is_some()) {
        bail!("--image-weights and --text-weights are for teachers (--model clipseg or cris)");
    }
    Ok(())
}

/// A split of a dataset and where its samples come from.
struct Split {
    source: Arc<dyn SampleSource>,
    from: Provenance,
}

/// The phases of `--strategy`, their data opened (each phase knows where its data comes
/// from).
fn phases(a: &FitArgs, arch: &Architecture) -> Result<Vec<Phase>> {
    let camus = a.common.camus.as_deref();
    let size = arch.input().0;
    let real = |split: &str| -> Result<Split> {
        let source = DataSpec::Camus.open(camus, split, size, a.seed)?;
        Ok(Split {
            source,
            from: Provenance::of([DataProvenance::Camus]),
        })
    };
    let synth = |split: &str| -> Result<Split> {
        let spec = a.synthetic.parse::<DataSpec>()?;
        let source = spec.open(camus, split, size, a.seed)?;
        Ok(Split {
            source,
            from: Provenance::of([spec.provenance()]),
        })
    };
    let warmup = a
        .warmup
        .unwrap_or(if arch.student().is_some() { 0 } else { 300 });
    let phase = |name: &str, data: &str, train: Split, val: &Split, epochs: usize| {
        let mut provenance = train.from;
        provenance.extend(&val.from);
        Phase {
            name: name.into(),
            data: data.into(),
            train: match a.limit_train {
                Some(n) => Arc::new(Take::new(train.source, n)),
                None => train.source,
            },
            val: Arc::clone(&val.source),
            provenance,
            config: PhaseConfig {
                epochs,
                lr: a.lr,
                patience: a.patience,
                schedule: a.schedule,
                warmup_steps: warmup,
                ema: a.ema,
                ..Default::default()
            },
        }
    };
    Ok(match a.strategy {
        Strategy::Real => {
            let train = real("train")?;
            vec![phase("train", "camus224", train, &real("val")?, a.epochs)]
        }
        Strategy::Synthetic => {
            // Validated on real data when it is there: that is what the model is for.
            let (val, data) = match real("val") {
                Ok(v) => (
                    v,
                    format!("{} (model selection on camus224 val)", a.synthetic),
                ),
                Err(_) => (synth("val")?, a.synthetic.clone()),
            };
            vec![phase("train", &data, synth("train")?, &val, a.epochs)]
        }
        Strategy::PtFt => {
            let val = real("val")?;
            vec![
                phase(
                    "pretrain",
                    &a.synthetic,
                    synth("train")?,
                    &val,
                    a.pretrain_epochs,
                ),
                phase("finetune", "camus224", real("train")?, &val, a.epochs),
            ]
        }
        Strategy::Mixed => {
            let share = a.synthetic_share;
            if !(0.0..1.0).contains(&share) {
                bail!("--synthetic-share {share}: give a share in [0, 1)");
            }
            let (real_train, synth_train) = (real("train")?, synth("train")?);
            // Every real sample once per epoch on average, synthetic ones making up `share`.
            let len = (real_train.source.len() as f64 / (1.0 - share)).round() as usize;
            let mut from = real_train.from;
            from.extend(&synth_train.from);
            let mix = Mix::new(
                vec![
                    (real_train.source, 1.0 - share),
                    (synth_train.source, share),
                ],
                len,
                a.seed,
            )?;
            let data = format!("camus224 + {} ({:.0}%)", a.synthetic, share * 100.0);
            let mix = Split {
                source: Arc::new(mix),
                from,
            };
            vec![phase("train", &data, mix, &real("val")?, a.epochs)]
        }
    })
}

/// `--init` and the teachers' `--image-weights` / `--text-weights`.
fn load_initial_weights(a: &FitArgs, vs: &mut VarStore) -> Result<()> {
    if let Some(init) = &a.init {
        RunDir::load_weights(vs, init)
            .with_context(|| format!("initialising from {}", init.display()))?;
        log::info!("initialised from {}", init.display());
    }
    for (file, part) in [
        (&a.image_weights, EncoderPart::Image),
        (&a.text_weights, EncoderPart::Text),
    ] {
        if let Some(f) = file {
            let r = load_encoder_weights(vs, f, part)?;
            log::info!(
                "{part:?} encoder from {}: {} tensors loaded, {} ignored, {} missing",
                f.display(),
                r.loaded,
                r.ignored,
                r.missing.len()
            );
        }
    }
    Ok(())
}

/// The teacher of `--distill-from`, with where its weights came from.
fn distillation(a: &FitArgs, device: tch::Device) -> Result<Option<Distillation>> {
    let Some(dir) = &a.distill_from else {
        return Ok(None);
    };
    // Any trained run can teach: a VLSM teacher, or a wider student (issue 27's CPU teacher).
    let (tvs, teacher, tstate): (VarStore, Network, _) = load_run(dir, device)?;
    log::info!(
        "distilling from {} ({}, {} parameters, T = {}, w = {})",
        dir.display(),
        tstate.arch.name(),
        parameter_count(&tvs),
        a.distill_temperature,
        a.distill_weight
    );
    Ok(Some(Distillation {
        teacher,
        temperature: a.distill_temperature,
        weight: a.distill_weight,
        provenance: tstate.provenance,
    }))
}

/// `loss.png` and `dice.png` of the run: losses and validation dice per epoch, all phases.
fn plot_curves(run: &RunDir, history: &[EpochRecord]) -> Result<()> {
    if history.is_empty() {
        return Ok(());
    }
    let mut x = 0.0;
    let (mut tl, mut vl, mut vd) = (Vec::new(), Vec::new(), Vec::new());
    for r in history {
        x += 1.0;
        tl.push((x, r.train_loss));
        vl.push((x, r.val_loss));
        vd.push((x, r.val_dice * 100.0));
    }
    line_chart(
        &run.path().join("loss.png"),
        "Loss per epoch (BCE + soft dice)",
        "epoch (all phases)",
        "loss",
        &[
            Series {
                name: "train".into(),
                points: tl,
            },
            Series {
                name: "val".into(),
                points: vl,
            },
        ],
    )?;
    line_chart(
        &run.path().join("dice.png"),
        "Validation dice per epoch",
        "epoch (all phases)",
        "mean dice ×100",
        &[Series {
            name: "val dice".into(),
            points: vd,
        }],
    )?;
    Ok(())
}
