//! DICOM UIDs: the syntax check, and new `2.25.<UUID>` UIDs (PS3.5 B.2).

/// Whether `s` is a syntactically valid UID (digits and dots, no empty or zero-led components,
/// at most 64 characters).
pub fn is_valid_uid(s: &str) -> bool {
    s.len() <= 64
        && !s.is_empty()
        && s.split('.').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_digit())
                && (c == "0" || !c.starts_with('0'))
        })
}

/// A new UID: `2.25.` followed by a random (version 4) UUID as a decimal integer.
pub fn new_uid() -> String {
    format!("2.25.{}", uuid::Uuid::new_v4().as_u128())
}
