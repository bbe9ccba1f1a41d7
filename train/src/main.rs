//! `synboost-train`: fit, evaluate and export the deployable student.
//!
//! ```text
//! synboost-train fit    --strategy real|synthetic|pt-ft|mixed --out RUN [--camus DIR] [--synthetic phantom:N|DIR] ...
//! synboost-train eval   --run RUN [--camus DIR] [--split val] [--prompts p0,p3] [--out REPORT_DIR]
//! synboost-train export --run RUN --out BUNDLE [--tar FILE] [--calibration-frames N]
//! synboost-train rescore --bundle BUNDLE --version V --reason TEXT   (same weights, new scores)
//! synboost-train fingerprint [--data camus] [--split train,val]       (what scores are made on)
//! synboost-train sdm-train  --data camus|phantom:N|DIR --out SDM_RUN [--size tiny|small|large] [--steps N]
//! synboost-train sdm-sample --run SDM_RUN --out DATASET [--per-source K] [--sampler ddim:50]
//! synboost-train experiment --synthetic DATASET --out DIR [fit's flags]   (real, synthetic, pt-ft)
//! ```
//!
//! Real data is the camus224 folder (seed layout), given by `--camus` or `SYNBOOST_CAMUS_DIR`;
//! it is read in place, never copied. Synthetic data is the phantom generator
//! (`phantom:N` patients) or a folder in the seed layout (e.g. SDM output).

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use synboost_core::engine::{Engine, EngineOptions, VariantChoice};
use synboost_core::model::bundle::PromptSettings;
use synboost_core::model::spec::ModelSpec;
use synboost_core::prompt::{PromptKind, PromptScheme, Wording};
use synboost_core::{Structure, Tokenizer, Vocab};
use synboost_data::SampleSource;
use synboost_data::seed::SeedDataset;
use synboost_export::quant::Calibration;
use synboost_export::reference::image_forward_hooked;
use synboost_export::student::{BundleInfo, write_student_bundle};
use synboost_phantom::source::PhantomSource;
use synboost_train::checkpoint::{RunDir, RunState};
use synboost_train::data::PromptMode;
use synboost_train::eval::{Backend, EvalConfig, evaluate, evaluate_with};
use synboost_train::model::{Architecture, Network};
use synboost_train::plot::{Series, line_chart, overlay_grid};
use synboost_train::runtime::{DeviceRequest, describe, select_device};
use synboost_train::teacher::{
    EncoderPart, TeacherConfig, TeacherKind, TeacherSize, load_encoder_weights,
};
use synboost_train::trainer::{
    Distillation, Phase, PhaseConfig, Schedule, Strategy, TrainConfig, train,
};
use tch::nn::VarStore;

/// Licence of models trained on CAMUS.
const CAMUS_LICENCE: &str = "CC BY-NC-SA 4.0 (weights trained on CAMUS: Leclerc et al., IEEE TMI 2019; non-commercial research only)";

#[derive(Parser)]
#[command(
    name = "synboost-train",
    version,
    about = "Train, evaluate and export the synboost student (tch / libtorch 2.11)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a student (and save checkpoints, logs and curves in the run folder).
    Fit(FitArgs),
    /// Evaluate a run's best weights per prompt kind and structure.
    Eval(EvalArgs),
    /// Export a run's best weights as a model bundle (f32 and calibrated int8).
    Export(ExportArgs),
    /// Build every model shape (student; teachers tiny, small and paper) and print their
    /// parameters and FLOPs per frame next to the seed paper's counts.
    Models {
        /// Skip the paper shapes (they take a few GB of memory to build).
        #[arg(long)]
        no_paper: bool,
    },
    /// Train the semantic diffusion model (label map → echo) on real or phantom pairs.
    SdmTrain(cmd::sdm::SdmTrainArgs),
    /// Sample a synthetic dataset (seed layout) from perturbed label maps with a trained SDM.
    SdmSample(cmd::sdm::SdmSampleArgs),
    /// Time SDM sampling (images/s) for each denoiser size and print a table.
    SdmBench(cmd::sdm::SdmBenchArgs),
    /// Train the student with each strategy (real, synthetic, pt-ft) on the same val split and
    /// report best dice and epochs-to-best side by side.
    Experiment(cmd::sdm::ExperimentArgs),
    /// Rewrite a trusted bundle folder's manifest in the current format, sealed, after
    /// verifying every file against it (bundles from before manifests were sealed). Prints the
    /// bundle digest to pin.
    Reseal {
        /// The bundle folder.
        dir: PathBuf,
    },
    /// Score a bundle again on camus224 val (f32 and int8) and record the scores, with the
    /// fingerprint of the data they were measured on, as a new version (same weights), resealed.
    Rescore(cmd::score::RescoreArgs),
    /// Print each split's data record: name, samples and the fingerprint scores made on it
    /// are recorded with.
    Fingerprint(cmd::score::FingerprintArgs),
}

