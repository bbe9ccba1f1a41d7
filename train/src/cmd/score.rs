//! Scores that say what they were measured on: `rescore` (score a bundle again and record it
//! as a new version) and `fingerprint` (print what a dataset's scores would be recorded
//! against). The evaluation of a finished bundle that `export` and `rescore` record in a
//! manifest is the library's ([`bundle_val_metrics`]).

use super::common::{parse_kind, parse_kinds, source};
use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::PathBuf;
use synboost_core::model::bundle::{Bundle, Manifest};
use synboost_core::prompt::PromptKind;
use synboost_data::fingerprint::fingerprint;
use synboost_train::bundle::{CAMUS_VAL_KEY, bundle_val_metrics};

/// `synboost-train rescore`.
#[derive(Args)]
pub struct RescoreArgs {
    /// The bundle folder to score and rewrite.
    #[arg(long)]
    pub bundle: PathBuf,
    /// camus224 folder (seed layout).
    #[arg(long, env = "SYNBOOST_CAMUS_DIR")]
    pub camus: Option<PathBuf>,
    /// The version to give the re-scored bundle: the weights are the same, the manifest (and so
    /// the bundle digest) is not, so it is a new version, normally the next patch version.
    #[arg(long)]
    pub version: String,
    /// Why it was re-scored (kept in the manifest's provenance).
    #[arg(long)]
    pub reason: String,
    /// Prompt kinds to score (default: those the manifest records, else P0–P3).
    #[arg(long)]
    pub prompts: Option<String>,
}

/// `synboost-train fingerprint`.
#[derive(Args)]
pub struct FingerprintArgs {
    /// camus224 folder (seed layout).
    #[arg(long, env = "SYNBOOST_CAMUS_DIR")]
    pub camus: Option<PathBuf>,
    /// Data: `camus` (the camus224 folder), `phantom:N`, or a seed-layout folder.
    #[arg(long, default_value = "camus")]
    pub data: String,
    /// Splits, comma-separated.
    #[arg(long, default_value = "train,val")]
    pub split: String,
    /// Model input size for phantoms (their images are rendered at it).
    #[arg(long, default_value_t = 224)]
    pub size: usize,
}

/// Print the data record (name, samples, fingerprint) of each split.
pub fn fingerprint_cmd(a: FingerprintArgs) -> Result<()> {
    for split in a.split.split(',') {
        let src = source(&a.data, a.camus.as_deref(), split, a.size, 0)?;
        let r = fingerprint(src.as_ref(), None)
            .with_context(|| format!("fingerprinting {} ({split})", a.data))?;
        println!("{}\t{}\t{}", r.name, r.samples, r.fingerprint);
    }
    Ok(())
}

/// Score the bundle again on camus224 val (f32 and int8), record the scores with their data
/// fingerprint as a new version, reseal, and print the new digest.
pub fn rescore(a: RescoreArgs) -> Result<()> {
    let camus = a
        .camus
        .as_deref()
        .context("no camus224 folder: pass --camus or set SYNBOOST_CAMUS_DIR")?;
    let old = Bundle::open(&a.bundle)
        .with_context(|| format!("opening {}", a.bundle.display()))?
        .manifest()
        .clone();
    // Bundle::rescore refuses this too, but only after the two evaluations (minutes).
    if a.version == old.version {
        bail!(
            "--version {}: the bundle is already {}; a re-scored bundle has another manifest and \
             digest, so give it a new version",
            a.version,
            old.version
        );
    }
    let kinds = match &a.prompts {
        Some(list) => parse_kinds(list)?,
        None => recorded_kinds(&old),
    };
    let mut metrics = old.metrics.clone();
    if !metrics.is_object() {
        metrics = serde_json::json!({});
    }
    // A score recorded before fingerprints existed stays as history, marked as such.
    if let Some(t) = metrics
        .get_mut("training")
        .filter(|t| t.get("data").is_none())
    {
        t["data"] = serde_json::json!({
            "fingerprint": null,
            "note": format!(
                "not fingerprinted: measured on the data as it was before re-scoring as {} ({})",
                a.version, a.reason
            ),
        });
    }
    let previous = metrics.get(CAMUS_VAL_KEY).cloned();
    metrics[CAMUS_VAL_KEY] = bundle_val_metrics(&a.bundle, &old, camus, &kinds, |_, r| {
        println!("{}", r.table());
    })?;
    let at = synboost_export::student::now_rfc3339();
    let b = Bundle::rescore(&a.bundle, &a.version, metrics, &a.reason, &at)?;
    let m = b.manifest();
    println!(
        "{}",
        compare_table(previous.as_ref(), &m.metrics[CAMUS_VAL_KEY])
    );
    println!(
        "{} {} (was {}): re-scored and sealed; bundle digest {}",
        m.name,
        m.version,
        old.version,
        b.digest()
    );
    Ok(())
}

/// The prompt kinds a manifest records scores for (P0–P3 when it records none).
fn recorded_kinds(m: &Manifest) -> Vec<PromptKind> {
    let mut kinds: Vec<PromptKind> = m.metrics[CAMUS_VAL_KEY]["f32"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| parse_kind(&k.to_lowercase()).ok())
        .collect();
    if kinds.is_empty() {
        kinds = vec![
            PromptKind::P0,
            PromptKind::P1,
            PromptKind::P2,
            PromptKind::P3,
        ];
    }
    kinds
}

/// Mean dice per variant and kind, before and after, as a markdown table.
fn compare_table(before: Option<&serde_json::Value>, after: &serde_json::Value) -> String {
    let mut s = String::from(
        "| variant | kind | recorded before | now | change |\n|---|---|---|---|---|\n",
    );
    for variant in ["f32", "int8"] {
        let Some(kinds) = after[variant].as_object() else {
            continue;
        };
        for (kind, k) in kinds.iter().filter(|(k, _)| k.starts_with('P')) {
            let now = k["mean_dice"].as_f64().unwrap_or(f64::NAN) * 100.0;
            let was = before
                .and_then(|b| b[variant][kind]["mean_dice"].as_f64())
                .map(|d| d * 100.0);
            let (was_s, change) = match was {
                Some(w) => (format!("{w:.2}"), format!("{:+.2}", now - w)),
                None => ("—".into(), "—".into()),
            };
            s += &format!("| {variant} | {kind} | {was_s} | {now:.2} | {change} |\n");
        }
    }
    s
}
