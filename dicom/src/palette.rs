//! [`Palette`]: a PALETTE COLOR lookup table reduced to 8 bits per channel, and the luma of
//! an index through it.

use synboost_core::frame::luma;

/// A palette colour lookup table, already reduced to 8 bits per channel.
pub(crate) struct Palette {
    /// The first index the table maps (`…Descriptor`, second value).
    pub(crate) first: i64,
    /// Red entries.
    pub(crate) red: Vec<u8>,
    /// Green entries.
    pub(crate) green: Vec<u8>,
    /// Blue entries.
    pub(crate) blue: Vec<u8>,
}

impl Palette {
    /// The luma of index `v` (clamped to the table).
    pub(crate) fn luma(&self, v: i64) -> u8 {
        let n = self.red.len().min(self.green.len()).min(self.blue.len());
        if n == 0 {
            return 0;
        }
        let i = usize::try_from((v - self.first).max(0))
            .unwrap_or(0)
            .min(n - 1);
        match (self.red.get(i), self.green.get(i), self.blue.get(i)) {
            (Some(&r), Some(&g), Some(&b)) => luma(r, g, b),
            _ => 0,
        }
    }
}
