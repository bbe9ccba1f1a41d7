//! `synboost-train reseal DIR`: rewrite a trusted older bundle's manifest in the current
//! format, sealed.

use anyhow::Result;
use std::path::Path;
use synboost_core::model::bundle::Bundle;

/// Reseal the bundle in `dir` (after verifying every file against its manifest) and print the
/// digest to pin.
pub fn reseal(dir: &Path) -> Result<()> {
    let b = Bundle::reseal(dir)?;
    let m = b.manifest();
    println!(
        "{} {}: sealed; bundle digest {}",
        m.name,
        m.version,
        b.digest()
    );
    Ok(())
}
