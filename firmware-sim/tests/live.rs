//! `synboost-sim live` end to end: the binary loads the debug libsynboost.so with dlopen, streams
//! phantom frames through a tiny random-weight bundle for a few seconds, and writes a balanced
//! report and a decodable GIF; a missing bundle fails with a clear message; Ctrl-C ends a run
//! early with a report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use image::AnimationDecoder;
use image::codecs::gif::GifDecoder;
mod common;

use common::library;
use std::path::{Path, PathBuf};
use std::process::Command;
use synboost_core::model::spec::ModelSpec;
use synboost_core::{Tokenizer, Vocab};
use synboost_export::student::{BundleInfo, write_random_student};

fn sim() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_synboost-sim"));
    // The caller's environment must not pick the library or bundle.
    c.env_remove("SYNBOOST_LIB").env_remove("SYNBOOST_BUNDLE");
    c
}

/// `synboost-sim live ARGS --lib (this build's library) --bundle BUNDLE --out OUT`.
fn live<I, S>(args: I, bundle: &Path, out: &Path) -> std::process::Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    sim()
        .arg("live")
        .args(args)
        .arg("--lib")
        .arg(library())
        .arg("--bundle")
        .arg(bundle)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn tiny_bundle(dir: &Path) {
    let spec = ModelSpec::tiny(Vocab::builtin().len(), Tokenizer::DEFAULT_MAX_LEN);
    let info = BundleInfo::new("live-test-tiny", "test weights (random)", 3);
    write_random_student(dir, info, &spec, 3, &[]).unwrap();
}

#[test]
fn live_streams_phantom_frames_through_the_library() {
    let tmp = tempfile::tempdir().unwrap();
    let bundle = tmp.path().join("bundle");
    tiny_bundle(&bundle);
    let out = tmp.path().join("out");
    let run = live(
        [
            "--seconds",
            "3",
            "--fps",
            "10",
            "--size",
            "96",
            "--cycles",
            "1",
            "--gif-fps",
            "5",
            "--no-progress",
        ],
        &bundle,
        &out,
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        stdout.contains("latency ms") && stdout.contains("report:"),
        "{stdout}"
    );

    let text = std::fs::read_to_string(out.join("report.json")).unwrap();
    let r: serde_json::Value = serde_json::from_str(&text).unwrap();
    let c = &r["counts"];
    let n = |k: &str| c[k].as_u64().unwrap();
    assert_eq!(n("pushed"), 30, "{text}");
    assert!(n("processed") > 0, "{text}");
    assert_eq!(
        n("processed") + n("dropped") + n("failed") + n("discarded"),
        n("pushed"),
        "{text}"
    );
    assert_eq!(c["balanced"], true);
    assert_eq!(r["model"]["name"], "live-test-tiny");
    assert!(
        r["library"]["version"]
            .as_str()
            .is_some_and(|v| !v.is_empty())
    );
    assert!(r["latency_ms"]["p99"].as_f64().unwrap() > 0.0);
    for s in ["lv_cavity", "myocardium", "la_cavity"] {
        let d = &r["dice"][s];
        assert!(d["n"].as_u64().unwrap() > 0, "{s}: {text}");
    }
    assert!(r["memory"]["rss_start_kib"].as_u64().unwrap() > 0);
    // 10 fps, 3 s, 3 structures: the frames rendered and 30 pushed.
    assert_eq!(r["settings"]["frames_planned"], 30);

    let gif = out.join("live.gif");
    let dec = GifDecoder::new(std::io::BufReader::new(std::fs::File::open(&gif).unwrap())).unwrap();
    let frames = dec.into_frames().collect_frames().unwrap();
    assert!(frames.len() >= 5, "{} frames", frames.len());
    assert_eq!(frames[0].buffer().dimensions(), (96, 96));
}

#[test]
fn live_without_a_bundle_fails_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-bundle");
    let run = live(
        ["--seconds", "1", "--no-progress"],
        &missing,
        &tmp.path().join("out"),
    );
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("no-such-bundle") && err.contains("no such file or folder"),
        "{err}"
    );
    // Nothing was written.
    assert!(!tmp.path().join("out").exists());
}

#[test]
fn live_without_a_library_fails_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let run = sim()
        .args(["live", "--seconds", "1", "--no-progress", "--lib"])
        .arg(tmp.path().join("libnothing.so"))
        .output()
        .unwrap();
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("libnothing.so") && err.contains("--lib"),
        "{err}"
    );
}

/// The real DICOM folder (`SYNBOOST_DICOM_DIR`); skipped without it unless
/// `SYNBOOST_REQUIRE_DATA=1` (CI).
fn dicom_dir() -> Option<PathBuf> {
    let require = std::env::var("SYNBOOST_REQUIRE_DATA").is_ok_and(|v| v == "1");
    match std::env::var_os("SYNBOOST_DICOM_DIR").map(PathBuf::from) {
        Some(d) if d.is_dir() => Some(d),
        other => {
            assert!(
                !require,
                "SYNBOOST_REQUIRE_DATA=1 but SYNBOOST_DICOM_DIR is {other:?}"
            );
            eprintln!("skipped: set SYNBOOST_DICOM_DIR to the real DICOM folder");
            None
        }
    }
}

