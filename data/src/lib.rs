//! `synboost-data`: the host side of the data — datasets, their file formats and the metrics
//! models are scored with. Nothing here runs on a scanner; `libsynboost.so` does not link it.
//!
//! - [`Sample`] and [`SampleSource`]: an echo image, its masks for structures 1..3 and its
//!   [`ScanMeta`], from any reader.
//! - [`seed::SeedDataset`]: the seed repository's layout (`images/`, `masks/mask_{1,2,3}/`,
//!   `anns/<split>.json`), which is how `camus224` is stored and how synthetic data is exported;
//!   [`writer`] writes it.
//! - [`camus::CamusRaw`]: raw CAMUS as downloaded: the 2023 NIfTI release ([`nifti`]) and the
//!   2019 MetaImage release ([`metaimage`]), with `Info_{2CH,4CH}.cfg`; [`volume`] holds what
//!   both decode to.
//! - [`fingerprint`]: a digest of a dataset split, so a score names the data it was made on.
//! - [`metrics`]: dice, IoU, Hausdorff and HD95, and mean ± std summaries.
//! - [`shape`]: shape words from mask geometry (for shape prompts).
//! - [`png`]: PNG reading and writing of greyscale images and masks.
//!
//! Readers list their samples when opened (cheap: names only) and decode each sample when asked
//! ([`SampleSource::load`]), so a dataset is streamed, never held in memory. Order is
//! deterministic (sorted by sample id). A bad sample is an `Err` for that sample alone;
//! iteration goes on, and [`scan`] counts and reports every failure.
#![deny(missing_docs)]

pub mod camus;
pub mod fingerprint;
pub mod metaimage;
pub mod metrics;
pub mod nifti;
pub mod png;
pub mod seed;
pub mod shape;
pub mod stats;
pub mod volume;
pub mod writer;

use std::path::{Path, PathBuf};
use synboost_core::meta::ScanMeta;
use synboost_core::prompt::Shape;
use synboost_core::raster::{GrayImage, Mask};
use synboost_core::structure::Structure;

/// One echo image with its ground truth.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Unique id within the dataset, e.g. `patient0001_2CH_ED`.
    pub id: String,
    /// Patient id, e.g. `patient0001`; datasets are split by patient.
    pub patient: String,
    /// The image, 8-bit greyscale, upright (apex at the top).
    pub image: GrayImage,
    /// Binary masks for structures 1..3, indexed by [`Structure::index`]; same size as the image.
    pub masks: [Mask; 3],
    /// What is known about the acquisition.
    pub meta: ScanMeta,
    /// Shape words per structure where the dataset provides them (seed annotations).
    pub shapes: [Option<Shape>; 3],
}

impl Sample {
    /// The mask of one structure.
    pub fn mask(&self, s: Structure) -> &Mask {
        &self.masks[s.index()]
    }

    /// A CAMUS-style label map (0 background, 1..3 structures; a later structure wins where masks
    /// overlap).
    pub fn label_map(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.image.data().len()];
        for s in Structure::ALL {
            for (o, &m) in out.iter_mut().zip(self.masks[s.index()].data()) {
                if m != 0 {
                    *o = s.label();
                }
            }
        }
        out
    }
}

/// Errors reading datasets. Every variant names the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A file the sample needs is not there.
    #[error("{sample}: missing {what} ({path})")]
    Missing {
        /// Sample id.
        sample: String,
        /// What is missing, e.g. `mask for Myocardium`.
        what: String,
        /// Where it was expected.
        path: PathBuf,
    },
    /// A mask or label map does not have the image's size.
    #[error("{path}: size {found:?} does not match the image's {expected:?}")]
    SizeMismatch {
        /// File.
        path: PathBuf,
        /// Image size (width, height).
        expected: (usize, usize),
        /// This file's size.
        found: (usize, usize),
    },
    /// A label map holds a value outside 0..=max.
    #[error("{path}: label {value} at ({x}, {y}) is outside 0..={max}")]
    LabelOutOfRange {
        /// File.
        path: PathBuf,
        /// The value.
        value: f64,
        /// Column.
        x: usize,
        /// Row.
        y: usize,
        /// Largest allowed label.
        max: u8,
    },
    /// A file ends before its data does.
    #[error("{path}: truncated: expected {expected} bytes, found {found}")]
    Truncated {
        /// File.
        path: PathBuf,
        /// Bytes needed.
        expected: usize,
        /// Bytes present.
        found: usize,
    },
    /// A compressed stream or image cannot be decoded.
    #[error("{path}: corrupt: {message}")]
    Corrupt {
        /// File.
        path: PathBuf,
        /// Decoder's message.
        message: String,
    },
    /// A header or annotation is not what the format requires.
    #[error("{path}: {message}")]
    Format {
        /// File.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An index beyond the dataset.
    #[error("sample index {index} out of range (dataset has {len})")]
    Index {
        /// Requested index.
        index: usize,
        /// Dataset size.
        len: usize,
    },
}

