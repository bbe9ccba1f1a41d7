//! The delivery thread (results back in sequence order, measured, into the outbox) and the
//! callback thread (results from the outbox to the host's callback).

use super::job::Event;
use super::outbox::{Outbox, Ready, Taken};
use super::reorder::{Delivered, Reorder};
use super::{FrameResult, Outcome, Shared, lock};
use crate::measure::tracker::CardiacTracker;
use crossbeam_channel::Receiver;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Instant;

/// The delivery thread's ends.
pub(super) struct Output {
    pub(super) outbox: Arc<Outbox>,
    /// A callback thread takes from the outbox (it records the delivery time itself).
    pub(super) callback: bool,
    pub(super) shared: Arc<Shared>,
    pub(super) tracker: Option<CardiacTracker>,
}

/// A result is delivered: its push-to-delivery time, and the latency of a segmented frame.
fn delivered(r: &mut FrameResult, pushed: Instant, shared: &Shared) {
    r.timings.total = pushed.elapsed();
    if matches!(r.outcome, Outcome::Segmented(_)) {
        lock(&shared.stats).latency.record(r.timings.total);
    }
}

impl Output {
    /// Measure a segmented frame (in sequence order, on the delivery thread).
    fn measure(&mut self, r: &mut FrameResult) {
        let (Some(tracker), Outcome::Segmented(seg)) = (self.tracker.as_mut(), &r.outcome) else {
            return;
        };
        let m = tracker.observe(r.seq, r.timestamp_us, &r.meta, seg, r.phase_source);
        r.measurements = Some(Box::new(m));
        let clocks = tracker.clocks();
        let mut shared = lock(&self.shared.clocks);
        if *shared != clocks {
            *shared = clocks;
        }
    }

    fn emit(&mut self, mut r: FrameResult, pushed: Instant) {
        if catch_unwind(AssertUnwindSafe(|| self.measure(&mut r))).is_err() {
            log::error!("measuring frame {} panicked; it has no measurements", r.seq);
            r.measurements = None;
        }
        if !self.callback {
            // Pollable from now on.
            delivered(&mut r, pushed, &self.shared);
        }
        self.outbox.put(Ready { result: r, pushed });
    }
}

pub(super) fn deliver(events: Receiver<Event>, mut out: Output) {
    let mut order = Reorder::new();
    for ev in events.iter() {
        order.insert(ev.result.seq, ev);
        while let Some(Delivered(ev)) = order.next() {
            out.emit(*ev.result, ev.pushed);
        }
    }
    // Every sender is gone: whatever is left (there should be nothing) goes out in order.
    for ev in order.rest() {
        out.emit(*ev.result, ev.pushed);
    }
    out.outbox.close();
}

/// The callback thread: hands every result the outbox gives to the callback, in order, until
/// the stream has stopped and the outbox is empty (or discarded).
pub(super) fn call_back(
    outbox: &Outbox,
    shared: &Shared,
    mut cb: Box<dyn FnMut(FrameResult) + Send>,
) {
    loop {
        match outbox.take(None) {
            Taken::Result(ready) => {
                let Ready { mut result, pushed } = *ready;
                delivered(&mut result, pushed, shared);
                if catch_unwind(AssertUnwindSafe(|| cb(result))).is_err() {
                    log::error!("the result callback panicked");
                }
            }
            Taken::Timeout => {}
            Taken::End => return,
        }
    }
}
