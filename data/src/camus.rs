//! Raw CAMUS as users download it.
//!
//! ```text
//! <root>/[database_nifti/]patientNNNN/patientNNNN_{2CH,4CH}_{ED,ES}.nii.gz      2023 release
//!                                    patientNNNN_{2CH,4CH}_{ED,ES}_gt.nii.gz
//!                                    Info_{2CH,4CH}.cfg
//! <root>/patientNNNN/patientNNNN_{2CH,4CH}_{ED,ES}[_gt].mhd (+ .raw)              2019 release
//! ```
//!
//! Images are NIfTI-1 or MetaImage with x (columns) fastest, which displays upright (apex at the
//! top); label maps hold 0 background, 1 LV cavity, 2 myocardium, 3 left atrium. Pixel spacing
//! comes from the image header (mm), sex, age, quality and frame rate from `Info_<view>.cfg`.
//! The half-sequence files are not read (they have no per-frame phase labels besides ED and ES).

use super::{DataError, Sample, SampleSource, metaimage, nifti, volume::Volume};
use std::path::{Path, PathBuf};
use synboost_core::meta::{InfoCfg, Phase, PixelSpacing, View};

/// Which release a file belongs to, by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CamusFormat {
    /// `.nii.gz` / `.nii` (2023 release).
    Nifti,
    /// `.mhd` + `.raw` (2019 release).
    MetaImage,
}

#[derive(Debug, Clone)]
struct Entry {
    id: String,
    patient: String,
    view: View,
    phase: Phase,
    dir: PathBuf,
}

/// The ED/ES images of a raw CAMUS download.
#[derive(Debug, Clone)]
pub struct CamusRaw {
    root: PathBuf,
    entries: Vec<Entry>,
}

const VIEWS: [View; 2] = [View::TwoChamber, View::FourChamber];
const PHASES: [Phase; 2] = [Phase::EndDiastole, Phase::EndSystole];
const EXTENSIONS: [(&str, CamusFormat); 3] = [
    (".nii.gz", CamusFormat::Nifti),
    (".nii", CamusFormat::Nifti),
    (".mhd", CamusFormat::MetaImage),
];

impl CamusRaw {
    /// Open a CAMUS folder: the folder holding the `patientNNNN` folders, or its parent when that
    /// is `database_nifti`. Every patient folder is listed; an ED/ES image (or its ground truth)
    /// found in either format becomes a sample.
    pub fn open(root: &Path) -> Result<Self, DataError> {
        let nested = root.join("database_nifti");
        let base = if nested.is_dir() {
            nested
        } else {
            root.to_path_buf()
        };
        let rd = std::fs::read_dir(&base).map_err(|e| DataError::io(&base, e))?;
        let mut patients: Vec<(String, PathBuf)> = rd
            .filter_map(|r| r.ok())
            .filter(|e| e.path().is_dir())
            .filter_map(|e| {
                let name = e.file_name().to_str()?.to_string();
                name.starts_with("patient").then(|| (name, e.path()))
            })
            .collect();
        patients.sort();
        let mut entries = Vec::new();
        for (patient, dir) in patients {
            for view in VIEWS {
                for phase in PHASES {
                    let id = format!("{patient}_{}_{}", view.code(), phase.code());
                    let present = EXTENSIONS.iter().any(|(ext, _)| {
                        dir.join(format!("{id}{ext}")).is_file()
                            || dir.join(format!("{id}_gt{ext}")).is_file()
                    });
                    if present {
                        entries.push(Entry {
                            id,
                            patient: patient.clone(),
                            view,
                            phase,
                            dir: dir.clone(),
                        });
                    }
                }
            }
        }
        if entries.is_empty() {
            return Err(DataError::format(
                &base,
                "no CAMUS patient folders with ED/ES images found",
            ));
        }
        Ok(Self {
            root: base,
            entries,
        })
    }

    /// The folder holding the patient folders.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Patients, sorted.
    pub fn patients(&self) -> Vec<String> {
        let mut p: Vec<String> = self.entries.iter().map(|e| e.patient.clone()).collect();
        p.dedup();
        p
    }

    /// Keep only the given patients (e.g. from [`read_patient_list`] or
    /// [`super::split_patients`]).
    pub fn retain_patients(&mut self, keep: &[String]) {
        self.entries.retain(|e| keep.contains(&e.patient));
    }

    fn find(dir: &Path, stem: &str) -> Option<(PathBuf, CamusFormat)> {
        EXTENSIONS.iter().find_map(|(ext, f)| {
            let p = dir.join(format!("{stem}{ext}"));
            p.is_file().then_some((p, *f))
        })
    }
}

fn read_volume(path: &Path, format: CamusFormat) -> Result<Volume, DataError> {
    match format {
        CamusFormat::Nifti => nifti::read(path),
        CamusFormat::MetaImage => metaimage::read(path),
    }
}

/// Read an official CAMUS split file (`subgroup_training.txt` …): one patient id per line.
pub fn read_patient_list(path: &Path) -> Result<Vec<String>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect())
}

impl SampleSource for CamusRaw {
    fn len(&self) -> usize {
        self.entries.len()
    }

    /// `raw CAMUS <root folder name>`.
    fn name(&self) -> String {
        format!("raw CAMUS {}", super::folder_name(&self.root))
    }

    fn id(&self, index: usize) -> Option<&str> {
        self.entries.get(index).map(|e| e.id.as_str())
    }

    fn load(&self, index: usize) -> Result<Sample, DataError> {
        let e = self.entries.get(index).ok_or(DataError::Index {
            index,
            len: self.entries.len(),
        })?;
        let missing = |what: &str, stem: &str| DataError::Missing {
            sample: e.id.clone(),
            what: what.to_string(),
            path: e.dir.join(format!("{stem}.nii.gz")),
        };
        let (img_path, img_fmt) =
            Self::find(&e.dir, &e.id).ok_or_else(|| missing("image", &e.id))?;
        let gt_stem = format!("{}_gt", e.id);
        let (gt_path, gt_fmt) =
            Self::find(&e.dir, &gt_stem).ok_or_else(|| missing("ground truth", &gt_stem))?;
        let cfg_path = e.dir.join(format!("Info_{}.cfg", e.view.code()));
        let cfg = if cfg_path.is_file() {
            InfoCfg::read(&cfg_path).map_err(|x| DataError::format(&cfg_path, x.to_string()))?
        } else {
            log::warn!(
                "{}: no {}; sex, age and quality unknown",
                e.id,
                cfg_path.display()
            );
            InfoCfg::default()
        };

        let vol = read_volume(&img_path, img_fmt)?;
        if vol.frames() != 1 {
            return Err(DataError::format(
                &img_path,
                format!("expected one frame, found {}", vol.frames()),
            ));
        }
        let image = vol.frame_image(0)?;
        let gt = read_volume(&gt_path, gt_fmt)?;
        if gt.dims != vol.dims {
            return Err(DataError::SizeMismatch {
                path: gt_path,
                expected: (vol.dims[0], vol.dims[1]),
                found: (gt.dims[0], gt.dims[1]),
            });
        }
        let masks = gt.frame_masks(0)?;
        let mut meta = cfg.scan_meta(e.view, Some(e.phase));
        // A header without spacing reads as 1.0 (the formats' default): unknown, not 1 mm.
        if vol.spacing[..2] != [1.0, 1.0] {
            meta.pixel_spacing = PixelSpacing::new(vol.spacing[1], vol.spacing[0]).ok();
        }
        Ok(Sample {
            id: e.id.clone(),
            patient: e.patient.clone(),
            image,
            masks,
            meta,
            shapes: [None, None, None],
        })
    }
}