impl DataError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn format(path: &Path, message: impl Into<String>) -> Self {
        Self::Format {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// The last component of a dataset folder for [`SampleSource::name`] (the whole path when it
/// has none, e.g. `/`).
pub(crate) fn folder_name(root: &Path) -> String {
    root.file_name().map_or_else(
        || root.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// A dataset whose samples can be listed cheaply and decoded one at a time, from any thread.
pub trait SampleSource: Send + Sync {
    /// Number of samples.
    fn len(&self) -> usize;

    /// True for a dataset without samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Id of sample `index` (no decoding).
    fn id(&self, index: usize) -> Option<&str>;

    /// A short human-readable name of the dataset and split (e.g. `camus224/val`), recorded
    /// next to every score made on it ([`fingerprint::DataRecord`]).
    fn name(&self) -> String {
        "unnamed dataset".into()
    }

    /// Decode sample `index`.
    fn load(&self, index: usize) -> Result<Sample, DataError>;

    /// All samples in order, decoded lazily; a bad sample is an `Err` item and iteration goes on.
    fn iter(&self) -> SampleIter<'_, Self>
    where
        Self: Sized,
    {
        SampleIter {
            source: self,
            next: 0,
        }
    }
}

/// Iterator over a [`SampleSource`].
pub struct SampleIter<'a, S: SampleSource> {
    source: &'a S,
    next: usize,
}

impl<S: SampleSource> Iterator for SampleIter<'_, S> {
    type Item = Result<Sample, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.source.len() {
            return None;
        }
        let i = self.next;
        self.next += 1;
        Some(self.source.load(i))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.source.len() - self.next;
        (n, Some(n))
    }
}

/// What a full pass over a dataset found.
#[derive(Debug, Default)]
pub struct ScanReport {
    /// Samples that decoded.
    pub ok: usize,
    /// Samples that did not, with their ids and errors.
    pub failed: Vec<(String, DataError)>,
}

/// Decode every sample, calling `each` on the good ones, and report the bad ones. Failures are
/// logged as warnings as they happen.
pub fn scan<S: SampleSource>(source: &S, mut each: impl FnMut(&Sample)) -> ScanReport {
    let mut report = ScanReport::default();
    for i in 0..source.len() {
        match source.load(i) {
            Ok(s) => {
                report.ok += 1;
                each(&s);
            }
            Err(e) => {
                let id = source.id(i).unwrap_or("?").to_string();
                log::warn!("skipping sample {id}: {e}");
                report.failed.push((id, e));
            }
        }
    }
    report
}

/// Parse `<patient>_{2CH,4CH}_{ED,ES}` (CAMUS `patientNNNN_…`, phantom `phantomNNNN_…`; any
/// suffix after it is ignored) into patient, view and phase. The second part must be a view.
pub fn parse_camus_name(
    stem: &str,
) -> Option<(
    String,
    synboost_core::meta::View,
    Option<synboost_core::meta::Phase>,
)> {
    let mut parts = stem.split('_');
    let patient = parts.next().filter(|p| !p.is_empty())?;
    let view = parts.next()?.parse().ok()?;
    let phase = parts.next().and_then(|p| p.parse().ok());
    Some((patient.to_string(), view, phase))
}

/// Split patient ids deterministically into (train, val): sorted, shuffled with `seed`, and the
/// first `round(val_fraction * n)` go to val. The same ids and seed always give the same split.
pub fn split_patients(
    patients: &[String],
    val_fraction: f64,
    seed: u64,
) -> (Vec<String>, Vec<String>) {
    let mut ids: Vec<String> = patients.to_vec();
    ids.sort();
    ids.dedup();
    let mut state = seed ^ 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        // splitmix64
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for i in (1..ids.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        ids.swap(i, j);
    }
    let n_val = ((val_fraction.clamp(0.0, 1.0)) * ids.len() as f64).round() as usize;
    let val: Vec<String> = ids[..n_val].to_vec();
    let mut train: Vec<String> = ids[n_val..].to_vec();
    let mut val_sorted = val;
    val_sorted.sort();
    train.sort();
    (train, val_sorted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use synboost_core::meta::{Phase, View};

    #[test]
    fn camus_names() {
        let (p, v, ph) = parse_camus_name("patient0042_4CH_ES").unwrap();
        assert_eq!(
            (p.as_str(), v, ph),
            ("patient0042", View::FourChamber, Some(Phase::EndSystole))
        );
        let (_, _, ph) = parse_camus_name("patient0001_2CH_ES_validation_1").unwrap();
        assert_eq!(ph, Some(Phase::EndSystole));
        let (_, _, ph) = parse_camus_name("patient0001_2CH_half_sequence").unwrap();
        assert_eq!(ph, None);
        assert!(parse_camus_name("img_ED_2CH").is_none());
        assert!(parse_camus_name("_2CH_ED").is_none());
        assert_eq!(
            parse_camus_name("phantom0003_4CH_ED").unwrap().0,
            "phantom0003"
        );
    }

    #[test]
    fn patient_split_is_deterministic_and_disjoint() {
        let ids: Vec<String> = (0..100).map(|i| format!("patient{i:04}")).collect();
        let (t1, v1) = split_patients(&ids, 0.2, 7);
        let (t2, v2) = split_patients(&ids, 0.2, 7);
        assert_eq!((t1.clone(), v1.clone()), (t2, v2));
        assert_eq!(v1.len(), 20);
        assert_eq!(t1.len(), 80);
        assert!(v1.iter().all(|v| !t1.contains(v)));
        let (_, v3) = split_patients(&ids, 0.2, 8);
        assert_ne!(v1, v3);
    }
}
