//! Bundle reading and writing, and every way a bundle is refused.

use super::seal::{seal_span, seal_text};
use super::write::write_manifest;
use super::*;
use crate::model::spec::ModelSpec;
use crate::prompt::{PromptKind, PromptScheme, Wording};
use crate::vocab::Tokenizer;

fn manifest() -> Manifest {
    let vocab = Vocab::builtin();
    let spec = ModelSpec::student(vocab.len(), Tokenizer::DEFAULT_MAX_LEN);
    Manifest {
        format: String::new(),
        format_version: 0,
        name: "test-student".into(),
        version: "0.0.1".into(),
        licence: "CC BY-NC-SA 4.0 (trained on CAMUS)".into(),
        created: "2026-11-28T00:00:00Z".into(),
        structures: spec.structures.clone(),
        spec,
        thresholds: vec![0.5; 3],
        prompt: PromptSettings {
            kind: PromptKind::P3,
            scheme: PromptScheme::Camus,
            wording: Wording::Heart,
        },
        vocab: VocabRecord::of(&vocab),
        quantization: serde_json::json!({"image": "f32"}),
        provenance: serde_json::json!({"data": "test"}),
        metrics: serde_json::json!({}),
        files: vec![],
    }
}

fn write(dir: &Path) {
    Bundle::write(
        dir,
        manifest(),
        &[
            ("text", "text.onnx", b"text-graph"),
            ("image", "image.onnx", b"image-graph-bytes"),
        ],
    )
    .unwrap();
}

#[test]
fn round_trip() {
    let d = tempfile::tempdir().unwrap();
    write(d.path());
    let b = Bundle::open(d.path()).unwrap();
    assert_eq!(b.file("image").unwrap(), b"image-graph-bytes");
    assert_eq!(b.manifest().files.len(), 2);
    assert_eq!(b.vocab(), &Vocab::builtin());
    assert!(matches!(b.file("image_int8"), Err(BundleError::NoRole(_))));
}

#[test]
fn metrics_are_replaced_and_the_files_still_verify() {
    let d = tempfile::tempdir().unwrap();
    write(d.path());
    let m = serde_json::json!({"camus224_val": {"f32": {"P3": {"mean_dice": 0.9}}}});
    Bundle::set_metrics(d.path(), m.clone()).unwrap();
    let b = Bundle::open(d.path()).unwrap();
    assert_eq!(b.manifest().metrics, m);
    assert_eq!(b.manifest().files.len(), 2);
    // A tampered bundle is refused, not relabelled.
    std::fs::write(d.path().join("text.onnx"), b"text-graph!").unwrap();
    assert!(Bundle::set_metrics(d.path(), serde_json::json!({})).is_err());
    // So is a tar file (it would have to be repacked).
    let tar = d.path().join("b.tar");
    std::fs::write(&tar, b"x").unwrap();
    assert!(Bundle::set_metrics(&tar, serde_json::json!({})).is_err());
}

