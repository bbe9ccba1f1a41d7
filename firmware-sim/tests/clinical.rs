//! Clinical outputs of `synboost-sim live` on the bundled default model, against phantom truth:
//! 20 phantoms with EF 30–75 % and heart rates 55–95 bpm, streamed without ECG through the
//! debug libsynboost.so (block policy, so that no frame is lost to a busy CI machine). Each run's
//! report must give the phantom's EF within 5 points (mean of its reliable cycles), every ED
//! frame within one frame of the truth, and the heart rate within 3 bpm. End-systole: see the
//! assertion below (the model's LV area keeps falling for a frame or two after the true ES,
//! while the mitral leaflets open; it has been trained on ED/ES frames only). One more run
//! interleaves both apical views and must report biplane Simpson EF.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::library;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn bundle() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/default")
}

/// Phantom `i` of 20: EF spread over 30–75 %, heart rates over 55–95 bpm (shuffled).
fn plan(i: usize) -> (f64, f64) {
    let ef = 30.0 + 45.0 * (i - 1) as f64 / 19.0;
    let hr = 55.0 + 40.0 * ((i * 7) % 20) as f64 / 19.0;
    (ef, hr)
}

/// `live` on phantom `i` for `cycles` cardiac cycles (and a little more, for the last ES to be
/// confirmed), with `extra` arguments.
fn live(i: usize, cycles: f64, extra: &[&str], out: &Path) -> std::process::Child {
    let (ef, hr) = plan(i);
    let seconds = cycles * 60.0 / hr + 0.4;
    Command::new(env!("CARGO_BIN_EXE_synboost-sim"))
        .env_remove("SYNBOOST_LIB")
        .env_remove("SYNBOOST_BUNDLE")
        .args([
            "live",
            "--policy",
            "block",
            "--no-progress",
            "--gif-frames",
            "1",
        ])
        .args([
            "--cycles",
            &(cycles + 1.0).to_string(),
            "--seed",
            &i.to_string(),
        ])
        .args(["--ef", &ef.to_string(), "--heart-rate", &hr.to_string()])
        .args(["--seconds", &format!("{seconds:.2}")])
        .args(extra)
        .arg("--lib")
        .arg(library())
        .arg("--bundle")
        .arg(bundle())
        .arg("--out")
        .arg(out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn report(child: std::process::Child, out: &Path) -> Value {
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "live failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap()
}

#[test]
fn live_reports_phantom_ef_and_landmarks_without_ecg() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rows = Vec::new();
    let (mut es_ok, mut es_n) = (0.0, 0.0);
    let (mut inferred_ok, mut inferred_n) = (0.0, 0.0);
    // Two at a time: the stream paces frames in real time, so this keeps both cores busy.
    for pair in (1..=20).collect::<Vec<_>>().chunks(2) {
        let runs: Vec<_> = pair
            .iter()
            .map(|&i| {
                let out = tmp.path().join(i.to_string());
                (i, live(i, 4.0, &[], &out), out)
            })
            .collect();
        for (i, child, out) in runs {
            let r = report(child, &out);
            let c = &r["clinical"];
            let t = &c["truth"];
            assert!(t.is_object(), "phantom {i}: no truth check: {c}");
            let (ef, _) = plan(i);
            let cycles = t["cycles"].as_u64().unwrap();
            let ef_error = t["ef_error"].as_f64().unwrap();
            let hr_error = t["heart_rate_error"].as_f64().unwrap();
            let ed = t["ed_within_one_frame"].as_f64().unwrap();
            let es = t["es_within_one_frame"].as_f64().unwrap();
            let n = c["cycles"].as_array().unwrap().len() as f64;
            es_ok += es * n;
            es_n += n;
            let inferred = c["inferred_phase_frames"].as_f64().unwrap();
            inferred_ok += t["inferred_phase_within_one_frame"].as_f64().unwrap_or(0.0) * inferred;
            inferred_n += inferred;
            rows.push(format!(
                "phantom {i:2}: EF {ef:5.1} measured {:5.1} ({ef_error:+.1}) over {cycles} cycles, HR error {hr_error:+.1}, ED within 1 frame {:.0} % (worst {:.2}), ES {:.0} % (worst {:.2}), inferred ED/ES frames {} ({:.0} % within 1 frame)",
                t["ef_mean"].as_f64().unwrap(),
                ed * 100.0,
                t["ed_frame_error_max"].as_f64().unwrap(),
                es * 100.0,
                t["es_frame_error_max"].as_f64().unwrap(),
                c["inferred_phase_frames"],
                t["inferred_phase_within_one_frame"].as_f64().unwrap_or(f64::NAN) * 100.0
            ));
            assert!(cycles >= 2, "phantom {i}: {cycles} reliable cycles\n{c}");
            assert!(
                ef_error.abs() <= 5.0,
                "phantom {i}: EF error {ef_error}\n{c}"
            );
            assert!(hr_error.abs() <= 3.0, "phantom {i}: HR error {hr_error}");
            assert_eq!(ed, 1.0, "phantom {i}: an ED more than one frame off\n{c}");
            assert!(
                t["es_frame_error_max"].as_f64().unwrap() <= 3.5,
                "phantom {i}: an ES more than three frames off\n{c}"
            );
            assert!(c["plot"].is_string() && out.join("lv-area.png").is_file());
            assert!(out.join("lv-area.csv").is_file());
        }
    }
    println!("{}", rows.join("\n"));
    let es_rate = es_ok / es_n;
    println!(
        "ES within one frame: {:.0} % of {es_n} cycles",
        es_rate * 100.0
    );
    // Measured 72 % (44 of 61 cycles); the others are 1.5–2.9 frames late.
    assert!(
        es_rate >= 0.6,
        "ES within one frame in {:.0} %",
        es_rate * 100.0
    );
    // The phases the stream predicted for the prompts (no ECG), within one frame of the true
    // ED or ES: measured 79 % of 94 frames.
    let inferred_rate = inferred_ok / inferred_n;
    println!(
        "inferred ED/ES frames within one frame: {:.0} % of {inferred_n}",
        inferred_rate * 100.0
    );
    assert!(
        inferred_n >= 40.0 && inferred_rate >= 0.6,
        "{inferred_rate} of {inferred_n}"
    );
}

/// A scanner that re-sends one frame in 40 (the same pixels and timestamp) loses no cycle: the
/// repeat is a duplicate, not time going backwards (which restarted cycle detection each time
/// and gave no cycle at all).
#[test]
fn resent_frames_keep_the_cycles() {
    let tmp = tempfile::tempdir().unwrap();
    // Phantom 6 beats at 59 bpm.
    let (clean_out, resent_out) = (tmp.path().join("clean"), tmp.path().join("resent"));
    let clean = live(6, 5.0, &[], &clean_out);
    let resent = live(6, 5.0, &["--resend-every", "40"], &resent_out);
    let (clean, resent) = (report(clean, &clean_out), report(resent, &resent_out));
    let cycles = |r: &Value| r["clinical"]["cycles"].as_array().unwrap().len();
    let (nc, nr) = (cycles(&clean), cycles(&resent));
    println!("cycles: clean {nc}, one frame in 40 re-sent {nr}");
    assert!(nc >= 4, "{}", clean["clinical"]);
    assert!(nr + 1 >= nc, "re-sent frames cost cycles: {nr} vs {nc}");
    let t = &resent["clinical"]["truth"];
    assert!(t["heart_rate_error"].as_f64().unwrap().abs() <= 3.0, "{t}");
    assert!(t["ef_error"].as_f64().unwrap().abs() <= 5.0, "{t}");
    let pushed = |r: &Value| r["counts"]["pushed"].as_u64().unwrap();
    assert!(
        pushed(&resent) > pushed(&clean),
        "the re-sent frames were pushed"
    );
}

#[test]
fn interleaved_views_give_biplane_ef() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("biplane");
    // Phantom 12 (EF 56 %), 2CH and 4CH interleaved: 25 fps per view; eight cycles.
    let child = live(12, 8.0, &["--biplane"], &out);
    let r = report(child, &out);
    let c = &r["clinical"];
    let views: std::collections::BTreeSet<&str> = c["cycles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["view"].as_str().unwrap())
        .collect();
    assert_eq!(views, ["2CH", "4CH"].into_iter().collect(), "{c}");
    let b = c["truth"]["biplane_ef_error"].as_f64();
    println!("biplane: {}", c["truth"]);
    assert!(
        b.is_some_and(|e| e.abs() <= 5.0),
        "biplane EF error {b:?}\n{c}"
    );
    assert!(c["biplane_ef_percent"]["n"].as_u64().unwrap() >= 4, "{c}");
}