mod cmd {
    pub mod score;
    pub mod sdm;
}

#[derive(Args, Clone)]
struct Common {
    /// camus224 folder (seed layout).
    #[arg(long, env = "SYNBOOST_CAMUS_DIR")]
    camus: Option<PathBuf>,
    /// Device: cpu, cuda, cuda:N or auto.
    #[arg(long, default_value = "auto")]
    device: String,
    /// libtorch CPU threads (default: all cores).
    #[arg(long)]
    threads: Option<i32>,
}

#[derive(Args, Clone)]
struct FitArgs {
    #[command(flatten)]
    common: Common,
    /// real, synthetic, pt-ft or mixed (real and synthetic in one phase).
    #[arg(long, default_value = "real")]
    strategy: Strategy,
    /// Share of synthetic samples in each epoch of the mixed strategy, in [0, 1).
    #[arg(long, default_value_t = 0.25)]
    synthetic_share: f64,
    /// Start from these weights (a safetensors checkpoint of the same spec) instead of a
    /// random initialisation.
    #[arg(long, conflicts_with = "resume")]
    init: Option<PathBuf>,
    /// Synthetic data: `phantom:N` (N phantom patients, generated on the fly) or a folder in
    /// the seed layout.
    #[arg(long, default_value = "phantom:200")]
    synthetic: String,
    /// Run folder (checkpoints, state, log, curves).
    #[arg(long)]
    out: PathBuf,
    /// Epochs of the real (or only) phase.
    #[arg(long, default_value_t = 30)]
    epochs: usize,
    /// Epochs of synthetic pretraining (pt-ft).
    #[arg(long, default_value_t = 10)]
    pretrain_epochs: usize,
    /// Batch size.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Initial learning rate.
    #[arg(long, default_value_t = 3e-3)]
    lr: f64,
    /// Learning-rate schedule: plateau (cut by half after 3 stalled epochs) or cosine (to 1e-5
    /// over --epochs, stepped per batch).
    #[arg(long, default_value = "plateau")]
    schedule: Schedule,
    /// Augment training pairs: random scale ±10 %, shift ±8 px, rotation ±10°, gamma 0.8–1.2.
    #[arg(long)]
    augment: bool,
    /// Early-stopping patience, epochs.
    #[arg(long, default_value_t = 8)]
    patience: usize,
    /// Linear learning-rate warm-up, steps at the start of each phase (default: 0 for the
    /// student, 300 for teachers).
    #[arg(long)]
    warmup: Option<usize>,
    /// Training prompts: p0..p7, a list (p1,p3) or mix.
    #[arg(long, default_value = "p3")]
    prompt: String,
    /// Validation prompt kind.
    #[arg(long, default_value = "p3")]
    val_prompt: String,
    /// Use at most this many training samples (quick runs).
    #[arg(long)]
    limit_train: Option<usize>,
    /// Validate on at most this many samples.
    #[arg(long)]
    limit_val: Option<usize>,
    /// Stop after this many minutes (validating and saving first).
    #[arg(long)]
    time_limit_min: Option<f64>,
    /// Seed of the weight initialisation (libtorch's generator), shuffling, prompt draws and
    /// augmentation.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Loader threads.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Continue the run in --out from its last checkpoint.
    #[arg(long)]
    resume: bool,
    /// Model input size of the student (square); teachers use their preset's.
    #[arg(long, default_value_t = 224)]
    size: usize,
    /// Student channel widths `ENC,../DEC,..` (e.g. `8,16,48,128,256/128,48,16,8`; default: the
    /// shipped student's). Stored with the run, so eval, export and --resume follow it.
    #[arg(long)]
    widths: Option<String>,
    /// What to train: student, clipseg or cris.
    #[arg(long, default_value = "student")]
    model: String,
    /// Teacher size: tiny, small (CPU) or paper (the seed's shapes; GPU).
    #[arg(long, default_value = "small")]
    teacher_size: TeacherSize,
    /// Teachers: load the image encoder from this safetensors file (CLIP `visual.*` names).
    #[arg(long)]
    image_weights: Option<PathBuf>,
    /// Teachers: load the text encoder from this safetensors file (CLIP names).
    #[arg(long)]
    text_weights: Option<PathBuf>,
    /// Distil from this teacher run folder (its best weights): the student also learns the
    /// teacher's logits.
    #[arg(long)]
    distill_from: Option<PathBuf>,
    /// Distillation temperature.
    #[arg(long, default_value_t = 2.0)]
    distill_temperature: f64,
    /// Weight of the teacher term in [0, 1] (the truth gets the rest).
    #[arg(long, default_value_t = 0.5)]
    distill_weight: f64,
}