#[test]
fn rescoring_is_a_new_version_with_the_same_files_and_a_new_digest() {
    let d = tempfile::tempdir().unwrap();
    write(d.path());
    let before = Bundle::open(d.path()).unwrap();
    let old = before.manifest().clone();
    let m = serde_json::json!({"camus224_val": {"f32": {"P3": {"mean_dice": 0.91}}}});
    // The same version is refused, and nothing is written.
    let e = Bundle::rescore(
        d.path(),
        &old.version,
        m.clone(),
        "masks cleaned",
        "2026-12-02T00:00:00Z",
    )
    .unwrap_err();
    assert!(e.to_string().contains("give a version"), "{e}");
    assert_eq!(Bundle::open(d.path()).unwrap().digest(), before.digest());
    let b = Bundle::rescore(
        d.path(),
        "9.9.1",
        m.clone(),
        "masks cleaned",
        "2026-12-02T00:00:00Z",
    )
    .unwrap();
    let n = b.manifest();
    assert_eq!(n.version, "9.9.1");
    assert_eq!(n.metrics, m);
    assert_eq!(n.files, old.files, "model files untouched");
    assert_eq!(n.created, old.created);
    assert_ne!(b.digest(), before.digest());
    let r = &n.provenance["rescored"];
    assert_eq!(r[0]["previous_version"], old.version.as_str());
    assert_eq!(r[0]["version"], "9.9.1");
    assert_eq!(r[0]["reason"], "masks cleaned", "2026-12-02T00:00:00Z");
    // A second re-score appends.
    let b = Bundle::rescore(d.path(), "9.9.2", m, "again", "2026-12-02T00:00:01Z").unwrap();
    assert_eq!(
        b.manifest().provenance["rescored"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // The seal holds: an edit by hand is still refused.
    let p = d.path().join(MANIFEST);
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("9.9.2", "9.9.3");
    std::fs::write(&p, text).unwrap();
    assert!(matches!(
        Bundle::open(d.path()),
        Err(BundleError::Seal { .. })
    ));
}

#[test]
fn tampered_truncated_and_missing_files_are_refused() {
    let d = tempfile::tempdir().unwrap();
    write(d.path());
    let p = d.path().join("image.onnx");
    std::fs::write(&p, b"image-graph-bytez").unwrap();
    let e = Bundle::open(d.path()).unwrap_err();
    assert!(matches!(e, BundleError::Digest { .. }), "{e}");
    assert!(e.to_string().contains("image.onnx"));
    std::fs::write(&p, b"image-graph").unwrap();
    let e = Bundle::open(d.path()).unwrap_err();
    assert!(
        matches!(
            e,
            BundleError::Size {
                expected: 17,
                found: 11,
                ..
            }
        ),
        "{e}"
    );
    std::fs::remove_file(&p).unwrap();
    let e = Bundle::open(d.path()).unwrap_err();
    assert!(matches!(e, BundleError::MissingFile { .. }), "{e}");
}

#[test]
fn oversized_files_are_refused_from_their_size_unread() {
    let d = tempfile::tempdir().unwrap();
    write(d.path());
    // Sparse files: huge by their size, nothing on disk. Reading one whole would take
    // 64 GiB of memory; the refusal comes from the size alone.
    let p = d.path().join("image.onnx");
    std::fs::File::create(&p)
        .unwrap()
        .set_len(64 << 30)
        .unwrap();
    let e = Bundle::open(d.path()).unwrap_err();
    assert!(
        matches!(
            e,
            BundleError::Size {
                expected: 17,
                found: 68_719_476_736,
                ..
            }
        ),
        "{e}"
    );
    let digest = sha256_hex(&std::fs::read(d.path().join(MANIFEST)).unwrap());
    let e = Bundle::open_pinned(d.path(), &digest).unwrap_err();
    assert!(matches!(e, BundleError::Size { .. }), "{e}");
    let m = d.path().join(MANIFEST);
    std::fs::File::create(&m).unwrap().set_len(8 << 30).unwrap();
    let e = Bundle::open(d.path()).unwrap_err();
    assert!(matches!(e, BundleError::Manifest { .. }), "{e}");
    assert!(
        e.to_string().contains("8589934592 bytes") && e.to_string().contains("refused unread"),
        "{e}"
    );
    // A manifest that lists a file larger than any bundle file may be is refused too.
    let d2 = tempfile::tempdir().unwrap();
    write(d2.path());
    let mut mf = Bundle::open(d2.path()).unwrap().manifest().clone();
    mf.files[1].bytes = MAX_FILE_BYTES + 1;
    write_manifest(&d2.path().join(MANIFEST), &mf).unwrap();
    let e = Bundle::open(d2.path()).unwrap_err();
    assert!(e.to_string().contains("more than the 1073741824"), "{e}");
    // And an empty path opens nothing (not the current folder's bundle).
    let e = Bundle::open(Path::new("")).unwrap_err();
    assert!(e.to_string().contains("empty"), "{e}");
}

#[test]
fn bad_manifests_are_refused_with_the_reason() {
    let d = tempfile::tempdir().unwrap();
    write(d.path());
    let mp = d.path().join(MANIFEST);
    let good = std::fs::read_to_string(&mp).unwrap();
    // Each edit is resealed, so that the checks behind the seal are reached.
    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v: serde_json::Value = serde_json::from_str(&good).unwrap();
        v.as_object_mut().unwrap().remove(SEAL_FIELD);
        f(&mut v);
        let text = seal_text(&serde_json::to_string_pretty(&v).unwrap()).unwrap();
        std::fs::write(&mp, text).unwrap();
        Bundle::open(d.path()).unwrap_err().to_string()
    };
    assert!(edit(&|v| v["format_version"] = 3.into()).contains("version 3"));
    assert!(edit(&|v| v["format"] = "onnx".into()).contains("\"onnx\""));
    let e = edit(&|v| {
        v.as_object_mut().unwrap().remove("licence");
    });
    assert!(e.contains("missing field `licence`"), "{e}");
    assert!(edit(&|v| v["licence"] = "".into()).contains("licence is empty"));
    assert!(edit(&|v| v["thresholds"] = serde_json::json!([0.5])).contains("threshold"));
    assert!(edit(&|v| v["vocab"]["tokens"][5] = "zzz".into()).contains("fingerprint"));
    assert!(edit(&|v| v["files"][0]["path"] = "../x.onnx".into()).contains("plain name"));
    assert!(edit(&|v| v["spec"]["decoder"] = serde_json::json!([8])).contains("decoder stages"));
    std::fs::write(&mp, "{not json").unwrap();
    assert!(
        Bundle::open(d.path())
            .unwrap_err()
            .to_string()
            .contains("manifest.json")
    );
}

#[test]
fn an_edited_manifest_is_refused_by_its_seal() {
    let d = tempfile::tempdir().unwrap();
    write(d.path());
    let mp = d.path().join(MANIFEST);
    let good = std::fs::read_to_string(&mp).unwrap();
    verify_seal(&good).unwrap();
    // A threshold changed by hand: still valid JSON and a consistent manifest.
    let edited = good.replacen("0.5", "0.25", 1);
    assert_ne!(edited, good);
    std::fs::write(&mp, &edited).unwrap();
    let e = Bundle::open(d.path()).unwrap_err();
    assert!(matches!(e, BundleError::Seal { .. }), "{e}");
    assert!(e.to_string().contains("edited or corrupted"), "{e}");
    // Whitespace counts too: the seal is over the bytes.
    std::fs::write(&mp, good.replacen("{", "{ ", 1)).unwrap();
    assert!(matches!(
        Bundle::open(d.path()).unwrap_err(),
        BundleError::Seal { .. }
    ));
    // A removed, doubled or malformed seal.
    let span = seal_span(&good).unwrap();
    let unsealed = good.replace(
        &format!(",\n  \"{SEAL_FIELD}\": \"{}\"", &good[span.clone()]),
        "",
    );
    std::fs::write(&mp, &unsealed).unwrap();
    let e = Bundle::open(d.path()).unwrap_err().to_string();
    assert!(e.contains("not sealed"), "{e}");
    let mut upper = good.clone();
    upper.replace_range(span.clone(), &good[span.clone()].to_uppercase());
    std::fs::write(&mp, &upper).unwrap();
    let e = Bundle::open(d.path()).unwrap_err().to_string();
    assert!(e.contains("64 lower-case hex"), "{e}");
    // Resealing a trusted bundle makes it open again; the files are checked first.
    std::fs::write(&mp, &edited).unwrap();
    let b = Bundle::reseal(d.path()).unwrap();
    assert_eq!(b.manifest().thresholds[0], 0.25);
    std::fs::write(d.path().join("image.onnx"), b"image-graph-bytez").unwrap();
    assert!(matches!(
        Bundle::reseal(d.path()).unwrap_err(),
        BundleError::Digest { .. }
    ));
}

#[test]
fn a_pinned_bundle_opens_only_with_its_digest() {
    let d = tempfile::tempdir().unwrap();
    write(d.path());
    let b = Bundle::open(d.path()).unwrap();
    let digest = b.digest().to_string();
    assert_eq!(
        digest,
        sha256_hex(&std::fs::read(d.path().join(MANIFEST)).unwrap())
    );
    Bundle::open_pinned(d.path(), &digest).unwrap();
    Bundle::open_pinned(d.path(), &digest.to_uppercase()).unwrap();
    // Another valid, sealed bundle (metrics rewritten by the library) is not the pinned one.
    Bundle::set_metrics(d.path(), serde_json::json!({"x": 1})).unwrap();
    let e = Bundle::open_pinned(d.path(), &digest).unwrap_err();
    assert!(matches!(e, BundleError::Pin { .. }), "{e}");
    assert!(e.to_string().contains(&digest), "{e}");
    // The pin is checked before the manifest is parsed.
    std::fs::write(d.path().join(MANIFEST), "{not json").unwrap();
    assert!(matches!(
        Bundle::open_pinned(d.path(), &digest).unwrap_err(),
        BundleError::Pin { .. }
    ));
}

#[cfg(unix)]
#[test]
fn symbolic_links_in_a_bundle_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("b");
    write(&dir);
    // The same bytes, but through a link to a file outside the bundle.
    let outside = d.path().join("outside.onnx");
    std::fs::rename(dir.join("image.onnx"), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("image.onnx")).unwrap();
    let e = Bundle::open(&dir).unwrap_err().to_string();
    assert!(e.contains("symbolic link"), "{e}");
    // The manifest too.
    std::fs::rename(&outside, dir.join("image.onnx")).unwrap();
    Bundle::open(&dir).unwrap();
    std::fs::rename(dir.join(MANIFEST), d.path().join("m.json")).unwrap();
    std::os::unix::fs::symlink(d.path().join("m.json"), dir.join(MANIFEST)).unwrap();
    let e = Bundle::open(&dir).unwrap_err().to_string();
    assert!(e.contains("symbolic link"), "{e}");
}

