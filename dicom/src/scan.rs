//! The pre-parse scanner: walks the element structure (headers and lengths only) before
//! `dicom-object` parses it, so that hostile lengths are refused instead of allocated.

use crate::error::DicomError;
use crate::transfer_syntax::EXPLICIT_BIG_ENDIAN_TS;
use dicom_core::Tag;
use dicom_dictionary_std::{tags, uids};
use std::path::Path;

/// Inflate a raw deflate stream (a Deflated Explicit VR Little Endian data set), refusing more
/// than `max` bytes.
fn inflate(deflated: &[u8], max: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(deflated)
        .take(max.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| format!("the deflated data set does not inflate: {e}"))?;
    if out.len() as u64 > max {
        return Err(format!("the deflated data set inflates past {max} bytes"));
    }
    Ok(out)
}

/// Nesting limit for sequences; deeper data sets are refused as malformed.
const MAX_DEPTH: u32 = 64;
const UNDEFINED: u32 = 0xFFFF_FFFF;
const ITEM: Tag = Tag(0xFFFE, 0xE000);
const ITEM_END: Tag = Tag(0xFFFE, 0xE00D);
const SEQUENCE_END: Tag = Tag(0xFFFE, 0xE0DD);

/// A structural problem found before parsing.
#[derive(Debug)]
pub(crate) enum ScanError {
    /// The input ends inside an element (byte offset from `DICM`).
    Eof(usize),
    /// The structure is inconsistent.
    Bad(usize, String),
    /// No usable file meta group after `DICM`.
    NoMeta(String),
}

impl ScanError {
    /// The [`DicomError`] for this problem in the file at `path`.
    pub(crate) fn into_error(self, path: &Path) -> DicomError {
        match self {
            Self::Eof(at) => DicomError::Truncated {
                path: path.to_path_buf(),
                detail: format!("the file ends inside a data element ({at} bytes after `DICM`)"),
            },
            Self::Bad(at, what) => DicomError::Malformed {
                path: path.to_path_buf(),
                detail: format!("{what} ({at} bytes after `DICM`)"),
            },
            Self::NoMeta(reason) => DicomError::NotDicom {
                path: path.to_path_buf(),
                reason,
            },
        }
    }
}

/// Walks the element structure (headers and lengths only, recursing into sequences) before
/// `dicom-object` parses it, so that a declared length beyond the end of the input is caught
/// here instead of becoming a multi-gigabyte allocation in the parser.
#[derive(Clone, Copy)]
pub(crate) struct Scanner<'a> {
    data: &'a [u8],
    big_endian: bool,
    explicit: bool,
}

/// One element header.
struct Header {
    tag: Tag,
    vr: Option<dicom_core::VR>,
    len: u32,
    size: usize,
}

impl<'a> Scanner<'a> {
    /// Check `body` (from `DICM` on); a deflated data set is inflated (up to `max_inflated`
    /// bytes) and checked. Returns whether the file ends inside the top-level encapsulated
    /// PixelData at a fragment boundary (a tolerated cut).
    pub(crate) fn check(body: &'a [u8], max_inflated: u64) -> Result<bool, ScanError> {
        let meta = Scanner {
            data: body,
            big_endian: false,
            explicit: true,
        };
        let (pos, ts) = meta.file_meta()?;
        let data_set = match ts.as_str() {
            // A deflated data set is walked inflated: the parser inflates it as it reads, so
            // its lengths need the same check (found by the dicom fuzzer: a 320 MB value).
            uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN => {
                Self::check_deflated(body.get(pos..).unwrap_or_default(), pos, max_inflated)?;
                return Ok(false);
            }
            uids::IMPLICIT_VR_LITTLE_ENDIAN => Scanner {
                data: body,
                big_endian: false,
                explicit: false,
            },
            EXPLICIT_BIG_ENDIAN_TS => Scanner {
                data: body,
                big_endian: true,
                explicit: true,
            },
            _ => meta,
        };
        let mut cut = false;
        data_set.data_set(pos, body.len(), false, 0, &mut cut)?;
        Ok(cut)
    }