#[derive(Args)]
struct EvalArgs {
    #[command(flatten)]
    common: Common,
    /// Run folder (uses best.safetensors and state.json).
    #[arg(long, required_unless_present = "bundle", conflicts_with = "bundle")]
    run: Option<PathBuf>,
    /// Evaluate a model bundle in core's engine (tract) instead: what ships, f32 or int8.
    #[arg(long)]
    bundle: Option<PathBuf>,
    /// With --bundle: f32 or int8.
    #[arg(long, default_value = "f32")]
    variant: String,
    /// Data: `camus` (the camus224 folder), `phantom:N`, or a seed-layout folder.
    #[arg(long, default_value = "camus")]
    data: String,
    /// Split.
    #[arg(long, default_value = "val")]
    split: String,
    /// Prompt kinds, comma-separated.
    #[arg(long, default_value = "p0,p1,p2,p3,p4,p5,p6,p7")]
    prompts: String,
    /// Evaluate at most this many samples.
    #[arg(long)]
    limit: Option<usize>,
    /// Report folder (default: RUN/eval-SPLIT, or BUNDLE-eval-SPLIT-VARIANT).
    #[arg(long)]
    out: Option<PathBuf>,
    /// With --bundle on camus224 val: compare with the scores the manifest records and fail,
    /// saying whether the dataset changed since the bundle was scored or the model scores
    /// differently on the same data.
    #[arg(long, requires = "bundle")]
    check_manifest: bool,
}

#[derive(Args)]
struct ExportArgs {
    /// Run folder.
    #[arg(long)]
    run: PathBuf,
    /// Bundle folder to write.
    #[arg(long)]
    out: PathBuf,
    /// Also pack the bundle as one tar file here.
    #[arg(long)]
    tar: Option<PathBuf>,
    /// Calibrate an int8 variant on this many frames (0: f32 only).
    #[arg(long, default_value_t = 8)]
    calibration_frames: usize,
    /// camus224 folder for calibration frames (train split); phantom frames otherwise.
    #[arg(long, env = "SYNBOOST_CAMUS_DIR")]
    camus: Option<PathBuf>,
    /// Model name.
    #[arg(long, default_value = "synboost-student")]
    name: String,
    /// Model version.
    #[arg(long, default_value = "0.1.0")]
    version: String,
    /// Evaluate the finished bundle (f32, and int8 when there is one) in core's engine on
    /// camus224 val at these prompt kinds, and record the scores in its manifest (`none`: skip;
    /// skipped too without a camus224 folder).
    #[arg(long, default_value = "p0,p1,p2,p3")]
    val_prompts: String,
}

fn parse_kind(s: &str) -> Result<PromptKind> {
    match s.parse::<PromptMode>()? {
        PromptMode::Fixed(k) => Ok(k),
        PromptMode::Mix(_) => bail!("one prompt kind expected, got {s:?}"),
    }
}

