//! What a score was measured on: a SHA-256 fingerprint of a dataset's decoded samples.
//!
//! A dice score means nothing without the truth it was measured against: when the camus224
//! masks were cleaned (2026-12-02) the same weights went from 89.29 to 89.70 at P3. Every
//! recorded score therefore carries a [`DataRecord`]: the dataset's name, how many samples were
//! scored and their [`Fingerprint`].
//!
//! The fingerprint is taken over what the scorer actually reads, not over files: for each
//! sample in order, its id, the image's size and pixels, each mask's size and 0/1 values, and
//! the metadata and shape words that prompts are built from. So re-encoding a PNG does not
//! change it, while one changed mask pixel, a renamed sample, a reordered split or a changed
//! view or phase does. The byte layout is versioned ([`FINGERPRINT_VERSION`]) and written out in
//! [`Fingerprinter::add`]; a reader in another language can recompute it.

use super::{DataError, Sample, SampleSource};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// Version of the hashed byte layout; part of every [`Fingerprint`]'s text (`v1:`), so a
/// fingerprint made under another layout never compares equal by accident.
pub const FINGERPRINT_VERSION: u32 = 1;

/// The SHA-256 fingerprint of a sequence of samples, written `v1:<64 hex digits>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// The text form, `v1:<64 hex digits>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A short form for tables and messages: the version and the first 12 hex digits.
    pub fn short(&self) -> &str {
        let end = self.0.find(':').map_or(0, |i| i + 1) + 12;
        self.0.get(..end).unwrap_or(&self.0)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a score was measured on: the dataset's name, the samples scored and their fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataRecord {
    /// Human-readable name of the dataset and split, e.g. `camus224/val`.
    pub name: String,
    /// Samples fingerprinted (and scored), in order.
    pub samples: usize,
    /// Their fingerprint.
    pub fingerprint: Fingerprint,
}

impl DataRecord {
    /// Whether `other` describes the same data: the fingerprints (which cover the sample count)
    /// are equal. Names are for people and may differ (a folder renamed or moved).
    pub fn same_data(&self, other: &DataRecord) -> bool {
        self.fingerprint == other.fingerprint
    }
}

impl fmt::Display for DataRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = if self.samples == 1 {
            "sample"
        } else {
            "samples"
        };
        write!(
            f,
            "{}, {} {noun}, fingerprint {}",
            self.name,
            self.samples,
            self.fingerprint.short()
        )
    }
}

/// Incremental fingerprinting: [`add`](Self::add) each sample in scoring order, then
/// [`finish`](Self::finish).
#[derive(Clone)]
pub struct Fingerprinter {
    hasher: Sha256,
    samples: usize,
}

impl Default for Fingerprinter {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Fingerprinter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprinter({} samples)", self.samples)
    }
}

impl Fingerprinter {
    /// An empty fingerprint (of zero samples).
    pub fn new() -> Self {
        let mut hasher = Sha256::new();
        hasher.update(format!("synboost data fingerprint v{FINGERPRINT_VERSION}\n").as_bytes());
        Self { hasher, samples: 0 }
    }

    /// Add one sample. The bytes hashed, in order, all integers little-endian:
    /// - the id: its length (u64) and UTF-8 bytes;
    /// - the image: width and height (u64 each) and its 8-bit pixels, row-major;
    /// - each of the three masks, in label order: width and height (u64 each) and its 0/1 values;
    /// - the metadata as compact JSON ([`synboost_core::meta::ScanMeta`]'s serde form, absent fields left
    ///   out) and the shape words as a compact JSON array, each with its length (u64) first.
    pub fn add(&mut self, sample: &Sample) {
        let h = &mut self.hasher;
        let u64_le = |h: &mut Sha256, v: usize| h.update((v as u64).to_le_bytes());
        let prefixed = |h: &mut Sha256, b: &[u8]| {
            u64_le(h, b.len());
            h.update(b);
        };
        prefixed(h, sample.id.as_bytes());
        u64_le(h, sample.image.width());
        u64_le(h, sample.image.height());
        h.update(sample.image.data());
        for m in &sample.masks {
            u64_le(h, m.width());
            u64_le(h, m.height());
            h.update(m.data());
        }
        // Serialising plain enums and options cannot fail; an empty text would still be hashed
        // with its length, so a failure could not go unnoticed as a collision.
        prefixed(h, &serde_json::to_vec(&sample.meta).unwrap_or_default());
        prefixed(h, &serde_json::to_vec(&sample.shapes).unwrap_or_default());
        self.samples += 1;
    }

