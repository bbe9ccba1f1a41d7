//! The JPEG header walk: what a frame's SOF marker says, read before the decoder runs.

/// What a JPEG frame header (SOF) says.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JpegSof {
    /// Sample precision, bits.
    pub(crate) precision: u8,
    /// Number of lines (0: defined later by a DNL marker).
    pub(crate) height: u16,
    /// Samples per line.
    pub(crate) width: u16,
    /// Components in the frame.
    pub(crate) components: u8,
}

/// Walk the JPEG marker segments from SOI to the first SOF and read it.
pub(crate) fn jpeg_sof(data: &[u8]) -> Option<JpegSof> {
    if data.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut pos = 2;
    loop {
        // skip fill bytes
        while *data.get(pos)? == 0xFF && *data.get(pos + 1)? == 0xFF {
            pos += 1;
        }
        if *data.get(pos)? != 0xFF {
            return None;
        }
        let marker = *data.get(pos + 1)?;
        pos += 2;
        if matches!(marker, 0x01 | 0xD0..=0xD7) {
            continue; // no length
        }
        let len = usize::from(u16::from_be_bytes([*data.get(pos)?, *data.get(pos + 1)?]));
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            let seg = data.get(pos + 2..pos + len)?;
            return Some(JpegSof {
                precision: *seg.first()?,
                height: u16::from_be_bytes([*seg.get(1)?, *seg.get(2)?]),
                width: u16::from_be_bytes([*seg.get(3)?, *seg.get(4)?]),
                components: *seg.get(5)?,
            });
        }
        if marker == 0xDA || marker == 0xD9 || len < 2 {
            return None; // scan or end before any frame header
        }
        pos += len;
    }
}

/// How many frames start in `fragments`: each JPEG frame starts with SOI and a marker
/// (`FF D8 FF`), which cannot occur inside entropy-coded data.
pub(crate) fn count_frame_starts(fragments: &[Vec<u8>]) -> u64 {
    fragments
        .iter()
        .map(|f| f.windows(3).filter(|w| *w == [0xFF, 0xD8, 0xFF]).count() as u64)
        .sum()
}
