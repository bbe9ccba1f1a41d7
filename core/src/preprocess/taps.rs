//! Precomputed taps of a 1-D antialiased triangle-filter resampling (the rule is in the
//! [module documentation](super)), in the layout the kernels read.

/// Fixed-point precision of the resampling weights (PIL's for 8-bit images).
pub(super) const PRECISION_BITS: u32 = 22;
/// Rounding term: half of one in fixed point.
pub(super) const HALF: i32 = 1 << (PRECISION_BITS - 1);
/// The vector kernels split each weight into `hi · 2^SPLIT + lo`, both below 2^15, so that
/// 16-bit multiply-adds compute the exact 32-bit sums.
pub(super) const SPLIT: u32 = 11;

/// Taps of a 1-D resampling: for each output pixel, the first source pixel, the tap count, and
/// the fixed-point weights; also the weights split for the vector kernels, padded to
/// [`Taps::padded`] slots per output.
#[derive(Default, Clone)]
pub(super) struct Taps {
    ksize: usize,
    spans: Vec<(usize, usize)>,
    weights: Vec<i32>,
    padded: usize,
    starts: Vec<usize>,
    split: Vec<i16>,
    identity: bool,
}

impl std::fmt::Debug for Taps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Taps({} outputs × {})", self.spans.len(), self.ksize)
    }
}

impl Taps {
    /// Antialiased triangle-filter taps from `in_size` to `out_size` pixels (both ≥ 1).
    pub fn build(&mut self, in_size: usize, out_size: usize) {
        let scale = in_size as f64 / out_size as f64;
        let filterscale = scale.max(1.0);
        let support = filterscale;
        self.ksize = support.ceil() as usize * 2 + 1;
        self.spans.clear();
        self.weights.clear();
        self.weights.resize(out_size * self.ksize, 0);
        let mut w = vec![0f64; self.ksize];
        for (j, slot) in self.weights.chunks_exact_mut(self.ksize).enumerate() {
            let center = (j as f64 + 0.5) * scale;
            let start = (center - support + 0.5).floor().max(0.0) as usize;
            let end = ((center + support + 0.5).floor() as usize)
                .min(in_size)
                .min(start + self.ksize);
            let n = end.saturating_sub(start);
            let mut total = 0.0;
            for (k, wk) in w.iter_mut().enumerate().take(n) {
                let d = ((start + k) as f64 + 0.5 - center) / filterscale;
                *wk = (1.0 - d.abs()).max(0.0);
                total += *wk;
            }
            let one = f64::from(1u32 << PRECISION_BITS);
            let mut sum = 0i32;
            for (s, &wk) in slot.iter_mut().zip(&w).take(n) {
                *s = (wk / total * one).round() as i32;
                sum += *s;
            }
            // Make the weights sum to exactly 1 (on the largest) so that constants stay constant.
            let best = slot.iter().take(n).enumerate().max_by_key(|&(_, &s)| s);
            if let Some(s) = best.map(|(k, _)| k).and_then(|k| slot.get_mut(k)) {
                *s += (1 << PRECISION_BITS) - sum;
            }
            self.spans.push((start, n));
        }
        self.split(in_size);
    }

    /// Fill the split, padded weights and the identity flag from the plain ones.
    fn split(&mut self, in_size: usize) {
        let n_max = self.spans.iter().map(|s| s.1).max().unwrap_or(0);
        self.padded = n_max.div_ceil(8).max(1) * 8;
        self.starts.clear();
        self.starts.extend(self.spans.iter().map(|s| s.0));
        self.split.clear();
        self.split.resize(self.spans.len() * 2 * self.padded, 0);
        let mask = (1 << SPLIT) - 1;
        for (j, &(_, n)) in self.spans.iter().enumerate() {
            let w = &self.weights[j * self.ksize..j * self.ksize + n];
            let at = j * 2 * self.padded;
            for (k, &wk) in w.iter().enumerate() {
                // Weights are in 0..=2^22 (a triangle filter's are never negative), so both
                // halves fit in i16.
                self.split[at + k] = i16::try_from(wk >> SPLIT).unwrap_or(i16::MAX);
                self.split[at + self.padded + k] = i16::try_from(wk & mask).unwrap_or(0);
            }
        }
        self.identity = self.spans.len() == in_size
            && (0..self.spans.len()).all(|j| {
                let (start, w) = self.taps(j);
                start == j
                    && w.first() == Some(&(1 << PRECISION_BITS))
                    && w.iter().skip(1).all(|&v| v == 0)
            });
    }

    /// Whether every output pixel is its own source pixel (same-size resampling).
    pub fn is_identity(&self) -> bool {
        self.identity
    }

    /// Source pixels `start..end` that any output pixel reads.
    pub fn range(&self) -> (usize, usize) {
        let start = self.spans.iter().map(|s| s.0).min().unwrap_or(0);
        let end = self.spans.iter().map(|s| s.0 + s.1).max().unwrap_or(0);
        (start, end)
    }

    /// Output pixel `j`'s first source pixel and weights.
    pub fn taps(&self, j: usize) -> (usize, &[i32]) {
        let (start, n) = self.spans.get(j).copied().unwrap_or((0, 0));
        let w = self
            .weights
            .get(j * self.ksize..j * self.ksize + n)
            .unwrap_or(&[]);
        (start, w)
    }

    /// First source pixel of every output pixel (nondecreasing).
    pub fn starts(&self) -> &[usize] {
        &self.starts
    }

    /// Tap count of output pixel `j`.
    pub fn count(&self, j: usize) -> usize {
        self.spans.get(j).map_or(0, |s| s.1)
    }

    /// The split weights of all outputs: for output `j`, `2·padded` values from
    /// `2·padded·j`: the high halves of its weights, then the low halves, zero past its tap
    /// count.
    pub fn split_weights(&self) -> &[i16] {
        &self.split
    }

    /// Weight slots per output in the split layout: the largest tap count rounded up to 8.
    pub fn padded(&self) -> usize {
        self.padded
    }
}