    /// The fingerprint of the samples added, in the order they were added.
    pub fn finish(self) -> Fingerprint {
        let d = self.hasher.finalize();
        let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
        Fingerprint(format!("v{FINGERPRINT_VERSION}:{hex}"))
    }

    /// [`finish`](Self::finish) as a [`DataRecord`] named `name`.
    pub fn record(self, name: impl Into<String>) -> DataRecord {
        let samples = self.samples;
        DataRecord {
            name: name.into(),
            samples,
            fingerprint: self.finish(),
        }
    }
}

/// Fingerprint the first `limit` samples of `source` (all without a limit), decoding each one.
/// A sample that cannot be decoded is an error: a score over a dataset with unreadable samples
/// would not be over the data the fingerprint names.
pub fn fingerprint(
    source: &dyn SampleSource,
    limit: Option<usize>,
) -> Result<DataRecord, DataError> {
    let n = limit.map_or(source.len(), |l| l.min(source.len()));
    let mut f = Fingerprinter::new();
    for i in 0..n {
        f.add(&source.load(i)?);
    }
    Ok(f.record(source.name()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use synboost_core::meta::{Phase, ScanMeta, View};
    use synboost_core::raster::{GrayImage, Mask};

    fn sample(id: &str, lv_px: usize) -> Sample {
        let (w, h) = (8, 6);
        let mut lv = vec![0u8; w * h];
        lv[..lv_px].iter_mut().for_each(|v| *v = 1);
        Sample {
            id: id.into(),
            patient: "patient0001".into(),
            image: GrayImage::new(w, h, (0..w * h).map(|i| i as u8).collect()).unwrap(),
            masks: [
                Mask::new(w, h, lv).unwrap(),
                Mask::zeros(w, h).unwrap(),
                Mask::zeros(w, h).unwrap(),
            ],
            meta: ScanMeta {
                view: Some(View::TwoChamber),
                phase: Some(Phase::EndDiastole),
                ..ScanMeta::default()
            },
            shapes: [None; 3],
        }
    }

    fn of(samples: &[Sample]) -> Fingerprint {
        let mut f = Fingerprinter::new();
        samples.iter().for_each(|s| f.add(s));
        f.finish()
    }

    #[test]
    fn equal_data_equal_fingerprint_and_text_form() {
        let a = of(&[sample("a", 3), sample("b", 5)]);
        assert_eq!(a, of(&[sample("a", 3), sample("b", 5)]));
        assert!(a.as_str().starts_with("v1:"));
        assert_eq!(a.as_str().len(), 3 + 64);
        assert_eq!(a.short().len(), 3 + 12);
        assert!(a.as_str().starts_with(a.short()));
    }

    #[test]
    fn any_change_to_what_is_scored_changes_it() {
        let base = of(&[sample("a", 3), sample("b", 5)]);
        // One mask pixel (a removed speck).
        assert_ne!(base, of(&[sample("a", 3), sample("b", 4)]));
        // Order, ids, the number of samples.
        assert_ne!(base, of(&[sample("b", 5), sample("a", 3)]));
        assert_ne!(base, of(&[sample("a", 3), sample("c", 5)]));
        assert_ne!(base, of(&[sample("a", 3)]));
        // One image pixel.
        let mut s = sample("b", 5);
        let mut px = s.image.data().to_vec();
        px[0] ^= 1;
        s.image = GrayImage::new(8, 6, px).unwrap();
        assert_ne!(base, of(&[sample("a", 3), s]));
        // Metadata that prompts are built from.
        let mut s = sample("b", 5);
        s.meta.phase = Some(Phase::EndSystole);
        assert_ne!(base, of(&[sample("a", 3), s]));
        // The empty set has a fingerprint of its own.
        assert_ne!(of(&[]), base);
    }

    #[test]
    fn ids_cannot_run_into_each_other() {
        // Length prefixes: "ab" + "c" is not "a" + "bc".
        let mut x = sample("ab", 3);
        let mut y = sample("a", 3);
        x.patient = "p".into();
        y.patient = "p".into();
        let fx = of(&[x, sample("c", 3)]);
        let fy = of(&[y, sample("bc", 3)]);
        assert_ne!(fx, fy);
    }

    #[test]
    fn records_compare_by_fingerprint_and_print_short() {
        let mut f = Fingerprinter::new();
        f.add(&sample("a", 3));
        let r = f.clone().record("camus224/val");
        let moved = f.record("elsewhere/val");
        assert!(r.same_data(&moved));
        assert_eq!(r.samples, 1);
        let text = r.to_string();
        assert!(
            text.starts_with("camus224/val, 1 sample, fingerprint v1:"),
            "{text}"
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["fingerprint"], r.fingerprint.as_str());
        let back: DataRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
    }
}
