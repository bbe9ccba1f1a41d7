//! Puts results that finish out of order (several workers, drops) back in sequence order.

use std::collections::BTreeMap;

/// An item released in order.
pub(super) struct Delivered<T>(pub T);

/// Holds items until every earlier sequence number has been released.
pub(super) struct Reorder<T> {
    next: u64,
    pending: BTreeMap<u64, T>,
}

impl<T> Reorder<T> {
    /// Expecting sequence 0 first.
    pub(super) fn new() -> Self {
        Self {
            next: 0,
            pending: BTreeMap::new(),
        }
    }

    /// Add the item of `seq` (a repeated or already released number is ignored).
    pub(super) fn insert(&mut self, seq: u64, item: T) {
        if seq >= self.next {
            self.pending.entry(seq).or_insert(item);
        }
    }

    /// The next item in order, if it has arrived.
    pub(super) fn next(&mut self) -> Option<Delivered<T>> {
        let item = self.pending.remove(&self.next)?;
        self.next += 1;
        Some(Delivered(item))
    }

    /// Whatever is still held, in order (for shutdown, when gaps can no longer fill).
    pub(super) fn rest(self) -> impl Iterator<Item = T> {
        self.pending.into_values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_in_order_whatever_the_arrival_order() {
        let mut r = Reorder::new();
        let mut out = Vec::new();
        for seq in [2u64, 0, 3, 1, 5, 4] {
            r.insert(seq, seq * 10);
            while let Some(Delivered(v)) = r.next() {
                out.push(v);
            }
        }
        assert_eq!(out, vec![0, 10, 20, 30, 40, 50]);
        r.insert(3, 99); // already released: ignored
        assert!(r.next().is_none());
        r.insert(7, 70);
        assert!(r.next().is_none(), "6 has not arrived");
        assert_eq!(r.rest().collect::<Vec<_>>(), vec![70]);
    }
}
