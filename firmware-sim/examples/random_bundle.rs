//! Write a random-weight model bundle, for trying `synboost-sim live` before a trained model is
//! there (segmentations are meaningless; latency and plumbing are real).
//!
//! ```text
//! cargo run --release -p synboost-sim --example random_bundle -- DIR [--tiny] [--no-int8]
//! ```
//!
//! The default is the deployable student (224², 3 structures) with an int8 variant calibrated
//! on phantom frames, as `core/benches/inference.rs` builds it; `--tiny` writes the tests'
//! 64×48 student.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use synboost_core::model::spec::ModelSpec;
use synboost_core::{Tokenizer, Vocab};
use synboost_export::student::{BundleInfo, write_random_student};
use synboost_phantom::{Phantom, PhantomConfig};

fn main() -> Result<()> {
    let mut dir = None;
    let (mut tiny, mut int8) = (false, true);
    for a in std::env::args().skip(1) {
        match a.as_str() {
            "--tiny" => tiny = true,
            "--no-int8" => int8 = false,
            s if s.starts_with('-') => bail!("unknown option {s}"),
            s => dir = Some(PathBuf::from(s)),
        }
    }
    let Some(dir) = dir else {
        bail!("usage: random_bundle DIR [--tiny] [--no-int8]");
    };
    let n = Vocab::builtin().len();
    let spec = if tiny {
        ModelSpec::tiny(n, Tokenizer::DEFAULT_MAX_LEN)
    } else {
        ModelSpec::student(n, Tokenizer::DEFAULT_MAX_LEN)
    };
    // Calibration frames at the model's input size, from the phantom.
    let mut frames = Vec::new();
    if int8 {
        let ph = Phantom::new(PhantomConfig {
            width: spec.input.width,
            height: spec.input.height,
            ..PhantomConfig::default()
        })?;
        for k in 0..4 {
            frames.push(ph.frame(k * 10)?.image.into_data());
        }
    }
    let info = BundleInfo {
        provenance: serde_json::json!({"data": "none", "weights": "random"}),
        ..BundleInfo::new(
            if tiny {
                "random-tiny"
            } else {
                "random-student"
            },
            "random weights, no data: free to use",
            spec.structures.len(),
        )
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    write_random_student(&dir, info, &spec, 7, &frames)
        .with_context(|| format!("writing {}", dir.display()))?;
    println!(
        "{}: random-weight {} bundle",
        dir.display(),
        if tiny { "tiny" } else { "student" }
    );
    Ok(())
}
