//! Fuzz harnesses: one function per fuzz target of `fuzz/` (cargo fuzz, libFuzzer), kept here so
//! that the seed corpora and every crasher ever found are replayed on stable Rust by
//! `tests/tests/fuzz_regressions.rs` in CI.
//!
//! Each harness takes arbitrary bytes, feeds them to one way in which outside data enters the
//! library, and checks what must hold whatever the bytes: an error or a result, never a panic,
//! an abort or an allocation out of proportion to the input (the fuzz runs cap every allocation
//! at 64 MiB, so limits that are parameters are set low here). A result that comes back is
//! checked for consistency, so a harness can fail on a wrong answer, not only on a crash.
// Fuzz oracles: a broken invariant must crash the fuzzer, so these harnesses assert and
// panic on purpose (they are test code that libFuzzer and the regression tests run).
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use synboost::engine::{
    SB_VARIANT_F32, sb_engine, sb_engine_close, sb_engine_open, sb_engine_options,
    sb_engine_options_defaults,
};
use synboost::measure::{
    sb_cycle, sb_measurements, sb_result_get_cycle, sb_result_get_measurements,
};
use synboost::result::{
    sb_result, sb_result_copy_mask, sb_result_free, sb_result_get_info, sb_result_get_structure,
    sb_result_info, sb_structure_result,
};
use synboost::status::{SB_NONE, SB_OK, sb_last_error};
use synboost::stream::{
    SB_POLICY_DROP_OLDEST, sb_stream, sb_stream_config, sb_stream_config_defaults, sb_stream_poll,
    sb_stream_push, sb_stream_start,
};
use synboost::types::{sb_frame, sb_meta, sb_meta_defaults};
use synboost_core::meta::{ImageQuality, InfoCfg, Phase, ScanMeta, Sex, View};
use synboost_core::model::bundle::{Bundle, seal_manifest};
use synboost_core::model::spec::ModelSpec;
use synboost_core::prompt::{PromptAttrs, PromptKind, PromptScheme, Shape, Wording};
use synboost_core::structure::Structure;
use synboost_core::{Tokenizer, Vocab};
use synboost_data::{metaimage, nifti};
use synboost_dicom::ReadOptions;
use synboost_export::student::{BundleInfo, write_random_student};

/// The model bundle the C ABI harness streams through (the repository's default model).
pub fn default_bundle() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("models")
        .join("default")
}

/// Reads typed values off the front of the fuzz input; past its end every value is zero.
struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        out
    }

    fn u8(&mut self) -> u8 {
        self.bytes::<1>()[0]
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.bytes())
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.bytes())
    }

    fn i64(&mut self) -> i64 {
        i64::from_le_bytes(self.bytes())
    }

    /// A value that is usually small and valid, sometimes any `u32`.
    fn small_or_any(&mut self, valid: u32) -> u32 {
        match self.u8() {
            b if b < 224 => u32::from(b) % (valid + 1),
            240.. => u32::MAX - u32::from(self.u8()),
            _ => self.u32(),
        }
    }

    /// A float for a metadata field: unknown, ordinary, or one of the edge cases.
    fn float(&mut self, typical: f64) -> f64 {
        match self.u8() % 12 {
            0 | 1 => 0.0,
            2 => -1.0,
            3 => f64::NAN,
            4 => f64::INFINITY,
            5 => f64::NEG_INFINITY,
            6 => f64::MAX,
            7 => f64::MIN_POSITIVE,
            8 => f64::from_bits(u64::from_le_bytes(self.bytes())),
            k => typical * f64::from(k) / 10.0,
        }
    }

    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }
}

/// DICOM reading (`core::synboost_dicom::read_cine_bytes`), as `synboost-sim live --dicom` and a
/// vendor's DICOM import use it. A file that reads must have frames of the size it reports.
pub fn dicom(data: &[u8]) -> bool {
    let opts = ReadOptions {
        // Far below the defaults: decoded frames and inflated data sets stay within the fuzz
        // allocation cap.
        max_total_pixels: 4 << 20,
        max_inflated_bytes: 16 << 20,
        ..ReadOptions::default()
    };
    if let Ok(cine) = synboost_dicom::read_cine_bytes(data, Path::new("fuzz.dcm"), &opts) {
        assert!(
            !cine.frames.is_empty(),
            "a cine without frames was returned"
        );
        let size = |f: &synboost_core::GrayImage| (f.width(), f.height());
        let first = size(&cine.frames[0]);
        for f in &cine.frames {
            assert_eq!(size(f), first, "frames of different sizes");
        }
        if let Some(ms) = cine.frame_time_ms {
            assert!(ms.is_finite() && ms > 0.0, "frame time {ms}");
        }
        return true;
    }
    false
}

