//! Write the seed corpora of the fuzz targets: `cargo run -p synboost-tests --example
//! fuzz_seeds -- fuzz/corpus` (one folder per target; real DICOM files from
//! `SYNBOOST_DICOM_DIR` when set). `fuzz/run.sh` calls it before fuzzing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use synboost_sim::dicom_write::{DicomWriteOptions, RegionSpec, encode_cine};
use synboost_tests::fuzz::{TARGETS, seeds};

fn main() -> anyhow::Result<()> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or_else(|| anyhow::anyhow!("usage: fuzz_seeds OUT_DIR"))?,
    );
    let dicom_dir = std::env::var_os("SYNBOOST_DICOM_DIR").map(PathBuf::from);
    for target in TARGETS {
        let dir = out.join(target);
        std::fs::create_dir_all(&dir)?;
        let mut inputs = seeds(target, dicom_dir.as_deref());
        if target == "dicom" {
            let (frames, meta) = synboost_tests::fuzz::cine_parts();
            let opts = DicomWriteOptions {
                region: Some(RegionSpec::whole(48, 40)),
                ..DicomWriteOptions::default()
            };
            inputs.push((
                "phantom-region.dcm".into(),
                encode_cine(&frames, &meta, &opts)?.0,
            ));
        }
        for (name, bytes) in &inputs {
            std::fs::write(dir.join(format!("seed-{name}")), bytes)?;
        }
        println!("{target}: {} seeds in {}", inputs.len(), dir.display());
    }
    Ok(())
}
