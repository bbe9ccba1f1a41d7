//! `synboost-train sdm-train`, `sdm-sample` and `experiment`: the SDM and the three training
//! strategies side by side.

use super::common::{Common, setup, source};
use super::fit::{FitArgs, fit};
use super::progress::Bars;
use anyhow::{Context, Result, bail};
use clap::Args;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;
use synboost_data::SampleSource;
use synboost_train::checkpoint::{RunDir, RunState};
use synboost_train::plot::{Series, line_chart};
use synboost_train::sdm::fit::{PairSet, SdmModel, SdmTrainConfig, SdmTraining};
use synboost_train::sdm::generate::{GenerateOptions, generate_dataset, sample, to_bytes};
use synboost_train::sdm::labels::LabelMap;
use synboost_train::sdm::perturb::Perturbation;
use synboost_train::sdm::schedule::{Sampler, Schedule};
use synboost_train::sdm::sheet::{SheetRow, write_sheet};
use synboost_train::sdm::unet::UnetConfig;
use synboost_train::trainer::Strategy;
use tch::Tensor;

/// Arguments of `sdm-train`.
#[derive(Args)]
pub struct SdmTrainArgs {
    #[command(flatten)]
    common: Common,
    /// Training pairs: `camus` (camus224 train), `phantom:N`, or a seed-layout folder.
    #[arg(long, default_value = "camus")]
    data: String,
    /// Run folder.
    #[arg(long)]
    out: PathBuf,
    /// Denoiser size: tiny (tests, 64²), small (CPU, 112²) or large (GPU, 224²).
    #[arg(long, default_value = "small")]
    size: String,
    /// Optimiser steps.
    #[arg(long, default_value_t = 20_000)]
    steps: usize,
    /// Batch size.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Learning rate (Adam).
    #[arg(long, default_value_t = 2e-4)]
    lr: f64,
    /// EMA decay.
    #[arg(long, default_value_t = 0.999)]
    ema: f64,
    /// Checkpoint every this many steps.
    #[arg(long, default_value_t = 500)]
    checkpoint_every: usize,
    /// Use at most this many training samples.
    #[arg(long)]
    limit: Option<usize>,
    /// Stop (with a checkpoint) after this many minutes.
    #[arg(long)]
    time_limit_min: Option<f64>,
    /// Train in f32 on CUDA too (default: bf16 autocast on CUDA).
    #[arg(long)]
    no_bf16: bool,
    /// Continue the run in --out.
    #[arg(long)]
    resume: bool,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Arguments of `sdm-sample`.
#[derive(Args)]
pub struct SdmSampleArgs {
    #[command(flatten)]
    common: Common,
    /// SDM run folder (its EMA weights).
    #[arg(long)]
    run: PathBuf,
    /// Label maps from: `camus`, `phantom:N`, or a seed-layout folder.
    #[arg(long, default_value = "camus")]
    data: String,
    /// Split of the label-map source.
    #[arg(long, default_value = "train")]
    split: String,
    /// Dataset folder to write (seed layout, split `train`).
    #[arg(long)]
    out: PathBuf,
    /// Synthetic copies per source sample (each a new perturbation).
    #[arg(long, default_value_t = 1)]
    per_source: usize,
    /// Use at most this many source samples.
    #[arg(long)]
    limit: Option<usize>,
    /// Sampler: ddim:STEPS[:ETA] or ddpm:STEPS.
    #[arg(long, default_value = "ddim:50")]
    sampler: String,
    /// Images per sampling batch.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Side of the written images.
    #[arg(long, default_value_t = 224)]
    out_size: usize,
    /// Keep the source label maps as they are (no affine or elastic perturbation).
    #[arg(long)]
    no_perturb: bool,
    /// Sample in f32 on CUDA too.
    #[arg(long)]
    no_bf16: bool,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Arguments of `sdm-bench`.
#[derive(Args)]
pub struct SdmBenchArgs {
    #[command(flatten)]
    common: Common,
    /// Denoiser sizes to time (random weights: the cost does not depend on them).
    #[arg(long, default_value = "small,large")]
    sizes: String,
    /// Sampler.
    #[arg(long, default_value = "ddim:50")]
    sampler: String,
    /// Images per batch.
    #[arg(long, default_value_t = 4)]
    batch: usize,
    /// Timed batches per size (after one untimed warm-up step).
    #[arg(long, default_value_t = 1)]
    rounds: usize,
}

/// Arguments of `experiment`.
#[derive(Args)]
pub struct ExperimentArgs {
    /// Everything `fit` takes; `--out` is the experiment folder (one run per strategy in it),
    /// `--strategy` is ignored.
    #[command(flatten)]
    fit: FitArgs,
    /// Strategies to run, comma-separated.
    #[arg(long, default_value = "real,synthetic,pt-ft")]
    strategies: String,
}

/// `sdm-train`: read the pairs and train (or resume) the denoiser.
pub fn sdm_train(a: SdmTrainArgs) -> Result<()> {
    let device = setup(&a.common)?;
    let cfg = UnetConfig::preset(&a.size).map_err(anyhow::Error::msg)?;
    let src = source(
        &a.data,
        a.common.camus.as_deref(),
        "train",
        cfg.size,
        a.seed,
    )?;
    log::info!("reading {} pairs at {}²", src.len(), cfg.size);
    let pairs = PairSet::load(src.as_ref(), cfg.size, a.limit)?;
    let tc = SdmTrainConfig {
        steps: a.steps,
        batch: a.batch,
        lr: a.lr,
        ema_decay: a.ema,
        checkpoint_every: a.checkpoint_every,
        seed: a.seed,
        time_limit: a.time_limit_min.map(|m| Duration::from_secs_f64(m * 60.0)),
        bf16: !a.no_bf16,
        ..SdmTrainConfig::default()
    };
    let vs = tch::nn::VarStore::new(device);
    let params = synboost_train::sdm::unet::Unet::new(&vs.root(), &cfg)
        .map(|_| synboost_train::teacher::layers::parameter_count(&vs))
        .map_err(anyhow::Error::msg)?;
    log::info!("SDM {}: {params} parameters, {} pairs", a.size, pairs.len());
    let mut bars = Bars::new(0);
    let state = SdmTraining {
        dir: &a.out,
        unet: &cfg,
        pairs: &pairs,
        data: &a.data,
        cfg: &tc,
        device,
        resume: a.resume,
    }
    .run(|p| bars.show(p))?;
    let last = state.losses.last().map_or(f64::NAN, |l| l.1);
    println!(
        "SDM trained to step {} in {:.0} s (this session and before); last loss {last:.4}; {}",
        state.step,
        state.seconds,
        a.out.display()
    );
    Ok(())
}

/// `sdm-sample`: write a synthetic dataset and a contact sheet.
pub fn sdm_sample(a: SdmSampleArgs) -> Result<()> {
    let device = setup(&a.common)?;
    let sampler: Sampler = a.sampler.parse().map_err(anyhow::Error::msg)?;
    let (model, state) = SdmModel::open(&a.run, device)?;
    let src = source(
        &a.data,
        a.common.camus.as_deref(),
        &a.split,
        a.out_size,
        a.seed,
    )?;
    let perturbation = if a.no_perturb {
        Perturbation::identity()
    } else {
        Perturbation::default()
    };
    let opts = GenerateOptions {
        per_source: a.per_source,
        limit: a.limit,
        perturbation,
        sampler,
        batch: a.batch,
        out_size: a.out_size,
        split: "train".into(),
        seed: a.seed,
        bf16: !a.no_bf16,
    };
    let mut bars = Bars::new(0);
    let rep = generate_dataset(&model, state.timesteps, src.as_ref(), &a.out, &opts, |p| {
        bars.show(p)
    })?;
    let per_s = rep.images as f64 / rep.sampling_seconds.max(1e-9);
    println!(
        "wrote {} images to {} ({} source samples skipped); sampling {:.1} s, {per_s:.3} images/s at {}² with {} on {}",
        rep.images,
        a.out.display(),
        rep.skipped,
        rep.sampling_seconds,
        model.ema.config().size,
        a.sampler,
        synboost_train::runtime::describe(),
    );
    // A contact sheet: up to 8 source label maps, their real image and two samples each.
    let size = model.ema.config().size;
    let n = src.len().min(8);
    let mut labels = Vec::new();
    let mut reals = Vec::new();
    let mut prep = synboost_core::preprocess::Preprocessor::new(size, size);
    for i in 0..n {
        let s = src.load(i)?;
        labels.push(LabelMap::of_sample(&s).resized(size, size));
        let out = synboost_train::data::resize_gray(&mut prep, &s.image, size, size)?;
        reals.push(out);
    }
    if n > 0 {
        let flat: Vec<u8> = labels.iter().flat_map(|l| l.data.clone()).collect();
        let t = Tensor::from_slice(&flat).view([n as i64, size as i64, size as i64]);
        let schedule = Schedule::cosine(state.timesteps);
        let a1 = to_bytes(&sample(
            &model,
            &schedule,
            &t,
            sampler,
            a.seed + 1,
            !a.no_bf16,
        ))?;
        let a2 = to_bytes(&sample(
            &model,
            &schedule,
            &t,
            sampler,
            a.seed + 2,
            !a.no_bf16,
        ))?;
        let rows: Vec<SheetRow> = (0..n)
            .map(|i| SheetRow {
                label: labels[i].clone(),
                images: vec![reals[i].clone(), a1[i].clone(), a2[i].clone()],
            })
            .collect();
        let p = a.out.join("sheet.png");
        write_sheet(&p, &rows, 2).map_err(anyhow::Error::msg)?;
        println!(
            "contact sheet (label map | real | two samples): {}",
            p.display()
        );
    }
    Ok(())
}

/// Time sampling for each size on phantom label maps and print a table of images/s.
pub fn sdm_bench(a: SdmBenchArgs) -> Result<()> {
    let device = setup(&a.common)?;
    let sampler: Sampler = a.sampler.parse().map_err(anyhow::Error::msg)?;
    println!(
        "| size | image | parameters | sampler | batch | seconds / batch | images / s | device |\n|---|---|---|---|---|---|---|---|"
    );
    for name in a.sizes.split(',').map(str::trim) {
        let cfg = UnetConfig::preset(name).map_err(anyhow::Error::msg)?;
        let model = SdmModel::new(&cfg, device)?;
        let params = synboost_train::teacher::layers::parameter_count(&model.ema_vs);
        let src = synboost_phantom::source::PhantomSource::new(a.batch.div_ceil(4), 0, cfg.size, 1);
        let labs: Vec<u8> = (0..a.batch)
            .map(|i| {
                src.load(i % src.len())
                    .map(|s| LabelMap::of_sample(&s).data)
            })
            .collect::<std::result::Result<Vec<_>, _>>()?
            .concat();
        let s = cfg.size as i64;
        let t = Tensor::from_slice(&labs).view([a.batch as i64, s, s]);
        let schedule = Schedule::cosine(1000);
        // Warm-up: one step.
        let _ = sample(
            &model,
            &schedule,
            &t,
            Sampler::Ddim { steps: 1, eta: 0.0 },
            0,
            true,
        );
        let t0 = std::time::Instant::now();
        for r in 0..a.rounds.max(1) {
            let _ = sample(&model, &schedule, &t, sampler, r as u64, true);
        }
        let per_batch = t0.elapsed().as_secs_f64() / a.rounds.max(1) as f64;
        println!(
            "| {name} | {}² | {:.2} M | {} | {} | {per_batch:.2} | {:.4} | {} |",
            cfg.size,
            params as f64 / 1e6,
            a.sampler,
            a.batch,
            a.batch as f64 / per_batch,
            synboost_train::runtime::describe()
        );
    }
    Ok(())
}

/// (best val dice, epoch of the best counted over all phases, phase of the best, epochs run).
fn summary(state: &RunState) -> (f64, usize, String, usize) {
    let mut best = (f64::NEG_INFINITY, 0usize, String::new());
    for (i, r) in state.history.iter().enumerate() {
        if r.val_dice > best.0 {
            best = (r.val_dice, i + 1, format!("{} {}", r.phase, r.epoch));
        }
    }
    (best.0, best.1, best.2, state.history.len())
}

/// `experiment`: one student run per strategy, then a table and a chart.
pub fn experiment(a: ExperimentArgs) -> Result<()> {
    let root = a.fit.out.clone();
    std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    let strategies: Vec<Strategy> = a
        .strategies
        .split(',')
        .map(|s| s.trim().parse::<Strategy>().map_err(anyhow::Error::msg))
        .collect::<Result<_>>()?;
    if strategies.is_empty() {
        bail!("--strategies: give at least one");
    }
    let mut table = String::new();
    let _ = writeln!(
        table,
        "| strategy | best val dice ({}) | epoch of best (all phases) | best at | epochs run |\n|---|---|---|---|---|",
        a.fit.val_prompt
    );
    let mut curves = Vec::new();
    for st in strategies {
        let name = format!("{st:?}").to_lowercase();
        let out = root.join(&name);
        let mut args = a.fit.clone();
        args.strategy = st;
        args.out = out.clone();
        args.resume = RunDir::create(&out)?.load_state()?.is_some();
        log::info!("experiment: {name} → {}", out.display());
        fit(args)?;
        let state = RunDir::create(&out)?
            .load_state()?
            .with_context(|| format!("{}: no state after training", out.display()))?;
        let (best, at, phase, n) = summary(&state);
        let _ = writeln!(
            table,
            "| {name} | {:.2} | {at} | {phase} | {n} |",
            best * 100.0
        );
        curves.push(Series::new(
            name,
            state
                .history
                .iter()
                .enumerate()
                .map(|(i, r)| ((i + 1) as f64, r.val_dice * 100.0))
                .collect(),
        ));
    }
    let _ = writeln!(
        table,
        "\nSynthetic data: `{}`. Same val split (camus224 val), seed {}, batch {}, lr {}.",
        a.fit.synthetic, a.fit.seed, a.fit.batch, a.fit.lr
    );
    let md = root.join("results.md");
    std::fs::write(&md, &table).with_context(|| format!("writing {}", md.display()))?;
    let png = root.join("dice.png");
    line_chart(
        &png,
        "Validation dice per epoch by strategy",
        "epoch (pretraining epochs first for pt-ft)",
        "val dice (%)",
        &curves,
    )?;
    print!("{table}");
    println!("{} and {}", md.display(), png.display());
    Ok(())
}
