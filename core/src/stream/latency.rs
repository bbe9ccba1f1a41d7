//! A fixed-size latency histogram: log-linear buckets over microseconds (64 per power of two,
//! so a quantile is within 1.6 % of the true value), no allocation after construction.

use std::time::Duration;

/// Sub-buckets per power of two.
const SUB: u64 = 64;
/// Powers of two covered above the linear range: up to 2^(6+40) µs, far beyond any latency.
const OCTAVES: u64 = 40;
const BUCKETS: usize = (SUB + OCTAVES * SUB) as usize;

/// Latency distribution with quantiles, mean and maximum.
#[derive(Clone)]
pub struct LatencyHistogram {
    counts: Box<[u64]>,
    count: u64,
    sum_us: u128,
    max_us: u64,
}

impl std::fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatencyHistogram")
            .field("count", &self.count)
            .field("p50", &self.quantile(0.5))
            .field("p99", &self.quantile(0.99))
            .field("max", &self.max())
            .finish()
    }
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

fn index(us: u64) -> usize {
    if us < SUB {
        return us as usize;
    }
    // e ≥ 6: the power of two; the next 6 bits below the leading one pick the sub-bucket.
    let e = 63 - u64::from(us.leading_zeros());
    let octave = (e - 6).min(OCTAVES - 1);
    let mantissa = (us >> (octave)).min(2 * SUB - 1); // in [64, 128)
    (SUB + octave * SUB + (mantissa - SUB)) as usize
}

/// The largest value that falls in bucket `i` (quantiles are reported conservatively).
fn upper(i: usize) -> u64 {
    let i = i as u64;
    if i < SUB {
        return i;
    }
    let octave = (i - SUB) / SUB;
    let mantissa = SUB + (i - SUB) % SUB;
    ((mantissa + 1) << octave) - 1
}

impl LatencyHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Self {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            count: 0,
            sum_us: 0,
            max_us: 0,
        }
    }

    /// Record one latency.
    pub fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        if let Some(c) = self.counts.get_mut(index(us)) {
            *c += 1;
        }
        self.count += 1;
        self.sum_us += u128::from(us);
        self.max_us = self.max_us.max(us);
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The `q`-quantile (`q` in [0, 1]), rounded up to its bucket's upper edge and never above
    /// the maximum; zero when empty.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        let q = if q.is_finite() {
            q.clamp(0.0, 1.0)
        } else {
            1.0
        };
        let rank = ((q * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Duration::from_micros(upper(i).min(self.max_us));
            }
        }
        Duration::from_micros(self.max_us)
    }

    /// Largest value recorded.
    pub fn max(&self) -> Duration {
        Duration::from_micros(self.max_us)
    }

    /// Mean of the values recorded.
    pub fn mean(&self) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        Duration::from_micros((self.sum_us / u128::from(self.count)) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_tight() {
        // Every value maps to a bucket whose upper edge is ≥ it and within 1/64 of it.
        let mut last = 0;
        for us in (0..200_000u64).chain([1 << 30, (1 << 40) + 12345]) {
            let i = index(us);
            assert!(i >= last || us > 200_000, "index not monotone at {us}");
            last = i;
            let u = upper(i);
            assert!(u >= us, "{us} above its bucket's edge {u}");
            assert!(
                (u - us) as f64 <= us as f64 / 64.0 + 1.0,
                "{us}: bucket too wide ({u})"
            );
        }
    }

    #[test]
    fn quantiles_of_a_known_distribution() {
        let mut h = LatencyHistogram::new();
        for us in 1..=10_000u64 {
            h.record(Duration::from_micros(us));
        }
        let p50 = h.quantile(0.5).as_micros() as f64;
        let p99 = h.quantile(0.99).as_micros() as f64;
        assert!((p50 - 5000.0).abs() / 5000.0 < 0.02, "p50 {p50}");
        assert!((p99 - 9900.0).abs() / 9900.0 < 0.02, "p99 {p99}");
        assert_eq!(h.max(), Duration::from_micros(10_000));
        assert_eq!(h.quantile(1.0), Duration::from_micros(10_000));
        assert_eq!(h.mean(), Duration::from_micros(5000));
        assert_eq!(h.count(), 10_000);
        assert_eq!(LatencyHistogram::new().quantile(0.5), Duration::ZERO);
    }

    #[test]
    fn a_single_outlier_is_the_max_not_the_median() {
        let mut h = LatencyHistogram::new();
        for _ in 0..99 {
            h.record(Duration::from_millis(10));
        }
        h.record(Duration::from_secs(3));
        assert!(h.quantile(0.5) <= Duration::from_micros(10_160));
        assert!(h.quantile(0.99) <= Duration::from_micros(10_160));
        assert_eq!(h.max(), Duration::from_secs(3));
    }
}