#[test]
fn live_streams_a_real_dicom_cine_with_areas_and_no_dice() {
    let Some(dir) = dicom_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let bundle = tmp.path().join("bundle");
    tiny_bundle(&bundle);
    let out = tmp.path().join("out");
    let cine = dir.join("US-PAL-8-10x-echo.dcm");
    let args: [&std::ffi::OsStr; 7] = [
        "--seconds".as_ref(),
        "2".as_ref(),
        "--fps".as_ref(),
        "10".as_ref(),
        "--no-progress".as_ref(),
        "--dicom".as_ref(),
        cine.as_os_str(),
    ];
    let run = live(args, &bundle, &out);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = std::fs::read_to_string(out.join("report.json")).unwrap();
    let r: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(r["source"]["kind"], "dicom", "{text}");
    assert_eq!(r["source"]["frames"], 10, "{text}");
    assert_eq!(r["counts"]["pushed"], 20, "{text}");
    assert_eq!(r["counts"]["balanced"], true, "{text}");
    // No truth in a real cine: areas, never dice.
    assert!(r["dice"].is_null() && r["dice_mean"].is_null(), "{text}");
    let areas = r["areas"].as_object().unwrap();
    assert_eq!(areas.len(), 3, "{text}");
    for a in areas.values() {
        assert!(a["px"]["n"].as_u64().unwrap() > 0, "{text}");
    }
    assert!(out.join("live.gif").is_file());
}

/// A full-size random student takes milliseconds a frame, far more than the 1 ms period of
/// 1000 fps: the stream is in overload, frames are dropped by the policy and each one is
/// accounted for.
#[test]
fn live_overload_drops_by_policy_and_accounts_for_every_frame() {
    let tmp = tempfile::tempdir().unwrap();
    let bundle = tmp.path().join("bundle");
    let spec = ModelSpec::student(Vocab::builtin().len(), Tokenizer::DEFAULT_MAX_LEN);
    let info = BundleInfo::new("live-test-student", "test weights (random)", 3);
    write_random_student(&bundle, info, &spec, 5, &[]).unwrap();
    for (policy, dropped_key) in [("drop-oldest", "dropped"), ("reject", "rejected")] {
        let out = tmp.path().join(policy);
        let run = live(
            [
                "--seconds",
                "1",
                "--fps",
                "1000",
                "--size",
                "96",
                "--cycles",
                "0.1",
                "--workers",
                "1",
                "--queue",
                "2",
                "--policy",
                policy,
                "--no-progress",
            ],
            &bundle,
            &out,
        );
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let text = std::fs::read_to_string(out.join("report.json")).unwrap();
        let r: serde_json::Value = serde_json::from_str(&text).unwrap();
        let c = &r["counts"];
        let n = |k: &str| c[k].as_u64().unwrap();
        assert!(n(dropped_key) > 0, "{policy}: {text}");
        assert!(n("processed") > 0, "{policy}: {text}");
        assert_eq!(c["balanced"], true, "{policy}: {text}");
        assert_eq!(r["targets"]["accounted"], true, "{policy}: {text}");
        assert_eq!(
            n("processed") + n("dropped") + n("failed") + n("discarded"),
            n("pushed"),
            "{policy}: {text}"
        );
        // Rejected frames get no sequence number: pushed + rejected is what was offered.
        assert_eq!(n("pushed") + n("rejected"), 1000, "{policy}: {text}");
        assert_eq!(r["targets"]["met"], false, "{policy}: {text}");
    }
}

/// Ctrl-C (SIGINT) mid-stream: the run stops pushing, drains, writes a report marked
/// interrupted with every pushed frame accounted for, and exits with success; the targets count
/// as not met.
#[test]
fn live_stops_cleanly_on_ctrl_c_and_still_reports() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let tmp = tempfile::tempdir().unwrap();
    let bundle = tmp.path().join("bundle");
    tiny_bundle(&bundle);
    let out = tmp.path().join("out");
    let mut child = sim()
        .args([
            "live",
            "--seconds",
            "60",
            "--fps",
            "20",
            "--size",
            "96",
            "--cycles",
            "1",
            "--no-progress",
        ])
        .arg("--lib")
        .arg(library())
        .arg("--bundle")
        .arg(&bundle)
        .arg("--out")
        .arg(&out)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the log line that says the stream starts (the handler is installed by then).
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = err.read_line(&mut line).unwrap();
        assert!(n > 0, "the simulator ended before streaming:\n{seen}");
        seen.push_str(&line);
        if line.contains("streaming at") {
            break;
        }
    }
    let drain = std::thread::spawn(move || {
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
        rest
    });
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let started = std::time::Instant::now();
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let run = child.wait_with_output().unwrap();
    let waited = started.elapsed();
    let rest = drain.join().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}\n{seen}{rest}");
    // Far sooner than the 58 s left of the stream.
    assert!(waited.as_secs() < 30, "took {waited:?} to stop");
    assert!(stdout.contains("INTERRUPTED"), "{stdout}");
    let text = std::fs::read_to_string(out.join("report.json")).unwrap();
    let r: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(r["interrupted"], true, "{text}");
    let c = &r["counts"];
    let n = |k: &str| c[k].as_u64().unwrap();
    assert!(n("pushed") > 0 && n("pushed") < 1200, "{text}");
    assert_eq!(r["settings"]["frames_planned"], 1200, "{text}");
    assert_eq!(c["balanced"], true, "{text}");
    assert_eq!(
        n("processed") + n("dropped") + n("failed") + n("discarded"),
        n("pushed"),
        "{text}"
    );
    // Drained, not discarded.
    assert_eq!(n("discarded"), 0, "{text}");
    assert_eq!(r["targets"]["met"], false, "{text}");
    assert!(out.join("live.gif").is_file());
}
