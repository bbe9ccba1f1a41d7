//! Writing datasets in the seed layout ([`super::seed`]), so that anything we generate
//! (phantoms, SDM samples) reads back through [`super::seed::SeedDataset`] and trains like
//! CAMUS:
//!
//! ```text
//! <root>/images/<split>/<id>.png
//! <root>/masks/<split>/mask_{1,2,3}/<id>_gt.png
//! <root>/anns/<split>.json   one entry per image and structure: prompts + attributes
//! ```
//!
//! Each entry carries the seed's prompts for every kind the sample's metadata supports (P0
//! always; P2/P3 need view and phase, P4 sex, P5 age; P6 quality or shape by scheme), in both
//! wordings, and the attributes they were built from, so a reader never has to parse prompts.

use super::{DataError, Sample};
use crate::png::GrayPng;
use crate::shape::shape_of;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use synboost_core::prompt::{PromptAttrs, PromptKind, PromptScheme, Wording};
use synboost_core::structure::Structure;

/// Writes one split of a seed-layout dataset; [`SeedWriter::finish`] writes the annotations.
#[derive(Debug)]
pub struct SeedWriter {
    root: PathBuf,
    split: String,
    scheme: PromptScheme,
    anns: Vec<Value>,
    images: usize,
}

impl SeedWriter {
    /// Create the folders of `split` under `root`. `scheme` is the prompt family written
    /// ([`PromptScheme::Synthetic`] for generated images: no quality, P6 is the shape).
    pub fn create(root: &Path, split: &str, scheme: PromptScheme) -> Result<Self, DataError> {
        if split.is_empty() || split.contains(['/', '\\']) || split.contains("..") {
            return Err(DataError::format(root, format!("bad split name {split:?}")));
        }
        let mut dirs = vec![root.join("images").join(split), root.join("anns")];
        for s in Structure::ALL {
            dirs.push(
                root.join("masks")
                    .join(split)
                    .join(format!("mask_{}", s.label())),
            );
        }
        for d in &dirs {
            std::fs::create_dir_all(d).map_err(|e| DataError::io(d, e))?;
        }
        Ok(Self {
            root: root.to_path_buf(),
            split: split.to_string(),
            scheme,
            anns: Vec::new(),
            images: 0,
        })
    }

    /// Images written so far.
    pub fn images(&self) -> usize {
        self.images
    }

    /// Write `sample` (image, three masks) under its id, and queue its three annotation
    /// entries; `extra` fields are added to each entry (provenance, seeds). Ids must be file
    /// names: no separators, no `..`.
    pub fn write(&mut self, sample: &Sample, extra: &Map<String, Value>) -> Result<(), DataError> {
        let id = &sample.id;
        let img_name = format!("{id}.png");
        let img_path = self.root.join("images").join(&self.split).join(&img_name);
        if id.is_empty() || id.contains(['/', '\\']) || id.contains("..") {
            return Err(DataError::format(
                &img_path,
                format!("bad sample id {id:?}"),
            ));
        }
        let (w, h) = (sample.image.width(), sample.image.height());
        // Check everything before writing anything: a refused sample leaves no file behind.
        for s in Structure::ALL {
            let mask = &sample.masks[s.index()];
            if (mask.width(), mask.height()) != (w, h) {
                return Err(DataError::SizeMismatch {
                    path: self.mask_path(s, id),
                    expected: (w, h),
                    found: (mask.width(), mask.height()),
                });
            }
        }
        sample
            .image
            .write_png(&img_path)
            .map_err(|e| DataError::format(&img_path, e.to_string()))?;
        let meta = &sample.meta;
        for s in Structure::ALL {
            let mask = &sample.masks[s.index()];
            let mask_name = format!("mask_{}/{id}_gt.png", s.label());
            let mp = self.mask_path(s, id);
            mask.to_gray()
                .write_png(&mp)
                .map_err(|e| DataError::format(&mp, e.to_string()))?;
            let mut attrs = PromptAttrs::from_meta(s, meta);
            attrs.shape = sample.shapes[s.index()].or_else(|| shape_of(mask));
            let mut prompts = Map::new();
            for kind in PromptKind::ALL {
                let built: Result<Vec<String>, _> = Wording::ALL
                    .iter()
                    .map(|wd| attrs.build(kind, *wd, self.scheme))
                    .collect();
                match built {
                    Ok(_) if kind == PromptKind::P0 => {
                        prompts.insert("p0".into(), json!(""));
                    }
                    Ok(v) => {
                        prompts.insert(format!("p{}", kind.index()), json!(v));
                    }
                    // The metadata does not support this kind (or the scheme has none).
                    Err(_) => {}
                }
            }
            let mut e = Map::new();
            e.insert("img_name".into(), json!(img_name));
            e.insert("mask_name".into(), json!(mask_name));
            e.insert("prompts".into(), Value::Object(prompts));
            e.insert("patient".into(), json!(sample.patient));
            e.insert("structure".into(), json!(s.label()));
            e.insert("view".into(), json!(meta.view.map(|v| v.code())));
            e.insert("phase".into(), json!(meta.phase.map(|p| p.code())));
            e.insert("sex".into(), json!(meta.sex.map(|x| x.prompt_word())));
            e.insert("age".into(), json!(meta.age_years));
            e.insert(
                "quality".into(),
                json!(meta.quality.map(|q| q.prompt_word())),
            );
            e.insert("shape".into(), json!(attrs.shape.map(|x| x.word())));
            e.insert(
                "pixel_spacing_mm".into(),
                json!(meta.pixel_spacing.map(|p| [p.row_mm, p.col_mm])),
            );
            e.insert("frame_time_ms".into(), json!(meta.frame_time_ms));
            for (k, v) in extra {
                e.insert(k.clone(), v.clone());
            }
            self.anns.push(Value::Object(e));
        }
        self.images += 1;
        Ok(())
    }

