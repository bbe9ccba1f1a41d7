//! NIfTI-1 single-file images (`.nii`, `.nii.gz`), as the 2023 CAMUS release ships them.
//!
//! Only what 2-D echo needs is supported: up to three dimensions (x, y, frames), the integer and
//! float element types, either byte order, and `scl_slope`/`scl_inter` scaling. NIfTI-2 and
//! two-file (`.hdr`/`.img`) NIfTI are refused with a clear error.

use super::DataError;
use super::volume::{ElementType, Volume};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use std::io::{Read, Write};
use std::path::Path;

const HEADER_LEN: usize = 348;

/// Read a `.nii` or `.nii.gz` file (gzip is detected from its magic bytes, not the name).
pub fn read(path: &Path) -> Result<Volume, DataError> {
    let raw = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    decode(path, &raw)
}

/// Parse the bytes of a `.nii` or `.nii.gz` file (gzip is recognised by its magic bytes);
/// `path` is only used in error messages. A gzip stream that inflates past
/// [`MAX_INFLATED_BYTES`] is refused before it is held in memory.
pub fn decode(path: &Path, raw: &[u8]) -> Result<Volume, DataError> {
    decode_limited(path, raw, MAX_INFLATED_BYTES)
}

/// [`decode`] with a smaller inflation limit (the fuzz harness keeps every allocation small).
pub fn decode_limited(path: &Path, raw: &[u8], max_inflated: usize) -> Result<Volume, DataError> {
    let max_inflated = max_inflated.min(MAX_INFLATED_BYTES);
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return parse(path, raw);
    }
    let mut out = Vec::with_capacity(raw.len().saturating_mul(4).min(max_inflated));
    GzDecoder::new(raw)
        .take(max_inflated as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| DataError::Corrupt {
            path: path.to_path_buf(),
            message: format!("gzip stream: {e}"),
        })?;
    if out.len() > max_inflated {
        return Err(DataError::Corrupt {
            path: path.to_path_buf(),
            message: format!("gzip stream inflates past {max_inflated} bytes"),
        });
    }
    parse(path, &out)
}

/// Largest inflated `.nii.gz` taken: the header plus [`MAX_VOXELS`](super::volume::MAX_VOXELS)
/// 8-byte voxels would be far more than any echo sequence; 512 MiB is over 1,000 frames of
/// 512² float32.
pub const MAX_INFLATED_BYTES: usize = 512 << 20;

/// Parse the bytes of an uncompressed `.nii` file.
pub fn parse(path: &Path, b: &[u8]) -> Result<Volume, DataError> {
    let big_endian = byte_order(path, b)?;
    let h = Fields { b, big_endian };
    let dims = dims(path, &h)?;
    let element = element_type(path, h.i16_at(70))?;
    let mut spacing = [1.0f64; 3];
    for (i, s) in spacing.iter_mut().enumerate() {
        let v = f64::from(h.f32_at(80 + 4 * i));
        if v.is_finite() && v > 0.0 {
            *s = v;
        }
    }
    let vox_offset = h.f32_at(108);
    if !(vox_offset.is_finite() && vox_offset >= HEADER_LEN as f32) {
        return Err(DataError::format(
            path,
            format!("vox_offset = {vox_offset}"),
        ));
    }
    let offset = vox_offset as usize;
    if offset > b.len() {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected: offset,
            found: b.len(),
        });
    }
    let slope = f64::from(h.f32_at(112));
    let inter = f64::from(h.f32_at(116));
    let scale = (slope.is_finite() && slope != 0.0 && (slope != 1.0 || inter != 0.0))
        .then_some((slope, if inter.is_finite() { inter } else { 0.0 }));
    Volume::decode(
        path,
        dims,
        spacing,
        element,
        big_endian,
        &b[offset..],
        scale,
    )
}