/// A tiny random-weight student bundle (real ONNX graphs, a few hundred KiB), written once
/// per process: the bundle harness pairs fuzzed manifests with its files, and the C ABI
/// harness streams through it (the model does not matter to ingestion, and a small one keeps
/// the fuzzer fast).
pub fn tiny_bundle() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("synboost-fuzz-tiny-{}", std::process::id()));
        let spec = ModelSpec::tiny(Vocab::builtin().len(), Tokenizer::DEFAULT_MAX_LEN);
        let info = BundleInfo::new("fuzz-tiny", "test weights (random), no data", 3);
        write_random_student(&dir, info, &spec, 11, &[]).ok()?;
        Some(dir)
    })
    .as_deref()
}

/// The tiny bundle's files (not the manifest), by name.
fn seed_bundle_files() -> &'static Vec<(String, Vec<u8>)> {
    static FILES: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    FILES.get_or_init(|| {
        let mut out = Vec::new();
        if let Some(b) = tiny_bundle().and_then(|d| Bundle::open(d).ok()) {
            for f in &b.manifest().files {
                if let Ok(bytes) = b.file(&f.role) {
                    out.push((f.path.clone(), bytes.to_vec()));
                }
            }
        }
        out
    })
}

/// A tar archive in memory holding `entries`.
fn tar_of(entries: &[(&str, &[u8])]) -> Option<Vec<u8>> {
    let mut t = tar::Builder::new(Vec::new());
    for (name, bytes) in entries {
        let mut h = tar::Header::new_ustar();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        t.append_data(&mut h, name, *bytes).ok()?;
    }
    t.into_inner().ok()
}

/// Model bundles: the first byte picks the way in.
/// - even: the rest is a whole `.tar` bundle (`Bundle::open_tar_bytes`, then the engine loads
///   it when it verifies);
/// - odd: the rest is a `manifest.json`, sealed as the library's writer would, packed with the
///   files of [`tiny_bundle`], so that the checks behind the seal (schema, spec, vocabulary,
///   thresholds, file list and digests) are reached.
pub fn bundle(data: &[u8]) -> bool {
    let Some((&mode, rest)) = data.split_first() else {
        return false;
    };
    let name = Path::new("fuzz.tar");
    if mode % 2 == 0 {
        if let Ok(b) = Bundle::open_tar_bytes(name, rest) {
            assert_eq!(b.digest().len(), 64);
            for f in &b.manifest().files {
                let bytes = b
                    .file(&f.role)
                    .expect("a verified bundle has its listed files");
                assert_eq!(bytes.len() as u64, f.bytes);
            }
            let opts = synboost_core::engine::EngineOptions {
                variant: synboost_core::engine::VariantChoice::F32,
                ..Default::default()
            };
            let _ = synboost_core::engine::Engine::from_bundle(&b, opts);
            return true;
        }
        return false;
    }
    let Ok(text) = std::str::from_utf8(rest) else {
        return false;
    };
    let Ok(sealed) = seal_manifest(text) else {
        return false;
    };
    let files = seed_bundle_files();
    let mut entries: Vec<(&str, &[u8])> = vec![("manifest.json", sealed.as_bytes())];
    entries.extend(files.iter().map(|(n, b)| (n.as_str(), b.as_slice())));
    if let Some(tar) = tar_of(&entries)
        && let Ok(b) = Bundle::open_tar_bytes(name, &tar)
    {
        assert_eq!(b.manifest().thresholds.len(), b.manifest().structures.len());
        return true;
    }
    false
}

/// A stream on the default model shared by every run of the C ABI harness.
struct Shared {
    stream: *mut sb_stream,
}

// SAFETY: sb_stream is documented as usable from any thread; the handle is never closed.
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

