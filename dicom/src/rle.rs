//! RLE Lossless (PS3.5 Annex G): one frame's fragment → interleaved samples.

use crate::layout::Layout;

/// Decode one RLE Lossless frame (PS3.5 Annex G) into interleaved samples, 16-bit samples in
/// native byte order. Every length is checked: a short or inconsistent fragment is an error.
pub(crate) fn decode_rle(fragment: &[u8], layout: Layout) -> Result<Vec<u8>, String> {
    let spp = layout.photometric.samples();
    let bps = layout.bytes_per_sample();
    let n_seg = spp * bps;
    let pixels = layout.pixels();
    let header = fragment.get(..64).ok_or_else(|| {
        format!(
            "RLE fragment of {} bytes has no 64-byte header",
            fragment.len()
        )
    })?;
    let word = |i: usize| -> u32 {
        header
            .get(4 * i..4 * i + 4)
            .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let count = word(0) as usize;
    if count != n_seg {
        return Err(format!(
            "RLE header lists {count} segments, {n_seg} expected"
        ));
    }
    let mut bounds: Vec<usize> = (1..=count).map(|i| word(i) as usize).collect();
    bounds.push(fragment.len());
    let little = cfg!(target_endian = "little");
    let mut out = vec![0u8; pixels * n_seg];
    let mut segment = Vec::with_capacity(pixels);
    for s in 0..n_seg {
        let (start, end) = match (bounds.get(s), bounds.get(s + 1)) {
            (Some(&a), Some(&b)) if a >= 64 && a <= b && b <= fragment.len() => (a, b),
            _ => return Err(format!("RLE segment {s} has invalid offsets")),
        };
        let data = fragment.get(start..end).unwrap_or_default();
        packbits(data, pixels, &mut segment).map_err(|e| format!("RLE segment {s}: {e}"))?;
        // segment s holds byte `s % bps` (most significant first) of sample `s / bps`
        let (sample, significance) = (s / bps, s % bps);
        let byte = if little {
            bps - 1 - significance
        } else {
            significance
        };
        for (i, &v) in segment.iter().enumerate() {
            if let Some(slot) = out.get_mut((i * spp + sample) * bps + byte) {
                *slot = v;
            }
        }
    }
    Ok(out)
}

/// PackBits-decode `data` into exactly `n` bytes (trailing padding in the input is ignored).
fn packbits(data: &[u8], n: usize, out: &mut Vec<u8>) -> Result<(), String> {
    out.clear();
    let mut pos = 0;
    while out.len() < n {
        let Some(&h) = data.get(pos) else {
            return Err(format!("decodes to {} bytes, {n} needed", out.len()));
        };
        pos += 1;
        let h = h as i8;
        if h >= 0 {
            let len = h as usize + 1;
            let run = data
                .get(pos..pos + len)
                .ok_or_else(|| format!("literal run past the end of the segment at byte {pos}"))?;
            out.extend_from_slice(run);
            pos += len;
        } else if h != -128 {
            let &v = data.get(pos).ok_or_else(|| {
                format!("replicate run past the end of the segment at byte {pos}")
            })?;
            pos += 1;
            out.extend(std::iter::repeat_n(v, (1 - isize::from(h)) as usize));
        }
    }
    out.truncate(n);
    Ok(())
}
