//! `sb_engine`: a loaded model bundle, for single frames and as the source of streams.

use crate::result::sb_result;
use crate::status::{
    Error, HandleError, Result, SB_ERR_BUNDLE, SB_ERR_FRAME, SB_ERR_INVALID, SB_ERR_MODEL, SB_OK,
    c_string, guard, read_prefix, sb_status, write_prefix,
};
use crate::types::{
    frame_from, meta_from, sb_frame, sb_meta, sb_structures, structure_bit, structures_from,
};
use std::ffi::{CStr, CString, c_char};
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use synboost_core::engine::{Backend, Engine, EngineError, EngineOptions, Variant, VariantChoice};

/// Which image model runs (`SB_VARIANT_*`).
pub type sb_variant = u32;
/// Chosen from the CPU's instruction set and the measurements the bundle's manifest records
/// for it: the same choice on every start, nothing timed (`sb_engine_info.variant_reason` says
/// why).
pub const SB_VARIANT_AUTO: sb_variant = 0;
/// Float32.
pub const SB_VARIANT_F32: sb_variant = 1;
/// Integer int8 (an error at open if the bundle has none).
pub const SB_VARIANT_INT8: sb_variant = 2;
/// Time both variants at open (when the bundle has int8) and keep int8 only when it is at least
/// 10 % faster: the machine's load at that moment decides, and open takes a few hundred ms
/// longer.
pub const SB_VARIANT_TIMED: sb_variant = 3;

/// Which inference runtime runs the model (`SB_BACKEND_*`).
pub type sb_backend = u32;
/// tract, built into this library (the default; absent from the ONNX Runtime-only build).
pub const SB_BACKEND_TRACT: sb_backend = 0;
/// ONNX Runtime 1.17 or newer, loaded from an installed `libonnxruntime` when the engine opens
/// (`sb_engine_options.onnxruntime_library`); nothing of it is linked into this library. The
/// same bundles, pre- and postprocessing and results; one ONNX Runtime library per process,
/// never unloaded. With `threads` above 1 each engine's session runs its own ONNX Runtime
/// thread pool (no callback ever runs on those threads); ONNX Runtime's log goes to the log
/// callback with target "onnxruntime".
pub const SB_BACKEND_ONNXRUNTIME: sb_backend = 1;

/// Engine settings; get the defaults from `sb_engine_options_defaults`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sb_engine_options {
    /// `sizeof(sb_engine_options)`.
    pub struct_size: u32,
    /// `SB_VARIANT_*` (default `SB_VARIANT_AUTO`).
    pub variant: sb_variant,
    /// Distinct prompts whose text encoding is cached, 1 to 65536 (default 64).
    pub prompt_cache: u32,
    /// Keep only each mask's largest connected component: 1 (default) or 0.
    pub largest_component: u32,
    /// Fill holes in each mask: 1 (default) or 0.
    pub fill_holes: u32,
    /// Threads one frame's matrix products may use, 1 to 64 (default 1). Streams with several
    /// workers share them.
    pub threads: u32,
    /// `SB_BACKEND_*` (default `SB_BACKEND_TRACT`). Added after the first version, as is
    /// `onnxruntime_library`: a host whose struct ends before it (`struct_size` 24) gets the
    /// defaults for both. A library built without tract (the small ONNX Runtime-only build)
    /// defaults to `SB_BACKEND_ONNXRUNTIME` and fails an open that asks for
    /// `SB_BACKEND_TRACT` with `SB_ERR_MODEL`; `sb_engine_options_defaults` tells which build
    /// this is.
    pub backend: sb_backend,
    /// With `SB_BACKEND_ONNXRUNTIME`: the `libonnxruntime` to load, a NUL-terminated UTF-8
    /// path borrowed for the call; NULL (default) for the path in the environment variable
    /// `SYNBOOST_ONNXRUNTIME`, else `libonnxruntime.so.1` from the loader's search path.
    /// Ignored with `SB_BACKEND_TRACT`.
    pub onnxruntime_library: *const c_char,
}

/// `sizeof(sb_engine_options)` of the first version (up to `threads`), which the opens still
/// accept.
const ENGINE_OPTIONS_V1_SIZE: usize = std::mem::offset_of!(sb_engine_options, backend);