fn shared_stream() -> Option<&'static Shared> {
    static STREAM: OnceLock<Option<Shared>> = OnceLock::new();
    STREAM
        .get_or_init(|| {
            let path = CString::new(tiny_bundle()?.to_str()?).ok()?;
            let mut opts: sb_engine_options = unsafe { std::mem::zeroed() };
            // SAFETY: valid pointers to locals.
            unsafe {
                sb_engine_options_defaults(&mut opts);
            }
            opts.variant = SB_VARIANT_F32;
            let mut engine: *mut sb_engine = std::ptr::null_mut();
            // SAFETY: valid pointers to locals.
            if unsafe { sb_engine_open(path.as_ptr(), &opts, &mut engine) } != SB_OK {
                return None;
            }
            let mut cfg: sb_stream_config = unsafe { std::mem::zeroed() };
            // SAFETY: valid pointer to a local.
            unsafe { sb_stream_config_defaults(&mut cfg) };
            cfg.policy = SB_POLICY_DROP_OLDEST;
            cfg.queue_capacity = 2;
            cfg.result_capacity = 16;
            cfg.max_frame_bytes = 8 << 20;
            let mut stream: *mut sb_stream = std::ptr::null_mut();
            // SAFETY: live engine, valid config and out pointer.
            let st = unsafe { sb_stream_start(engine, &cfg, &mut stream) };
            // SAFETY: the stream keeps its own copy of the model.
            unsafe { sb_engine_close(&mut engine) };
            (st == SB_OK).then_some(Shared { stream })
        })
        .as_ref()
}

/// Read every field of every pending result through the C ABI, then free it.
fn drain(stream: *mut sb_stream) {
    loop {
        let mut r: *mut sb_result = std::ptr::null_mut();
        // SAFETY: live stream, valid out pointer.
        if unsafe { sb_stream_poll(stream, 0, &mut r) } != SB_OK {
            return;
        }
        let mut info: sb_result_info = unsafe { std::mem::zeroed() };
        info.struct_size = std::mem::size_of::<sb_result_info>() as u32;
        // SAFETY: live result, sized out struct.
        assert_eq!(unsafe { sb_result_get_info(r, &mut info) }, SB_OK);
        let mut mask = vec![0u8; info.width as usize * info.height as usize];
        for i in 0..info.structure_count {
            let mut s: sb_structure_result = unsafe { std::mem::zeroed() };
            s.struct_size = std::mem::size_of::<sb_structure_result>() as u32;
            // SAFETY: as above.
            assert_eq!(unsafe { sb_result_get_structure(r, i, &mut s) }, SB_OK);
            let w = info.width as usize;
            // SAFETY: `mask` has width × height bytes.
            let st = unsafe { sb_result_copy_mask(r, i, mask.as_mut_ptr(), mask.len(), w, 1) };
            assert_eq!(st, SB_OK);
            let area = mask.iter().filter(|&&m| m != 0).count() as u64;
            assert_eq!(
                area, s.area_px,
                "copied mask area differs from the reported area"
            );
        }
        let mut m: sb_measurements = unsafe { std::mem::zeroed() };
        m.struct_size = std::mem::size_of::<sb_measurements>() as u32;
        // SAFETY: as above.
        let st = unsafe { sb_result_get_measurements(r, &mut m) };
        assert!(st == SB_OK || st == SB_NONE, "measurements: {st}");
        let mut c: sb_cycle = unsafe { std::mem::zeroed() };
        c.struct_size = std::mem::size_of::<sb_cycle>() as u32;
        // SAFETY: as above.
        let st = unsafe { sb_result_get_cycle(r, &mut c) };
        assert!(st == SB_OK || st == SB_NONE, "cycle: {st}");
        // SAFETY: a result from sb_stream_poll, freed once.
        unsafe { sb_result_free(&mut r) };
    }
}

