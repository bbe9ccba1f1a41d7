//! The SDM's label maps: five classes per pixel, from any [`Sample`] (CAMUS in the seed layout,
//! raw CAMUS, phantoms).
//!
//! | value | class |
//! |---|---|
//! | 0 | in-sector background (tissue and blood that is none of the structures) |
//! | 1 | LV cavity |
//! | 2 | myocardium |
//! | 3 | left atrium |
//! | 4 | outside the ultrasound sector |
//!
//! 1–3 are CAMUS's own labels. The sector is the image's nonzero region: on each row, from
//! the first to the last pixel brighter than [`SECTOR_THRESHOLD`] (a fan is convex along rows,
//! so dark blood inside it is not mistaken for outside), together with every structure pixel.

use synboost_core::raster::resize_nearest;
use synboost_core::structure::Structure;
use synboost_data::Sample;

/// Number of classes.
pub const CLASSES: usize = 5;
/// Class of in-sector background.
pub const BACKGROUND: u8 = 0;
/// Class of pixels outside the sector.
pub const OUTSIDE: u8 = 4;
/// Pixels above this grey level are inside the sector.
pub const SECTOR_THRESHOLD: u8 = 0;

/// A label map, row-major, values below [`CLASSES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelMap {
    /// Width, pixels.
    pub width: usize,
    /// Height, pixels.
    pub height: usize,
    /// One class per pixel.
    pub data: Vec<u8>,
}

impl LabelMap {
    /// The label map of a sample.
    pub fn of_sample(sample: &Sample) -> Self {
        let (w, h) = (sample.image.width(), sample.image.height());
        let sector = sector_mask(sample.image.data(), w, h);
        let mut data: Vec<u8> = sector
            .iter()
            .map(|&inside| if inside { BACKGROUND } else { OUTSIDE })
            .collect();
        for s in Structure::ALL {
            let m = &sample.masks[s.index()];
            if (m.width(), m.height()) != (w, h) {
                continue;
            }
            for (o, &v) in data.iter_mut().zip(m.data()) {
                if v != 0 {
                    *o = s.label();
                }
            }
        }
        Self {
            width: w,
            height: h,
            data,
        }
    }

    /// The binary mask of `structure` (0/1).
    pub fn mask(&self, structure: Structure) -> Vec<u8> {
        let l = structure.label();
        self.data.iter().map(|&v| u8::from(v == l)).collect()
    }

    /// True where the pixel is inside the sector.
    pub fn sector(&self) -> Vec<bool> {
        self.data.iter().map(|&v| v != OUTSIDE).collect()
    }

    /// Nearest-neighbour resize with pixel-centre alignment: core's one rule
    /// ([`resize_nearest`]). A malformed map (data shorter than its sides, or a zero side)
    /// resizes to background.
    pub fn resized(&self, width: usize, height: usize) -> Self {
        let mut data = resize_nearest(&self.data, self.width, self.height, width, height);
        if data.len() != width * height {
            data = vec![BACKGROUND; width * height];
        }
        Self {
            width,
            height,
            data,
        }
    }
}

/// Inside-the-sector mask of a grey image: per row, the span between the first and last pixel
/// above [`SECTOR_THRESHOLD`].
pub fn sector_mask(image: &[u8], width: usize, height: usize) -> Vec<bool> {
    let mut out = vec![false; width * height];
    if width == 0 {
        return out;
    }
    // Rows the image does not have (a short buffer) stay outside.
    for (row, dst) in image.chunks_exact(width).zip(out.chunks_exact_mut(width)) {
        let first = row.iter().position(|&v| v > SECTOR_THRESHOLD);
        let last = row.iter().rposition(|&v| v > SECTOR_THRESHOLD);
        if let (Some(a), Some(b)) = (first, last) {
            dst[a..=b].fill(true);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use synboost_core::meta::ScanMeta;
    use synboost_core::raster::{GrayImage, Mask};

    #[test]
    fn sector_spans_rows_and_structures_keep_camus_labels() {
        // A 6×4 frame: the sector covers columns 1..=4 with a dark (0) hole at (2, 1).
        #[rustfmt::skip]
        let img = vec![
            0, 9, 9, 9, 9, 0,
            0, 9, 0, 9, 9, 0,
            0, 0, 9, 9, 0, 0,
            0, 0, 0, 0, 0, 0,
        ];
        let mut lv = vec![0u8; 24];
        lv[8] = 1; // the dark hole is LV cavity
        let masks = [
            Mask::new(6, 4, lv).unwrap(),
            Mask::new(6, 4, vec![0; 24]).unwrap(),
            Mask::new(6, 4, vec![0; 24]).unwrap(),
        ];
        let s = Sample {
            id: "x".into(),
            patient: "p".into(),
            image: GrayImage::new(6, 4, img).unwrap(),
            masks,
            meta: ScanMeta::default(),
            shapes: [None; 3],
        };
        let l = LabelMap::of_sample(&s);
        #[rustfmt::skip]
        let want = vec![
            4, 0, 0, 0, 0, 4,
            4, 0, 1, 0, 0, 4,
            4, 4, 0, 0, 4, 4,
            4, 4, 4, 4, 4, 4,
        ];
        assert_eq!(l.data, want);
        assert_eq!(l.mask(Structure::LvCavity).iter().sum::<u8>(), 1);
        let r = l.resized(12, 8);
        assert_eq!((r.width, r.height), (12, 8));
        assert_eq!(r.data[2 * 12 + 4], 1);
        assert_eq!(r.resized(6, 4), l);
    }
}