impl Default for sb_engine_options {
    fn default() -> Self {
        let d = EngineOptions::default();
        Self {
            struct_size: std::mem::size_of::<Self>() as u32,
            variant: SB_VARIANT_AUTO,
            prompt_cache: d.prompt_cache as u32,
            largest_component: u32::from(d.largest_component),
            fill_holes: u32::from(d.fill_holes),
            threads: d.threads as u32,
            backend: match d.backend {
                Backend::Tract => SB_BACKEND_TRACT,
                Backend::OnnxRuntime { .. } => SB_BACKEND_ONNXRUNTIME,
            },
            onnxruntime_library: std::ptr::null(),
        }
    }
}

fn flag(v: u32, what: &str) -> Result<bool> {
    match v {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(Error::invalid(format!(
            "sb_engine_options.{what} = {v}: give 0 or 1"
        ))),
    }
}

impl sb_engine_options {
    /// The core options.
    ///
    /// # Safety
    /// `onnxruntime_library` is NULL or a NUL-terminated string.
    unsafe fn to_core(self) -> Result<EngineOptions> {
        let variant = match self.variant {
            SB_VARIANT_AUTO => VariantChoice::Auto,
            SB_VARIANT_F32 => VariantChoice::F32,
            SB_VARIANT_INT8 => VariantChoice::Int8,
            SB_VARIANT_TIMED => VariantChoice::Timed,
            v => {
                return Err(Error::invalid(format!(
                    "sb_engine_options.variant = {v} is no SB_VARIANT_*"
                )));
            }
        };
        if !(1..=64).contains(&self.threads) {
            return Err(Error::invalid(format!(
                "sb_engine_options.threads = {}: give 1 to 64",
                self.threads
            )));
        }
        if !(1..=65536).contains(&self.prompt_cache) {
            return Err(Error::invalid(format!(
                "sb_engine_options.prompt_cache = {}: give 1 to 65536",
                self.prompt_cache
            )));
        }
        let backend = match self.backend {
            SB_BACKEND_TRACT => Backend::Tract,
            SB_BACKEND_ONNXRUNTIME if self.onnxruntime_library.is_null() => {
                Backend::OnnxRuntime { library: None }
            }
            SB_BACKEND_ONNXRUNTIME => {
                // SAFETY: non-null and NUL-terminated per the contract.
                let p = unsafe { CStr::from_ptr(self.onnxruntime_library) };
                let p = p.to_str().map_err(|_| {
                    Error::invalid("sb_engine_options.onnxruntime_library is not UTF-8")
                })?;
                if p.is_empty() {
                    return Err(Error::invalid(
                        "sb_engine_options.onnxruntime_library is \"\": give a path, or NULL \
                         for the default",
                    ));
                }
                Backend::OnnxRuntime {
                    library: Some(PathBuf::from(p)),
                }
            }
            b => {
                return Err(Error::invalid(format!(
                    "sb_engine_options.backend = {b} is no SB_BACKEND_*"
                )));
            }
        };
        Ok(EngineOptions {
            variant,
            prompt_cache: self.prompt_cache as usize,
            largest_component: flag(self.largest_component, "largest_component")?,
            fill_holes: flag(self.fill_holes, "fill_holes")?,
            threads: self.threads as usize,
            backend,
            ..EngineOptions::default()
        })
    }
}

/// What a loaded model is.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sb_engine_info {
    /// `sizeof(sb_engine_info)`.
    pub struct_size: u32,
    /// `SB_VARIANT_F32` or `SB_VARIANT_INT8`: the image model that runs.
    pub variant: sb_variant,
    /// Structures the model segments (`SB_STRUCTURE_*` bits).
    pub structures: sb_structures,
    /// Model input width.
    pub input_width: u32,
    /// Model input height.
    pub input_height: u32,
    /// Model name; owned by the engine.
    pub name: *const c_char,
    /// Model version; owned by the engine.
    pub version: *const c_char,
    /// The model's licence (a model trained on CAMUS is CC BY-NC-SA 4.0); owned by the engine.
    pub licence: *const c_char,
    /// Why `variant` runs, one sentence (e.g. "int8: measured on x86_64-avx512vnni for this
    /// bundle, int8 3.10 ms vs f32 6.90 ms (2.23×)"); owned by the engine. Added after the
    /// first version: a host whose struct ends before it (`struct_size` 48 on 64-bit) gets
    /// the fields before it, written as they were.
    pub variant_reason: *const c_char,
    /// `SB_BACKEND_*`: the runtime that runs the model (added with `runtime`, after
    /// `variant_reason`; shorter structs get what they hold).
    pub backend: sb_backend,
    /// The runtime and its version, e.g. "tract 0.23.9" or "onnxruntime 1.32.0
    /// (/usr/lib/libonnxruntime.so.1)"; owned by the engine.
    pub runtime: *const c_char,
}

