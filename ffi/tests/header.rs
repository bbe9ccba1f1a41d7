//! `include/synboost.h` is generated from this crate by cbindgen: this test regenerates it and
//! fails when the committed header differs (run with `SYNBOOST_BLESS=1` to rewrite it).

use std::path::Path;

#[test]
fn committed_header_matches_the_code() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).unwrap();
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not read ffi/src")
        .write(&mut generated);
    let generated = String::from_utf8(generated).unwrap();
    let path = crate_dir.join("../include/synboost.h");
    if std::env::var_os("SYNBOOST_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or(
                committed.lines().count().min(generated.lines().count()),
                |i| i,
            )
            + 1;
        panic!(
            "include/synboost.h differs from the code from line {line}: regenerate it with \
             `SYNBOOST_BLESS=1 cargo test -p synboost --test header` and commit it"
        );
    }
    for name in [
        "sb_stream_push",
        "sb_engine_open",
        "SB_ERR_NULL",
        "struct sb_frame",
    ] {
        assert!(generated.contains(name), "{name} missing from the header");
    }
}