    /// Walk the file meta group (group 0002, explicit VR little endian) after `DICM`:
    /// returns where the data set starts and the Transfer Syntax UID (empty when absent).
    fn file_meta(&self) -> Result<(usize, String), ScanError> {
        let body = self.data;
        let mut pos = 4;
        let mut ts = String::new();
        while pos < body.len() {
            let group = self.u16_at(pos).ok_or(ScanError::Eof(pos))?;
            if group != 0x0002 {
                if pos == 4 {
                    return Err(ScanError::NoMeta(format!(
                        "no file meta group after `DICM` (first group {group:04X})"
                    )));
                }
                break;
            }
            let h = self.header(pos)?;
            if let Some(code) = body.get(pos + 4..pos + 6)
                && dicom_core::VR::from_binary([code[0], code[1]]).is_none()
            {
                return Err(ScanError::NoMeta(format!(
                    "file meta element {:?} has no valid VR",
                    h.tag
                )));
            }
            let value_at = pos + h.size;
            let end = self.bounded(value_at, h.len)?;
            self.check_unit(pos, &h)?;
            if h.tag == tags::TRANSFER_SYNTAX_UID {
                ts = String::from_utf8_lossy(body.get(value_at..end).unwrap_or_default())
                    .trim_end_matches(['\0', ' '])
                    .to_string();
            }
            pos = end;
        }
        Ok((pos, ts))
    }

    /// Inflate a deflated data set (found `pos` bytes after `DICM`) and walk it.
    fn check_deflated(deflated: &[u8], pos: usize, max_inflated: u64) -> Result<(), ScanError> {
        let inflated = inflate(deflated, max_inflated).map_err(|why| ScanError::Bad(pos, why))?;
        let s = Scanner {
            data: &inflated,
            big_endian: false,
            explicit: true,
        };
        let mut cut = false;
        s.data_set(0, inflated.len(), false, 0, &mut cut)
            .map_err(|e| match e {
                ScanError::Eof(at) => ScanError::Bad(
                    pos,
                    format!(
                        "the deflated data set ends inside an element ({at} bytes into it, \
                         inflated)"
                    ),
                ),
                other => other,
            })?;
        Ok(())
    }

    fn u16_at(&self, pos: usize) -> Option<u16> {
        let b = self.data.get(pos..pos + 2)?;
        let a = [b[0], b[1]];
        Some(if self.big_endian {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        })
    }

    fn u32_at(&self, pos: usize) -> Option<u32> {
        let b = self.data.get(pos..pos + 4)?;
        let a = [b[0], b[1], b[2], b[3]];
        Some(if self.big_endian {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        })
    }

    /// End of a value of `len` bytes at `at`, when it lies inside the input.
    fn bounded(&self, at: usize, len: u32) -> Result<usize, ScanError> {
        let end = at.checked_add(len as usize).ok_or(ScanError::Eof(at))?;
        if end > self.data.len() {
            Err(ScanError::Eof(at))
        } else {
            Ok(end)
        }
    }

