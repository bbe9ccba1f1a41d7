//! [`Scale`]: raw sample values → 8 bits (as is, linear over a range, or a VOI window).

/// Maps raw sample values to 8 bits.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scale {
    /// 8-bit unsigned samples with 8 bits stored: as is.
    Identity,
    /// Linear from `[lo, hi]` to `[0, 255]`, clamped.
    Linear { lo: f64, hi: f64 },
    /// A DICOM linear VOI window.
    Window { center: f64, width: f64 },
}

impl Scale {
    /// The 8-bit value of raw sample `v`.
    pub(crate) fn apply(self, v: i64) -> u8 {
        match self {
            Self::Identity => v.clamp(0, 255) as u8,
            Self::Linear { lo, hi } => {
                let t = (v as f64 - lo) / (hi - lo).max(1.0);
                (t * 255.0).round().clamp(0.0, 255.0) as u8
            }
            Self::Window { center, width } => {
                let x = v as f64;
                let c = center - 0.5;
                let w = (width - 1.0).max(1.0);
                let y = ((x - c) / w + 0.5) * 255.0;
                y.round().clamp(0.0, 255.0) as u8
            }
        }
    }
}