/// Frames and metadata through the C ABI (`sb_stream_push` on a running stream of
/// [`tiny_bundle`]'s model): every field of `sb_frame` and `sb_meta` comes from the input, including
/// pixel formats, sizes, strides, struct sizes and enum values that are wrong. The pixels are
/// the rest of the input and `data_size` never claims more bytes than there are (a caller that
/// lies about its buffer is outside any C library's reach). A refused push must leave a
/// message; an accepted frame is segmented or dropped by the stream's worker, and its result
/// read back in full.
pub fn abi_frame(data: &[u8]) -> bool {
    let Some(shared) = shared_stream() else {
        panic!("the tiny model was not written or did not open");
    };
    let mut i = Input::new(data);
    let format = i.small_or_any(4);
    let bpp = [1usize, 2, 3, 4].get(format as usize).copied().unwrap_or(1);
    let wide = i.u8();
    let width = if wide >= 250 {
        i.u32()
    } else {
        u32::from(i.u16() % 600)
    };
    let height = if wide >= 250 {
        i.u32()
    } else {
        u32::from(i.u16() % 600)
    };
    let row = (width as usize).saturating_mul(bpp);
    let stride = match i.u8() {
        255 => usize::MAX,
        254 => i.u32() as usize,
        d => row.saturating_add(usize::from(d % 16)).saturating_sub(4),
    };
    let timestamp_ns = i.i64();
    let frame_size = match i.u8() % 8 {
        0 => 0,
        1 => u32::from(i.u8()),
        2 => std::mem::size_of::<sb_frame>() as u32 - 1,
        _ => std::mem::size_of::<sb_frame>() as u32,
    };
    let mut meta: sb_meta = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a local.
    unsafe { sb_meta_defaults(&mut meta) };
    let with_meta = !i.u8().is_multiple_of(4);
    if i.u8().is_multiple_of(8) {
        meta.struct_size = u32::from(i.u8());
    }
    meta.view = i.small_or_any(2);
    meta.phase = i.small_or_any(2);
    meta.sex = i.small_or_any(2);
    meta.quality = i.small_or_any(3);
    meta.age_years = i32::from(i.u8() as i8) * 2;
    meta.pixel_spacing_x_mm = i.float(0.4);
    meta.pixel_spacing_y_mm = if i.u8().is_multiple_of(4) {
        i.float(0.4)
    } else {
        meta.pixel_spacing_x_mm
    };
    meta.fps = i.float(60.0);
    meta.heart_rate_bpm = i.float(80.0);
    meta.cycle_position = i.float(1.0) - 0.1;
    let short = i.u8().is_multiple_of(8);
    let pixels = i.rest();
    let data_size = if short {
        pixels.len() / 2
    } else {
        pixels.len()
    };
    let frame = sb_frame {
        struct_size: frame_size,
        format,
        width,
        height,
        stride,
        data: if pixels.is_empty() {
            std::ptr::null()
        } else {
            pixels.as_ptr().cast()
        },
        data_size,
        timestamp_ns,
    };
    let mut seq = u64::MAX;
    let meta_ptr: *const sb_meta = if with_meta { &meta } else { std::ptr::null() };
    // SAFETY: live stream; `frame.data` has `data_size` readable bytes; `meta_ptr` is NULL or a
    // local; `seq` is a local.
    let st = unsafe { sb_stream_push(shared.stream, &frame, meta_ptr, &mut seq) };
    let accepted = st == SB_OK;
    if accepted {
        assert_ne!(
            seq,
            u64::MAX,
            "an accepted push returned no sequence number"
        );
    } else {
        // SAFETY: the library's thread-local message, NUL-terminated.
        let msg = unsafe { std::ffi::CStr::from_ptr(sb_last_error()) };
        assert!(
            msg.to_bytes().starts_with(b"sb_stream_push:"),
            "a refused push ({st}) without its message: {msg:?}"
        );
        assert!(st < 0, "a refused push returned {st}");
    }
    drain(shared.stream);
    accepted
}

/// A metadata value picked from the input: unknown or one of `values`.
fn pick<T: Copy>(i: &mut Input<'_>, values: &[T]) -> Option<T> {
    let b = usize::from(i.u8());
    (b % (values.len() + 1) != 0).then(|| values[b % (values.len() + 1) - 1])
}