    fn header(&self, pos: usize) -> Result<Header, ScanError> {
        use dicom_core::VR;
        let eof = ScanError::Eof(pos);
        let group = self.u16_at(pos).ok_or(ScanError::Eof(pos))?;
        let element = self.u16_at(pos + 2).ok_or(ScanError::Eof(pos))?;
        let tag = Tag(group, element);
        // Items and delimiters (FFFE,xxxx) have no VR even in explicit VR; implicit VR never has one.
        if group == 0xFFFE || !self.explicit {
            let len = self.u32_at(pos + 4).ok_or(eof)?;
            return Ok(Header {
                tag,
                vr: None,
                len,
                size: 8,
            });
        }
        let code = self.data.get(pos + 4..pos + 6).ok_or(ScanError::Eof(pos))?;
        let vr = VR::from_binary([code[0], code[1]]).unwrap_or(VR::UN);
        let short = matches!(
            vr,
            VR::AE
                | VR::AS
                | VR::AT
                | VR::CS
                | VR::DA
                | VR::DS
                | VR::DT
                | VR::FL
                | VR::FD
                | VR::IS
                | VR::LO
                | VR::LT
                | VR::PN
                | VR::SH
                | VR::SL
                | VR::SS
                | VR::ST
                | VR::TM
                | VR::UI
                | VR::UL
                | VR::US
        );
        if short {
            let len = u32::from(self.u16_at(pos + 6).ok_or(eof)?);
            Ok(Header {
                tag,
                vr: Some(vr),
                len,
                size: 8,
            })
        } else {
            let len = self.u32_at(pos + 8).ok_or(eof)?;
            Ok(Header {
                tag,
                vr: Some(vr),
                len,
                size: 12,
            })
        }
    }

    /// The size of one value of an element's binary VR (its length must be a multiple of it),
    /// from the explicit VR or, in implicit VR, the dictionary's.
    fn value_unit(&self, h: &Header) -> Option<usize> {
        use dicom_core::VR;
        use dicom_core::dictionary::{DataDictionary, VirtualVr};
        let vr = match h.vr {
            Some(vr) => vr,
            None => match dicom_object::StandardDataDictionary.by_tag(h.tag)?.vr {
                VirtualVr::Exact(vr) => vr,
                _ => return None,
            },
        };
        match vr {
            VR::OW | VR::SS | VR::US => Some(2),
            VR::AT | VR::FL | VR::OF | VR::OL | VR::SL | VR::UL => Some(4),
            VR::FD | VR::OD | VR::OV | VR::SV | VR::UV => Some(8),
            _ => None,
        }
    }

    /// Refuse a defined length that is not a whole number of values: the parser would read
    /// the whole values only and lose its place in the stream (then read element headers out
    /// of value bytes, with lengths in the gigabytes).
    fn check_unit(&self, pos: usize, h: &Header) -> Result<(), ScanError> {
        match self.value_unit(h) {
            Some(unit) if h.len != UNDEFINED && !(h.len as usize).is_multiple_of(unit) => {
                Err(ScanError::Bad(
                    pos,
                    format!(
                        "{:?} has length {}, not a multiple of its {unit}-byte values",
                        h.tag, h.len
                    ),
                ))
            }
            _ => Ok(()),
        }
    }

    /// Whether an element with a defined length holds a sequence.
    fn is_sequence(&self, h: &Header) -> bool {
        use dicom_core::dictionary::{DataDictionary, VirtualVr};
        match h.vr {
            Some(vr) => vr == dicom_core::VR::SQ,
            None => dicom_object::StandardDataDictionary
                .by_tag(h.tag)
                .is_some_and(|e| e.vr == VirtualVr::Exact(dicom_core::VR::SQ)),
        }
    }

