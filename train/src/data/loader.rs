//! [`Loader`]: one epoch of batches, prepared on background threads through bounded channels.

use super::batch::Shared;
use super::{Batch, PipelineConfig, PipelineError, epoch_items};
use crossbeam_channel::{Receiver, Sender, bounded};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use synboost_core::preprocess::Preprocessor;
use synboost_core::vocab::Tokenizer;
use synboost_data::SampleSource;

/// One epoch of batches, prepared by background threads.
///
/// Batch `b` holds pairs `b · batch_size ..` of [`epoch_items`]; it is built by thread
/// `b % workers` and handed over in order, so the sequence is the same for any number of
/// threads. A batch that fails (a sample that does not load, say) is an `Err` item and the
/// epoch goes on. Dropping the loader stops its threads (each finishes at most the sample it is
/// decoding) and waits for them.
pub struct Loader {
    shared: Arc<Shared>,
    receivers: Vec<Receiver<Result<Batch, PipelineError>>>,
    handles: Vec<JoinHandle<()>>,
    next: usize,
    total: usize,
    pending: Option<PipelineError>,
}

impl fmt::Debug for Loader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loader")
            .field("epoch", &self.shared.epoch)
            .field("next", &self.next)
            .field("batches", &self.total)
            .field("workers", &self.handles.len())
            .finish()
    }
}

impl Loader {
    /// Epoch `epoch` of `source` with the builtin vocabulary's tokenizer
    /// ([`Tokenizer::default`], 32 tokens).
    pub fn epoch(source: Arc<dyn SampleSource>, cfg: PipelineConfig, epoch: usize) -> Self {
        Self::with_tokenizer(source, cfg, epoch, Tokenizer::default())
    }

    /// Epoch `epoch` of `source`, tokenising with `tokenizer` (e.g. a bundle's vocabulary and
    /// the model's length). An invalid configuration gives one `Err` item and no batches.
    pub fn with_tokenizer(
        source: Arc<dyn SampleSource>,
        cfg: PipelineConfig,
        epoch: usize,
        tokenizer: Tokenizer,
    ) -> Self {
        let invalid = cfg.validate().err();
        let items = if invalid.is_some() {
            Vec::new()
        } else {
            epoch_items(source.len(), &cfg, epoch)
        };
        let kinds = cfg.prompt.kinds(cfg.scheme);
        let shared = Arc::new(Shared {
            source,
            cfg,
            epoch,
            items,
            kinds,
            tokenizer,
            stop: AtomicBool::new(false),
            degraded_logged: AtomicBool::new(false),
        });
        let mut loader = Self {
            total: shared.batches(),
            shared,
            receivers: Vec::new(),
            handles: Vec::new(),
            next: 0,
            pending: invalid,
        };
        if loader.total > 0
            && let Err(e) = loader.spawn()
        {
            loader.shutdown();
            loader.total = 0;
            loader.pending = Some(e);
        }
        loader
    }

    fn spawn(&mut self) -> Result<(), PipelineError> {
        let workers = self.shared.cfg.workers.clamp(1, self.total);
        let capacity = self.shared.cfg.prefetch.div_ceil(workers).max(1);
        log::debug!(
            "loader epoch {}: {} pairs in {} batches, {workers} threads, {capacity} batches \
             buffered each",
            self.shared.epoch,
            self.shared.items.len(),
            self.total
        );
        for w in 0..workers {
            let (tx, rx) = bounded(capacity);
            let shared = Arc::clone(&self.shared);
            let handle = std::thread::Builder::new()
                .name(format!("loader-{w}"))
                .spawn(move || work(&shared, w, workers, &tx))
                .map_err(PipelineError::Thread)?;
            self.receivers.push(rx);
            self.handles.push(handle);
        }
        Ok(())
    }

    /// Number of batches in this epoch.
    pub fn batches(&self) -> usize {
        self.total
    }

    /// Number of pairs in this epoch.
    pub fn pairs(&self) -> usize {
        self.shared.items.len()
    }

    fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        // Dropping the receivers fails any blocked send, so every thread returns.
        self.receivers.clear();
        for h in self.handles.drain(..) {
            if h.join().is_err() {
                log::warn!("a loader thread panicked");
            }
        }
    }
}

/// Loader thread `w` of `workers`: batches `w, w + workers, …` in order.
fn work(shared: &Shared, w: usize, workers: usize, tx: &Sender<Result<Batch, PipelineError>>) {
    let (mw, mh) = shared.cfg.input;
    let mut prep = Preprocessor::new(mw, mh);
    let mut b = w;
    while b < shared.batches() {
        if shared.stop.load(Ordering::Relaxed) {
            return;
        }
        let batch = shared.batch(b, &mut prep);
        if shared.stop.load(Ordering::Relaxed) || tx.send(batch).is_err() {
            return;
        }
        b += workers;
    }
}

impl Iterator for Loader {
    type Item = Result<Batch, PipelineError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.pending.take() {
            return Some(Err(e));
        }
        if self.next >= self.total {
            return None;
        }
        let rx = self
            .receivers
            .get(self.next % self.receivers.len().max(1))?;
        match rx.recv() {
            Ok(batch) => {
                self.next += 1;
                Some(batch)
            }
            Err(_) => {
                self.next = self.total;
                Some(Err(PipelineError::Disconnected))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.total - self.next.min(self.total) + usize::from(self.pending.is_some());
        (n, Some(n))
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        self.shutdown();
    }
}
