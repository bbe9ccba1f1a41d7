//! Thresholding kernels: a row of logits to 0/1 bytes or to bits, with the running maximum.
//!
//! A pixel is inside when its logit is above `lt` (NaN compares false, so it is outside); the
//! maximum skips NaN the same way (`if v > m { m = v }`, which is also what `maxps` does).
//! On x86-64 the bit form uses SSE2 (part of the baseline): four compares and a byte movemask
//! per 16 logits.

/// Lanes of the running maximum.
pub(crate) const LANES: usize = 16;

/// `dst[i] = 1` where `src[i] > lt`, else 0, for as many pixels as both hold; `lanes` keep the
/// running maximum of `src`.
pub(crate) fn threshold_bytes(src: &[f32], lt: f32, dst: &mut [u8], lanes: &mut [f32; LANES]) {
    let mut s = src.chunks_exact(LANES);
    let mut d = dst.chunks_exact_mut(LANES);
    for (c, o) in (&mut s).zip(&mut d) {
        let (Ok(c), Ok(o)) = (
            <&[f32; LANES]>::try_from(c),
            <&mut [u8; LANES]>::try_from(o),
        ) else {
            continue;
        };
        for i in 0..LANES {
            o[i] = u8::from(c[i] > lt);
            lanes[i] = if c[i] > lanes[i] { c[i] } else { lanes[i] };
        }
    }
    for ((&v, o), m) in s
        .remainder()
        .iter()
        .zip(d.into_remainder())
        .zip(lanes.iter_mut())
    {
        *o = u8::from(v > lt);
        if v > *m {
            *m = v;
        }
    }
}

/// Bit `x % 64` of `bits[x / 64]` set where `src[x] > lt` (bits past `src` are 0; `bits` must
/// hold `src.len().div_ceil(64)` words); `lanes` keep the running maximum of `src`.
pub(crate) fn threshold_bits(src: &[f32], lt: f32, bits: &mut [u64], lanes: &mut [f32; LANES]) {
    bits.fill(0);
    // SAFETY: SSE2 is part of the x86-64 baseline: every x86-64 CPU has it.
    #[cfg(target_arch = "x86_64")]
    let done = unsafe { sse2::threshold_bits(src, lt, bits, lanes) };
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    for (x, &v) in src.iter().enumerate().skip(done) {
        if v > lt
            && let Some(w) = bits.get_mut(x / 64)
        {
            *w |= 1 << (x % 64);
        }
        let m = &mut lanes[x % LANES];
        if v > *m {
            *m = v;
        }
    }
}

/// The largest of the lanes (−∞ when all are).
pub(crate) fn lanes_max(lanes: &[f32; LANES]) -> f32 {
    lanes
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m })
}

/// The largest |v| of `src` (NaN skipped), at least `floor`.
pub(crate) fn max_abs(src: &[f32], floor: f32) -> f32 {
    let mut lanes = [floor; LANES];
    let mut s = src.chunks_exact(LANES);
    for c in &mut s {
        if let Ok(c) = <&[f32; LANES]>::try_from(c) {
            for i in 0..LANES {
                let a = c[i].abs();
                lanes[i] = if a > lanes[i] { a } else { lanes[i] };
            }
        }
    }
    s.remainder()
        .iter()
        .map(|v| v.abs())
        .chain(lanes)
        .fold(floor, |m, a| if a > m { a } else { m })
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    //! The SSE2 form of [`super::threshold_bits`].
    use super::LANES;
    use std::arch::x86_64::*;

    /// Threshold the first `16·k` logits of `src` into `bits` (zeroed) and `lanes`; returns
    /// how many logits were done.
    #[target_feature(enable = "sse2")]
    pub(super) fn threshold_bits(
        src: &[f32],
        lt: f32,
        bits: &mut [u64],
        lanes: &mut [f32; LANES],
    ) -> usize {
        let t = _mm_set1_ps(lt);
        // SAFETY (all loads and stores below): `lanes` is 16 floats; each `c` is a 16-float
        // chunk of `src`; `loadu`/`storeu` have no alignment requirement.
        let mut m: [__m128; 4] =
            std::array::from_fn(|k| unsafe { _mm_loadu_ps(lanes.as_ptr().add(4 * k)) });
        let mut done = 0;
        for (i, c) in src.chunks_exact(16).enumerate() {
            let v: [__m128; 4] =
                std::array::from_fn(|k| unsafe { _mm_loadu_ps(c.as_ptr().add(4 * k)) });
            for k in 0..4 {
                m[k] = _mm_max_ps(v[k], m[k]);
            }
            let gt: [__m128i; 4] = std::array::from_fn(|k| _mm_castps_si128(_mm_cmpgt_ps(v[k], t)));
            let bytes =
                _mm_packs_epi16(_mm_packs_epi32(gt[0], gt[1]), _mm_packs_epi32(gt[2], gt[3]));
            let b = u64::from(_mm_movemask_epi8(bytes) as u16);
            if let Some(w) = bits.get_mut(i / 4) {
                *w |= b << (16 * (i % 4));
            }
            done += 16;
        }
        for (k, v) in m.iter().enumerate() {
            unsafe { _mm_storeu_ps(lanes.as_mut_ptr().add(4 * k), *v) };
        }
        done
    }
}