/// `sizeof(sb_engine_info)` of the first version (up to `licence`): the smallest
/// `struct_size` `sb_engine_get_info` accepts.
const ENGINE_INFO_V1_SIZE: usize = std::mem::offset_of!(sb_engine_info, variant_reason);

/// A loaded model bundle. Calls on one engine are serialised; streams started from it run on
/// their own copies and outlive it.
pub struct sb_engine {
    pub(crate) engine: Mutex<Engine>,
    pub(crate) error: HandleError,
    name: CString,
    version: CString,
    licence: CString,
    digest: CString,
    variant_reason: CString,
    runtime: CString,
}

impl sb_engine {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub(crate) fn engine_error(e: EngineError) -> Error {
    let status = match &e {
        EngineError::Bundle(_) | EngineError::Inconsistent(_) | EngineError::NoInt8 => {
            SB_ERR_BUNDLE
        }
        EngineError::Preprocess(_) => SB_ERR_FRAME,
        EngineError::Structure(_)
        | EngineError::TooMany { .. }
        | EngineError::NoStructure
        | EngineError::Prompt { .. } => SB_ERR_INVALID,
        _ => SB_ERR_MODEL,
    };
    Error::new(status, e.to_string())
}

/// Fill an sb_engine_options with the defaults.
///
/// Sets every field, `struct_size` to sizeof(sb_engine_options) included: the variant chosen
/// at load (SB_VARIANT_AUTO), a cache of 64 prompts, largest component and hole filling on, one
/// thread, the tract backend (SB_BACKEND_TRACT; SB_BACKEND_ONNXRUNTIME in the ONNX Runtime-only
/// build), `onnxruntime_library` NULL.
///
/// @param out The caller's struct to fill; not NULL.
/// @return SB_OK;
///         SB_ERR_NULL when `out` is NULL.
///
/// # Safety
/// `out` is NULL or points to a writable `sb_engine_options`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_engine_options_defaults(out: *mut sb_engine_options) -> sb_status {
    guard("sb_engine_options_defaults", None, || {
        if out.is_null() {
            return Err(Error::null("out"));
        }
        // SAFETY: non-null; the caller provides a writable struct.
        unsafe { out.write(sb_engine_options::default()) };
        Ok(SB_OK)
    })
}

/// Open a model bundle and load its model.
///
/// Verifies every file's checksum and the manifest's seal before loading. Sizes are checked
/// before anything is read: a `manifest.json` over 4 MiB, a file larger than the manifest
/// states or a manifest listing a file over 1 GiB is SB_ERR_BUNDLE at once, however large the
/// file. To load only the model you validated, use sb_engine_open_pinned.
///
/// @param path    The bundle, a folder or a `.tar` file: a NUL-terminated UTF-8 path, borrowed
///                for the call. "" is refused (it never means the current folder: give ".").
/// @param options Engine settings (see sb_engine_options_defaults), borrowed for the call;
///                NULL for the defaults.
/// @param out     Receives the engine, owned by the caller (close it with sb_engine_close);
///                set to NULL on failure. Not NULL.
/// @return SB_OK, with `*out` the engine;
///         SB_ERR_NULL when `path` or `out` is NULL;
///         SB_ERR_INVALID when `path` is "" or not UTF-8, or `options` has a `struct_size`
///         that is neither sizeof(sb_engine_options) (or more) nor the first version's 24, a
///         value out of its range, or an `onnxruntime_library` that is "" or not UTF-8;
///         SB_ERR_BUNDLE when the bundle is missing, unreadable, too large, corrupted or
///         inconsistent, or SB_VARIANT_INT8 is asked of a bundle without int8;
///         SB_ERR_MODEL when its model cannot be prepared, or with SB_BACKEND_ONNXRUNTIME
///         when the library cannot be loaded, is not ONNX Runtime 1.17 or newer, or another
///         one is already loaded in this process (the message says which);
///         SB_ERR_INTERNAL on an internal error.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `options` is NULL or a readable
/// `sb_engine_options`; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_engine_open(
    path: *const c_char,
    options: *const sb_engine_options,
    out: *mut *mut sb_engine,
) -> sb_status {
    guard("sb_engine_open", None, || {
        // SAFETY: forwarded contract.
        unsafe { open(path, None, options, out) }
    })
}

