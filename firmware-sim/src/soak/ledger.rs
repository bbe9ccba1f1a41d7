//! The soak's bookkeeping, fixed-size so that the resident memory measured is the library's:
//! one byte per sequence number ([`Ledger`]) and what the producers did ([`Tally`]).

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

/// What the producers did, shared between them.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Push calls made.
    pub push_calls: u64,
    /// Pushes accepted.
    pub accepted: u64,
    /// Of them, by the burst thread.
    pub burst_accepted: u64,
    /// Faults injected, by kind.
    pub faults: BTreeMap<String, u64>,
    /// The first few unexpected refusals.
    pub unexpected: Vec<String>,
    /// Unexpected refusals.
    pub unexpected_count: u64,
    /// The first few wrong refusals of invalid descriptions.
    pub wrong: Vec<String>,
    /// Wrong refusals.
    pub wrong_count: u64,
}

impl Tally {
    /// Count one fault of kind `name`.
    pub fn fault(&mut self, name: &str) {
        *self.faults.entry(name.to_string()).or_insert(0) += 1;
    }
}

/// Per sequence number: 0 unseen, bit 0 accepted, bit 1 has a result, bit 2 repeated.
#[derive(Debug)]
pub(crate) struct Ledger {
    marks: Mutex<Vec<u8>>,
}

/// The push was accepted.
pub(crate) const ACCEPTED: u8 = 1;
/// A result came.
pub(crate) const RESULT: u8 = 2;
/// A second result came.
pub(crate) const REPEATED: u8 = 4;

impl Ledger {
    /// A ledger with room for `n` sequence numbers before it grows.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            marks: Mutex::new(Vec::with_capacity(n)),
        }
    }

    /// Mark `seq`; returns the marks it had.
    pub fn mark(&self, seq: u64, bit: u8) -> u8 {
        let mut m = self.marks.lock().unwrap_or_else(PoisonError::into_inner);
        let i = usize::try_from(seq).unwrap_or(usize::MAX);
        if i >= m.len() {
            if i > m.len() + (1 << 24) {
                return u8::MAX;
            }
            m.resize(i + 1, 0);
        }
        let before = m[i];
        m[i] |= if before & bit != 0 && bit == RESULT {
            REPEATED
        } else {
            bit
        };
        before
    }

    /// Accepted pushes without a result, and results repeated, once the stream has ended.
    pub fn missing_and_repeated(self) -> (u64, u64) {
        let marks = self
            .marks
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        let missing = marks
            .iter()
            .filter(|&&m| m & ACCEPTED != 0 && m & RESULT == 0)
            .count() as u64;
        let repeated = marks.iter().filter(|&&m| m & REPEATED != 0).count() as u64;
        (missing, repeated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ledger_finds_missing_repeated_and_unknown_results() {
        let l = Ledger::with_capacity(4);
        assert_eq!(l.mark(0, ACCEPTED), 0);
        assert_eq!(l.mark(2, ACCEPTED), 0);
        assert_eq!(l.mark(0, RESULT), ACCEPTED);
        assert_eq!(l.mark(0, RESULT) & RESULT, RESULT);
        assert_eq!(l.mark(1, RESULT) & ACCEPTED, 0);
        let m = l.marks.into_inner().unwrap();
        assert_eq!(m[0] & REPEATED, REPEATED);
        assert_eq!(m[2] & RESULT, 0);
    }
}
