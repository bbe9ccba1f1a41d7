//! The resampling kernels: one row horizontally, one output row vertically. Each has a plain
//! scalar form (the reference, and the path on other targets) and on x86-64 an SSE2 form
//! (part of the x86-64 baseline, so no runtime detection): 16-bit multiply-adds on the weights
//! split in two halves ([`super::taps::SPLIT`]), which gives the same 32-bit integer sums, so
//! the results are identical bit for bit.

use super::taps::{HALF, PRECISION_BITS, Taps};

#[inline]
fn clip8(acc: i32) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Output pixel `j` of a horizontal pass, scalar.
#[inline]
fn resample_one(src: &[u8], taps: &Taps, j: usize) -> u8 {
    let (start, w) = taps.taps(j);
    let px = src.get(start..).unwrap_or(&[]);
    let acc = px
        .iter()
        .zip(w)
        .fold(HALF, |a, (&p, &wk)| a + i32::from(p) * wk);
    clip8(acc)
}

/// Resample one row of grey pixels with `taps` into `out`, scalar (the reference).
#[cfg(test)]
pub(super) fn resample_row_scalar(src: &[u8], taps: &Taps, out: &mut [u8]) {
    for (j, o) in out.iter_mut().enumerate() {
        *o = resample_one(src, taps, j);
    }
}

/// Resample one row of grey pixels with `taps` into `out`.
pub(super) fn resample_row(src: &[u8], taps: &Taps, out: &mut [u8]) {
    if taps.is_identity() {
        let n = src.len().min(out.len());
        out[..n].copy_from_slice(&src[..n]);
        return;
    }
    // SAFETY: SSE2 is part of the x86-64 baseline: every x86-64 CPU has it.
    #[cfg(target_arch = "x86_64")]
    let done = unsafe { sse2::resample_row(src, taps, out) };
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    for (j, o) in out.iter_mut().enumerate().skip(done) {
        *o = resample_one(src, taps, j);
    }
}

/// Columns `from..width` of output row `j` of a vertical pass over `inter` (rows of `width`
/// pixels, the first being source row `y0`) into `out[from..]`, scalar.
fn vertical_cols(
    inter: &[u8],
    (width, y0, from): (usize, usize, usize),
    taps: &Taps,
    j: usize,
    acc: &mut Vec<i32>,
    out: &mut [u8],
) {
    let (start, w) = taps.taps(j);
    acc.clear();
    acc.resize(width.saturating_sub(from), HALF);
    for (k, &wk) in w.iter().enumerate() {
        let r = (start + k).saturating_sub(y0);
        let irow = inter.get(r * width + from..(r + 1) * width).unwrap_or(&[]);
        for (a, &p) in acc.iter_mut().zip(irow) {
            *a += i32::from(p) * wk;
        }
    }
    for (o, &a) in out.iter_mut().skip(from).zip(acc.iter()) {
        *o = clip8(a);
    }
}

/// Output row `j` of a vertical pass over `inter` (rows of `width` pixels, the first being
/// source row `y0`) into `out` (`width` pixels), scalar (the reference).
#[cfg(test)]
pub(super) fn vertical_row_scalar(
    inter: &[u8],
    width: usize,
    y0: usize,
    taps: &Taps,
    j: usize,
    acc: &mut Vec<i32>,
    out: &mut [u8],
) {
    vertical_cols(inter, (width, y0, 0), taps, j, acc, out);
}