/// Prompt building from arbitrary metadata, the way scanner metadata reaches the model:
/// DICOM strings (age `nnnY/M/W/D`, view descriptions) parsed into metadata, CAMUS `Info_*.cfg`
/// text, then every prompt kind, wording and scheme built and tokenised with the default
/// vocabulary. A built prompt must fit the text model (`max_len` tokens), start with the
/// structure's words, and never be built from a field the metadata lacks.
pub fn prompt(data: &[u8]) -> bool {
    let mut i = Input::new(data);
    let structure = Structure::ALL[usize::from(i.u8()) % 3];
    let mut meta = ScanMeta {
        view: pick(&mut i, &[View::TwoChamber, View::FourChamber]),
        phase: pick(&mut i, &[Phase::EndDiastole, Phase::EndSystole]),
        sex: pick(&mut i, &[Sex::Female, Sex::Male]),
        quality: pick(
            &mut i,
            &[ImageQuality::Good, ImageQuality::Medium, ImageQuality::Poor],
        ),
        age_years: i.u8().is_multiple_of(2).then(|| i.u8()),
        ..ScanMeta::default()
    };
    let shape = pick(&mut i, &Shape::ALL);
    let max = PromptKind::ALL[usize::from(i.u8()) % PromptKind::ALL.len()];
    let text = String::from_utf8_lossy(i.rest()).into_owned();
    // Metadata text from a DICOM header or a CAMUS Info file overrides the picks.
    let mut parts = text.splitn(3, '\u{1}');
    if let Some(age) = parts.next()
        && let Some(a) = synboost_dicom::parse_age(age)
    {
        assert!(
            a <= 130 || age.trim_end().ends_with(['M', 'W', 'D']),
            "{age:?} → {a}"
        );
        meta.age_years = Some(a);
    }
    if let Some(view) = parts.next()
        && let Some(v) = synboost_dicom::view_from_text(view)
    {
        meta.view = Some(v);
    }
    if let Some(cfg) = parts.next()
        && let Ok(c) = InfoCfg::parse(cfg, Path::new("Info_4CH.cfg"))
    {
        meta.sex = c.sex.or(meta.sex);
        meta.age_years = c.age_years.or(meta.age_years);
        meta.quality = c.quality.or(meta.quality);
    }
    let tokenizer = Tokenizer::new(Vocab::builtin(), Tokenizer::DEFAULT_MAX_LEN);
    let mut attrs = PromptAttrs::from_meta(structure, &meta);
    attrs.shape = shape;
    for scheme in [PromptScheme::Camus, PromptScheme::Synthetic] {
        for wording in Wording::ALL {
            // What the engine sends: the richest prompt that fits the text model.
            let (kind, p) = attrs.build_fitting(max, wording, scheme, |t| tokenizer.fits(t));
            assert!(kind.index() <= max.index(), "{kind} is richer than {max}");
            if let Some(fields) = kind.fields(scheme) {
                assert!(
                    attrs.missing(fields).is_none(),
                    "{kind} built without its fields"
                );
            }
            if kind != PromptKind::P0 {
                let lead = structure.prompt_name();
                assert!(p.starts_with(lead), "{p:?} does not start with {lead:?}");
            }
            let (ids, n) = tokenizer.encode(&p).expect("a built prompt tokenises");
            assert!(tokenizer.fits(&p));
            assert!(n <= tokenizer.max_len() && ids.len() == tokenizer.max_len());
            // Any kind built explicitly tokenises, or is refused only for its length (every
            // word of every prompt is in the vocabulary).
            for k in PromptKind::ALL {
                if let Ok(q) = attrs.build(k, wording, scheme)
                    && let Err(e) = tokenizer.encode(&q)
                {
                    assert!(!tokenizer.fits(&q), "{k} {q:?}: fits but does not encode");
                    assert!(
                        tokenizer.ids(&q).len() > tokenizer.max_len(),
                        "{k} prompt {q:?} does not tokenise: {e}"
                    );
                }
            }
        }
    }
    // Arbitrary text through the tokenizer: padded or truncated, never out of the vocabulary.
    if let Ok((ids, _)) = tokenizer.encode(&text) {
        let v = tokenizer.vocab().len() as i64;
        assert!(ids.iter().all(|&t| (0..v).contains(&t)));
    }
    true
}