/// Open a model bundle as sb_engine_open does, but only the one with the expected digest.
///
/// The digest (sb_engine_bundle_digest) is the SHA-256 of the bundle's `manifest.json`, which
/// lists every file's SHA-256. Pin the digest of the model you validated (kept in your own
/// signed firmware) and no other model, however well formed, is ever loaded. The digest is
/// checked before anything in the bundle is parsed.
///
/// @param path            The bundle, as for sb_engine_open; borrowed for the call.
/// @param expected_sha256 The digest to load: 64 hex digits (either case), NUL-terminated,
///                        borrowed for the call.
/// @param options         Engine settings, borrowed for the call; NULL for the defaults.
/// @param out             Receives the engine, owned by the caller (close it with
///                        sb_engine_close); set to NULL on failure. Not NULL.
/// @return SB_OK, with `*out` the engine;
///         SB_ERR_NULL when `path`, `expected_sha256` or `out` is NULL;
///         SB_ERR_INVALID when `expected_sha256` is not 64 hex digits, or as sb_engine_open;
///         SB_ERR_BUNDLE when the bundle's digest is another (the message names both), or as
///         sb_engine_open;
///         SB_ERR_MODEL when its model cannot be prepared;
///         SB_ERR_INTERNAL on an internal error.
///
/// # Safety
/// `path` and `expected_sha256` are NULL or NUL-terminated strings; `options` is NULL or a
/// readable `sb_engine_options`; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_engine_open_pinned(
    path: *const c_char,
    expected_sha256: *const c_char,
    options: *const sb_engine_options,
    out: *mut *mut sb_engine,
) -> sb_status {
    guard("sb_engine_open_pinned", None, || {
        // SAFETY: forwarded contract.
        unsafe { open(path, Some(expected_sha256), options, out) }
    })
}

/// The body of both opens; `pin` is `sb_engine_open_pinned`'s `expected_sha256`.
///
/// # Safety
/// As `sb_engine_open_pinned`.
unsafe fn open(
    path: *const c_char,
    pin: Option<*const c_char>,
    options: *const sb_engine_options,
    out: *mut *mut sb_engine,
) -> Result<sb_status> {
    if out.is_null() {
        return Err(Error::null("out"));
    }
    // SAFETY: non-null, writable per the contract.
    unsafe { out.write(std::ptr::null_mut()) };
    if path.is_null() {
        return Err(Error::null("path"));
    }
    // SAFETY: NUL-terminated per the contract.
    let path = unsafe { CStr::from_ptr(path) };
    if path.is_empty() {
        return Err(Error::invalid(
            "path is empty: give the bundle's folder or tar file (\".\" for the current folder)",
        ));
    }
    let path = PathBuf::from(
        path.to_str()
            .map_err(|_| Error::invalid("path is not UTF-8"))?,
    );
    let pin = match pin {
        None => None,
        Some(p) if p.is_null() => return Err(Error::null("expected_sha256")),
        // SAFETY: NUL-terminated per the contract.
        Some(p) => Some(
            unsafe { CStr::from_ptr(p) }
                .to_str()
                .ok()
                .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
                .ok_or_else(|| Error::invalid("expected_sha256 is not 64 hex digits"))?,
        ),
    };
    let opts = if options.is_null() {
        sb_engine_options::default()
    } else {
        // SAFETY: forwarded contract (a readable struct of `struct_size` bytes, a prefix of
        // ours, its fields past that size left at their defaults).
        unsafe {
            read_prefix(
                options,
                "sb_engine_options",
                &[ENGINE_OPTIONS_V1_SIZE],
                sb_engine_options::default(),
            )
        }?
    };
    // SAFETY: the string field is NULL or NUL-terminated per the contract.
    let opts = unsafe { opts.to_core() }?;
    let engine = match pin {
        Some(p) => Engine::open_pinned(&path, p, opts),
        None => Engine::open(&path, opts),
    }
    .map_err(engine_error)?;
    let m = engine.manifest();
    let handle = Box::new(sb_engine {
        name: c_string(&m.name),
        version: c_string(&m.version),
        licence: c_string(&m.licence),
        digest: c_string(engine.bundle_digest()),
        variant_reason: c_string(engine.variant_reason()),
        runtime: c_string(&engine.runtime()),
        engine: Mutex::new(engine),
        error: HandleError::default(),
    });
    log::info!(
        "opened model bundle {} (digest {})",
        path.display(),
        handle.digest.to_string_lossy()
    );
    // SAFETY: as above.
    unsafe { out.write(Box::into_raw(handle)) };
    Ok(SB_OK)
}