fn source(
    spec: &str,
    camus: Option<&Path>,
    split: &str,
    size: usize,
    seed: u64,
) -> Result<Arc<dyn SampleSource>> {
    if spec == "camus" {
        let dir = camus.context("no camus224 folder: pass --camus or set SYNBOOST_CAMUS_DIR")?;
        return Ok(Arc::new(SeedDataset::open(dir, split).with_context(
            || format!("opening {} ({split})", dir.display()),
        )?));
    }
    if let Some(n) = spec.strip_prefix("phantom:") {
        let n: usize = n
            .parse()
            .with_context(|| format!("bad phantom count in {spec:?}"))?;
        // Validation phantoms continue the numbering after the training ones.
        let (patients, first) = if split == "train" {
            (n, 0)
        } else {
            ((n / 5).max(4), 100_000)
        };
        return Ok(Arc::new(PhantomSource::new(patients, first, size, seed)));
    }
    let dir = Path::new(spec);
    Ok(Arc::new(SeedDataset::open(dir, split).with_context(
        || format!("opening {} ({split})", dir.display()),
    )?))
}

fn setup(c: &Common) -> Result<tch::Device> {
    if let Some(t) = c.threads {
        tch::set_num_threads(t);
    }
    let device = select_device(c.device.parse::<DeviceRequest>()?)?;
    log::info!("{} on {device:?}", describe());
    Ok(device)
}

fn student_spec(size: usize, widths: Option<&str>) -> Result<ModelSpec> {
    let mut spec = ModelSpec::student(Vocab::builtin().len(), Tokenizer::DEFAULT_MAX_LEN);
    spec.input.width = size;
    spec.input.height = size;
    // Widths are checked against the input size they will run at.
    match widths {
        Some(w) => Ok(spec.with_widths(w)?),
        None => {
            spec.validate()?;
            Ok(spec)
        }
    }
}

