//! A worker thread: takes jobs from the queue, segments them with its own engine, and sends
//! the results to the delivery thread.

use super::job::{Event, Job};
use super::{FrameTimings, Outcome, Shared, StreamError, lock, thread_error};
use crate::engine::{Engine, Timings};
use crate::frame::FrameView;
use crate::structure::Structure;
use crossbeam_channel::{Receiver, Sender};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub(super) struct Worker {
    pub(super) engine: Engine,
    pub(super) structures: Vec<Structure>,
    pub(super) queue: Receiver<Job>,
    pub(super) pool: Sender<Vec<u8>>,
    pub(super) events: Sender<Event>,
    pub(super) shared: Arc<Shared>,
}

impl Worker {
    pub(super) fn run(mut self) {
        while let Ok(job) = self.queue.recv() {
            let started = Instant::now();
            let outcome = self.segment(&job);
            let timings = FrameTimings {
                queue: started - job.pushed,
                engine: match &outcome {
                    Outcome::Segmented(s) => s.timings,
                    _ => Timings::default(),
                },
                total: Duration::ZERO,
            };
            {
                // Counted as it leaves the worker: no longer in flight.
                let mut s = lock(&self.shared.stats);
                s.in_flight = s.in_flight.saturating_sub(1);
                match &outcome {
                    Outcome::Segmented(seg) => {
                        s.processed += 1;
                        s.queue_wait.record(timings.queue);
                        let t = &mut s.engine_total;
                        t.preprocess += seg.timings.preprocess;
                        t.text += seg.timings.text;
                        t.image += seg.timings.image;
                        t.postprocess += seg.timings.postprocess;
                        t.total += seg.timings.total;
                    }
                    _ => s.failed += 1,
                }
            }
            let (ev, buf) = job.finish(outcome, timings);
            let _ = self.pool.try_send(buf);
            if self.events.send(ev).is_err() {
                break;
            }
        }
    }

    fn segment(&mut self, job: &Job) -> Outcome {
        let bpp = job.format.bytes_per_pixel();
        let frame =
            match FrameView::new(job.format, job.width, job.height, job.width * bpp, &job.buf) {
                Ok(f) => f,
                Err(e) => return Outcome::Failed(e.to_string()),
            };
        let frame = match job.timestamp_us {
            Some(t) => frame.with_timestamp_us(t),
            None => frame,
        };
        let (engine, structures, meta) = (&mut self.engine, &self.structures, &job.meta);
        match catch_unwind(AssertUnwindSafe(|| {
            engine.segment(&frame, meta, structures)
        })) {
            Ok(Ok(s)) => Outcome::Segmented(Box::new(s)),
            Ok(Err(e)) => Outcome::Failed(e.to_string()),
            Err(p) => {
                let msg = crate::panics::panic_message(p.as_ref());
                log::error!("the engine panicked on frame {}: {msg}", job.seq);
                Outcome::Failed(format!(
                    "internal error: the engine panicked on this frame: {msg}"
                ))
            }
        }
    }
}

/// Start `n` workers on `queue`, each with its own engine: copies of `engine` over its shared
/// plans, the last worker taking `engine` itself.
pub(super) fn spawn_workers(
    engine: Engine,
    n: usize,
    structures: &[Structure],
    queue: &Receiver<Job>,
    pool: &Sender<Vec<u8>>,
    events: &Sender<Event>,
    shared: &Arc<Shared>,
) -> Result<Vec<JoinHandle<()>>, StreamError> {
    let mut workers = Vec::with_capacity(n);
    let mut engine = Some(engine);
    for w in 0..n {
        let eng = match (w + 1 == n, engine.as_ref()) {
            (true, _) => engine.take(),
            (false, Some(e)) => Some(e.try_clone()),
            (false, None) => None,
        };
        let Some(eng) = eng else {
            return Err(StreamError::Config("no engine for a worker".into()));
        };
        let worker = Worker {
            engine: eng,
            structures: structures.to_vec(),
            queue: queue.clone(),
            pool: pool.clone(),
            events: events.clone(),
            shared: Arc::clone(shared),
        };
        let h = crate::threads::spawn(format!("synboost-worker-{w}"), move || worker.run())
            .map_err(thread_error)?;
        workers.push(h);
    }
    Ok(workers)
}
