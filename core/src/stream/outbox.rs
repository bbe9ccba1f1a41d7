//! Results that are ready and not yet delivered: read by [`super::Stream::poll`], or by the
//! thread that calls the result callback. Bounded in both cases, so that a reader that is slow
//! (a callback that sleeps, a host that polls rarely) can never make the stream hold more than
//! `capacity` finished results:
//!
//! - **lossy** (drop-oldest and reject): a full outbox drops its oldest result to make room,
//!   counted in `unread_dropped`;
//! - **lossless** (block): nothing is dropped; pushers wait in [`Outbox::wait_for_room`]
//!   while `capacity` results wait for the reader, so the reader paces the scanner side.
//!
//! A discarding stop of a callback stream ([`Outbox::stop`]) drops what the callback has not
//! been given yet, so the stop waits for at most the callback that is running.

use super::FrameResult;
use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// A finished result and when its frame was pushed (for its push-to-delivery time).
pub(super) struct Ready {
    pub result: FrameResult,
    pub pushed: Instant,
}

/// What [`Outbox::take`] found.
pub(super) enum Taken {
    /// The next result.
    Result(Box<Ready>),
    /// Nothing within the timeout.
    Timeout,
    /// The stream has stopped and nothing is left to read.
    End,
}

struct State {
    ready: VecDeque<Ready>,
    /// Nothing more will be put (the delivery thread has finished).
    closed: bool,
    /// Stop was called: waiting pushers give up.
    stopping: bool,
    /// Drop what has not been taken, and whatever is still put (a discarding stop of a
    /// callback stream).
    discard: bool,
    /// Results dropped before anyone took them.
    unread_dropped: u64,
}

/// The bounded store of ready results (see the module documentation).
pub(super) struct Outbox {
    state: Mutex<State>,
    /// Signalled when a result is put or the outbox closes (readers wait on it).
    readable: Condvar,
    /// Signalled when a result is taken or a stop begins (pushers under block wait on it).
    room: Condvar,
    capacity: usize,
    lossless: bool,
}

impl Outbox {
    /// An empty outbox for `capacity` (≥ 1) results; `lossless` for the block policy.
    pub(super) fn new(capacity: usize, lossless: bool) -> Self {
        Self {
            state: Mutex::new(State {
                ready: VecDeque::new(),
                closed: false,
                stopping: false,
                discard: false,
                unread_dropped: 0,
            }),
            readable: Condvar::new(),
            room: Condvar::new(),
            capacity: capacity.max(1),
            lossless,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Add a result (from the delivery thread, in sequence order).
    pub(super) fn put(&self, r: Ready) {
        let mut s = self.lock();
        if s.discard {
            s.unread_dropped += 1;
            return;
        }
        if !self.lossless && s.ready.len() >= self.capacity {
            s.ready.pop_front();
            s.unread_dropped += 1;
        }
        s.ready.push_back(r);
        drop(s);
        self.readable.notify_one();
    }

    /// The next result, waiting up to `timeout` (`None`: until one comes or the outbox
    /// closes; zero: not at all).
    pub(super) fn take(&self, timeout: Option<Duration>) -> Taken {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut s = self.lock();
        loop {
            if s.discard {
                s.unread_dropped += s.ready.len() as u64;
                s.ready.clear();
            }
            if let Some(r) = s.ready.pop_front() {
                drop(s);
                self.room.notify_all();
                return Taken::Result(Box::new(r));
            }
            if s.closed {
                return Taken::End;
            }
            s = match deadline {
                None => self
                    .readable
                    .wait(s)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return Taken::Timeout;
                    }
                    self.readable
                        .wait_timeout(s, d - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }

    /// Under the block policy: wait while `capacity` results wait for the reader. `Err(())`
    /// when the stream is stopping (the push gives up).
    pub(super) fn wait_for_room(&self) -> Result<(), ()> {
        let mut s = self.lock();
        while s.ready.len() >= self.capacity {
            if s.stopping {
                return Err(());
            }
            s = self.room.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
        if s.stopping { Err(()) } else { Ok(()) }
    }

    /// Whether the reader has `capacity` results waiting (a push from the reader's own thread
    /// must not wait for itself).
    pub(super) fn full(&self) -> bool {
        self.lock().ready.len() >= self.capacity
    }

    /// A stop begins: waiting pushers give up; with `discard`, results not yet taken are
    /// dropped, and so is whatever is still put.
    pub(super) fn stop(&self, discard: bool) {
        let mut s = self.lock();
        s.stopping = true;
        if discard {
            s.discard = true;
            s.unread_dropped += s.ready.len() as u64;
            s.ready.clear();
        }
        drop(s);
        self.room.notify_all();
        self.readable.notify_all();
    }

    /// Nothing more will be put: readers get [`Taken::End`] once the outbox is empty.
    pub(super) fn close(&self) {
        self.lock().closed = true;
        self.readable.notify_all();
        self.room.notify_all();
    }

    /// Results waiting now, and results dropped unread so far.
    pub(super) fn counts(&self) -> (usize, u64) {
        let s = self.lock();
        (s.ready.len(), s.unread_dropped)
    }
}
