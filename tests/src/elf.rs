//! What a shared library exports, as `nm -D --defined-only` (binutils) lists it.
// Test support: a library nm cannot read must fail the test that asked.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use crate::process::run_ok;
use std::path::Path;
use std::process::Command;

/// One exported symbol: its `nm` line and its name without a version suffix.
#[derive(Debug, Clone)]
pub struct Export {
    /// The line as nm printed it.
    pub line: String,
    /// The symbol's name (`sb_version`, not `sb_version@@V1`).
    pub name: String,
}

/// The global symbols `so` defines in its dynamic table: code and data (`T D B R G S V W`),
/// GNU indirect functions (`i`) and unique globals (`u`).
pub fn exported_globals(so: &Path) -> Vec<Export> {
    let out = run_ok(Command::new("nm").args(["-D", "--defined-only"]).arg(so));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut exports = Vec::new();
    for line in text.lines() {
        // "<address> <type> <name>"
        let mut f = line.split_whitespace().rev();
        let (Some(name), Some(kind)) = (f.next(), f.next()) else {
            continue;
        };
        let global = matches!(
            kind,
            "T" | "D" | "B" | "R" | "G" | "S" | "V" | "W" | "i" | "u"
        );
        if global {
            exports.push(Export {
                line: line.to_string(),
                name: name.split('@').next().unwrap_or(name).to_string(),
            });
        }
    }
    exports
}
