//! How a soak is run.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// How a soak is run.
#[derive(Debug, Clone)]
pub struct SoakOptions {
    /// The library file.
    pub lib: PathBuf,
    /// The model bundle.
    pub bundle: PathBuf,
    /// Length, seconds.
    pub seconds: f64,
    /// Frames per second of the producer.
    pub fps: f64,
    /// Seed of the faults and the phantom.
    pub seed: u64,
    /// Phantom frame side, pixels.
    pub size: usize,
    /// Queue capacity of the stream.
    pub queue: u32,
    /// Worker threads of the stream.
    pub workers: u32,
    /// Output folder (created).
    pub out: PathBuf,
    /// Largest resident-memory growth after the warm-up that passes, MiB.
    pub max_growth_mib: f64,
    /// Set from elsewhere (Ctrl-C) to end early; the report is still written.
    pub interrupt: Option<Arc<AtomicBool>>,
}

impl SoakOptions {
    /// Whether the interrupt flag has been set.
    pub(crate) fn interrupted(&self) -> bool {
        self.interrupt
            .as_ref()
            .is_some_and(|i| i.load(Ordering::Relaxed))
    }
}
