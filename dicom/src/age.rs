//! `PatientAge` (DICOM Age String) → whole years.

/// DICOM Age String (`nnnD`, `nnnW`, `nnnM`, `nnnY`) → whole years. Lenient about missing
/// zero padding and a missing unit (years). Ages over [`MAX_AGE_YEARS`] are not plausible and
/// read as unknown (the C ABI refuses them too), so they never reach a prompt.
pub fn parse_age(s: &str) -> Option<u8> {
    let s = s.trim();
    let (digits, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c.to_ascii_uppercase()),
        Some(_) => (s, 'Y'),
        None => return None,
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u32 = digits.parse().ok()?;
    let years = match unit {
        'Y' => n,
        'M' => n / 12,
        'W' => n / 52,
        'D' => n / 365,
        _ => return None,
    };
    u8::try_from(years).ok().filter(|&y| y <= MAX_AGE_YEARS)
}

/// The oldest plausible age, years (as `sb_meta.age_years` allows).
pub const MAX_AGE_YEARS: u8 = 130;
