//! The seed repository's dataset layout:
//!
//! ```text
//! <root>/images/<split>/<name>.png                 8-bit grey image
//! <root>/masks/<split>/mask_{1,2,3}/<mask>.png     0/255 mask per structure
//! <root>/anns/<split>.json                         [{img_name, mask_name, prompts, …}, …]
//! ```
//!
//! `mask_name` is relative to `masks/<split>/` and starts with `mask_<label>/`. Annotation
//! entries may carry attributes (`view`, `phase`, `sex`, `age`, `quality`, `shape`,
//! `pixel_spacing_mm`); our own exports write them, the seed's CAMUS annotations do not, and
//! then view and phase come from the `patientNNNN_2CH_ED` file name. Without an annotation file
//! the images are listed and masks found as `mask_<label>/<name>_gt.png`.

use super::{DataError, Sample, SampleSource, parse_camus_name};
use crate::png::GrayPng;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use synboost_core::meta::{ImageQuality, Phase, PixelSpacing, ScanMeta, Sex, View};
use synboost_core::prompt::Shape;
use synboost_core::raster::{GrayImage, Mask};
use synboost_core::structure::Structure;

#[derive(Debug, Clone)]
struct Entry {
    id: String,
    patient: String,
    image: PathBuf,
    masks: [Option<PathBuf>; 3],
    meta: ScanMeta,
    shapes: [Option<Shape>; 3],
}

/// One annotation record as the seed (and our exporter) writes it. Unknown fields are ignored.
#[derive(Debug, Deserialize)]
struct Ann {
    img_name: String,
    mask_name: String,
    #[serde(default)]
    view: Option<String>,
    #[serde(default)]
    phase: Option<String>,
    #[serde(default)]
    sex: Option<String>,
    #[serde(default)]
    age: Option<u8>,
    #[serde(default)]
    quality: Option<String>,
    #[serde(default)]
    shape: Option<String>,
    #[serde(default)]
    pixel_spacing_mm: Option<[f64; 2]>,
    #[serde(default)]
    frame_time_ms: Option<f64>,
}

/// A split of a dataset in the seed layout.
#[derive(Debug, Clone)]
pub struct SeedDataset {
    root: PathBuf,
    split: String,
    entries: Vec<Entry>,
}

impl SeedDataset {
    /// Open `<root>` for `split` (`train`, `val`, …). Reads the annotation file if present, else
    /// lists `images/<split>/`. Fails only when neither exists or the annotation file is not
    /// valid JSON of the expected shape; problems of single samples surface in
    /// [`SampleSource::load`].
    pub fn open(root: &Path, split: &str) -> Result<Self, DataError> {
        let ann_path = root.join("anns").join(format!("{split}.json"));
        let entries = if ann_path.is_file() {
            Self::from_anns(root, split, &ann_path)?
        } else {
            Self::from_listing(root, split)?
        };
        log::debug!(
            "seed dataset {} / {split}: {} samples",
            root.display(),
            entries.len()
        );
        Ok(Self {
            root: root.to_path_buf(),
            split: split.to_string(),
            entries,
        })
    }

    /// Dataset root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Split name.
    pub fn split(&self) -> &str {
        &self.split
    }

    /// Patients in this split, sorted.
    pub fn patients(&self) -> Vec<String> {
        let mut p: Vec<String> = self.entries.iter().map(|e| e.patient.clone()).collect();
        p.sort();
        p.dedup();
        p
    }

    /// Keep only samples of the given patients (for re-splitting by patient).
    pub fn retain_patients(&mut self, keep: &[String]) {
        self.entries.retain(|e| keep.contains(&e.patient));
    }

    fn from_anns(root: &Path, split: &str, ann_path: &Path) -> Result<Vec<Entry>, DataError> {
        let text = std::fs::read_to_string(ann_path).map_err(|e| DataError::io(ann_path, e))?;
        let anns: Vec<Ann> = serde_json::from_str(&text)
            .map_err(|e| DataError::format(ann_path, format!("annotation JSON: {e}")))?;
        let mut by_image: BTreeMap<String, Entry> = BTreeMap::new();
        for (i, a) in anns.into_iter().enumerate() {
            let bad = |m: String| DataError::format(ann_path, format!("entry {i}: {m}"));
            let label = a
                .mask_name
                .strip_prefix("mask_")
                .and_then(|r| r.split('/').next())
                .and_then(|d| d.parse::<u8>().ok())
                .and_then(Structure::from_label)
                .ok_or_else(|| {
                    bad(format!(
                        "mask_name {:?} does not start with mask_1/, mask_2/ or mask_3/",
                        a.mask_name
                    ))
                })?;
            if a.img_name.contains("..") || a.mask_name.contains("..") {
                return Err(bad("paths may not contain `..`".into()));
            }
            let stem = a
                .img_name
                .rsplit_once('.')
                .map_or(a.img_name.as_str(), |(s, _)| s)
                .to_string();
            let entry = match by_image.get_mut(&stem) {
                Some(e) => e,
                None => {
                    let e = new_entry(root, split, &stem, &a.img_name);
                    by_image.entry(stem.clone()).or_insert(e)
                }
            };
            let slot = &mut entry.masks[label.index()];
            let mask_path = root.join("masks").join(split).join(&a.mask_name);
            if slot.as_ref().is_some_and(|p| *p != mask_path) {
                return Err(bad(format!("second mask for {label} of {stem}")));
            }
            *slot = Some(mask_path);
            apply_attrs(entry, label, &a).map_err(bad)?;
        }
        Ok(by_image.into_values().collect())
    }

