//! Phantom datasets in the seed layout, readable by `synboost_data::seed::SeedDataset`:
//!
//! ```text
//! <out>/images/<split>/phantomNNNN_{2CH,4CH}_{ED,ES}.png
//! <out>/masks/<split>/mask_{1,2,3}/phantomNNNN_{2CH,4CH}_{ED,ES}_gt.png
//! <out>/anns/<split>.json      one entry per image and structure: prompts p0..p7 + attributes
//! ```
//!
//! Files are written by `synboost-data`'s [`SeedWriter`]; each entry also carries the phantom's true EF
//! and LV volume.
//!
//! Each phantom patient gives the ED and ES frames of both apical views, like CAMUS. Quality
//! is drawn per patient (good 50 %, medium 35 %, poor 15 %), EF in 30–75 %, heart rate 55–95.
//! Prompts are built by `synboost_core::prompt` (CAMUS scheme: P6 quality, P7 shape), with shape
//! words from mask geometry (`synboost_data::shape`).

use crate::PhantomError;
pub use crate::source::patient_quality;
use crate::source::{PHASES, VIEWS, patient_frame, patient_id, patient_phantom, sample_id};
use serde_json::{Map, json};
use std::path::{Path, PathBuf};
use synboost_core::prompt::{PromptAttrs, PromptKind, PromptScheme, Wording};
use synboost_core::structure::Structure;
use synboost_data::Sample;
use synboost_data::shape::shape_of;
use synboost_data::writer::SeedWriter;

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Dataset root.
    pub out: PathBuf,
    /// Split name (`train`, `val`, …).
    pub split: String,
    /// Number of phantom patients.
    pub patients: usize,
    /// First patient number (so splits can continue each other's numbering).
    pub first_patient: usize,
    /// Square image size, pixels.
    pub size: usize,
    /// Base seed.
    pub seed: u64,
}

/// Export errors.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Phantom settings or rendering failed.
    #[error("phantom: {0}")]
    Phantom(#[from] PhantomError),
    /// Writing a file failed.
    #[error("{path}: {message}")]
    Write {
        /// File.
        path: PathBuf,
        /// Cause.
        message: String,
    },
    /// Building a prompt failed (a bug if it happens: phantoms know every attribute).
    #[error("prompt: {0}")]
    Prompt(#[from] synboost_core::prompt::PromptError),
}

/// Summary of an export.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExportReport {
    /// Images written.
    pub images: usize,
    /// Annotation entries (image × structure).
    pub entries: usize,
}

fn write_err(path: &Path, e: impl std::fmt::Display) -> ExportError {
    ExportError::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Write the dataset; `progress` is called after each patient with (done, total).
pub fn export_dataset(
    opts: &ExportOptions,
    mut progress: impl FnMut(usize, usize),
) -> Result<ExportReport, ExportError> {
    let mut writer = SeedWriter::create(&opts.out, &opts.split, PromptScheme::Camus)
        .map_err(|e| write_err(&opts.out, e))?;
    let mut report = ExportReport::default();
    for k in 0..opts.patients {
        let n = opts.first_patient + k;
        for view in VIEWS {
            let ph = patient_phantom(opts.seed, n, opts.size, view)?;
            for phase in PHASES {
                let f = patient_frame(&ph, opts.seed, n, phase)?;
                let id = sample_id(n, view, phase);
                // Phantoms know every attribute: every kind P0–P7 must build.
                for s in Structure::ALL {
                    let mut attrs = PromptAttrs::from_meta(s, &f.meta);
                    attrs.shape = shape_of(&f.masks[s.index()]);
                    for kind in PromptKind::ALL {
                        attrs.build(kind, Wording::Heart, PromptScheme::Camus)?;
                    }
                }
                let sample = Sample {
                    id: id.clone(),
                    patient: patient_id(n),
                    image: f.image,
                    masks: f.masks,
                    meta: f.meta,
                    shapes: [None; 3],
                };
                let mut extra = Map::new();
                extra.insert("ef_percent".into(), json!(ph.patient().ef_percent));
                extra.insert("lv_volume_ml".into(), json!(f.truth.lv_volume_ml));
                writer
                    .write(&sample, &extra)
                    .map_err(|e| write_err(&opts.out, e))?;
                report.images += 1;
                report.entries += Structure::ALL.len();
            }
        }
        progress(k + 1, opts.patients);
    }
    writer.finish().map_err(|e| write_err(&opts.out, e))?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Phantom, PhantomConfig};
    use synboost_core::meta::{Phase, View};
    use synboost_data::SampleSource;
    use synboost_data::seed::SeedDataset;

    #[test]
    fn export_reads_back_with_the_seed_reader() {
        let dir = tempfile::tempdir().unwrap();
        let opts = ExportOptions {
            out: dir.path().to_path_buf(),
            split: "train".into(),
            patients: 2,
            first_patient: 1,
            size: 96,
            seed: 3,
        };
        let mut calls = 0;
        let rep = export_dataset(&opts, |_, _| calls += 1).unwrap();
        assert_eq!(calls, 2);
        assert_eq!(
            rep,
            ExportReport {
                images: 8,
                entries: 24
            }
        );
        let ds = SeedDataset::open(dir.path(), "train").unwrap();
        assert_eq!(ds.len(), 8);
        assert_eq!(ds.patients(), vec!["phantom0001", "phantom0002"]);
        let s = ds.load(0).unwrap();
        assert_eq!(s.id, "phantom0001_2CH_ED");
        // Same pixels and masks as rendering the phantom again.
        let ph = Phantom::new(PhantomConfig {
            width: 96,
            height: 96,
            view: View::TwoChamber,
            quality: patient_quality(3, 1),
            seed: 3u64.wrapping_mul(1_000_003).wrapping_add(1),
            ..PhantomConfig::default()
        })
        .unwrap();
        let f = ph
            .frame_at(
                Phase::EndDiastole,
                3u64.wrapping_mul(1_000_003).wrapping_add(1) ^ 0x55,
            )
            .unwrap();
        assert_eq!(s.image, f.image);
        assert_eq!(s.masks, f.masks);
        assert_eq!(s.meta.sex, f.meta.sex);
        assert_eq!(s.meta.quality, f.meta.quality);
        assert!(s.meta.pixel_spacing.is_some());
        assert!(s.shapes.iter().all(Option::is_some));
        // Prompts in the file are the builder's, P7 with the geometry's shape word.
        let anns: Vec<serde_json::Value> = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("anns/train.json")).unwrap(),
        )
        .unwrap();
        let a = &anns[0];
        let p7 = a["prompts"]["p7"][0].as_str().unwrap();
        let shape = a["shape"].as_str().unwrap();
        assert!(p7.starts_with(&format!("Left ventricular cavity of {shape} shape in two-chamber view of the heart at end of the diastole cycle of a")), "{p7}");
        assert_eq!(a["prompts"]["p0"], json!(""));
        assert!(
            a["ef_percent"]
                .as_f64()
                .is_some_and(|e| (30.0..=75.0).contains(&e))
        );
        assert!(a["lv_volume_ml"].as_f64().is_some());
    }
}
