//! `synboost-train fit --seed S` is repeatable: the same seed gives the same weights byte for
//! byte (initialisation, shuffling, prompt draws and augmentation all follow the seed), another
//! seed gives other weights. A trained student run can also teach another (`--distill-from`),
//! as issue 27's wider CPU teacher does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

fn fit(out: &Path, seed: u64) -> Vec<u8> {
    fit_with(out, seed, &[])
}

fn fit_with(out: &Path, seed: u64, extra: &[&str]) -> Vec<u8> {
    let st = Command::new(env!("CARGO_BIN_EXE_synboost-train"))
        .env_remove("SYNBOOST_CAMUS_DIR")
        .args([
            "fit",
            "--strategy",
            "synthetic",
            "--synthetic",
            "phantom:4",
            "--size",
            "64",
            "--epochs",
            "1",
            "--limit-train",
            "16",
            "--limit-val",
            "4",
            "--augment",
            "--schedule",
            "cosine",
            "--prompt",
            "p1,p2,p3",
            "--device",
            "cpu",
            "--threads",
            "1",
            "--seed",
            &seed.to_string(),
            "--out",
        ])
        .arg(out)
        .args(extra)
        .status()
        .expect("run synboost-train fit");
    assert!(st.success(), "fit failed");
    std::fs::read(out.join("last.safetensors")).expect("last.safetensors")
}

#[test]
fn same_seed_same_weights_other_seed_other_weights() {
    let d = tempfile::tempdir().unwrap();
    let a = fit(&d.path().join("a"), 7);
    let b = fit(&d.path().join("b"), 7);
    let c = fit(&d.path().join("c"), 8);
    assert!(a == b, "two runs with seed 7 differ");
    assert!(a != c, "seeds 7 and 8 gave the same weights");
}

#[test]
fn a_student_run_teaches_another_student() {
    let d = tempfile::tempdir().unwrap();
    let teacher = d.path().join("teacher");
    fit_with(&teacher, 1, &["--widths", "8,16,24/16,8"]);
    let plain = fit(&d.path().join("plain"), 7);
    let taught = d.path().join("taught");
    let with_teacher = fit_with(&taught, 7, &["--distill-from", teacher.to_str().unwrap()]);
    assert!(
        plain != with_teacher,
        "the teacher's logits did not change the student"
    );
    let state = std::fs::read_to_string(taught.join("state.json")).unwrap();
    assert!(
        state.contains("\"temperature\""),
        "no distillation recorded: {state}"
    );
}
