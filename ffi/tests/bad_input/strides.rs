//! Section 3 of the bad-input matrix: strides smaller than a row, for every pixel format and
//! for the destination of a mask.

use super::*;

fn stride_short(format: sb_pixel_format) {
    let mut f = frame(format, 16, 12);
    f.f.stride = 16 * BPP[format as usize] - 1;
    refused(f.p(), ptr::null(), SB_ERR_FRAME, "stride");
}

#[test]
fn row_frame_stride_short_gray8() {
    stride_short(SB_PIXEL_GRAY8);
}

#[test]
fn row_frame_stride_short_gray16() {
    stride_short(SB_PIXEL_GRAY16);
}

#[test]
fn row_frame_stride_short_rgb8() {
    stride_short(SB_PIXEL_RGB8);
}

#[test]
fn row_frame_stride_short_bgra8() {
    stride_short(SB_PIXEL_BGRA8);
}

#[test]
fn row_frame_padded_stride_short_last_row_accepted() {
    let s = lossless();
    let (g, e) = engine();
    for format in [
        SB_PIXEL_GRAY8,
        SB_PIXEL_GRAY16,
        SB_PIXEL_RGB8,
        SB_PIXEL_BGRA8,
    ] {
        let f = frame_with_stride(format, 16, 12, 16 * BPP[format as usize] + 3);
        drop(segment(e, &f));
        push_ok(&s, &f);
    }
    drop(g);
    assert_eq!(drain(&s).len(), 4);
}

#[test]
fn row_copy_mask_dst_stride_short() {
    let r = segmented();
    let mut dst = [FILL; 16 * 12];
    for stride in [15, 0] {
        let st = unsafe { sb_result_copy_mask(r.0, 0, dst.as_mut_ptr(), dst.len(), stride, 1) };
        expect_err(st, SB_ERR_INVALID, "sb_result_copy_mask");
        assert!(last_error().contains("dst_stride"));
        assert!(dst.iter().all(|&b| b == FILL));
    }
}
