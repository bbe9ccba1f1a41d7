//! MetaImage (`.mhd` header + `.raw`/`.zraw` data, or `.mha` with `ElementDataFile = LOCAL`), as
//! the 2019 CAMUS release ships it.

use super::DataError;
use super::volume::{ElementType, Volume};
use flate2::read::ZlibDecoder;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// Read a `.mhd` (data in a separate file) or `.mha` (data in the same file).
pub fn read(path: &Path) -> Result<Volume, DataError> {
    let raw = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    parse(path, &raw, &mut |name| {
        let p = dir.join(name);
        std::fs::read(&p).map_err(|e| DataError::io(&p, e))
    })
}

/// Largest voxel payload a header may ask for, bytes (after inflation): as
/// [`MAX_VOXELS`](super::volume::MAX_VOXELS) bounds the voxel count.
pub const MAX_DATA_BYTES: usize = 512 << 20;

/// Parse a MetaImage header (and, for `.mha` / `ElementDataFile = LOCAL`, its data) from `raw`;
/// `path` names it in errors. A separate data file is fetched with `read_data(name)`, where
/// `name` is the header's `ElementDataFile`, which must be a plain file name beside the header:
/// a header cannot make the reader open files elsewhere.
pub fn parse(
    path: &Path,
    raw: &[u8],
    read_data: &mut dyn FnMut(&str) -> Result<Vec<u8>, DataError>,
) -> Result<Volume, DataError> {
    parse_limited(path, raw, read_data, MAX_DATA_BYTES)
}

/// [`parse`] with a smaller payload limit (the fuzz harness keeps every allocation small).
pub fn parse_limited(
    path: &Path,
    raw: &[u8],
    read_data: &mut dyn FnMut(&str) -> Result<Vec<u8>, DataError>,
    max_data: usize,
) -> Result<Volume, DataError> {
    let max_data = max_data.min(MAX_DATA_BYTES);
    let header = Header::read(path, raw)?;
    let get = |k: &str| header.fields.get(k).map(String::as_str);
    let ndims: usize = get("NDims")
        .ok_or_else(|| DataError::format(path, "no NDims"))?
        .parse()
        .map_err(|_| DataError::format(path, "NDims is not a number"))?;
    if !(2..=3).contains(&ndims) {
        return Err(DataError::format(
            path,
            format!("NDims = {ndims}: only 2-D and 2-D+time are read"),
        ));
    }
    let dim_size = numbers::<usize>(path, "DimSize", get("DimSize"), ndims)?;
    let mut dims = [1usize; 3];
    dims[..ndims].copy_from_slice(&dim_size);
    let mut spacing = [1.0f64; 3];
    if let Some(s) = get("ElementSpacing").or(get("ElementSize")) {
        let s = numbers::<f64>(path, "ElementSpacing", Some(s), ndims)?;
        for (dst, v) in spacing.iter_mut().zip(s) {
            if v.is_finite() && v > 0.0 {
                *dst = v;
            }
        }
    }
    let element = element_type(path, get("ElementType").unwrap_or(""))?;
    if get("ElementNumberOfChannels").is_some_and(|c| c != "1") {
        return Err(DataError::format(
            path,
            "multi-channel MetaImage is not supported",
        ));
    }
    let truthy = |k: &str| get(k).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let big_endian = truthy("BinaryDataByteOrderMSB") || truthy("ElementByteOrderMSB");
    let compressed = truthy("CompressedData");

    let (data_path, bytes) = if header.data_file == "LOCAL" {
        (path.to_path_buf(), raw[header.data_start..].to_vec())
    } else {
        check_data_file(path, &header.data_file)?;
        let p = path
            .parent()
            .unwrap_or(Path::new("."))
            .join(&header.data_file);
        let b = read_data(&header.data_file)?;
        (p, b)
    };
    let need = dims
        .iter()
        .try_fold(element.size(), |a, &d| a.checked_mul(d))
        .filter(|&n| n > 0 && n <= max_data)
        .ok_or_else(|| {
            DataError::format(
                path,
                format!("DimSize {dims:?} of {element:?}: empty, or more than {max_data} bytes"),
            )
        })?;
    let bytes = if compressed {
        inflate(&data_path, &bytes, need)?
    } else {
        skip_header(path, &data_path, bytes, get("HeaderSize"), need)?
    };
    Volume::decode(&data_path, dims, spacing, element, big_endian, &bytes, None)
}

