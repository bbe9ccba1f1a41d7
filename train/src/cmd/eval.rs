//! `synboost-train eval`: score a run's best weights (libtorch) or a bundle (core's engine)
//! per prompt kind and structure; write `report.json`, `pairs.csv` (every pair's dice, for
//! `compare`) and `overlays.png`.

use super::common::{Common, parse_kinds, setup, source};
use super::progress::progress_bar;
use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::{Path, PathBuf};
use synboost_core::engine::{Engine, EngineOptions, VariantChoice};
use synboost_core::model::bundle::Bundle;
use synboost_core::prompt::PromptKind;
use synboost_train::bundle::CAMUS_VAL_KEY;
use synboost_train::checkpoint::load_run;
use synboost_train::eval::{Backend, EvalConfig, EvalReport, Prediction, evaluate, evaluate_with};
use synboost_train::plot::overlay_grid;

/// Arguments of `eval`.
#[derive(Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub common: Common,
    /// Run folder (uses best.safetensors and state.json).
    #[arg(long, required_unless_present = "bundle", conflicts_with = "bundle")]
    pub run: Option<PathBuf>,
    /// Evaluate a model bundle in core's engine (tract) instead: what ships, f32 or int8.
    #[arg(long)]
    pub bundle: Option<PathBuf>,
    /// With --bundle: f32 or int8.
    #[arg(long, default_value = "f32")]
    pub variant: String,
    /// Data: `camus` (the camus224 folder), `phantom:N`, or a seed-layout folder.
    #[arg(long, default_value = "camus")]
    pub data: String,
    /// Split.
    #[arg(long, default_value = "val")]
    pub split: String,
    /// Prompt kinds, comma-separated.
    #[arg(long, default_value = "p0,p1,p2,p3,p4,p5,p6,p7")]
    pub prompts: String,
    /// Evaluate at most this many samples.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Report folder (default: RUN/eval-SPLIT, or BUNDLE-eval-SPLIT-VARIANT).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// With --bundle on camus224 val: compare with the scores the manifest records and fail,
    /// saying whether the dataset changed since the bundle was scored or the model scores
    /// differently on the same data.
    #[arg(long, requires = "bundle")]
    pub check_manifest: bool,
    /// Mutual exclusion of the structures: each pixel goes at most to the structure with the
    /// highest logit for the same image and prompt kind.
    #[arg(long, conflicts_with = "check_manifest")]
    pub exclusive: bool,
}

/// Predictions kept for the overlay picture.
const OVERLAYS: usize = 24;

/// `eval`: evaluate, write the report and the overlays, print the table; with
/// `--check-manifest`, compare with what the bundle's manifest records.
pub fn eval(a: EvalArgs) -> Result<()> {
    let device = setup(&a.common)?;
    let kinds = parse_kinds(&a.prompts)?;
    let pb = progress_bar(0, "eval", "samples", 0);
    let progress = |done: usize, total: usize| {
        pb.set_length(total as u64);
        pb.set_position(done as u64);
    };
    let (report, preds, out) = match (&a.run, &a.bundle) {
        (Some(run), _) => eval_run(&a, run, device, kinds, progress)?,
        (None, Some(bundle)) => eval_bundle(&a, bundle, kinds, progress)?,
        (None, None) => bail!("give --run or --bundle"),
    };
    pb.finish_and_clear();
    std::fs::create_dir_all(&out)?;
    report.write_json(&out.join("report.json"))?;
    report.write_pairs_csv(&out.join("pairs.csv"))?;
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

/// The report, the kept predictions and the report folder.
type Evaluated = (EvalReport, Vec<Prediction>, PathBuf);

/// A run's best weights in libtorch.
fn eval_run(
    a: &EvalArgs,
    run: &Path,
    device: tch::Device,
    kinds: Vec<PromptKind>,
    progress: impl FnMut(usize, usize),
) -> Result<Evaluated> {
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
        keep_predictions: OVERLAYS,
        exclusive: a.exclusive,
        ..Default::default()
    };
    let name = format!("{} ({})", a.data, a.split);
    let (r, p) = evaluate(&net, device, src.as_ref(), &name, &cfg, progress)?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| run.join(format!("eval-{}", a.split)));
    Ok((r, p, out))
}

/// A bundle's f32 or int8 variant in core's engine.
fn eval_bundle(
    a: &EvalArgs,
    bundle: &Path,
    kinds: Vec<PromptKind>,
    progress: impl FnMut(usize, usize),
) -> Result<Evaluated> {
    let variant = match a.variant.as_str() {
        "f32" => VariantChoice::F32,
        "int8" => VariantChoice::Int8,
        v => bail!("--variant {v:?}: expected f32 or int8"),
    };
    let opts = EngineOptions {
        variant,
        ..Default::default()
    };
    let mut engine =
        Engine::open(bundle, opts).with_context(|| format!("opening {}", bundle.display()))?;
    let size = engine.spec().input.width;
    let src = source(&a.data, a.common.camus.as_deref(), &a.split, size, 0)?;
    let cfg = EvalConfig {
        kinds,
        limit: a.limit,
        keep_predictions: OVERLAYS,
        exclusive: a.exclusive,
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
    Ok((r, p, out))
}

/// `eval --bundle B --check-manifest`: the fresh report against what B's manifest records.
fn check_manifest(a: &EvalArgs, report: &EvalReport) -> Result<()> {
    let Some(bundle) = &a.bundle else {
        bail!("--check-manifest checks a bundle: give --bundle");
    };
    if a.data != "camus" || a.split != "val" || a.limit.is_some() {
        bail!(
            "--check-manifest compares with the manifest's {} scores: evaluate --data camus \
             --split val without --limit",
            CAMUS_VAL_KEY
        );
    }
    let b = Bundle::open(bundle)?;
    let recorded = &b.manifest().metrics[CAMUS_VAL_KEY][a.variant.as_str()];
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
