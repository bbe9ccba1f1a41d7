//! [`Take`]: a source limited to its first samples (quick runs, partial validation).

use std::sync::Arc;
use synboost_data::{DataError, Sample, SampleSource};

/// A source limited to its first `n` samples (quick runs, partial validation).
pub struct Take {
    inner: Arc<dyn SampleSource>,
    n: usize,
}

impl Take {
    /// The first `n` samples of `inner`.
    pub fn new(inner: Arc<dyn SampleSource>, n: usize) -> Self {
        Self { inner, n }
    }
}

impl SampleSource for Take {
    fn len(&self) -> usize {
        self.inner.len().min(self.n)
    }
    fn name(&self) -> String {
        if self.n < self.inner.len() {
            format!("{} (first {})", self.inner.name(), self.n)
        } else {
            self.inner.name()
        }
    }
    fn id(&self, index: usize) -> Option<&str> {
        if index < self.len() {
            self.inner.id(index)
        } else {
            None
        }
    }
    fn load(&self, index: usize) -> Result<Sample, DataError> {
        self.inner.load(index)
    }
}
