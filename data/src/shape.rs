//! Shape words from mask geometry, for the seed's P7 (real data) and synthetic P6 prompts.
//!
//! The seed asked a VQA model about the ground-truth *box*; we derive the word from the mask and
//! its axis-aligned bounding box, deterministically:
//!
//! | fill = area / box area | aspect = long / short side of the box | word |
//! |---|---|---|
//! | ≥ 0.85 | < 1.25 | `square` |
//! | ≥ 0.85 | ≥ 1.25 | `rectangle` |
//! | 0.60 – 0.85 (an ellipse fills π/4 ≈ 0.785) | < 1.25 | `circle` |
//! | 0.60 – 0.85 | ≥ 1.25 | `oval` |
//! | < 0.60 (a triangle fills 0.5) | any | `triangle` |
//!
//! The seed's adjectives `triangular` and `rectangular` stay in the vocabulary but are never
//! produced here. An empty mask has no shape.

use synboost_core::prompt::Shape;
use synboost_core::raster::Mask;

/// Fill ratio at and above which a mask is box-like.
pub const BOX_FILL: f64 = 0.85;
/// Fill ratio below which a mask is triangle-like.
pub const TRIANGLE_FILL: f64 = 0.60;
/// Box aspect ratio below which a mask is square / circular.
pub const ROUND_ASPECT: f64 = 1.25;

/// The shape word for a mask, `None` when it is empty.
pub fn shape_of(mask: &Mask) -> Option<Shape> {
    let (w, h) = (mask.width(), mask.height());
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0usize, 0usize);
    let mut area = 0usize;
    for (i, &v) in mask.data().iter().enumerate() {
        if v != 0 {
            let (x, y) = (i % w, i / w);
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
            area += 1;
        }
    }
    if area == 0 || w == 0 || h == 0 {
        return None;
    }
    let (bw, bh) = ((x1 - x0 + 1) as f64, (y1 - y0 + 1) as f64);
    let fill = area as f64 / (bw * bh);
    let aspect = bw.max(bh) / bw.min(bh);
    let round = aspect < ROUND_ASPECT;
    Some(if fill >= BOX_FILL {
        if round {
            Shape::Square
        } else {
            Shape::Rectangle
        }
    } else if fill >= TRIANGLE_FILL {
        if round { Shape::Circle } else { Shape::Oval }
    } else {
        Shape::Triangle
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(w: usize, h: usize, f: impl Fn(f64, f64) -> bool) -> Mask {
        let d = (0..w * h)
            .map(|i| u8::from(f((i % w) as f64 + 0.5, (i / w) as f64 + 0.5)))
            .collect();
        Mask::new(w, h, d).unwrap()
    }

    #[test]
    fn classifies_basic_shapes() {
        let sq = mask(40, 40, |x, y| {
            (10.0..30.0).contains(&x) && (10.0..30.0).contains(&y)
        });
        assert_eq!(shape_of(&sq), Some(Shape::Square));
        let rect = mask(60, 40, |x, y| {
            (5.0..55.0).contains(&x) && (10.0..30.0).contains(&y)
        });
        assert_eq!(shape_of(&rect), Some(Shape::Rectangle));
        let circ = mask(60, 60, |x, y| {
            (x - 30.0).powi(2) + (y - 30.0).powi(2) <= 400.0
        });
        assert_eq!(shape_of(&circ), Some(Shape::Circle));
        let oval = mask(80, 60, |x, y| {
            ((x - 40.0) / 30.0).powi(2) + ((y - 30.0) / 15.0).powi(2) <= 1.0
        });
        assert_eq!(shape_of(&oval), Some(Shape::Oval));
        let tri = mask(60, 60, |x, y| {
            y > 10.0 && y < 50.0 && (x - 30.0).abs() < (y - 10.0) / 2.0
        });
        assert_eq!(shape_of(&tri), Some(Shape::Triangle));
        assert_eq!(shape_of(&Mask::zeros(5, 5).unwrap()), None);
    }
}