/// The loaded bundle's digest: the value to pin with sb_engine_open_pinned.
///
/// @param engine The engine; may be NULL.
/// @return The SHA-256 of the bundle's `manifest.json` as 64 lower-case hex digits, a
///         NUL-terminated string owned by the engine (valid until sb_engine_close, never to be
///         freed); NULL only when `engine` is NULL.
///
/// # Safety
/// `engine` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_engine_bundle_digest(engine: *const sb_engine) -> *const c_char {
    // SAFETY: NULL or live per the contract.
    match unsafe { engine.as_ref() } {
        Some(e) => e.digest.as_ptr(),
        None => std::ptr::null(),
    }
}

/// Close an engine and set the caller's handle to NULL.
///
/// Frees the engine and everything it owns (its info strings, its digest). Streams started
/// from it keep running: they have their own copies of the model.
///
/// @param engine The caller's handle variable. NULL, or a handle that is NULL, is a no-op, so
///               closing twice is harmless.
/// @return SB_OK (SB_ERR_INTERNAL on an internal error).
///
/// # Safety
/// `engine` is NULL or points to NULL or to an engine from `sb_engine_open` not yet closed,
/// with no call on it in progress.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_engine_close(engine: *mut *mut sb_engine) -> sb_status {
    guard("sb_engine_close", None, || {
        if engine.is_null() {
            return Ok(SB_OK);
        }
        // SAFETY: non-null pointer to the caller's handle variable.
        let p = unsafe { std::ptr::replace(engine, std::ptr::null_mut()) };
        if !p.is_null() {
            // SAFETY: from Box::into_raw in sb_engine_open, not closed before.
            drop(unsafe { Box::from_raw(p) });
        }
        Ok(SB_OK)
    })
}

/// Describe a loaded model.
///
/// @param engine The engine; not NULL.
/// @param out    The caller's struct to fill, with `struct_size` set (at least
///               sizeof(sb_engine_info), or an older header's size); not NULL. Its strings
///               are owned by the engine.
/// @return SB_OK;
///         SB_ERR_NULL when `engine` or `out` is NULL;
///         SB_ERR_INVALID when `out->struct_size` is below the first version's size (48 on
///         64-bit: the fields up to `licence`; nothing written);
///         SB_ERR_INTERNAL on an internal error.
///
/// # Safety
/// `engine` is NULL or live; `out` is NULL or a writable `sb_engine_info` with `struct_size`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_engine_get_info(
    engine: *const sb_engine,
    out: *mut sb_engine_info,
) -> sb_status {
    // SAFETY: NULL or live per the contract.
    let e = unsafe { engine.as_ref() };
    guard("sb_engine_get_info", e.map(|e| &e.error), || {
        let e = e.ok_or_else(|| Error::null("engine"))?;
        let eng = e.lock();
        let spec = eng.spec();
        let info = sb_engine_info {
            struct_size: std::mem::size_of::<sb_engine_info>() as u32,
            variant: match eng.variant() {
                Variant::F32 => SB_VARIANT_F32,
                Variant::Int8 => SB_VARIANT_INT8,
            },
            structures: eng
                .manifest()
                .structures
                .iter()
                .fold(0, |b, s| b | structure_bit(*s)),
            input_width: spec.input.width as u32,
            input_height: spec.input.height as u32,
            name: e.name.as_ptr(),
            version: e.version.as_ptr(),
            licence: e.licence.as_ptr(),
            variant_reason: e.variant_reason.as_ptr(),
            backend: match eng.backend_name() {
                "onnxruntime" => SB_BACKEND_ONNXRUNTIME,
                _ => SB_BACKEND_TRACT,
            },
            runtime: e.runtime.as_ptr(),
        };
        // SAFETY: forwarded contract (a struct of `struct_size` bytes, a prefix of ours).
        unsafe { write_prefix(out, "sb_engine_info", ENGINE_INFO_V1_SIZE, &info) }?;
        Ok(SB_OK)
    })
}