#[test]
fn tar_bundle_round_trips_and_is_verified() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("b");
    write(&dir);
    let tar = d.path().join("b.tar");
    Bundle::pack(&dir, &tar).unwrap();
    let again = d.path().join("again.tar");
    Bundle::pack(&dir, &again).unwrap();
    assert_eq!(std::fs::read(&tar).unwrap(), std::fs::read(&again).unwrap());
    let b = Bundle::open(&tar).unwrap();
    assert_eq!(b.file("image").unwrap(), b"image-graph-bytes");
    assert_eq!(b.manifest(), Bundle::open(&dir).unwrap().manifest());
    // A changed byte inside the archive is caught by the digest.
    let bytes = std::fs::read(&tar).unwrap();
    let at = bytes
        .windows(b"image-graph-bytes".len())
        .position(|w| w == b"image-graph-bytes")
        .unwrap();
    let mut bad = bytes.clone();
    bad[at + 3] ^= 1;
    std::fs::write(&tar, &bad).unwrap();
    let e = Bundle::open(&tar).unwrap_err().to_string();
    assert!(e.contains("image.onnx"), "{e}");
    // A truncated archive is refused.
    std::fs::write(&tar, &bytes[..bytes.len() / 3]).unwrap();
    assert!(Bundle::open(&tar).is_err());
    // A path with a folder is refused.
    let evil = d.path().join("evil.tar");
    let mut t = tar::Builder::new(std::fs::File::create(&evil).unwrap());
    let mut h = tar::Header::new_ustar();
    h.set_size(1);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    t.append_data(&mut h, "sub/image.onnx", &b"x"[..]).unwrap();
    t.finish().unwrap();
    drop(t);
    let e = Bundle::open(&evil).unwrap_err().to_string();
    assert!(e.contains("plain file name"), "{e}");
    // The same archive from memory.
    let b = Bundle::open_tar_bytes(Path::new("mem.tar"), &bytes).unwrap();
    assert_eq!(b.file("image").unwrap(), b"image-graph-bytes");
    let e = Bundle::open_tar_bytes(Path::new("mem.tar"), &bad).unwrap_err();
    assert!(e.to_string().contains("mem.tar/image.onnx"), "{e}");
}
