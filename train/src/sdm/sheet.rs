//! A contact sheet for people: each tile is a label map (colour per class) beside the image
//! sampled for it, and, when given, the real image the label map came from.

use super::labels::LabelMap;
use std::path::Path;

/// Colours of the five classes: background, LV, myocardium, LA, outside.
pub const CLASS_COLOURS: [[u8; 3]; 5] = [
    [70, 70, 70],
    [220, 60, 60],
    [60, 170, 230],
    [240, 200, 60],
    [0, 0, 0],
];

/// One row of the sheet: a label map and grey images of its size.
#[derive(Debug, Clone)]
pub struct SheetRow {
    /// The label map.
    pub label: LabelMap,
    /// Grey images (same size as the label map), drawn left to right after it.
    pub images: Vec<Vec<u8>>,
}

/// Write the rows as a PNG grid (`columns` rows side by side), 4-pixel gaps.
pub fn write_sheet(path: &Path, rows: &[SheetRow], columns: usize) -> Result<(), String> {
    let first = rows.first().ok_or("no rows to draw")?;
    let (w, h) = (first.label.width, first.label.height);
    let per = 1 + rows.iter().map(|r| r.images.len()).max().unwrap_or(0);
    let gap = 4;
    let cols = columns.clamp(1, rows.len());
    let grid_rows = rows.len().div_ceil(cols);
    let tile_w = per * (w + gap) + gap;
    let (pw, ph) = (cols * tile_w, grid_rows * (h + gap) + gap);
    let mut buf = vec![255u8; pw * ph * 3];
    let mut put = |x0: usize, y0: usize, px: &dyn Fn(usize) -> [u8; 3]| {
        for y in 0..h {
            for x in 0..w {
                let o = ((y0 + y) * pw + x0 + x) * 3;
                buf[o..o + 3].copy_from_slice(&px(y * w + x));
            }
        }
    };
    for (i, r) in rows.iter().enumerate() {
        if (r.label.width, r.label.height) != (w, h) || r.images.iter().any(|im| im.len() != w * h)
        {
            return Err(format!(
                "row {i}: sizes differ from the first row's {w}×{h}"
            ));
        }
        let (cx, cy) = ((i % cols) * tile_w + gap, (i / cols) * (h + gap) + gap);
        put(cx, cy, &|k| {
            CLASS_COLOURS[(r.label.data[k] as usize).min(4)]
        });
        for (j, im) in r.images.iter().enumerate() {
            put(cx + (j + 1) * (w + gap), cy, &|k| [im[k]; 3]);
        }
    }
    image::save_buffer(path, &buf, pw as u32, ph as u32, image::ColorType::Rgb8)
        .map_err(|e| format!("{}: {e}", path.display()))
}