/// Segment one frame now, on the calling thread.
///
/// Calls on one engine are serialised. The result is measured on its own: it has no temporal
/// IoU, heart rate or cardiac cycle (streams have them).
///
/// @param engine     The engine; not NULL.
/// @param frame      The frame, borrowed for the call (its pixels too); not NULL, nor its
///                   `data`.
/// @param meta       What is known about the frame, borrowed for the call; NULL when nothing
///                   is.
/// @param structures The structures to segment, SB_STRUCTURE_* bits; 0 for every structure
///                   of the model.
/// @param out        Receives the result, owned by the caller (free it with sb_result_free);
///                   set to NULL on failure. Not NULL.
/// @return SB_OK, with `*out` the result;
///         SB_ERR_NULL when `engine`, `frame`, `frame->data` or `out` is NULL;
///         SB_ERR_INVALID when a `struct_size` is too small, an enum or `meta` field is out of
///         range, or `structures` has a bit that is no SB_STRUCTURE_* or a structure the
///         model does not segment;
///         SB_ERR_FRAME when the frame's size, stride or `data_size` do not fit;
///         SB_ERR_MODEL when the model fails on the frame;
///         SB_ERR_INTERNAL on an internal error.
///
/// # Safety
/// `engine` is NULL or live; `frame` is NULL or a readable `sb_frame` whose data is readable;
/// `meta` is NULL or a readable `sb_meta`; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_engine_segment(
    engine: *mut sb_engine,
    frame: *const sb_frame,
    meta: *const sb_meta,
    structures: sb_structures,
    out: *mut *mut sb_result,
) -> sb_status {
    // SAFETY: NULL or live per the contract.
    let e = unsafe { engine.as_ref() };
    guard("sb_engine_segment", e.map(|e| &e.error), || {
        if out.is_null() {
            return Err(Error::null("out"));
        }
        // SAFETY: non-null, writable per the contract.
        unsafe { out.write(std::ptr::null_mut()) };
        let e = e.ok_or_else(|| Error::null("engine"))?;
        // SAFETY: forwarded contracts.
        let view = unsafe { frame_from(frame) }?;
        // SAFETY: forwarded contract.
        let meta = unsafe { meta_from(meta) }?;
        let mut eng = e.lock();
        let mut list = structures_from(structures)?;
        if list.is_empty() {
            list = eng.manifest().structures.clone();
        }
        let seg = eng.segment(&view, &meta, &list).map_err(engine_error)?;
        let r = sb_result::from_segmentation(
            seg,
            (view.width(), view.height()),
            view.timestamp_us(),
            &meta,
        );
        // SAFETY: as above.
        unsafe { out.write(Box::into_raw(r)) };
        Ok(SB_OK)
    })
}

/// The last error message of any call on an engine, from any thread.
///
/// The message is copied for the calling thread: other threads' failures change the engine's
/// message, not this copy.
///
/// @param engine The engine; may be NULL.
/// @return A NUL-terminated string, "" when no call on the engine has failed yet; NULL only
///         when `engine` is NULL. Never to be freed; valid until this thread calls
///         sb_engine_last_error or sb_stream_last_error again.
///
/// # Safety
/// `engine` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_engine_last_error(engine: *const sb_engine) -> *const c_char {
    // SAFETY: NULL or live per the contract.
    match unsafe { engine.as_ref() } {
        Some(e) => e.error.as_ptr(),
        None => std::ptr::null(),
    }
}
