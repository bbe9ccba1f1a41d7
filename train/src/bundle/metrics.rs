//! The scores a bundle's manifest records: what training saw ([`training_metrics`]) and the
//! finished bundle evaluated in core's engine on camus224 val ([`bundle_val_metrics`]).

use super::ExportRunError;
use crate::checkpoint::RunState;
use crate::data::DataSpec;
use crate::eval::{Backend, EvalConfig, EvalReport, evaluate_with};
use crate::trainer::recorded_val_data;
use std::path::Path;
use synboost_core::engine::{Engine, EngineOptions, VariantChoice};
use synboost_core::model::bundle::Manifest;
use synboost_core::prompt::PromptKind;

/// The key of a manifest's `metrics` under which the camus224 val scores are recorded.
pub const CAMUS_VAL_KEY: &str = "camus224_val";

/// What training saw: the best validation dice (in libtorch, at the run's val prompt), the
/// val kind, the epochs run and the validation data record. The best epoch is chosen in the
/// last phase, on that phase's validation data.
pub fn training_metrics(state: &RunState) -> serde_json::Value {
    let val_data = recorded_val_data(state).pop().flatten();
    serde_json::json!({
        "best_val_dice": state.history.iter().map(|r| r.val_dice).fold(0.0, f64::max),
        "val_kind": state.config.get("val_kind"),
        "epochs": state.history.len(),
        "data": val_data,
    })
}

/// Evaluate the bundle in `dir` with core's engine (tract), f32 and (if present) int8, on
/// camus224 val at `kinds`; hand each variant's report to `each` and return what the manifest
/// records: `data` (what it was scored on), the command that prints the same numbers, and per
/// variant [`EvalReport::summary`] (which carries its own `data` record).
pub fn bundle_val_metrics(
    dir: &Path,
    manifest: &Manifest,
    camus: &Path,
    kinds: &[PromptKind],
    mut each: impl FnMut(&str, &EvalReport),
) -> Result<serde_json::Value, ExportRunError> {
    let src = DataSpec::Camus.open(Some(camus), "val", manifest.spec.input.width, 0)?;
    let list = kinds
        .iter()
        .map(|k| k.to_string().to_lowercase())
        .collect::<Vec<_>>()
        .join(",");
    let mut out = serde_json::json!({
        "description": "camus224 val (50 patients, 2CH and 4CH at ED and ES)",
        "command": format!("synboost-train eval --bundle BUNDLE --variant VARIANT --prompts {list}"),
    });
    for (variant, choice, role) in [
        ("f32", VariantChoice::F32, "image"),
        ("int8", VariantChoice::Int8, "image_int8"),
    ] {
        if !manifest.files.iter().any(|f| f.role == role) {
            continue;
        }
        let opts = EngineOptions {
            variant: choice,
            ..Default::default()
        };
        let mut engine = Engine::open(dir, opts).map_err(|source| ExportRunError::Engine {
            dir: dir.to_path_buf(),
            source,
        })?;
        let cfg = EvalConfig {
            kinds: kinds.to_vec(),
            ..Default::default()
        };
        let name = format!("camus (val), {} {variant}", dir.display());
        let (r, _) = evaluate_with(
            Backend::Bundle(&mut engine),
            src.as_ref(),
            &name,
            &cfg,
            |_, _| {},
        )?;
        each(variant, &r);
        out["samples"] = serde_json::json!(r.samples);
        out["data"] = serde_json::json!(r.data);
        out[variant] = r.summary();
    }
    Ok(out)
}