/// Raw CAMUS readers: NIfTI-1 (`.nii` / `.nii.gz`), MetaImage with local data (`.mha`) and
/// with a separate data file (`.mhd` + `.raw`, the input split at the first `\0\0\0\0`).
/// A volume that reads must have as many voxels as its dimensions say, and its frames must
/// convert to images.
pub fn camus_raw(data: &[u8]) -> bool {
    let Some((&mode, rest)) = data.split_first() else {
        return false;
    };
    // Limits far below the defaults: allocations stay within the fuzz cap.
    const LIMIT: usize = 4 << 20;
    let volume = match mode % 3 {
        0 => nifti::decode_limited(Path::new("fuzz.nii.gz"), rest, LIMIT),
        1 => metaimage::parse_limited(
            Path::new("fuzz.mha"),
            rest,
            // A header whose ElementDataFile is not LOCAL asks for a file: there is none.
            &mut |name| {
                Err(synboost_data::DataError::Io {
                    path: PathBuf::from(name),
                    source: std::io::Error::from(std::io::ErrorKind::NotFound),
                })
            },
            LIMIT,
        ),
        _ => {
            let cut = rest
                .windows(4)
                .position(|w| w == [0, 0, 0, 0])
                .unwrap_or(rest.len());
            let (header, raw) = (&rest[..cut], rest.get(cut + 4..).unwrap_or_default());
            metaimage::parse_limited(
                Path::new("fuzz.mhd"),
                header,
                &mut |name| {
                    assert!(
                        !name.contains(['/', '\\']),
                        "data file {name:?} leaves the folder"
                    );
                    Ok(raw.to_vec())
                },
                LIMIT,
            )
        }
    };
    if let Ok(v) = volume {
        assert_eq!(v.values.len(), v.dims.iter().product::<usize>());
        for z in 0..v.frames().min(4) {
            let img = v.frame_image(z).expect("a frame of a decoded volume");
            assert_eq!((img.width(), img.height()), (v.dims[0], v.dims[1]));
            let _ = v.frame_labels(z, 3);
        }
        return true;
    }
    false
}

/// The fuzz targets, by name.
pub const TARGETS: [&str; 5] = ["dicom", "bundle", "abi_frame", "prompt", "camus_raw"];

/// Run the harness of target `name` on `data`: `Some(true)` when the input was taken (read,
/// verified, accepted), `Some(false)` when it was refused, `None` for an unknown target.
pub fn run(name: &str, data: &[u8]) -> Option<bool> {
    Some(match name {
        "dicom" => dicom(data),
        "bundle" => bundle(data),
        "abi_frame" => abi_frame(data),
        "prompt" => prompt(data),
        "camus_raw" => camus_raw(data),
        _ => return None,
    })
}

/// An `abi_frame` input: a `w`×`h` gray8 frame of a ramp with full, known metadata.
fn abi_seed(w: u16, h: u16, view: u8, phase: u8) -> Vec<u8> {
    let mut v = vec![0u8, 0]; // format gray8; ordinary size
    v.extend_from_slice(&w.to_le_bytes());
    v.extend_from_slice(&h.to_le_bytes());
    v.push(4); // stride = width
    v.extend_from_slice(&40_000_000i64.to_le_bytes());
    v.push(3); // struct_size = sizeof
    v.push(1); // with meta
    v.push(1); // meta struct_size kept
    v.extend_from_slice(&[view, phase, 1, 1, 61]); // view, phase, sex, quality, age/2
    v.extend_from_slice(&[10, 1, 11, 11, 9]); // spacing 0.4 (both), fps 66, 88 bpm, cycle 0.8
    v.push(1); // data_size honest
    v.extend((0..usize::from(w) * usize::from(h)).map(|i| (i % 251) as u8));
    v
}