/// [`vertical_cols`] of the whole row, vectorised where the target allows.
pub(super) fn vertical_row(
    inter: &[u8],
    width: usize,
    y0: usize,
    taps: &Taps,
    j: usize,
    acc: &mut Vec<i32>,
    out: &mut [u8],
) {
    if taps.is_identity() {
        let r = j.saturating_sub(y0);
        if let Some(src) = inter.get(r * width..(r + 1) * width) {
            let n = src.len().min(out.len());
            out[..n].copy_from_slice(&src[..n]);
        }
        return;
    }
    // SAFETY: SSE2 is part of the x86-64 baseline: every x86-64 CPU has it.
    #[cfg(target_arch = "x86_64")]
    let done = unsafe { sse2::vertical_row(inter, width, y0, taps, j, out) };
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    if done < width.min(out.len()) {
        vertical_cols(inter, (width, y0, done), taps, j, acc, out);
    }
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    //! SSE2 kernels. SSE2 is part of the x86-64 baseline, so these functions can run on every
    //! x86-64 CPU (calling them is `unsafe` only because of their `target_feature`). Their
    //! loads read through raw pointers after one bounds check per group of outputs or per row;
    //! each `unsafe` block says which check covers it.
    use super::super::taps::{HALF, PRECISION_BITS, SPLIT, Taps};
    use std::arch::x86_64::*;

    /// Most taps of the vertical kernel (more fall back to the scalar one).
    const MAX_TAPS: usize = 64;

    /// Sums of the 4 lanes of each of `a`, `b`, `c`, `d`, as one vector.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn hsum4(a: __m128i, b: __m128i, c: __m128i, d: __m128i) -> __m128i {
        let ab = _mm_add_epi32(_mm_unpacklo_epi32(a, b), _mm_unpackhi_epi32(a, b));
        let cd = _mm_add_epi32(_mm_unpacklo_epi32(c, d), _mm_unpackhi_epi32(c, d));
        _mm_add_epi32(_mm_unpacklo_epi64(ab, cd), _mm_unpackhi_epi64(ab, cd))
    }

    /// Resample `src` into `out` four outputs at a time while their taps lie inside `src`;
    /// returns how many outputs were written (the rest are left to the scalar kernel).
    #[target_feature(enable = "sse2")]
    pub(super) fn resample_row(src: &[u8], taps: &Taps, out: &mut [u8]) -> usize {
        let kp = taps.padded();
        let (starts, weights) = (taps.starts(), taps.split_weights());
        let n = out.len().min(starts.len()).min(weights.len() / (2 * kp));
        let zero = _mm_setzero_si128();
        let half = _mm_set1_epi32(HALF);
        let mut j = 0;
        while j + 4 <= n {
            // Starts are nondecreasing: if the fourth output's padded taps lie inside `src`,
            // so do the others'.
            if starts[j + 3] + kp > src.len() {
                break;
            }
            let acc: [__m128i; 4] = std::array::from_fn(|o| {
                let (s, w) = (starts[j + o], (j + o) * 2 * kp);
                let mut acc = zero;
                let mut c = 0;
                while c < kp {
                    // SAFETY: s + kp ≤ src.len() (checked above) and c + 8 ≤ kp, so the 8
                    // bytes at s + c are in `src`; w + 2·kp ≤ weights.len() (j + o < n), so
                    // the 8 values at w + c and at w + kp + c are in `weights`.
                    let (p, h, l) = unsafe {
                        (
                            _mm_loadl_epi64(src.as_ptr().add(s + c).cast()),
                            _mm_loadu_si128(weights.as_ptr().add(w + c).cast()),
                            _mm_loadu_si128(weights.as_ptr().add(w + kp + c).cast()),
                        )
                    };
                    let p = _mm_unpacklo_epi8(p, zero);
                    let h = _mm_slli_epi32::<{ SPLIT as i32 }>(_mm_madd_epi16(p, h));
                    acc = _mm_add_epi32(acc, _mm_add_epi32(h, _mm_madd_epi16(p, l)));
                    c += 8;
                }
                acc
            });
            let s = hsum4(acc[0], acc[1], acc[2], acc[3]);
            let s = _mm_srai_epi32::<{ PRECISION_BITS as i32 }>(_mm_add_epi32(s, half));
            let v = _mm_packus_epi16(_mm_packs_epi32(s, s), zero);
            out[j..j + 4].copy_from_slice(&_mm_cvtsi128_si32(v).to_le_bytes());
            j += 4;
        }
        j
    }

    /// Columns `0..16·k` of output row `j` of the vertical pass (see
    /// [`super::vertical_cols`]); returns how many columns were written.
    #[target_feature(enable = "sse2")]
    pub(super) fn vertical_row(
        inter: &[u8],
        width: usize,
        y0: usize,
        taps: &Taps,
        j: usize,
        out: &mut [u8],
    ) -> usize {
        let kp = taps.padded();
        let (start, n) = (taps.starts().get(j).copied().unwrap_or(0), taps.count(j));
        let first = start.saturating_sub(y0);
        let Some(w) = taps.split_weights().get(j * 2 * kp..(j + 1) * 2 * kp) else {
            return 0;
        };
        if n == 0 || n > MAX_TAPS || (first + n) * width > inter.len() {
            return 0;
        }
        let zero = _mm_setzero_si128();
        let half = _mm_set1_epi32(HALF);
        // Weights of taps k and k + 1 side by side in every 32-bit lane.
        let pair = |k: usize, off: usize| {
            let a = w.get(off + k).copied().unwrap_or(0);
            let b = if k + 1 < n {
                w.get(off + k + 1).copied().unwrap_or(0)
            } else {
                0
            };
            _mm_set1_epi32((i32::from(b) << 16) | i32::from(a as u16))
        };
        let pairs = n.div_ceil(2);
        let mut wh = [zero; MAX_TAPS / 2];
        let mut wl = [zero; MAX_TAPS / 2];
        for p in 0..pairs {
            wh[p] = pair(2 * p, 0);
            wl[p] = pair(2 * p, kp);
        }
        let base = first * width;
        let mut x = 0;
        while x + 16 <= width.min(out.len()) {
            let mut ah = [zero; 4];
            let mut al = [zero; 4];
            for p in 0..pairs {
                let (k0, k1) = (2 * p, 2 * p + 1);
                // SAFETY: rows first..first + n of `inter` exist ((first + n)·width ≤ len,
                // checked above) and x + 16 ≤ width, so the 16 bytes at row k, column x are
                // in `inter` for every k < n.
                let (a, b) = unsafe {
                    let at = |k: usize| inter.as_ptr().add(base + k * width + x);
                    (
                        _mm_loadu_si128(at(k0).cast()),
                        if k1 < n {
                            _mm_loadu_si128(at(k1).cast())
                        } else {
                            zero
                        },
                    )
                };
                let lo8 = _mm_unpacklo_epi8(a, b);
                let hi8 = _mm_unpackhi_epi8(a, b);
                let v = [
                    _mm_unpacklo_epi8(lo8, zero),
                    _mm_unpackhi_epi8(lo8, zero),
                    _mm_unpacklo_epi8(hi8, zero),
                    _mm_unpackhi_epi8(hi8, zero),
                ];
                for i in 0..4 {
                    ah[i] = _mm_add_epi32(ah[i], _mm_madd_epi16(v[i], wh[p]));
                    al[i] = _mm_add_epi32(al[i], _mm_madd_epi16(v[i], wl[p]));
                }
            }
            let s: [__m128i; 4] = std::array::from_fn(|i| {
                let sum = _mm_add_epi32(_mm_slli_epi32::<{ SPLIT as i32 }>(ah[i]), al[i]);
                _mm_srai_epi32::<{ PRECISION_BITS as i32 }>(_mm_add_epi32(sum, half))
            });
            let v = _mm_packus_epi16(_mm_packs_epi32(s[0], s[1]), _mm_packs_epi32(s[2], s[3]));
            // SAFETY: x + 16 ≤ out.len() (loop condition).
            unsafe { _mm_storeu_si128(out.as_mut_ptr().add(x).cast(), v) };
            x += 16;
        }
        x
    }
}
