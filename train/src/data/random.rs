//! The pipeline's random streams: one [`SplitMix64`] per purpose (shuffling, per-pair draws,
//! mixing), keyed by numbers only, so that what is drawn never depends on threads or timing.

use synboost_phantom::rng::{SplitMix64, mix};

pub(super) const SHUFFLE_SALT: u64 = 0x5348_5546_464c_4531;
pub(super) const PAIR_SALT: u64 = 0x5041_4952_5f44_5257;
pub(super) const MIX_SALT: u64 = 0x4d49_585f_534f_5552;

/// A random stream for one purpose, keyed by up to three numbers.
pub(super) fn stream(salt: u64, a: u64, b: u64, c: u64) -> SplitMix64 {
    SplitMix64::new(mix(mix(mix(salt ^ a).wrapping_add(b)).wrapping_add(c)))
}

/// Uniform in `0..n` (`n` > 0; 0 when `n` is 0).
pub(super) fn below(rng: &mut SplitMix64, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    (rng.next_u64() % n as u64) as usize
}

/// Fisher–Yates shuffle.
pub(super) fn shuffle<T>(v: &mut [T], rng: &mut SplitMix64) {
    for i in (1..v.len()).rev() {
        let j = below(rng, i + 1);
        v.swap(i, j);
    }
}