    fn mask_path(&self, s: Structure, id: &str) -> PathBuf {
        self.root
            .join("masks")
            .join(&self.split)
            .join(format!("mask_{}", s.label()))
            .join(format!("{id}_gt.png"))
    }

    /// Write `anns/<split>.json` (replacing one from an earlier run) and return the number of
    /// images.
    pub fn finish(self) -> Result<usize, DataError> {
        let path = self.root.join("anns").join(format!("{}.json", self.split));
        let text = serde_json::to_string_pretty(&Value::Array(self.anns))
            .map_err(|e| DataError::format(&path, e.to_string()))?;
        // Written beside and renamed, so a crash never leaves half a file.
        let tmp = path.with_extension("json.part");
        std::fs::write(&tmp, text).map_err(|e| DataError::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| DataError::io(&path, e))?;
        Ok(self.images)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SampleSource;
    use crate::seed::SeedDataset;
    use synboost_core::meta::{Phase, ScanMeta, Sex, View};
    use synboost_core::raster::{GrayImage, Mask};

    fn sample(id: &str) -> Sample {
        let (w, h) = (12, 10);
        let image = GrayImage::new(w, h, (0..w * h).map(|i| (i * 2) as u8).collect()).unwrap();
        let masks = std::array::from_fn(|k| {
            Mask::new(
                w,
                h,
                (0..w * h)
                    .map(|i| u8::from(i % w > 2 * k && i % w < 2 * k + 4 && i / w > 2))
                    .collect(),
            )
            .unwrap()
        });
        Sample {
            id: id.into(),
            patient: "synth0001".into(),
            image,
            masks,
            meta: ScanMeta {
                view: Some(View::FourChamber),
                phase: Some(Phase::EndSystole),
                sex: Some(Sex::Female),
                age_years: Some(61),
                ..ScanMeta::default()
            },
            shapes: [None; 3],
        }
    }

    #[test]
    fn written_samples_read_back_with_their_prompts_and_attributes() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SeedWriter::create(dir.path(), "train", PromptScheme::Synthetic).unwrap();
        let a = sample("synth0001_4CH_ES");
        let mut extra = Map::new();
        extra.insert("source".into(), json!("patient0001_4CH_ES"));
        w.write(&a, &extra).unwrap();
        assert_eq!(w.finish().unwrap(), 1);

        let ds = SeedDataset::open(dir.path(), "train").unwrap();
        assert_eq!(ds.len(), 1);
        let b = ds.load(0).unwrap();
        assert_eq!(b.id, a.id);
        assert_eq!(b.image.data(), a.image.data());
        for s in Structure::ALL {
            assert_eq!(b.masks[s.index()].data(), a.masks[s.index()].data(), "{s}");
        }
        assert_eq!(b.meta.sex, Some(Sex::Female));
        assert_eq!(b.meta.age_years, Some(61));
        assert_eq!(b.meta.view, Some(View::FourChamber));

        let anns: Vec<Value> = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("anns/train.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(anns.len(), 3);
        let p = anns[0]["prompts"].as_object().unwrap();
        // Synthetic scheme: P0..P6, P6 being the shape prompt; no P7.
        let keys: Vec<&str> = p.keys().map(String::as_str).collect();
        assert_eq!(keys, ["p0", "p1", "p2", "p3", "p4", "p5", "p6"]);
        assert!(p["p6"][0].as_str().unwrap().contains(" shape "));
        assert_eq!(anns[0]["source"], "patient0001_4CH_ES");
    }

    #[test]
    fn kinds_the_metadata_cannot_support_are_left_out_and_bad_ids_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SeedWriter::create(dir.path(), "val", PromptScheme::Synthetic).unwrap();
        let mut a = sample("x");
        a.meta.sex = None;
        a.meta.age_years = None;
        w.write(&a, &Map::new()).unwrap();
        let mut bad = sample("../escape");
        assert!(w.write(&bad, &Map::new()).is_err());
        bad.id = "ok".into();
        bad.masks[1] = Mask::new(3, 3, vec![0; 9]).unwrap();
        assert!(matches!(
            w.write(&bad, &Map::new()),
            Err(DataError::SizeMismatch { .. })
        ));
        assert!(!dir.path().join("images/val/ok.png").exists());
        w.finish().unwrap();
        let anns: Vec<Value> = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("anns/val.json")).unwrap(),
        )
        .unwrap();
        let keys: Vec<&str> = anns[0]["prompts"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["p0", "p1", "p2", "p3"]);
        assert!(SeedWriter::create(dir.path(), "../x", PromptScheme::Camus).is_err());
    }
}
