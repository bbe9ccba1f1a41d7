//! The manifest's seal (`manifest_sha256`) and the SHA-256 of bundle files.

use super::{BundleError, MANIFEST, SEAL_FIELD};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// Where the seal's 64 hex digits are in a manifest text: the one `"manifest_sha256"` key,
/// then `:` and a string of exactly 64 lower-case hex digits.
pub(super) fn seal_span(text: &str) -> Result<std::ops::Range<usize>, String> {
    let key = format!("\"{SEAL_FIELD}\"");
    let mut found = text.match_indices(&key);
    let (at, _) = found
        .next()
        .ok_or_else(|| format!("the manifest is not sealed (no {SEAL_FIELD})"))?;
    if found.next().is_some() {
        return Err(format!("{SEAL_FIELD} appears more than once"));
    }
    let b = text.as_bytes();
    let mut i = at + key.len();
    let skip_ws = |i: &mut usize| {
        while b.get(*i).is_some_and(|c| c.is_ascii_whitespace()) {
            *i += 1;
        }
    };
    skip_ws(&mut i);
    if b.get(i) != Some(&b':') {
        return Err(format!("{SEAL_FIELD} is not followed by `:`"));
    }
    i += 1;
    skip_ws(&mut i);
    let start = i + 1;
    let end = start + 64;
    let ok = b.get(i) == Some(&b'"')
        && b.get(end) == Some(&b'"')
        && b.get(start..end)
            .is_some_and(|h| h.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')));
    if !ok {
        return Err(format!(
            "{SEAL_FIELD} must be a string of 64 lower-case hex digits"
        ));
    }
    Ok(start..end)
}

/// The seal a manifest text should carry: SHA-256 of the text with the seal digits zeroed.
fn seal_of(text: &str, span: std::ops::Range<usize>) -> String {
    let mut zeroed = text.as_bytes().to_vec();
    zeroed[span].fill(b'0');
    sha256_hex(&zeroed)
}

/// Check a manifest text's seal.
pub(super) fn verify_seal(text: &str) -> Result<(), String> {
    let span = seal_span(text)?;
    let want = seal_of(text, span.clone());
    let have = &text[span];
    if have != want {
        return Err(format!(
            "{SEAL_FIELD} {have} does not match the manifest's bytes ({want}): the manifest was \
             edited or corrupted after it was written"
        ));
    }
    Ok(())
}

/// Seal a manifest text as the library's writer does (for tools that write manifests
/// themselves, and the fuzz harness): the text must be one JSON object without the seal field;
/// the seal is added as its last field.
pub fn seal_manifest(text: &str) -> Result<String, BundleError> {
    seal_text(text).map_err(|message| BundleError::Seal {
        path: PathBuf::from(MANIFEST),
        message,
    })
}

/// Seal a manifest text that ends with its JSON object's closing brace: add the seal field
/// last and fill it in.
pub(super) fn seal_text(text: &str) -> Result<String, String> {
    let body = text.trim_end();
    let body = body
        .strip_suffix('}')
        .ok_or("the manifest text does not end with `}`")?
        .trim_end();
    let mut out = format!("{body},\n  \"{SEAL_FIELD}\": \"{}\"\n}}\n", "0".repeat(64));
    let span = seal_span(&out)?;
    let seal = seal_of(&out, span.clone());
    out.replace_range(span, &seal);
    Ok(out)
}

/// SHA-256 of bytes as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}