fn fit(a: FitArgs) -> Result<()> {
    let device = setup(&a.common)?;
    // Initial weights come from libtorch's generator: seed it, so that a run is repeatable.
    tch::manual_seed(a.seed as i64);
    let camus = a.common.camus.as_deref();
    let vocab = Vocab::builtin().len();
    let arch = match a.model.as_str() {
        "student" => Architecture::Student(student_spec(a.size, a.widths.as_deref())?),
        other => Architecture::Teacher(TeacherConfig::preset(
            other.parse::<TeacherKind>().map_err(anyhow::Error::msg)?,
            a.teacher_size,
            vocab,
            Tokenizer::DEFAULT_MAX_LEN,
        )),
    };
    let size = arch.input().0;
    if arch.student().is_none() && a.distill_from.is_some() {
        bail!("--distill-from trains a student from a teacher: use it with --model student");
    }
    if arch.student().is_none() && a.widths.is_some() {
        bail!("--widths sets the student's channels: use it with --model student");
    }
    if arch.student().is_some() && (a.image_weights.is_some() || a.text_weights.is_some()) {
        bail!("--image-weights and --text-weights are for teachers (--model clipseg or cris)");
    }
    let limit = |s: Arc<dyn SampleSource>, n: Option<usize>| -> Arc<dyn SampleSource> {
        match n {
            Some(n) => Arc::new(synboost_train::trainer::Take::new(s, n)),
            None => s,
        }
    };
    let real = |split: &str| source("camus", camus, split, size, a.seed);
    let synth = |split: &str| source(&a.synthetic, camus, split, size, a.seed);
    let phase = |name: &str,
                 data: &str,
                 train: Arc<dyn SampleSource>,
                 val: Arc<dyn SampleSource>,
                 epochs: usize| Phase {
        name: name.into(),
        data: data.into(),
        train: limit(train, a.limit_train),
        val,
        config: PhaseConfig {
            epochs,
            lr: a.lr,
            patience: a.patience,
            schedule: a.schedule,
            warmup_steps: a
                .warmup
                .unwrap_or(if arch.student().is_some() { 0 } else { 300 }),
            ..Default::default()
        },
    };
    let phases = match a.strategy {
        Strategy::Real => vec![phase(
            "train",
            "camus224",
            real("train")?,
            real("val")?,
            a.epochs,
        )],
        Strategy::Synthetic => {
            // Validated on real data when it is there: that is what the model is for.
            let (val, data) = match real("val") {
                Ok(v) => (
                    v,
                    format!("{} (model selection on camus224 val)", a.synthetic),
                ),
                Err(_) => (synth("val")?, a.synthetic.clone()),
            };
            vec![phase("train", &data, synth("train")?, val, a.epochs)]
        }
        Strategy::PtFt => {
            let val = real("val")?;
            vec![
                phase(
                    "pretrain",
                    &a.synthetic,
                    synth("train")?,
                    Arc::clone(&val),
                    a.pretrain_epochs,
                ),
                phase("finetune", "camus224", real("train")?, val, a.epochs),
            ]
        }
        Strategy::Mixed => {
            let share = a.synthetic_share;
            if !(0.0..1.0).contains(&share) {
                bail!("--synthetic-share {share}: give a share in [0, 1)");
            }
            let (real_train, synth_train) = (real("train")?, synth("train")?);
            // Every real sample once per epoch on average, synthetic ones making up `share`.
            let len = (real_train.len() as f64 / (1.0 - share)).round() as usize;
            let mix = synboost_train::data::Mix::new(
                vec![(real_train, 1.0 - share), (synth_train, share)],
                len,
                a.seed,
            )?;
            let data = format!("camus224 + {} ({:.0}%)", a.synthetic, share * 100.0);
            vec![phase("train", &data, Arc::new(mix), real("val")?, a.epochs)]
        }
    };
    let cfg = TrainConfig {
        batch_size: a.batch,
        prompt: a.prompt.parse::<PromptMode>()?,
        val_kind: parse_kind(&a.val_prompt)?,
        val_limit: a.limit_val,
        seed: a.seed,
        time_limit: a.time_limit_min.map(|m| Duration::from_secs_f64(m * 60.0)),
        device,
        workers: a.workers,
        progress: true,
        augment: a.augment,
    };
    let mut vs = VarStore::new(device);
    let net = arch.build(&vs.root())?;
    log::info!(
        "{}: {} parameters",
        arch.name(),
        synboost_train::teacher::layers::parameter_count(&vs)
    );
    if let Some(init) = &a.init {
        RunDir::load_weights(&mut vs, init)
            .with_context(|| format!("initialising from {}", init.display()))?;
        log::info!("initialised from {}", init.display());
    }
    for (file, part) in [
        (&a.image_weights, EncoderPart::Image),
        (&a.text_weights, EncoderPart::Text),
    ] {
        if let Some(f) = file {
            let r = load_encoder_weights(&mut vs, f, part)?;
            log::info!(
                "{part:?} encoder from {}: {} tensors loaded, {} ignored, {} missing",
                f.display(),
                r.loaded,
                r.ignored,
                r.missing.len()
            );
        }
    }
    let distill = match &a.distill_from {
        Some(dir) => {
            let (tvs, teacher, tstate) = load_run(dir, device)?;
            if tstate.arch.student().is_some() {
                bail!("{}: a student run, not a teacher", dir.display());
            }
            log::info!(
                "distilling from {} ({}, {} parameters, T = {}, w = {})",
                dir.display(),
                tstate.arch.name(),
                synboost_train::teacher::layers::parameter_count(&tvs),
                a.distill_temperature,
                a.distill_weight
            );
            Some(Distillation {
                teacher,
                temperature: a.distill_temperature,
                weight: a.distill_weight,
            })
        }
        None => None,
    };
    let run = RunDir::create(&a.out)?;
    let report = train(
        &mut vs,
        &net,
        &phases,
        &cfg,
        &run,
        a.resume,
        distill.as_ref(),
    )?;
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
        } else {
            ""
        },
        a.out.display()
    );
    Ok(())
}