/// The header's byte order from `sizeof_hdr` (`true`: big-endian), once the file is known to be
/// a whole single-file NIfTI-1 header.
fn byte_order(path: &Path, b: &[u8]) -> Result<bool, DataError> {
    if b.len() < 4 {
        return Err(DataError::format(path, "not a NIfTI-1 file (empty)"));
    }
    let le = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let be = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let big_endian = match (le, be) {
        (348, _) => false,
        (_, 348) => true,
        (540, _) | (_, 540) => {
            return Err(DataError::format(path, "NIfTI-2 is not supported"));
        }
        _ => {
            return Err(DataError::format(
                path,
                "not a NIfTI-1 file (sizeof_hdr is not 348)",
            ));
        }
    };
    if b.len() < HEADER_LEN {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected: HEADER_LEN,
            found: b.len(),
        });
    }
    let magic = &b[344..348];
    if magic == b"ni1\0" {
        return Err(DataError::format(
            path,
            "two-file NIfTI (.hdr/.img) is not supported; convert to .nii",
        ));
    }
    if magic != b"n+1\0" {
        return Err(DataError::format(path, "bad NIfTI-1 magic"));
    }
    Ok(big_endian)
}

/// Header fields read in the file's byte order (the header is at least `HEADER_LEN` bytes).
struct Fields<'a> {
    b: &'a [u8],
    big_endian: bool,
}

impl Fields<'_> {
    fn i16_at(&self, o: usize) -> i16 {
        let a = [self.b[o], self.b[o + 1]];
        if self.big_endian {
            i16::from_be_bytes(a)
        } else {
            i16::from_le_bytes(a)
        }
    }

    fn f32_at(&self, o: usize) -> f32 {
        let a = [self.b[o], self.b[o + 1], self.b[o + 2], self.b[o + 3]];
        if self.big_endian {
            f32::from_be_bytes(a)
        } else {
            f32::from_le_bytes(a)
        }
    }
}

/// `dim[1..=3]` (x, y, frames): 2-D or 2-D+time, any further dimension of size 1.
fn dims(path: &Path, h: &Fields<'_>) -> Result<[usize; 3], DataError> {
    let ndim = h.i16_at(40);
    if !(1..=7).contains(&ndim) {
        return Err(DataError::format(path, format!("dim[0] = {ndim}")));
    }
    let mut dims = [1usize; 3];
    for (i, d) in (1..=ndim as usize).enumerate() {
        let v = h.i16_at(40 + 2 * d);
        if v < 1 {
            return Err(DataError::format(path, format!("dim[{d}] = {v}")));
        }
        if i < 3 {
            dims[i] = v as usize;
        } else if v != 1 {
            return Err(DataError::format(
                path,
                format!(
                    "{ndim}-D image with dim[{d}] = {v}: only 2-D images and 2-D+time are read"
                ),
            ));
        }
    }
    Ok(dims)
}

/// The element type of a NIfTI `datatype` code.
fn element_type(path: &Path, datatype: i16) -> Result<ElementType, DataError> {
    Ok(match datatype {
        2 => ElementType::U8,
        4 => ElementType::I16,
        8 => ElementType::I32,
        16 => ElementType::F32,
        64 => ElementType::F64,
        256 => ElementType::I8,
        512 => ElementType::U16,
        768 => ElementType::U32,
        other => {
            return Err(DataError::format(
                path,
                format!("NIfTI datatype {other} is not supported"),
            ));
        }
    })
}

