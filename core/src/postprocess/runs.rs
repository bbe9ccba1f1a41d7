//! Horizontal runs of mask rows and their connected components (union-find over runs).
//!
//! A mask row is read eight bytes at a time (one `u64` word), so finding the runs of a
//! 224-pixel row costs about 28 word reads plus a few bit scans per run. Components join the
//! runs of consecutive rows that touch (8-connected for the foreground, 4-connected for the
//! background); the union-find only ever sees runs, a few per row for anatomy.

/// A horizontal run of pixels: row `y`, columns `x0..x1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    /// Row.
    pub y: u32,
    /// First column.
    pub x0: u32,
    /// One past the last column.
    pub x1: u32,
}

impl Run {
    /// Pixels in the run.
    pub fn len(&self) -> usize {
        (self.x1 - self.x0) as usize
    }
}

/// Every byte 1: the word of eight pixels that are all inside.
const ONES: u64 = 0x0101_0101_0101_0101;

/// The eight bytes at `x` as a little-endian word, `None` past the end.
#[inline]
fn word(row: &[u8], x: usize) -> Option<u64> {
    let b: [u8; 8] = row.get(x..x + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(b))
}

/// The first column at or after `x` whose value is `want` (a 0/1 row), or `row.len()`.
#[inline]
fn next(row: &[u8], mut x: usize, want: u8) -> usize {
    // A word with a 1-bit in each byte that holds `want`.
    let flip = if want == 0 { ONES } else { 0 };
    while let Some(w) = word(row, x) {
        let hit = (w ^ flip) & ONES;
        if hit != 0 {
            return x + (hit.trailing_zeros() / 8) as usize;
        }
        x += 8;
    }
    row.iter()
        .skip(x)
        .position(|&v| v == want)
        .map_or(row.len(), |o| x + o)
}

/// Append the runs of 1 in the 0/1 `row` (row index `y`) to `out`, left to right.
pub(crate) fn push_row_runs(row: &[u8], y: usize, out: &mut Vec<Run>) {
    let n = row.len();
    let mut x = next(row, 0, 1);
    while x < n {
        let end = next(row, x, 0);
        out.push(run(y, x, end));
        x = if end < n { next(row, end, 1) } else { n };
    }
}

/// Append the runs of set bits of a row of `w` pixels (bit `x % 64` of `bits[x / 64]`; bits
/// past `w` must be 0) to `out`, left to right.
pub(crate) fn push_bit_runs(bits: &[u64], w: usize, y: usize, out: &mut Vec<Run>) {
    let mut x = 0;
    while x < w {
        // The next set bit at or after x.
        let mut k = x / 64;
        let Some(&first) = bits.get(k) else { return };
        let mut word = first & (!0u64 << (x % 64));
        while word == 0 {
            k += 1;
            match bits.get(k) {
                Some(&b) => word = b,
                None => return,
            }
        }
        let start = k * 64 + word.trailing_zeros() as usize;
        if start >= w {
            return;
        }
        // The next clear bit at or after start.
        let mut k = start / 64;
        let mut inv = !bits[k] & (!0u64 << (start % 64));
        while inv == 0 {
            k += 1;
            match bits.get(k) {
                Some(&b) => inv = !b,
                None => break,
            }
        }
        let end = if inv == 0 {
            w
        } else {
            (k * 64 + inv.trailing_zeros() as usize).min(w)
        };
        out.push(run(y, start, end));
        x = end;
    }
}

/// A run; sides are at most [`crate::raster::MAX_SIDE`], so they fit in `u32`.
#[inline]
pub(crate) fn run(y: usize, x0: usize, x1: usize) -> Run {
    let c = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
    Run {
        y: c(y),
        x0: c(x0),
        x1: c(x1),
    }
}

