//! Small deterministic random numbers: SplitMix64 for parameters, and hashed complex Gaussian
//! scatterers, so any cell of any frame is drawn in O(1) without tables.
//!
//! [`SplitMix64`] implements `rand_core`'s `TryRng` with an infallible error, so it is a
//! `rand_core::Rng` (0.10's name for `RngCore`) and a `SeedableRng`: it composes with the
//! ecosystem (`rand`'s distributions, shuffles) while its streams stay the ones every phantom,
//! dataset and training run was made with. [`SplitMix64::new`] and
//! `SeedableRng::seed_from_u64` give the same stream.

/// SplitMix64 (Steele, Lea and Flood 2014): fast, deterministic, good enough for simulation
/// parameters; not for cryptography.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x5851_f42d_4c95_7f2d)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(1e-300);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

impl rand_core::TryRng for SplitMix64 {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        // The high half: SplitMix64's best bits.
        Ok((SplitMix64::next_u64(self) >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(SplitMix64::next_u64(self))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(8) {
            let bytes = SplitMix64::next_u64(self).to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

impl rand_core::SeedableRng for SplitMix64 {
    type Seed = [u8; 8];

    fn from_seed(seed: Self::Seed) -> Self {
        Self::new(u64::from_le_bytes(seed))
    }

    /// The same stream as [`SplitMix64::new`] (not `rand_core`'s PCG expansion of the seed).
    fn seed_from_u64(state: u64) -> Self {
        Self::new(state)
    }
}

/// A standard-normal-like value from 64 hash bits: the sum of four 16-bit uniforms, centred and
/// scaled to unit variance (Irwin–Hall; after the point-spread function sums many of them the
/// field is Gaussian to within sampling noise).
#[inline]
pub fn gauss_from_bits(h: u64) -> f32 {
    let s = (h & 0xffff) + ((h >> 16) & 0xffff) + ((h >> 32) & 0xffff) + (h >> 48);
    // Mean 2·65535, variance 4/12 · 65536².
    (s as f32 - 131_070.0) * (1.0 / 37_837.23)
}

/// A complex Gaussian scatterer (unit variance per component) for an integer cell and a seed.
#[inline]
pub fn scatterer(cu: i64, cv: i64, seed: u64) -> [f32; 2] {
    let k = (cu as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ (cv as u64).wrapping_mul(0xc2b2_ae3d_27d4_eb4f)
        ^ seed;
    let a = mix(k);
    let b = mix(a ^ 0x1656_67b1_9e37_79f9);
    [gauss_from_bits(a), gauss_from_bits(b)]
}

/// SplitMix64's finaliser: a strong 64-bit mix.
#[inline]
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::{Rng, SeedableRng};

    /// Recorded from the implementation before the rand_core traits were added.
    const STREAM_42: [u64; 3] = [0xdb26f2b8006be934, 0x1a5d397a7335284a, 0x67b3f7cb97d01b12];

    /// The first outputs for seed 42, as every phantom and training stream has drawn them:
    /// implementing the `rand_core` traits must not change a stream.
    #[test]
    fn streams_are_stable_through_rand_core() {
        let mut a = SplitMix64::new(42);
        let first: Vec<u64> = (0..3).map(|_| a.next_u64()).collect();
        assert_eq!(first, STREAM_42);
        let mut b = SplitMix64::seed_from_u64(42);
        assert_eq!(Rng::next_u64(&mut b), STREAM_42[0]);
        assert_eq!(Rng::next_u32(&mut b), (STREAM_42[1] >> 32) as u32);
        let mut c = SplitMix64::from_seed(42u64.to_le_bytes());
        let mut bytes = [0u8; 12];
        c.fill_bytes(&mut bytes);
        assert_eq!(bytes[..8], STREAM_42[0].to_le_bytes());
        assert_eq!(bytes[8..], STREAM_42[1].to_le_bytes()[..4]);
    }

    /// Generic code over `rand_core::Rng` gets the same numbers as the inherent methods.
    #[test]
    fn composes_as_a_rand_core_rng() {
        fn draw<R: Rng>(r: &mut R) -> u64 {
            r.next_u64()
        }
        let (mut a, mut b) = (SplitMix64::new(7), SplitMix64::new(7));
        for _ in 0..100 {
            assert_eq!(draw(&mut a), b.next_u64());
        }
    }

    #[test]
    fn hashed_scatterers_are_unit_normal() {
        let n = 200_000;
        let (mut m, mut v, mut k4) = (0.0f64, 0.0f64, 0.0f64);
        for i in 0..n {
            let z = scatterer(i, -3 * i, 42)[i as usize % 2] as f64;
            m += z;
            v += z * z;
            k4 += z * z * z * z;
        }
        let (m, v, k4) = (m / n as f64, v / n as f64, k4 / n as f64);
        assert!(m.abs() < 0.01, "{m}");
        assert!((v - 1.0).abs() < 0.02, "{v}");
        // Irwin-Hall(4) kurtosis is 2.7 (Gaussian 3).
        assert!((k4 - 2.7).abs() < 0.1, "{k4}");
    }
}
