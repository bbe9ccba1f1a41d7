//! [`DataSpec`]: a dataset as the command line names it (`camus`, `phantom:N` or a folder),
//! opened as a [`SampleSource`] and known by where its samples come from
//! ([`DataSpec::provenance`]).

use crate::provenance::DataProvenance;
use std::fmt;
use std::num::ParseIntError;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use synboost_data::DataError;
use synboost_data::SampleSource;
use synboost_data::seed::SeedDataset;
use synboost_phantom::source::PhantomSource;

/// Patient number of the first validation phantom: validation phantoms continue the numbering
/// far after the training ones, so the two never share a patient.
const FIRST_VAL_PHANTOM: usize = 100_000;

/// Errors naming or opening a dataset.
#[derive(Debug, thiserror::Error)]
pub enum DataSpecError {
    /// `phantom:N` with an N that is not a count.
    #[error("bad phantom count in {spec:?}")]
    PhantomCount {
        /// The spec as given.
        spec: String,
        /// Cause.
        #[source]
        source: ParseIntError,
    },
    /// `camus` without a camus224 folder.
    #[error("no camus224 folder: pass --camus or set SYNBOOST_CAMUS_DIR")]
    NoCamus,
    /// A seed-layout folder could not be opened.
    #[error("opening {} ({split})", dir.display())]
    Open {
        /// The folder.
        dir: PathBuf,
        /// The split.
        split: String,
        /// Cause.
        #[source]
        source: DataError,
    },
}

/// A dataset as the command line names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSpec {
    /// `camus`: the camus224 folder (seed layout), read in place.
    Camus,
    /// `phantom:N`: N phantom patients generated on the fly.
    Phantom {
        /// Patients of the training split (validation takes a fifth, at least 4).
        patients: usize,
    },
    /// Any other text: a folder in the seed layout (e.g. SDM samples).
    Folder(PathBuf),
}

impl FromStr for DataSpec {
    type Err = DataSpecError;

    /// `camus`, `phantom:N`, or a folder path.
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        if spec == "camus" {
            return Ok(Self::Camus);
        }
        if let Some(n) = spec.strip_prefix("phantom:") {
            let patients = n.parse().map_err(|source| DataSpecError::PhantomCount {
                spec: spec.to_string(),
                source,
            })?;
            return Ok(Self::Phantom { patients });
        }
        Ok(Self::Folder(PathBuf::from(spec)))
    }
}

impl fmt::Display for DataSpec {
    /// The spec as the command line writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Camus => write!(f, "camus"),
            Self::Phantom { patients } => write!(f, "phantom:{patients}"),
            Self::Folder(dir) => write!(f, "{}", dir.display()),
        }
    }
}

impl DataSpec {
    /// Split `split` of the dataset: CAMUS from the `camus` folder; phantoms rendered at
    /// `size`² under `seed` (the training split has the N patients, any other split a fifth
    /// of them, at least 4, numbered after them); a folder read as it is.
    pub fn open(
        &self,
        camus: Option<&Path>,
        split: &str,
        size: usize,
        seed: u64,
    ) -> Result<Arc<dyn SampleSource>, DataSpecError> {
        match self {
            Self::Camus => open_seed(camus.ok_or(DataSpecError::NoCamus)?, split),
            Self::Phantom { patients } => {
                let (patients, first) = if split == "train" {
                    (*patients, 0)
                } else {
                    ((patients / 5).max(4), FIRST_VAL_PHANTOM)
                };
                Ok(Arc::new(PhantomSource::new(patients, first, size, seed)))
            }
            Self::Folder(dir) => open_seed(dir, split),
        }
    }

    /// Where the samples come from.
    pub fn provenance(&self) -> DataProvenance {
        match self {
            Self::Camus => DataProvenance::Camus,
            Self::Phantom { .. } => DataProvenance::Phantom,
            Self::Folder(dir) => DataProvenance::Folder(dir.display().to_string()),
        }
    }
}

fn open_seed(dir: &Path, split: &str) -> Result<Arc<dyn SampleSource>, DataSpecError> {
    let ds = SeedDataset::open(dir, split).map_err(|source| DataSpecError::Open {
        dir: dir.to_path_buf(),
        split: split.to_string(),
        source,
    })?;
    Ok(Arc::new(ds))
}