/// Write 8-bit voxels (x fastest) as a little-endian NIfTI-1 file; gzip when the name ends in
/// `.gz`. `dims` = (x, y, frames), `spacing` in mm.
pub fn write_u8(
    path: &Path,
    dims: [usize; 3],
    spacing: [f64; 3],
    voxels: &[u8],
) -> Result<(), DataError> {
    if dims.iter().product::<usize>() != voxels.len() || dims.iter().any(|&d| d == 0 || d > 32767) {
        return Err(DataError::format(
            path,
            format!("{} voxels for dims {dims:?}", voxels.len()),
        ));
    }
    let mut h = vec![0u8; HEADER_LEN + 4];
    let put_i16 = |h: &mut Vec<u8>, o: usize, v: i16| h[o..o + 2].copy_from_slice(&v.to_le_bytes());
    let put_f32 = |h: &mut Vec<u8>, o: usize, v: f32| h[o..o + 4].copy_from_slice(&v.to_le_bytes());
    h[0..4].copy_from_slice(&348i32.to_le_bytes());
    let ndim: i16 = if dims[2] > 1 { 3 } else { 2 };
    put_i16(&mut h, 40, ndim);
    for (i, &d) in dims.iter().enumerate() {
        put_i16(&mut h, 42 + 2 * i, d as i16);
    }
    for i in 3..7 {
        put_i16(&mut h, 42 + 2 * i, 1);
    }
    put_i16(&mut h, 70, 2); // DT_UINT8
    put_i16(&mut h, 72, 8); // bitpix
    put_f32(&mut h, 76, 1.0); // qfac
    for (i, &s) in spacing.iter().enumerate() {
        put_f32(&mut h, 80 + 4 * i, s as f32);
    }
    put_f32(&mut h, 108, 352.0); // vox_offset
    put_f32(&mut h, 112, 1.0); // scl_slope
    h[123] = 10; // xyzt_units: mm + s
    h[344..348].copy_from_slice(b"n+1\0");
    h.extend_from_slice(voxels);
    let gz = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    let out = if gz {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(&h)
            .and_then(|_| enc.finish())
            .map_err(|e| DataError::io(path, e))?
    } else {
        h
    };
    std::fs::write(path, out).map_err(|e| DataError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_plain_and_gz() {
        let dir = tempfile::tempdir().unwrap();
        let vox: Vec<u8> = (0..4 * 3 * 2).map(|i| i as u8).collect();
        for name in ["a.nii", "a.nii.gz"] {
            let p = dir.path().join(name);
            write_u8(&p, [4, 3, 2], [0.3, 0.15, 1.0], &vox).unwrap();
            let v = read(&p).unwrap();
            assert_eq!(v.dims, [4, 3, 2]);
            assert!((v.spacing[0] - 0.3).abs() < 1e-6);
            assert_eq!(v.element, ElementType::U8);
            let f1 = v.frame_image(1).unwrap();
            assert_eq!(f1.width(), 4);
            assert_eq!(f1.get(0, 0), Some(12));
            assert_eq!(f1.get(3, 2), Some(23));
        }
    }

    #[test]
    fn big_endian_i16_with_scaling() {
        let mut b = vec![0u8; 352];
        b[0..4].copy_from_slice(&348i32.to_be_bytes());
        b[40..42].copy_from_slice(&2i16.to_be_bytes());
        b[42..44].copy_from_slice(&2i16.to_be_bytes());
        b[44..46].copy_from_slice(&1i16.to_be_bytes());
        b[70..72].copy_from_slice(&4i16.to_be_bytes());
        b[108..112].copy_from_slice(&352f32.to_be_bytes());
        b[112..116].copy_from_slice(&2f32.to_be_bytes());
        b[116..120].copy_from_slice(&1f32.to_be_bytes());
        b[344..348].copy_from_slice(b"n+1\0");
        b.extend_from_slice(&(-3i16).to_be_bytes());
        b.extend_from_slice(&100i16.to_be_bytes());
        let v = parse(Path::new("be.nii"), &b).unwrap();
        assert_eq!(v.values, vec![-5.0, 201.0]);
    }

    #[test]
    fn refuses_bad_headers() {
        let p = Path::new("x.nii");
        assert!(
            parse(p, &[0; 10])
                .unwrap_err()
                .to_string()
                .contains("not a NIfTI-1")
        );
        let mut short = vec![0u8; 100];
        short[0..4].copy_from_slice(&348i32.to_le_bytes());
        assert!(matches!(
            parse(p, &short),
            Err(DataError::Truncated { expected: 348, .. })
        ));
        let mut b = vec![0u8; 400];
        b[0..4].copy_from_slice(&348i32.to_le_bytes());
        assert!(parse(p, &b).unwrap_err().to_string().contains("magic"));
        b[344..348].copy_from_slice(b"ni1\0");
        assert!(parse(p, &b).unwrap_err().to_string().contains("two-file"));
        b[0..4].copy_from_slice(&540i32.to_le_bytes());
        assert!(parse(p, &b).unwrap_err().to_string().contains("NIfTI-2"));
    }
}