    /// Walk a data set from `pos` to `end`, or up to its item delimiter when `delimited`.
    /// Returns the position after it.
    fn data_set(
        &self,
        mut pos: usize,
        end: usize,
        delimited: bool,
        depth: u32,
        cut: &mut bool,
    ) -> Result<usize, ScanError> {
        if depth > MAX_DEPTH {
            return Err(ScanError::Bad(
                pos,
                format!("sequences nested deeper than {MAX_DEPTH}"),
            ));
        }
        loop {
            if pos >= end {
                return if delimited {
                    Err(ScanError::Eof(pos))
                } else {
                    Ok(pos)
                };
            }
            let h = self.header(pos)?;
            let value_at = pos + h.size;
            if value_at > end {
                return Err(self.past(pos, end));
            }
            if h.tag == ITEM_END {
                if delimited {
                    return Ok(value_at);
                }
                pos = value_at; // stray delimiter: tolerated, as the parser does
                continue;
            }
            if h.tag == SEQUENCE_END || h.tag == ITEM {
                return Err(ScanError::Bad(
                    pos,
                    format!("unexpected {:?} in a data set", h.tag),
                ));
            }
            if h.len == UNDEFINED {
                pos = if h.tag == tags::PIXEL_DATA && depth == 0 && h.vr != Some(dicom_core::VR::SQ)
                {
                    self.fragments(value_at, end, cut)?
                } else if h.vr == Some(dicom_core::VR::UN) {
                    // PS3.5 6.2.2: UN of undefined length holds implicit VR little endian items
                    let inner = Scanner {
                        big_endian: false,
                        explicit: false,
                        ..*self
                    };
                    inner.items(value_at, end, None, depth + 1, cut)?
                } else if h.vr.is_none() || h.vr == Some(dicom_core::VR::SQ) {
                    self.items(value_at, end, None, depth + 1, cut)?
                } else {
                    return Err(ScanError::Bad(
                        pos,
                        format!("undefined length for {:?} {:?}", h.tag, h.vr),
                    ));
                };
                continue;
            }
            let value_end = value_at
                .checked_add(h.len as usize)
                .filter(|e| *e <= end)
                .ok_or_else(|| self.past(value_at, end))?;
            self.check_unit(pos, &h)?;
            if self.is_sequence(&h) {
                self.items(value_at, value_end, Some(value_end), depth + 1, cut)?;
            }
            pos = value_end;
        }
    }

    /// The error for a length that runs past `end`: the end of the input is a truncation, the
    /// end of an enclosing item is a structural error.
    fn past(&self, pos: usize, end: usize) -> ScanError {
        if end >= self.data.len() {
            ScanError::Eof(pos)
        } else {
            ScanError::Bad(
                pos,
                "an element runs past the end of its sequence item".into(),
            )
        }
    }

    /// Walk sequence items from `pos`: up to `defined_end`, or up to the sequence delimiter.
    fn items(
        &self,
        mut pos: usize,
        end: usize,
        defined_end: Option<usize>,
        depth: u32,
        cut: &mut bool,
    ) -> Result<usize, ScanError> {
        loop {
            if let Some(e) = defined_end
                && pos >= e
            {
                return Ok(pos);
            }
            if pos >= end {
                return Err(self.past(pos, end));
            }
            let h = self.header(pos)?;
            let value_at = pos + h.size;
            if value_at > end {
                return Err(self.past(pos, end));
            }
            match h.tag {
                SEQUENCE_END if defined_end.is_none() => return Ok(value_at),
                ITEM if h.len == UNDEFINED => {
                    pos = self.data_set(value_at, end, true, depth, cut)?;
                }
                ITEM => {
                    let item_end = value_at
                        .checked_add(h.len as usize)
                        .filter(|e| *e <= end)
                        .ok_or_else(|| self.past(value_at, end))?;
                    self.data_set(value_at, item_end, false, depth, cut)?;
                    pos = item_end;
                }
                other => {
                    return Err(ScanError::Bad(
                        pos,
                        format!("expected a sequence item, found {other:?}"),
                    ));
                }
            }
        }
    }

    /// Walk the fragments of encapsulated pixel data. The end of the input at a fragment
    /// boundary sets `cut` instead of failing, so the decoder can report what is missing.
    fn fragments(&self, mut pos: usize, end: usize, cut: &mut bool) -> Result<usize, ScanError> {
        loop {
            if pos >= end && end >= self.data.len() {
                *cut = true;
                return Ok(pos);
            }
            let h = self.header(pos)?;
            let value_at = pos + h.size;
            match h.tag {
                SEQUENCE_END => return Ok(value_at),
                ITEM if h.len != UNDEFINED => {
                    pos = value_at
                        .checked_add(h.len as usize)
                        .filter(|e| *e <= end)
                        .ok_or_else(|| self.past(value_at, end))?;
                }
                other => {
                    return Err(ScanError::Bad(
                        pos,
                        format!("expected a pixel data fragment, found {other:?}"),
                    ));
                }
            }
        }
    }
}
