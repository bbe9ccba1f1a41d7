//! Phantom patients as a [`SampleSource`], rendered on demand (nothing on disk).
//!
//! Patient `n` gives four samples, in this order: 2CH ED, 2CH ES, 4CH ED, 4CH ES ([`FRAMES`]),
//! with ids like `phantom0007_2CH_ED` and patient `phantom0007`. Patient numbering, seeds and
//! image quality are those of [`crate::dataset::export_dataset`], which uses the helpers of this
//! module, so an exported dataset read back with `SeedDataset` and a [`PhantomSource`] with the
//! same settings give identical images, masks, metadata and shape words.
//!
//! Constructing a source only lists ids; each [`SampleSource::load`] renders its frame (so the
//! cost is paid in data-loader threads). Rendering is deterministic.

use super::rng::SplitMix64;
use super::{Phantom, PhantomConfig, PhantomError, PhantomFrame};
use std::path::PathBuf;
use synboost_core::meta::{ImageQuality, Phase, View};
use synboost_data::shape::shape_of;
use synboost_data::{DataError, Sample, SampleSource};

/// The (view, phase) of each of a patient's samples, in dataset order.
pub const FRAMES: [(View, Phase); 4] = [
    (View::TwoChamber, Phase::EndDiastole),
    (View::TwoChamber, Phase::EndSystole),
    (View::FourChamber, Phase::EndDiastole),
    (View::FourChamber, Phase::EndSystole),
];

/// The views of a phantom patient, in dataset order.
pub const VIEWS: [View; 2] = [View::TwoChamber, View::FourChamber];

/// The phases rendered per view, in dataset order.
pub const PHASES: [Phase; 2] = [Phase::EndDiastole, Phase::EndSystole];

/// The quality of phantom patient `n` under `seed` (good 50 %, medium 35 %, poor 15 %).
pub fn patient_quality(seed: u64, n: usize) -> ImageQuality {
    let u = SplitMix64::new(seed ^ (n as u64).wrapping_mul(0x9e37_79b9)).unit();
    if u < 0.5 {
        ImageQuality::Good
    } else if u < 0.85 {
        ImageQuality::Medium
    } else {
        ImageQuality::Poor
    }
}

/// The phantom seed of patient `n` under the dataset `seed`.
pub fn patient_seed(seed: u64, n: usize) -> u64 {
    seed.wrapping_mul(1_000_003).wrapping_add(n as u64)
}

/// Patient id of patient `n`: `phantom0007`.
pub fn patient_id(n: usize) -> String {
    format!("phantom{n:04}")
}

/// Sample id of a patient's frame: `phantom0007_2CH_ED`.
pub fn sample_id(n: usize, view: View, phase: Phase) -> String {
    format!("{}_{}_{}", patient_id(n), view.code(), phase.code())
}

/// The phantom of patient `n` (dataset `seed`) in `view`, `size × size` pixels.
pub fn patient_phantom(
    seed: u64,
    n: usize,
    size: usize,
    view: View,
) -> Result<Phantom, PhantomError> {
    Phantom::new(PhantomConfig {
        width: size,
        height: size,
        view,
        quality: patient_quality(seed, n),
        seed: patient_seed(seed, n),
        ..PhantomConfig::default()
    })
}

/// The ED or ES frame of patient `n`'s phantom `ph` (from [`patient_phantom`] with the same
/// `seed` and `n`), with the dataset's noise seed.
pub fn patient_frame(
    ph: &Phantom,
    seed: u64,
    n: usize,
    phase: Phase,
) -> Result<PhantomFrame, PhantomError> {
    ph.frame_at(phase, patient_seed(seed, n) ^ 0x55)
}

/// Phantom patients `first_patient .. first_patient + patients`, four samples each, rendered
/// when loaded.
#[derive(Debug, Clone)]
pub struct PhantomSource {
    first_patient: usize,
    size: usize,
    seed: u64,
    ids: Vec<String>,
}

impl PhantomSource {
    /// Patients `first_patient ..` (`patients` of them) of `size × size` pixels under `seed`:
    /// the dataset `export_dataset` writes with the same settings. Ids are listed now (about
    /// 40 bytes per sample); invalid sizes (outside 16..=2048) surface as load errors.
    pub fn new(patients: usize, first_patient: usize, size: usize, seed: u64) -> Self {
        let ids = (0..patients)
            .flat_map(|k| {
                let n = first_patient.saturating_add(k);
                FRAMES.map(|(view, phase)| sample_id(n, view, phase))
            })
            .collect();
        Self {
            first_patient,
            size,
            seed,
            ids,
        }
    }

    /// Image side, pixels.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Dataset seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Patient number, view and phase of sample `index`.
    pub fn locate(&self, index: usize) -> Option<(usize, View, Phase)> {
        if index >= self.ids.len() {
            return None;
        }
        let n = self.first_patient.saturating_add(index / FRAMES.len());
        let (view, phase) = FRAMES[index % FRAMES.len()];
        Some((n, view, phase))
    }