/// Runs of a whole mask, row by row, with the index of each row's first run.
#[derive(Debug, Default, Clone)]
pub(crate) struct RowRuns {
    /// All runs in raster order.
    pub runs: Vec<Run>,
    /// `rows[y]..rows[y + 1]` are row `y`'s runs (`height + 1` entries once built).
    pub rows: Vec<u32>,
}

impl RowRuns {
    /// Forget all runs, keeping the buffers.
    pub fn clear(&mut self) {
        self.runs.clear();
        self.rows.clear();
        self.rows.push(0);
    }

    /// [`RowRuns::clear`], with room for `height` rows of a few runs each, so that a fresh
    /// buffer grows once rather than by doubling.
    pub fn start(&mut self, height: usize) {
        self.clear();
        self.rows.reserve(height + 1);
        self.runs.reserve(4 * height);
    }

    /// Close the current row (its runs were pushed since the last call).
    pub fn end_row(&mut self) {
        self.rows
            .push(u32::try_from(self.runs.len()).unwrap_or(u32::MAX));
    }

    /// The runs of 1 of a row-major 0/1 plane of width `w`.
    pub fn build(&mut self, data: &[u8], w: usize) {
        self.start(data.len() / w.max(1));
        for (y, row) in data.chunks_exact(w.max(1)).enumerate() {
            push_row_runs(row, y, &mut self.runs);
            self.end_row();
        }
    }

    /// Row `y`'s runs (empty past the last row).
    pub fn row(&self, y: usize) -> &[Run] {
        let at = |k: usize| self.rows.get(k).map_or(0, |&v| v as usize);
        self.runs.get(at(y)..at(y + 1)).unwrap_or(&[])
    }

    /// Rows held.
    pub fn height(&self) -> usize {
        self.rows.len().saturating_sub(1)
    }
}

/// Union-find over runs: a root is the smallest run index of its component, so the root's run
/// holds the component's first pixel in raster order.
#[derive(Debug, Default, Clone)]
pub(crate) struct Components {
    parent: Vec<u32>,
    /// Root of every run, after [`Components::label`].
    pub root: Vec<u32>,
}

impl Components {
    /// Label `r`'s runs into components: runs of consecutive rows join when they overlap,
    /// or also when they touch diagonally if `eight`. Fills [`Components::root`].
    pub fn label(&mut self, r: &RowRuns, eight: bool) {
        let n = r.runs.len();
        self.parent.clear();
        self.parent
            .extend((0..n).map(|i| u32::try_from(i).unwrap_or(u32::MAX)));
        let ext = u32::from(eight);
        for y in 1..r.height() {
            let (p0, p1) = (r.rows[y - 1] as usize, r.rows[y] as usize);
            let c1 = r.rows[y + 1] as usize;
            let (mut i, mut j) = (p0, p1);
            while i < p1 && j < c1 {
                let (p, c) = (r.runs[i], r.runs[j]);
                if p.x0 < c.x1 + ext && c.x0 < p.x1 + ext {
                    if self.parent[j] as usize == j {
                        // A root among runs that only join earlier ones is still alone: hang
                        // it under the earlier run's root.
                        let r = find(&mut self.parent, i);
                        self.parent[j] = u32::try_from(r).unwrap_or(u32::MAX);
                    } else {
                        union(&mut self.parent, i, j);
                    }
                }
                if p.x1 < c.x1 {
                    i += 1;
                } else {
                    j += 1;
                }
            }
        }
        // Parents point to smaller indices, so in increasing order each run's root is its
        // parent's, already known.
        self.root.clear();
        self.root.reserve(n);
        for i in 0..n {
            let p = self.parent[i];
            let r = if p as usize == i {
                p
            } else {
                self.root[p as usize]
            };
            self.root.push(r);
        }
    }
}

/// The root of run `i`, halving paths on the way.
fn find(parent: &mut [u32], mut i: usize) -> usize {
    while parent[i] as usize != i {
        let up = parent[parent[i] as usize];
        parent[i] = up;
        i = up as usize;
    }
    i
}

