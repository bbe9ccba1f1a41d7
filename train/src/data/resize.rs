//! Bringing images to the model size. Images are stretched by core's antialiased
//! [`Preprocessor`] ([`resize_gray`]); masks and label maps take core's one nearest-neighbour
//! rule ([`synboost_core::raster::resize_nearest`]), which is not repeated here.

use synboost_core::frame::FrameView;
use synboost_core::preprocess::{PreprocessError, PreprocessOptions, Preprocessor};
use synboost_core::raster::GrayImage;

/// `img` stretched to `w × h` by core's antialiased preprocessor (a copy when the size
/// already matches): how every training image reaches the model's size. `prep` is rebuilt
/// when it was made for another size.
pub fn resize_gray(
    prep: &mut Preprocessor,
    img: &GrayImage,
    w: usize,
    h: usize,
) -> Result<Vec<u8>, PreprocessError> {
    if (img.width(), img.height()) == (w, h) {
        return Ok(img.data().to_vec());
    }
    if prep.model_size() != (w, h) {
        *prep = Preprocessor::new(w, h);
    }
    let view = FrameView::gray8(img.width(), img.height(), img.data())?;
    let mut out = Vec::new();
    prep.run(&view, &PreprocessOptions::default(), &mut out)?;
    Ok(out)
}