    /// Render sample `index` with its full ground truth.
    pub fn frame(&self, index: usize) -> Result<PhantomFrame, DataError> {
        self.render(index).map(|(_, _, _, f)| f)
    }

    fn render(&self, index: usize) -> Result<(usize, View, Phase, PhantomFrame), DataError> {
        let (n, view, phase) = self.locate(index).ok_or(DataError::Index {
            index,
            len: self.ids.len(),
        })?;
        let fail = |e: PhantomError| DataError::Format {
            path: PathBuf::from(sample_id(n, view, phase)),
            message: format!("phantom: {e}"),
        };
        let ph = patient_phantom(self.seed, n, self.size, view).map_err(fail)?;
        let f = patient_frame(&ph, self.seed, n, phase).map_err(fail)?;
        Ok((n, view, phase, f))
    }
}

impl SampleSource for PhantomSource {
    fn len(&self) -> usize {
        self.ids.len()
    }

    /// `phantom: N patients from #F, S², seed X`.
    fn name(&self) -> String {
        format!(
            "phantom: {} patients from #{}, {}², seed {}",
            self.ids.len() / FRAMES.len(),
            self.first_patient,
            self.size,
            self.seed
        )
    }

    fn id(&self, index: usize) -> Option<&str> {
        self.ids.get(index).map(String::as_str)
    }

    fn load(&self, index: usize) -> Result<Sample, DataError> {
        let (n, view, phase, f) = self.render(index)?;
        let shapes = std::array::from_fn(|i| f.masks.get(i).and_then(shape_of));
        Ok(Sample {
            id: sample_id(n, view, phase),
            patient: patient_id(n),
            image: f.image,
            masks: f.masks,
            meta: f.meta,
            shapes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{ExportOptions, export_dataset};
    use synboost_data::seed::SeedDataset;

    #[test]
    fn matches_an_exported_dataset() {
        let dir = tempfile::tempdir().unwrap();
        let opts = ExportOptions {
            out: dir.path().to_path_buf(),
            split: "train".into(),
            patients: 1,
            first_patient: 7,
            size: 48,
            seed: 5,
        };
        export_dataset(&opts, |_, _| {}).unwrap();
        let ds = SeedDataset::open(dir.path(), "train").unwrap();
        let src = PhantomSource::new(1, 7, 48, 5);
        assert_eq!(src.len(), 4);
        assert_eq!(ds.len(), 4);
        for i in 0..4 {
            let (a, b) = (ds.load(i).unwrap(), src.load(i).unwrap());
            assert_eq!(a.id, b.id);
            assert_eq!(src.id(i), Some(b.id.as_str()));
            assert_eq!(a.patient, b.patient);
            assert_eq!(a.image, b.image, "{}", a.id);
            assert_eq!(a.masks, b.masks, "{}", a.id);
            assert_eq!(a.shapes, b.shapes, "{}", a.id);
            assert_eq!(
                (a.meta.view, a.meta.phase, a.meta.sex, a.meta.age_years),
                (b.meta.view, b.meta.phase, b.meta.sex, b.meta.age_years)
            );
            assert_eq!(a.meta.quality, b.meta.quality);
        }
        let ids: Vec<&str> = (0..4).filter_map(|i| src.id(i)).collect();
        assert_eq!(
            ids,
            [
                "phantom0007_2CH_ED",
                "phantom0007_2CH_ES",
                "phantom0007_4CH_ED",
                "phantom0007_4CH_ES"
            ]
        );
    }

    #[test]
    fn deterministic_and_indexed_by_patient() {
        let src = PhantomSource::new(2, 0, 32, 9);
        assert_eq!(src.len(), 8);
        let a = src.load(5).unwrap();
        let b = src.load(5).unwrap();
        assert_eq!(a.image, b.image);
        assert_eq!(a.id, "phantom0001_2CH_ES");
        assert_eq!(a.patient, "phantom0001");
        assert_eq!(a.meta.view, Some(View::TwoChamber));
        assert_eq!(a.meta.phase, Some(Phase::EndSystole));
        assert_eq!(
            src.locate(6),
            Some((1, View::FourChamber, Phase::EndDiastole))
        );
        // Another patient, another image; ED and ES differ.
        assert_ne!(src.load(1).unwrap().image, a.image);
        assert_ne!(src.load(4).unwrap().masks[0], a.masks[0]);
        assert!(matches!(
            src.load(8),
            Err(DataError::Index { index: 8, len: 8 })
        ));
        assert!(src.id(8).is_none());
    }

    #[test]
    fn bad_size_is_a_load_error() {
        let src = PhantomSource::new(1, 0, 4, 1);
        assert_eq!(src.len(), 4);
        let e = src.load(0).unwrap_err();
        assert!(e.to_string().contains("phantom0000_2CH_ED"), "{e}");
    }
}