/// Join the components of runs `a` and `b`; the smaller root stays the root.
fn union(parent: &mut [u32], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
    if lo != hi {
        parent[hi] = u32::try_from(lo).unwrap_or(u32::MAX);
    }
}

/// Set the pixels of `runs` to 1 in the row-major `data` of width `w`.
pub(crate) fn paint<'a>(data: &mut [u8], w: usize, runs: impl Iterator<Item = &'a Run>) {
    for r in runs {
        let start = r.y as usize * w;
        if let Some(px) = data.get_mut(start + r.x0 as usize..start + r.x1 as usize) {
            px.fill(1);
        }
    }
}

/// Scratch of the hole filler: the background runs and their components.
#[derive(Debug, Default, Clone)]
pub(crate) struct Holes {
    gaps: RowRuns,
    comps: Components,
    open: Vec<bool>,
}

impl Holes {
    /// The holes of the foreground given by `runs` (the runs of 1 of a `w × h` mask, row by
    /// row, `keep` selecting which count): background runs (4-connected) that do not touch the
    /// border. Calls `hole` for each, in raster order.
    pub fn find(
        &mut self,
        fg: &RowRuns,
        keep: impl Fn(usize) -> bool,
        w: usize,
        mut hole: impl FnMut(Run),
    ) {
        let h = fg.height();
        self.gaps.start(h);
        for y in 0..h {
            let base = fg.rows[y] as usize;
            let mut x = 0;
            for (k, r) in fg.row(y).iter().enumerate() {
                if !keep(base + k) {
                    continue;
                }
                if (r.x0 as usize) > x {
                    self.gaps.runs.push(run(y, x, r.x0 as usize));
                }
                x = r.x1 as usize;
            }
            if x < w {
                self.gaps.runs.push(run(y, x, w));
            }
            self.gaps.end_row();
        }
        self.comps.label(&self.gaps, false);
        self.open.clear();
        self.open.resize(self.gaps.runs.len(), false);
        let last = u32::try_from(h.saturating_sub(1)).unwrap_or(u32::MAX);
        let w32 = u32::try_from(w).unwrap_or(u32::MAX);
        for (g, &r) in self.gaps.runs.iter().zip(&self.comps.root) {
            if g.y == 0 || g.y == last || g.x0 == 0 || g.x1 == w32 {
                self.open[r as usize] = true;
            }
        }
        for (g, &r) in self.gaps.runs.iter().zip(&self.comps.root) {
            if !self.open[r as usize] {
                hole(*g);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: runs by a plain pixel loop.
    fn plain_runs(row: &[u8]) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        let mut x = 0;
        while x < row.len() {
            if row[x] == 1 {
                let s = x;
                while x < row.len() && row[x] == 1 {
                    x += 1;
                }
                out.push((s as u32, x as u32));
            } else {
                x += 1;
            }
        }
        out
    }

    #[test]
    fn word_scan_finds_the_runs_of_a_plain_loop() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for case in 0..2000 {
            let n = (next() % 300) as usize;
            let density = [0, 5, 50, 95, 100][case % 5];
            let row: Vec<u8> = (0..n).map(|_| u8::from(next() % 100 < density)).collect();
            let mut got = Vec::new();
            push_row_runs(&row, 3, &mut got);
            let got: Vec<(u32, u32)> = got.iter().map(|r| (r.x0, r.x1)).collect();
            assert_eq!(got, plain_runs(&row), "{row:?}");
            let mut bits = vec![0u64; n.div_ceil(64) + case % 2];
            for (x, &v) in row.iter().enumerate() {
                bits[x / 64] |= u64::from(v) << (x % 64);
            }
            let mut from_bits = Vec::new();
            push_bit_runs(&bits, n, 3, &mut from_bits);
            let from_bits: Vec<(u32, u32)> = from_bits.iter().map(|r| (r.x0, r.x1)).collect();
            assert_eq!(from_bits, got, "bits {row:?}");
        }
    }
}