/// Seed inputs of target `name` built from the repository and, for `dicom`, the real files in
/// `dicom_dir`: `(file name, bytes)`. Every seed is a valid input except those whose name
/// starts with `refused-`. Phantom DICOM cines are added by the `fuzz_seeds`
/// example (they need the simulator's writer).
pub fn seeds(name: &str, dicom_dir: Option<&Path>) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    match name {
        "dicom" => {
            if let Some(dir) = dicom_dir
                && let Ok(entries) = std::fs::read_dir(dir)
            {
                let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
                files.sort();
                for p in files {
                    if let (Some(n), Ok(b)) = (p.file_name(), std::fs::read(&p)) {
                        out.push((n.to_string_lossy().into_owned(), b));
                    }
                }
            }
        }
        "bundle" => {
            for (name, dir) in [
                ("tiny", tiny_bundle().map(Path::to_path_buf)),
                ("default", Some(default_bundle())),
            ] {
                let Some(dir) = dir else { continue };
                let Ok(b) = Bundle::open(&dir) else { continue };
                // The default model's manifest does not match the tiny files: a seed for the
                // schema, refused at the first digest.
                let seed = if name == "default" {
                    "refused-default-manifest".to_string()
                } else {
                    format!("{name}-manifest")
                };
                if let Ok(text) = serde_json::to_string_pretty(b.manifest()) {
                    out.push((seed, [b"\x01", text.as_bytes()].concat()));
                }
            }
            // The tiny bundle as one tar file.
            if let (Some(dir), Ok(tmp)) = (tiny_bundle(), tempfile_dir()) {
                let tar = tmp.join("tiny.tar");
                if Bundle::pack(dir, &tar).is_ok()
                    && let Ok(bytes) = std::fs::read(&tar)
                {
                    out.push(("tiny-tar".into(), [&[0u8][..], &bytes].concat()));
                }
                let _ = std::fs::remove_dir_all(&tmp);
            }
        }
        "abi_frame" => {
            out.push(("gray8-64x48-4ch-ed".into(), abi_seed(64, 48, 2, 1)));
            out.push(("gray8-224x224-2ch".into(), abi_seed(224, 224, 1, 0)));
            out.push(("tiny-1x1".into(), abi_seed(1, 1, 0, 0)));
        }
        "prompt" => {
            out.push(("all-known".into(), vec![0, 2, 1, 2, 1, 0, 61, 3, 7]));
            out.push((
                "dicom-text".into(),
                b"\x01\x01\x02\x01\x03\x01\x00\x07070Y\x01A4C apical four chamber\x01Sex: F\nAge: 54\nImageQuality: Good\n".to_vec(),
            ));
        }
        "camus_raw" => {
            let voxels: Vec<u8> = (0..16 * 12 * 2).map(|i| (i % 4) as u8).collect();
            if let Ok(dir) = tempfile_dir() {
                let nii = dir.join("p_4CH_ED_gt.nii.gz");
                if nifti::write_u8(&nii, [16, 12, 2], [0.3, 0.3, 1.0], &voxels).is_ok()
                    && let Ok(b) = std::fs::read(&nii)
                {
                    out.push(("nifti-gz".into(), [vec![0u8], b].concat()));
                }
                let nii = dir.join("p_4CH_ED.nii");
                if nifti::write_u8(&nii, [16, 12, 1], [0.3, 0.3, 1.0], &voxels[..192]).is_ok()
                    && let Ok(b) = std::fs::read(&nii)
                {
                    out.push(("nifti".into(), [vec![0u8], b].concat()));
                }
                let mhd = dir.join("p_2CH_ES.mhd");
                if metaimage::write_u8(&mhd, [16, 12, 2], [0.3, 0.3, 1.0], &voxels).is_ok()
                    && let (Ok(h), Ok(r)) = (
                        std::fs::read(&mhd),
                        std::fs::read(mhd.with_extension("raw")),
                    )
                {
                    // `.mha` with LOCAL data, and `.mhd` + `.raw` split by four zero bytes.
                    let local = String::from_utf8_lossy(&h)
                        .replace("ElementDataFile = p_2CH_ES.raw", "ElementDataFile = LOCAL");
                    out.push((
                        "mha-local".into(),
                        [&[1u8][..], local.as_bytes(), &r].concat(),
                    ));
                    out.push((
                        "mhd-raw".into(),
                        [&[2u8][..], &h, &[0, 0, 0, 0], &r].concat(),
                    ));
                }
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
        _ => {}
    }
    out
}

/// Frames and metadata of a small phantom-like cine (three 48×40 frames, 4CH, 0.3 mm
/// pixels, 50 fps) for DICOM seeds; the simulator's writer encodes them.
pub fn cine_parts() -> (Vec<synboost_core::GrayImage>, ScanMeta) {
    let frames = (0..3u8)
        .filter_map(|k| {
            let data = (0..48 * 40).map(|i| (i % 200) as u8 + k).collect();
            synboost_core::GrayImage::new(48, 40, data).ok()
        })
        .collect();
    let meta = ScanMeta {
        view: Some(View::FourChamber),
        pixel_spacing: Some(synboost_core::PixelSpacing {
            row_mm: 0.3,
            col_mm: 0.3,
        }),
        frame_time_ms: Some(20.0),
        ..ScanMeta::default()
    };
    (frames, meta)
}

/// A fresh folder under the system's temporary folder.
fn tempfile_dir() -> std::io::Result<PathBuf> {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("synboost-fuzz-seed-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