/// The text header: `Key = Value` lines up to and including `ElementDataFile`.
struct Header {
    fields: BTreeMap<String, String>,
    data_file: String,
    /// Where the bytes after the header start (the data of a `LOCAL` file).
    data_start: usize,
}

impl Header {
    fn read(path: &Path, raw: &[u8]) -> Result<Self, DataError> {
        let mut fields = BTreeMap::new();
        let mut pos = 0usize;
        while pos < raw.len() {
            let end = raw[pos..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(raw.len(), |i| pos + i + 1);
            let line = std::str::from_utf8(&raw[pos..end])
                .map_err(|_| DataError::format(path, "header is not text"))?
                .trim();
            pos = end;
            if line.is_empty() {
                continue;
            }
            let (k, v) = line.split_once('=').ok_or_else(|| {
                DataError::format(path, format!("header line {line:?} is not `Key = Value`"))
            })?;
            let (k, v) = (k.trim().to_string(), v.trim().to_string());
            if k == "ElementDataFile" {
                return Ok(Self {
                    fields,
                    data_file: v,
                    data_start: pos,
                });
            }
            fields.insert(k, v);
        }
        Err(DataError::format(path, "no ElementDataFile in header"))
    }
}

/// The element type named by `ElementType`.
fn element_type(path: &Path, name: &str) -> Result<ElementType, DataError> {
    Ok(match name {
        "MET_UCHAR" => ElementType::U8,
        "MET_CHAR" => ElementType::I8,
        "MET_USHORT" => ElementType::U16,
        "MET_SHORT" => ElementType::I16,
        "MET_UINT" => ElementType::U32,
        "MET_INT" => ElementType::I32,
        "MET_FLOAT" => ElementType::F32,
        "MET_DOUBLE" => ElementType::F64,
        other => {
            return Err(DataError::format(
                path,
                format!("ElementType {other:?} is not supported"),
            ));
        }
    })
}

/// A separate data file must be one file name beside the header (no lists, patterns or paths).
fn check_data_file(path: &Path, data_file: &str) -> Result<(), DataError> {
    if data_file.contains('%') || data_file.starts_with("LIST") {
        return Err(DataError::format(
            path,
            "multi-file MetaImage data is not supported",
        ));
    }
    if data_file.is_empty()
        || data_file == "."
        || data_file == ".."
        || data_file.contains(['/', '\\', '\0'])
    {
        return Err(DataError::format(
            path,
            format!("ElementDataFile {data_file:?} must be a file name beside the header"),
        ));
    }
    Ok(())
}

/// Inflates zlib-compressed data, reading at most `need` bytes out.
fn inflate(data_path: &Path, bytes: &[u8], need: usize) -> Result<Vec<u8>, DataError> {
    let mut out = Vec::with_capacity(need.min(bytes.len().saturating_mul(8)));
    ZlibDecoder::new(bytes)
        .take(need as u64)
        .read_to_end(&mut out)
        .map_err(|e| DataError::Corrupt {
            path: data_path.to_path_buf(),
            message: format!("zlib stream: {e}"),
        })?;
    Ok(out)
}

/// Drops `HeaderSize` leading bytes of raw data (`-1`: the data is the last `need` bytes).
fn skip_header(
    path: &Path,
    data_path: &Path,
    mut bytes: Vec<u8>,
    header_size: Option<&str>,
    need: usize,
) -> Result<Vec<u8>, DataError> {
    let Some(hs) = header_size else {
        return Ok(bytes);
    };
    let hs: i64 = hs
        .parse()
        .map_err(|_| DataError::format(path, "HeaderSize is not a number"))?;
    if hs == -1 {
        let start = bytes.len().saturating_sub(need);
        bytes.drain(..start);
    } else if hs > 0 {
        let hs = hs as usize;
        if hs > bytes.len() {
            return Err(DataError::Truncated {
                path: data_path.to_path_buf(),
                expected: hs,
                found: bytes.len(),
            });
        }
        bytes.drain(..hs);
    }
    Ok(bytes)
}

fn numbers<T: std::str::FromStr>(
    path: &Path,
    key: &str,
    value: Option<&str>,
    n: usize,
) -> Result<Vec<T>, DataError> {
    let v = value.ok_or_else(|| DataError::format(path, format!("no {key}")))?;
    let parsed: Result<Vec<T>, _> = v.split_whitespace().map(str::parse).collect();
    match parsed {
        Ok(p) if p.len() >= n => Ok(p.into_iter().take(n).collect()),
        _ => Err(DataError::format(
            path,
            format!("{key} = {v:?}: expected {n} numbers"),
        )),
    }
}

/// Write 8-bit voxels (x fastest) as `<stem>.mhd` + `<stem>.raw` (uncompressed), the way the
/// 2019 CAMUS release stores its images. `path` is the `.mhd` path.
pub fn write_u8(
    path: &Path,
    dims: [usize; 3],
    spacing: [f64; 3],
    voxels: &[u8],
) -> Result<(), DataError> {
    if dims.iter().product::<usize>() != voxels.len() {
        return Err(DataError::format(
            path,
            format!("{} voxels for dims {dims:?}", voxels.len()),
        ));
    }
    let raw_name = path
        .with_extension("raw")
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| DataError::format(path, "not a file name"))?;
    let header = format!(
        "ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n\
         CompressedData = False\nTransformMatrix = 1 0 0 0 1 0 0 0 1\nOffset = 0 0 0\n\
         CenterOfRotation = 0 0 0\nAnatomicalOrientation = RAI\n\
         ElementSpacing = {} {} {}\nDimSize = {} {} {}\nElementType = MET_UCHAR\n\
         ElementDataFile = {raw_name}\n",
        spacing[0], spacing[1], spacing[2], dims[0], dims[1], dims[2]
    );
    std::fs::write(path, header).map_err(|e| DataError::io(path, e))?;
    let raw = path.with_extension("raw");
    std::fs::write(&raw, voxels).map_err(|e| DataError::io(&raw, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.mhd");
        let vox: Vec<u8> = (0..6).collect();
        write_u8(&p, [3, 2, 1], [0.31, 0.15, 1.0], &vox).unwrap();
        let v = read(&p).unwrap();
        assert_eq!(v.dims, [3, 2, 1]);
        assert_eq!(v.spacing, [0.31, 0.15, 1.0]);
        assert_eq!(v.frame_image(0).unwrap().data(), &vox[..]);
    }

    #[test]
    fn local_big_endian_and_compressed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.mha");
        let mut b = b"NDims = 2\nDimSize = 2 1\nElementType = MET_USHORT\nBinaryDataByteOrderMSB = True\nElementDataFile = LOCAL\n".to_vec();
        b.extend_from_slice(&[0x01, 0x00, 0x00, 0x07]);
        std::fs::write(&p, &b).unwrap();
        assert_eq!(read(&p).unwrap().values, vec![256.0, 7.0]);

        use flate2::write::ZlibEncoder;
        use std::io::Write;
        let mut z = ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&[9, 8, 7, 6]).unwrap();
        let zraw = z.finish().unwrap();
        std::fs::write(dir.path().join("c.zraw"), &zraw).unwrap();
        let h = dir.path().join("c.mhd");
        std::fs::write(&h, "NDims = 2\nDimSize = 2 2\nElementType = MET_UCHAR\nCompressedData = True\nElementDataFile = c.zraw\n").unwrap();
        assert_eq!(read(&h).unwrap().values, vec![9.0, 8.0, 7.0, 6.0]);
        std::fs::write(dir.path().join("c.zraw"), &zraw[..zraw.len() / 2]).unwrap();
        assert!(read(&h).is_err());
    }

    #[test]
    fn truncated_and_missing_data() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.mhd");
        write_u8(&p, [4, 4, 1], [1.0; 3], &[0; 16]).unwrap();
        std::fs::write(dir.path().join("x.raw"), [0u8; 10]).unwrap();
        assert!(matches!(
            read(&p),
            Err(DataError::Truncated {
                expected: 16,
                found: 10,
                ..
            })
        ));
        std::fs::remove_file(dir.path().join("x.raw")).unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("x.raw"), "{e}");
    }
}
