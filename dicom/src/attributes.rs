//! Reading attribute values: trimmed text and finite numbers.

use dicom_core::Tag;
use dicom_object::InMemDicomObject;
use std::borrow::Cow;

/// A non-empty trimmed string value.
pub(crate) fn text(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    obj.get(tag)
        .and_then(|e| e.to_str().ok())
        .map(|s: Cow<'_, str>| s.trim().trim_end_matches('\0').to_string())
        .filter(|s| !s.is_empty())
}

/// A finite number (the first, for multi-valued attributes).
pub(crate) fn float(obj: &InMemDicomObject, tag: Tag) -> Option<f64> {
    obj.get(tag)
        .and_then(|e| e.to_multi_float64().ok())
        .and_then(|v| v.first().copied())
        .filter(|v| v.is_finite())
}