    fn from_listing(root: &Path, split: &str) -> Result<Vec<Entry>, DataError> {
        let dir = root.join("images").join(split);
        let rd = std::fs::read_dir(&dir).map_err(|e| DataError::io(&dir, e))?;
        let mut names: Vec<String> = rd
            .filter_map(|r| r.ok())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| n.to_ascii_lowercase().ends_with(".png"))
            .collect();
        names.sort();
        Ok(names
            .into_iter()
            .map(|name| {
                let stem = name[..name.len() - 4].to_string();
                let mut e = new_entry(root, split, &stem, &name);
                for s in Structure::ALL {
                    e.masks[s.index()] = Some(
                        root.join("masks")
                            .join(split)
                            .join(format!("mask_{}", s.label()))
                            .join(format!("{stem}_gt.png")),
                    );
                }
                e
            })
            .collect())
    }
}

fn new_entry(root: &Path, split: &str, stem: &str, img_name: &str) -> Entry {
    let parsed = parse_camus_name(stem);
    let patient = parsed
        .as_ref()
        .map_or_else(|| stem.to_string(), |(p, _, _)| p.clone());
    Entry {
        id: stem.to_string(),
        patient,
        image: root.join("images").join(split).join(img_name),
        masks: [None, None, None],
        meta: ScanMeta {
            view: parsed.as_ref().map(|(_, v, _)| *v),
            phase: parsed.and_then(|(_, _, p)| p),
            ..ScanMeta::default()
        },
        shapes: [None, None, None],
    }
}

fn apply_attrs(e: &mut Entry, s: Structure, a: &Ann) -> Result<(), String> {
    let m = &mut e.meta;
    if let Some(v) = &a.view {
        m.view = Some(v.parse::<View>().map_err(|x| x.to_string())?);
    }
    if let Some(p) = &a.phase {
        m.phase = Some(p.parse::<Phase>().map_err(|x| x.to_string())?);
    }
    if let Some(x) = &a.sex {
        m.sex = Some(x.parse::<Sex>().map_err(|x| x.to_string())?);
    }
    if let Some(age) = a.age {
        m.age_years = Some(age);
    }
    if let Some(q) = &a.quality {
        m.quality = Some(q.parse::<ImageQuality>().map_err(|x| x.to_string())?);
    }
    if let Some([r, c]) = a.pixel_spacing_mm {
        m.pixel_spacing = Some(PixelSpacing::new(r, c).map_err(|x| x.to_string())?);
    }
    if let Some(t) = a.frame_time_ms {
        m.frame_time_ms = Some(t);
    }
    if let Some(sh) = &a.shape {
        e.shapes[s.index()] = Some(sh.parse::<Shape>().map_err(|x| x.to_string())?);
    }
    Ok(())
}

impl SampleSource for SeedDataset {
    fn len(&self) -> usize {
        self.entries.len()
    }

    /// `<root folder name>/<split>`, e.g. `camus224/val`.
    fn name(&self) -> String {
        format!("{}/{}", super::folder_name(&self.root), self.split)
    }

    fn id(&self, index: usize) -> Option<&str> {
        self.entries.get(index).map(|e| e.id.as_str())
    }

    fn load(&self, index: usize) -> Result<Sample, DataError> {
        let e = self.entries.get(index).ok_or(DataError::Index {
            index,
            len: self.entries.len(),
        })?;
        if !e.image.is_file() {
            return Err(DataError::Missing {
                sample: e.id.clone(),
                what: "image".into(),
                path: e.image.clone(),
            });
        }
        let image = GrayImage::read_png(&e.image).map_err(|x| DataError::Corrupt {
            path: e.image.clone(),
            message: x.to_string(),
        })?;
        let mut masks = Vec::with_capacity(3);
        for s in Structure::ALL {
            let missing = |path: PathBuf| DataError::Missing {
                sample: e.id.clone(),
                what: format!("mask for {s}"),
                path,
            };
            let path = e.masks[s.index()].clone().ok_or_else(|| {
                missing(
                    self.root
                        .join("masks")
                        .join(&self.split)
                        .join(format!("mask_{}", s.label())),
                )
            })?;
            if !path.is_file() {
                return Err(missing(path));
            }
            let g = GrayImage::read_png(&path).map_err(|x| DataError::Corrupt {
                path: path.clone(),
                message: x.to_string(),
            })?;
            if (g.width(), g.height()) != (image.width(), image.height()) {
                return Err(DataError::SizeMismatch {
                    path,
                    expected: (image.width(), image.height()),
                    found: (g.width(), g.height()),
                });
            }
            let m =
                Mask::from_gray_binary(&g).map_err(|x| DataError::format(&path, x.to_string()))?;
            masks.push(m);
        }
        let masks: [Mask; 3] = masks
            .try_into()
            .map_err(|_| DataError::format(&e.image, "internal: mask count"))?;
        Ok(Sample {
            id: e.id.clone(),
            patient: e.patient.clone(),
            image,
            masks,
            meta: e.meta.clone(),
            shapes: e.shapes,
        })
    }
}