fn plot_curves(run: &RunDir, history: &[synboost_train::checkpoint::EpochRecord]) -> Result<()> {
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

/// A run's best weights in the network its state describes (modules hold the tensors; the
/// variable store is returned for parameter counts and saving).
fn load_run(run: &Path, device: tch::Device) -> Result<(VarStore, Network, RunState)> {
    let dir = RunDir::create(run)?;
    let state = dir
        .load_state()?
        .with_context(|| format!("no state.json in {}", run.display()))?;
    let mut vs = VarStore::new(device);
    let net = state.arch.build(&vs.root())?;
    RunDir::load_weights(&mut vs, &dir.best())?;
    Ok((vs, net, state))
}

fn eval(a: EvalArgs) -> Result<()> {
    let device = setup(&a.common)?;
    let kinds = a
        .prompts
        .split(',')
        .map(parse_kind)
        .collect::<Result<Vec<_>>>()?;
    let pb = indicatif::ProgressBar::new(0);
    let progress = |done: usize, total: usize| {
        pb.set_length(total as u64);
        pb.set_position(done as u64);
    };
    let (report, preds, out) = match (&a.run, &a.bundle) {
        (Some(run), _) => {
            let (_vs, net, state) = load_run(run, device)?;
            let src = source(
                &a.data,
                a.common.camus.as_deref(),
                &a.split,
                state.arch.input().0,
                0,
            )?;
            let cfg = EvalConfig {
                kinds,
                threshold: state.arch.threshold(),
                limit: a.limit,
                keep_predictions: 24,
                ..Default::default()
            };
            let name = format!("{} ({})", a.data, a.split);
            let (r, p) = evaluate(&net, device, src.as_ref(), &name, &cfg, progress)?;
            let out = a
                .out
                .clone()
                .unwrap_or_else(|| run.join(format!("eval-{}", a.split)));
            (r, p, out)
        }
        (None, Some(bundle)) => {
            let variant = match a.variant.as_str() {
                "f32" => VariantChoice::F32,
                "int8" => VariantChoice::Int8,
                v => bail!("--variant {v:?}: expected f32 or int8"),
            };
            let opts = EngineOptions {
                variant,
                ..Default::default()
            };
            let mut engine = Engine::open(bundle, opts)
                .with_context(|| format!("opening {}", bundle.display()))?;
            let size = engine.spec().input.width;
            let src = source(&a.data, a.common.camus.as_deref(), &a.split, size, 0)?;
            let cfg = EvalConfig {
                kinds,
                limit: a.limit,
                keep_predictions: 24,
                ..Default::default()
            };
            let name = format!(
                "{} ({}), {} {}",
                a.data,
                a.split,
                bundle.display(),
                a.variant
            );
            let (r, p) = evaluate_with(
                Backend::Bundle(&mut engine),
                src.as_ref(),
                &name,
                &cfg,
                progress,
            )?;
            let out = a.out.clone().unwrap_or_else(|| {
                PathBuf::from(format!(
                    "{}-eval-{}-{}",
                    bundle.display(),
                    a.split,
                    a.variant
                ))
            });
            (r, p, out)
        }
        (None, None) => bail!("give --run or --bundle"),
    };
    pb.finish_and_clear();
    std::fs::create_dir_all(&out)?;
    report.write_json(&out.join("report.json"))?;
    overlay_grid(
        &out.join("overlays.png"),
        &preds,
        6,
        "prediction (red) vs truth (green)",
    )?;
    println!("{}", report.table());
    println!("report and overlays in {}", out.display());
    if a.check_manifest {
        check_manifest(&a, &report)?;
    }
    Ok(())
}

/// `eval --bundle B --check-manifest`: the fresh report against what B's manifest records.
fn check_manifest(a: &EvalArgs, report: &synboost_train::eval::EvalReport) -> Result<()> {
    let Some(bundle) = &a.bundle else {
        bail!("--check-manifest checks a bundle: give --bundle");
    };
    if a.data != "camus" || a.split != "val" || a.limit.is_some() {
        bail!(
            "--check-manifest compares with the manifest's {} scores: evaluate --data camus \
             --split val without --limit",
            cmd::score::CAMUS_VAL_KEY
        );
    }
    let b = synboost_core::model::bundle::Bundle::open(bundle)?;
    let recorded = &b.manifest().metrics[cmd::score::CAMUS_VAL_KEY][a.variant.as_str()];
    synboost_train::recorded::check(&a.variant, recorded, report)?;
    println!(
        "manifest check: {} {} {} records the same scores on the same data ({})",
        b.manifest().name,
        b.manifest().version,
        a.variant,
        report
            .data
            .as_ref()
            .map_or_else(String::new, |d| d.to_string())
    );
    Ok(())
}

fn export(a: ExportArgs) -> Result<()> {
    let device = tch::Device::Cpu;
    let (_vs, net, state) = load_run(&a.run, device)?;
    let (Some(student), Some(spec)) = (net.as_student(), state.arch.student()) else {
        bail!(
            "{}: a {} teacher run; bundles hold students (distil one with --distill-from)",
            a.run.display(),
            state.arch.name()
        );
    };
    let spec = spec.clone();
    let weights = student.weights()?;
    let cal = if a.calibration_frames > 0 {
        let src = match a.camus.as_deref() {
            Some(_) => source("camus", a.camus.as_deref(), "train", spec.input.width, 0)?,
            None => source("phantom:8", None, "train", spec.input.width, 0)?,
        };
        let tok = Tokenizer::default();
        let mut cal = Calibration::default();
        let step = (src.len() / a.calibration_frames.max(1)).max(1);
        for i in (0..src.len()).step_by(step).take(a.calibration_frames) {
            let sample = src.load(i)?;
            let conds = Structure::ALL
                .iter()
                .map(|s| {
                    let attrs = synboost_core::prompt::PromptAttrs::from_meta(*s, &sample.meta);
                    let (_, p) =
                        attrs.build_richest(PromptKind::P3, Wording::Heart, PromptScheme::Camus);
                    let ids = tok.encode(&p)?.0;
                    let t = tch::Tensor::from_slice(&ids).view([1, ids.len() as i64]);
                    let c = tch::no_grad(|| student.text(&t))?;
                    Ok(Vec::<f32>::try_from(c.flatten(0, -1))?)
                })
                .collect::<Result<Vec<_>>>()?;
            let img = sample.image;
            if img.width() != spec.input.width || img.height() != spec.input.height {
                bail!(
                    "calibration frames must be {}², {} is {}×{}",
                    spec.input.width,
                    sample.id,
                    img.width(),
                    img.height()
                );
            }
            image_forward_hooked(&spec, &weights, img.data(), &conds, &mut cal);
        }
        Some(cal)
    } else {
        None
    };
    // What training saw: the best validation dice (in libtorch, at the run's val prompt).
    // The best epoch is chosen in the last phase, on that phase's validation data.
    let val_data = synboost_train::trainer::recorded_val_data(&state)
        .pop()
        .flatten();
    let info_metrics = serde_json::json!({
        "best_val_dice": state.history.iter().map(|r| r.val_dice).fold(0.0, f64::max),
        "val_kind": state.config.get("val_kind"),
        "epochs": state.history.len(),
        "data": val_data,
    });
    // Weights trained (or validated, or calibrated) on CAMUS carry its licence.
    let trained_on_camus =
        state.config.to_string().contains("camus224") || cal.is_some() && a.camus.is_some();
    let info = BundleInfo {
        name: a.name,
        version: a.version,
        licence: if trained_on_camus {
            CAMUS_LICENCE.into()
        } else {
            "Apache-2.0 (trained on synthetic phantoms only)".into()
        },
        created: synboost_export::student::now_rfc3339(),
        thresholds: vec![0.5; spec.structures.len()],
        prompt: PromptSettings {
            kind: PromptKind::P3,
            scheme: PromptScheme::Camus,
            wording: Wording::Heart,
        },
        provenance: serde_json::json!({ "run": a.run.display().to_string(), "config": state.config, "epochs": state.history.len() }),
        metrics: serde_json::json!({ "training": info_metrics }),
    };
    let m = write_student_bundle(
        &a.out,
        info,
        &spec,
        &Vocab::builtin(),
        &weights,
        cal.as_ref(),
    )?;
    let kinds = match a.val_prompts.as_str() {
        "none" | "" => Vec::new(),
        list => list
            .split(',')
            .map(parse_kind)
            .collect::<Result<Vec<_>>>()?,
    };
    let m = match (kinds.is_empty(), a.camus.as_deref()) {
        (false, Some(camus)) => {
            let mut metrics = serde_json::json!({ "training": info_metrics });
            metrics[cmd::score::CAMUS_VAL_KEY] =
                cmd::score::bundle_val_metrics(&a.out, &m, camus, &kinds)?;
            synboost_core::model::bundle::Bundle::set_metrics(&a.out, metrics)?
        }
        (false, None) => {
            log::warn!("no camus224 folder: the manifest records no val metrics of the bundle");
            m
        }
        (true, _) => m,
    };
    if let Some(t) = a.tar {
        synboost_core::model::bundle::Bundle::pack(&a.out, &t)?;
    }
    println!(
        "bundle {} {} written to {} ({} files)",
        m.name,
        m.version,
        a.out.display(),
        m.files.len()
    );
    Ok(())
}

/// Parameters of a built architecture (the variables PyTorch would count as parameters).
fn built_parameters(arch: &Architecture) -> Result<usize> {
    let vs = VarStore::new(tch::Device::Cpu);
    arch.build(&vs.root())?;
    Ok(synboost_train::teacher::layers::parameter_count(&vs))
}

fn models(paper: bool) -> Result<()> {
    use synboost_train::teacher::{PAPER_CLIPSEG_PARAMS, PAPER_CRIS_PARAMS, flops};
    let vocab = Vocab::builtin().len();
    let len = Tokenizer::DEFAULT_MAX_LEN;
    let student = student_spec(224, None)?;
    let s_params = built_parameters(&Architecture::Student(student.clone()))?;
    let s_flops = student.image_flops();
    let n = student.structures.len();
    println!(
        "| model | size | input | parameters | with CLIP's token table | paper | GFLOP / frame ({n} prompts) | × student FLOPs | × student params |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| student | default | 224 | {:.3} M | | | {:.3} | 1 | 1 |",
        s_params as f64 / 1e6,
        s_flops as f64 / 1e9
    );
    let mut sizes = vec![TeacherSize::Tiny, TeacherSize::Small];
    if paper {
        sizes.push(TeacherSize::Paper);
    }
    for kind in [TeacherKind::ClipSeg, TeacherKind::Cris] {
        for &size in &sizes {
            let cfg = TeacherConfig::preset(kind, size, vocab, len);
            let ours = built_parameters(&Architecture::Teacher(cfg.clone()))?;
            let (clip, reference) = if size == TeacherSize::Paper {
                let c = built_parameters(&Architecture::Teacher(cfg.with_clip_text()))?;
                let p = match kind {
                    TeacherKind::ClipSeg => PAPER_CLIPSEG_PARAMS,
                    TeacherKind::Cris => PAPER_CRIS_PARAMS,
                };
                (
                    format!("{:.2} M", c as f64 / 1e6),
                    format!("{:.2} M", p / 1e6),
                )
            } else {
                (String::new(), String::new())
            };
            let f = flops::per_frame(&cfg, n);
            let ratio = |x: f64| {
                if x < 10.0 {
                    format!("{x:.1}")
                } else {
                    format!("{x:.0}")
                }
            };
            println!(
                "| {} | {size:?} | {} | {:.2} M | {clip} | {reference} | {:.2} | {} | {} |",
                Architecture::Teacher(cfg.clone()).name(),
                cfg.input(),
                ours as f64 / 1e6,
                f as f64 / 1e9,
                ratio(f as f64 / s_flops as f64),
                ratio(ours as f64 / s_params as f64)
            );
        }
    }
    println!(
        "\nOurs differ from the paper's models in the text token table and positions only: \
         {vocab} words + a start token over {} positions instead of CLIP's 49 408 tokens over 77.",
        len + 1
    );
    Ok(())
}

fn main() -> Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match Cli::parse().command {
        Command::Fit(a) => fit(a),
        Command::Eval(a) => eval(a),
        Command::Export(a) => export(a),
        Command::Models { no_paper } => models(!no_paper),
        Command::SdmTrain(a) => cmd::sdm::sdm_train(a),
        Command::SdmSample(a) => cmd::sdm::sdm_sample(a),
        Command::SdmBench(a) => cmd::sdm::sdm_bench(a),
        Command::Experiment(a) => cmd::sdm::experiment(a),
        Command::Rescore(a) => cmd::score::rescore(a),
        Command::Fingerprint(a) => cmd::score::fingerprint_cmd(a),
        Command::Reseal { dir } => {
            let b = synboost_core::model::bundle::Bundle::reseal(&dir)?;
            let m = b.manifest();
            println!(
                "{} {}: sealed; bundle digest {}",
                m.name,
                m.version,
                b.digest()
            );
            Ok(())
        }
    }
}
