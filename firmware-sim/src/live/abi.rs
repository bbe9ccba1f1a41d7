//! `libsynboost.so` through its C ABI, loaded at run time with `dlopen` (`libloading`).
//!
//! [`Api`] holds the library and every `sb_*` entry point `live` uses, resolved once at load
//! (the library then stays loaded for the life of the process). The handles ([`Engine`],
//! [`Stream`], [`FrameResult`]) hold an `Arc<Api>` and close or free themselves on drop. Every failing call becomes an
//! [`AbiError::Call`] with the status and the text of `sb_last_error()`, read on the calling
//! thread right after the call (the message is thread-local).
//!
//! Everything C here comes from [`sys`], generated from `include/synboost.h` by bindgen:
//! the structs, the constants and the dlopen table, so this driver uses the kept header exactly
//! as a C host does, and the simulator links no part of the library's Rust crate.

pub mod sys;

use self::sys::{
    SB_ABI_VERSION, SB_END, SB_LOG_DEBUG, SB_LOG_ERROR, SB_LOG_INFO, SB_LOG_OFF, SB_LOG_TRACE,
    SB_LOG_WARN, SB_NO_TIMESTAMP, SB_NONE, SB_OK, SB_PIXEL_GRAY8, SB_TIMEOUT, Synboost, sb_cycle,
    sb_engine, sb_engine_info, sb_engine_options, sb_frame, sb_log_level, sb_measurements, sb_meta,
    sb_result, sb_result_info, sb_status, sb_stop_mode, sb_stream, sb_stream_config,
    sb_stream_stats, sb_structure_result,
};
use std::ffi::{CStr, CString, c_char, c_void};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Errors loading or calling the library.
#[derive(Debug, thiserror::Error)]
pub enum AbiError {
    /// `dlopen` failed.
    #[error("cannot load {path}: {message}")]
    Load {
        /// The library file.
        path: PathBuf,
        /// The loader's message.
        message: String,
    },
    /// An entry point of the header is missing from the library.
    #[error(
        "{path} lacks an entry point of include/synboost.h ({message}): is it a libsynboost.so of this version?"
    )]
    Symbol {
        /// The library file.
        path: PathBuf,
        /// The loader's message (it names the symbol).
        message: String,
    },
    /// The library implements another C ABI version.
    #[error("{path} implements C ABI version {found}, this program needs {expected}")]
    AbiVersion {
        /// The library file.
        path: PathBuf,
        /// Its `sb_abi_version()`.
        found: u32,
        /// `SB_ABI_VERSION` of the headers this program was built with.
        expected: u32,
    },
    /// A call returned an error status.
    #[error("{function} failed with {status} ({status_text}): {message}")]
    Call {
        /// The entry point.
        function: &'static str,
        /// Its `sb_status`.
        status: sb_status,
        /// `sb_status_string(status)`.
        status_text: String,
        /// `sb_last_error()` right after the call.
        message: String,
    },
    /// An argument cannot be passed to C (a path with a NUL byte, a frame too large).
    #[error("{0}")]
    Argument(String),
}

impl AbiError {
    /// The `sb_status` of a failed call, if this is one.
    pub fn status(&self) -> Option<sb_status> {
        match self {
            AbiError::Call { status, .. } => Some(*status),
            _ => None,
        }
    }
}

type Result<T> = std::result::Result<T, AbiError>;

/// The loaded library and its entry points.
pub struct Api {
    path: PathBuf,
    // Every entry point, resolved at load (bindgen's table from the header). The function
    // pointers are valid while the library stays loaded, and it is never unloaded: threads the
    // library started (tract's pools wind down asynchronously) and its thread-local destructors
    // may outlive every handle, and unloading a Rust cdylib under them is unsound. Loaded once
    // per run, the cost is one mapping for the process's life.
    lib: std::mem::ManuallyDrop<Synboost>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api").field("path", &self.path).finish()
    }
}

/// A C string the library owns, as an owned Rust string ("" for NULL).
///
/// # Safety
/// `p` is NULL or a NUL-terminated string valid for the call.
unsafe fn owned(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        // SAFETY: non-null and NUL-terminated per the contract.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

/// Forwards the library's log records to this program's `log` logger (target `synboost`).
unsafe extern "C" fn log_to_rust(
    level: sb_log_level,
    target: *const c_char,
    message: *const c_char,
    _user: *mut c_void,
) {
    let level = match level {
        SB_LOG_ERROR => log::Level::Error,
        SB_LOG_WARN => log::Level::Warn,
        SB_LOG_INFO => log::Level::Info,
        SB_LOG_DEBUG => log::Level::Debug,
        _ => log::Level::Trace,
    };
    // SAFETY: the library passes NUL-terminated strings valid for the call.
    let (target, message) = unsafe { (owned(target), owned(message)) };
    log::log!(target: "synboost", level, "[{target}] {message}");
}

impl Api {
    /// Load the library at `path`, resolve every entry point and check its C ABI version.
    pub fn load(path: &Path) -> Result<Arc<Self>> {
        // SAFETY: loading runs the library's initialisers; libsynboost.so has no unusual ones
        // (a Rust cdylib: no global constructors beyond the standard library's).
        let lib = unsafe { libloading::Library::new(path) }.map_err(|e| AbiError::Load {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        // SAFETY: the table's types are the header's declarations, which the library's own
        // definitions generate (ffi/tests/header.rs keeps them equal).
        let lib = unsafe { Synboost::from_library(lib) }.map_err(|e| AbiError::Symbol {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let api = Api {
            path: path.to_path_buf(),
            lib: std::mem::ManuallyDrop::new(lib),
        };
        // SAFETY: no arguments; returns a value.
        let found = unsafe { (api.lib.sb_abi_version)() };
        if found != SB_ABI_VERSION {
            return Err(AbiError::AbiVersion {
                path: path.to_path_buf(),
                found,
                expected: SB_ABI_VERSION,
            });
        }
        Ok(Arc::new(api))
    }

    /// The library file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `sb_version()`.
    pub fn version(&self) -> String {
        // SAFETY: returns a static NUL-terminated string.
        unsafe { owned((self.lib.sb_version)()) }
    }

    /// `sb_abi_version()`.
    pub fn abi_version(&self) -> u32 {
        // SAFETY: no arguments.
        unsafe { (self.lib.sb_abi_version)() }
    }

    /// Route the library's log records up to `max` into this program's `log` logger.
    pub fn forward_logs(&self, max: log::LevelFilter) -> Result<()> {
        let level = match max {
            log::LevelFilter::Off => SB_LOG_OFF,
            log::LevelFilter::Error => SB_LOG_ERROR,
            log::LevelFilter::Warn => SB_LOG_WARN,
            log::LevelFilter::Info => SB_LOG_INFO,
            log::LevelFilter::Debug => SB_LOG_DEBUG,
            log::LevelFilter::Trace => SB_LOG_TRACE,
        };
        // SAFETY: `log_to_rust` may be called from any thread and ignores its user data.
        let s = unsafe {
            (self.lib.sb_set_log_callback)(Some(log_to_rust), level, std::ptr::null_mut())
        };
        self.check("sb_set_log_callback", s)
    }

    /// `Ok` for `SB_OK` (and other non-negative codes); else the error with the thread's
    /// last message.
    fn check(&self, function: &'static str, status: sb_status) -> Result<()> {
        if status >= SB_OK {
            return Ok(());
        }
        // SAFETY: both return static or thread-local NUL-terminated strings, never NULL.
        let (message, status_text) = unsafe {
            (
                owned((self.lib.sb_last_error)()),
                owned((self.lib.sb_status_string)(status)),
            )
        };
        Err(AbiError::Call {
            function,
            status,
            status_text,
            message,
        })
    }

    /// `sb_engine_options_defaults`.
    pub fn engine_options(&self) -> Result<sb_engine_options> {
        let mut o = std::mem::MaybeUninit::<sb_engine_options>::uninit();
        // SAFETY: a writable struct; the call writes all of it on success.
        let s = unsafe { (self.lib.sb_engine_options_defaults)(o.as_mut_ptr()) };
        self.check("sb_engine_options_defaults", s)?;
        // SAFETY: initialised by the successful call.
        Ok(unsafe { o.assume_init() })
    }

    /// `sb_stream_config_defaults`.
    pub fn stream_config(&self) -> Result<sb_stream_config> {
        let mut c = std::mem::MaybeUninit::<sb_stream_config>::uninit();
        // SAFETY: a writable struct; the call writes all of it on success.
        let s = unsafe { (self.lib.sb_stream_config_defaults)(c.as_mut_ptr()) };
        self.check("sb_stream_config_defaults", s)?;
        // SAFETY: initialised by the successful call.
        Ok(unsafe { c.assume_init() })
    }
}

/// What `sb_engine_get_info` says about a loaded model, with owned strings.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EngineInfo {
    /// `SB_VARIANT_F32` (1) or `SB_VARIANT_INT8` (2).
    pub variant: u32,
    /// `SB_STRUCTURE_*` bits.
    pub structures: u32,
    /// Model input width.
    pub input_width: u32,
    /// Model input height.
    pub input_height: u32,
    /// Model name.
    pub name: String,
    /// Model version.
    pub version: String,
    /// Model licence.
    pub licence: String,
    /// Why the variant runs.
    pub variant_reason: String,
    /// `SB_BACKEND_TRACT` (0) or `SB_BACKEND_ONNXRUNTIME` (1).
    pub backend: u32,
    /// The runtime and its version.
    pub runtime: String,
}

/// An open model bundle (`sb_engine`); closed on drop.
#[derive(Debug)]
pub struct Engine {
    api: Arc<Api>,
    raw: *mut sb_engine,
}

impl Engine {
    /// `sb_engine_open` of a bundle folder or `.tar`, with `options` (`None`: defaults).
    pub fn open(
        api: &Arc<Api>,
        bundle: &Path,
        options: Option<&sb_engine_options>,
    ) -> Result<Self> {
        let path = bundle.to_str().ok_or_else(|| {
            AbiError::Argument(format!("{}: the path is not UTF-8", bundle.display()))
        })?;
        let path = CString::new(path).map_err(|_| {
            AbiError::Argument(format!("{}: the path has a NUL byte", bundle.display()))
        })?;
        let opts = options.map_or(std::ptr::null(), |o| o as *const sb_engine_options);
        let mut raw = std::ptr::null_mut();
        // SAFETY: a NUL-terminated path, NULL or a valid options struct, a writable out.
        let s = unsafe { (api.lib.sb_engine_open)(path.as_ptr(), opts, &mut raw) };
        api.check("sb_engine_open", s)?;
        Ok(Self {
            api: Arc::clone(api),
            raw,
        })
    }

    /// `sb_engine_get_info`.
    pub fn info(&self) -> Result<EngineInfo> {
        let mut i = sb_engine_info {
            struct_size: std::mem::size_of::<sb_engine_info>() as u32,
            variant: 0,
            structures: 0,
            input_width: 0,
            input_height: 0,
            name: std::ptr::null(),
            version: std::ptr::null(),
            licence: std::ptr::null(),
            variant_reason: std::ptr::null(),
            backend: 0,
            runtime: std::ptr::null(),
        };
        // SAFETY: a live engine and a sized, writable struct.
        let s = unsafe { (self.api.lib.sb_engine_get_info)(self.raw, &mut i) };
        self.api.check("sb_engine_get_info", s)?;
        // SAFETY: the strings are owned by the live engine.
        let (name, version, licence, variant_reason, runtime) = unsafe {
            (
                owned(i.name),
                owned(i.version),
                owned(i.licence),
                owned(i.variant_reason),
                owned(i.runtime),
            )
        };
        Ok(EngineInfo {
            variant: i.variant,
            structures: i.structures,
            input_width: i.input_width,
            input_height: i.input_height,
            name,
            version,
            licence,
            variant_reason,
            backend: i.backend,
            runtime,
        })
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // SAFETY: our handle, closed once (the call sets it to NULL).
        let s = unsafe { (self.api.lib.sb_engine_close)(&mut self.raw) };
        if let Err(e) = self.api.check("sb_engine_close", s) {
            log::warn!("{e}");
        }
    }
}

/// What `sb_stream_poll` returned.
#[derive(Debug)]
pub enum Poll {
    /// The next result.
    Result(FrameResult),
    /// None within the timeout.
    Timeout,
    /// The stream has stopped and every result was read.
    End,
}

/// A running stream (`sb_stream`); closed on drop (which discards queued frames if it is still
/// running).
///
/// A frame description for [`Stream::push_described`]: `sb_frame` without the data pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameDesc {
    /// `sb_frame.struct_size`.
    pub struct_size: u32,
    /// `SB_PIXEL_*` (or any other value).
    pub format: u32,
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// Bytes per row.
    pub stride: usize,
    /// Bytes given (clamped to the buffer).
    pub data_size: usize,
    /// Capture time, ns, or `SB_NO_TIMESTAMP`.
    pub timestamp_ns: i64,
}

impl FrameDesc {
    /// An honest 8-bit grey frame of `width` × `height` packed rows.
    pub fn gray8(width: usize, height: usize, timestamp_ns: i64) -> Self {
        Self {
            struct_size: std::mem::size_of::<sb_frame>() as u32,
            format: SB_PIXEL_GRAY8,
            width: u32::try_from(width).unwrap_or(u32::MAX),
            height: u32::try_from(height).unwrap_or(u32::MAX),
            stride: width,
            data_size: width.saturating_mul(height),
            timestamp_ns,
        }
    }
}

/// The C ABI lets any thread push, poll, read the stats or stop concurrently (only closing
/// needs exclusive access, which `Drop` has), so a `&Stream` may be shared between threads.
#[derive(Debug)]
pub struct Stream {
    api: Arc<Api>,
    raw: *mut sb_stream,
}

// SAFETY: the library's stream is thread-safe for every call but close (documented in
// synboost.h: "Any thread may push"; poll, stats and stop take the stream by shared pointer and
// lock internally); close happens in Drop, with exclusive access.
unsafe impl Send for Stream {}
// SAFETY: as above.
unsafe impl Sync for Stream {}

impl Stream {
    /// `sb_stream_start` on `engine`'s model.
    pub fn start(engine: &Engine, config: &sb_stream_config) -> Result<Self> {
        let mut raw = std::ptr::null_mut();
        // SAFETY: a live engine, a valid config, a writable out.
        let s = unsafe { (engine.api.lib.sb_stream_start)(engine.raw, config, &mut raw) };
        engine.api.check("sb_stream_start", s)?;
        Ok(Self {
            api: Arc::clone(&engine.api),
            raw,
        })
    }

    /// `sb_stream_push` of an 8-bit grey frame (`stride` bytes per row) with its metadata and
    /// timestamp (ns, any epoch); returns the frame's sequence number.
    pub fn push_gray8(
        &self,
        pixels: &[u8],
        (width, height, stride): (usize, usize, usize),
        timestamp_ns: Option<i64>,
        meta: &sb_meta,
    ) -> Result<u64> {
        let dim = |v: usize, what: &str| {
            u32::try_from(v).map_err(|_| AbiError::Argument(format!("frame {what} {v} too large")))
        };
        let frame = sb_frame {
            struct_size: std::mem::size_of::<sb_frame>() as u32,
            format: SB_PIXEL_GRAY8,
            width: dim(width, "width")?,
            height: dim(height, "height")?,
            stride,
            data: pixels.as_ptr().cast(),
            data_size: pixels.len(),
            timestamp_ns: timestamp_ns.unwrap_or(SB_NO_TIMESTAMP),
        };
        let mut seq = 0u64;
        // SAFETY: a live stream; the frame's data is `pixels`, readable for the call (the
        // library copies it); a valid meta; a writable seq.
        let s = unsafe { (self.api.lib.sb_stream_push)(self.raw, &frame, meta, &mut seq) };
        self.api.check("sb_stream_push", s)?;
        Ok(seq)
    }

    /// `sb_stream_push` of a frame described by `desc` over `pixels`, with `meta` (`None`: NULL).
    /// The description may be wrong in any way (format, sizes, stride, struct size) except one:
    /// it never claims more bytes than `pixels` has (`desc.data_size` is clamped), so the
    /// library can check it without reading past the buffer.
    pub fn push_described(
        &self,
        pixels: &[u8],
        desc: &FrameDesc,
        meta: Option<&sb_meta>,
    ) -> Result<u64> {
        let frame = sb_frame {
            struct_size: desc.struct_size,
            format: desc.format,
            width: desc.width,
            height: desc.height,
            stride: desc.stride,
            data: pixels.as_ptr().cast(),
            data_size: desc.data_size.min(pixels.len()),
            timestamp_ns: desc.timestamp_ns,
        };
        let meta = meta.map_or(std::ptr::null(), |m| m as *const sb_meta);
        let mut seq = 0u64;
        // SAFETY: a live stream; `data_size` ≤ `pixels.len()` readable bytes at `data`; NULL
        // or a valid meta; a writable seq.
        let s = unsafe { (self.api.lib.sb_stream_push)(self.raw, &frame, meta, &mut seq) };
        self.api.check("sb_stream_push", s)?;
        Ok(seq)
    }

    /// `sb_stream_poll` with a timeout in ms (negative: forever).
    pub fn poll(&self, timeout_ms: i32) -> Result<Poll> {
        let mut raw = std::ptr::null_mut();
        // SAFETY: a live stream and a writable out.
        let s = unsafe { (self.api.lib.sb_stream_poll)(self.raw, timeout_ms, &mut raw) };
        self.api.check("sb_stream_poll", s)?;
        Ok(match s {
            SB_TIMEOUT => Poll::Timeout,
            SB_END => Poll::End,
            _ if raw.is_null() => Poll::Timeout,
            _ => Poll::Result(FrameResult {
                api: Arc::clone(&self.api),
                raw,
            }),
        })
    }

    /// `sb_stream_get_stats`.
    pub fn stats(&self) -> Result<sb_stream_stats> {
        let mut st = sb_stream_stats {
            struct_size: std::mem::size_of::<sb_stream_stats>() as u32,
            ..sb_stream_stats::default()
        };
        // SAFETY: a live stream and a sized, writable struct.
        let s = unsafe { (self.api.lib.sb_stream_get_stats)(self.raw, &mut st) };
        self.api.check("sb_stream_get_stats", s)?;
        Ok(st)
    }

    /// `sb_stream_stop` (`SB_STOP_DRAIN` or `SB_STOP_DISCARD`); waits for the workers.
    pub fn stop(&self, mode: sb_stop_mode) -> Result<()> {
        // SAFETY: a live stream.
        let s = unsafe { (self.api.lib.sb_stream_stop)(self.raw, mode) };
        self.api.check("sb_stream_stop", s)
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        // SAFETY: our handle, closed once, no other call in progress (we have `&mut self`).
        let s = unsafe { (self.api.lib.sb_stream_close)(&mut self.raw) };
        if let Err(e) = self.api.check("sb_stream_close", s) {
            log::warn!("{e}");
        }
    }
}

/// One structure of a segmented result, borrowed from it.
#[derive(Debug, Clone, Copy)]
pub struct StructureView<'a> {
    /// `SB_STRUCTURE_*` bit.
    pub bit: u32,
    /// Mask width.
    pub width: usize,
    /// Mask height.
    pub height: usize,
    /// Mask pixels (0 or 1), rows packed.
    pub mask: &'a [u8],
    /// Pixels inside.
    pub area_px: u64,
    /// Area in mm², `None` when the spacing is unknown.
    pub area_mm2: Option<f64>,
    /// Mean probability inside the mask.
    pub confidence: f64,
}

/// A polled result (`sb_result`); freed on drop.
#[derive(Debug)]
pub struct FrameResult {
    api: Arc<Api>,
    raw: *mut sb_result,
}

impl FrameResult {
    /// `sb_result_get_info`.
    pub fn info(&self) -> Result<sb_result_info> {
        let mut i = sb_result_info {
            struct_size: std::mem::size_of::<sb_result_info>() as u32,
            outcome: 0,
            seq: 0,
            timestamp_ns: 0,
            width: 0,
            height: 0,
            structure_count: 0,
            queue_ms: 0.0,
            preprocess_ms: 0.0,
            text_ms: 0.0,
            model_ms: 0.0,
            postprocess_ms: 0.0,
            total_ms: 0.0,
            error: std::ptr::null(),
        };
        // SAFETY: a live result and a sized, writable struct.
        let s = unsafe { (self.api.lib.sb_result_get_info)(self.raw, &mut i) };
        self.api.check("sb_result_get_info", s)?;
        Ok(i)
    }

    /// Why the frame failed (`SB_OUTCOME_FAILED`), from its info.
    pub fn error_text(&self, info: &sb_result_info) -> String {
        // SAFETY: NULL or a string owned by the live result.
        unsafe { owned(info.error) }
    }

    /// `sb_result_get_structure` of structure `index`; the mask is borrowed from the result.
    pub fn structure(&self, index: u32) -> Result<StructureView<'_>> {
        let mut o = sb_structure_result {
            struct_size: std::mem::size_of::<sb_structure_result>() as u32,
            structure: 0,
            name: std::ptr::null(),
            prompt: std::ptr::null(),
            prompt_kind: 0,
            mask_width: 0,
            mask_height: 0,
            mask: std::ptr::null(),
            area_px: 0,
            area_mm2: -1.0,
            confidence: 0.0,
            max_probability: 0.0,
        };
        // SAFETY: a live result and a sized, writable struct.
        let s = unsafe { (self.api.lib.sb_result_get_structure)(self.raw, index, &mut o) };
        self.api.check("sb_result_get_structure", s)?;
        let (width, height) = (o.mask_width as usize, o.mask_height as usize);
        let n = width.saturating_mul(height);
        let mask = if o.mask.is_null() || n == 0 {
            &[][..]
        } else {
            // SAFETY: the library documents `mask_width × mask_height` bytes owned by the
            // result, which outlives the borrow of `self`.
            unsafe { std::slice::from_raw_parts(o.mask, n) }
        };
        Ok(StructureView {
            bit: o.structure,
            width,
            height,
            mask,
            area_px: o.area_px,
            area_mm2: (o.area_mm2 >= 0.0).then_some(o.area_mm2),
            confidence: o.confidence,
        })
    }
}

impl FrameResult {
    /// `sb_result_get_measurements`; `None` when the frame was not segmented.
    pub fn measurements(&self) -> Result<Option<sb_measurements>> {
        // SAFETY: plain-old-data C struct; all-zero is a valid value of every field.
        let mut m: sb_measurements = unsafe { std::mem::zeroed() };
        m.struct_size = std::mem::size_of::<sb_measurements>() as u32;
        // SAFETY: a live result and a sized, writable struct.
        let s = unsafe { (self.api.lib.sb_result_get_measurements)(self.raw, &mut m) };
        if s == SB_NONE {
            return Ok(None);
        }
        self.api.check("sb_result_get_measurements", s)?;
        Ok(Some(m))
    }

    /// `sb_result_get_cycle`; `None` when this result completes no cycle.
    pub fn cycle(&self) -> Result<Option<sb_cycle>> {
        // SAFETY: plain-old-data C struct; all-zero is a valid value of every field.
        let mut c: sb_cycle = unsafe { std::mem::zeroed() };
        c.struct_size = std::mem::size_of::<sb_cycle>() as u32;
        // SAFETY: a live result and a sized, writable struct.
        let s = unsafe { (self.api.lib.sb_result_get_cycle)(self.raw, &mut c) };
        if s == SB_NONE {
            return Ok(None);
        }
        self.api.check("sb_result_get_cycle", s)?;
        Ok(Some(c))
    }
}

impl Drop for FrameResult {
    fn drop(&mut self) {
        // SAFETY: our result, freed once (the call sets it to NULL).
        let s = unsafe { (self.api.lib.sb_result_free)(&mut self.raw) };
        if let Err(e) = self.api.check("sb_result_free", s) {
            log::warn!("{e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A library without the header's entry points is refused at load, naming what is missing.
    #[test]
    fn a_library_without_the_entry_points_is_refused() {
        // libc is loaded in every process and has no `sb_*` symbols.
        let err = Api::load(Path::new("libc.so.6")).expect_err("libc is not libsynboost");
        match &err {
            AbiError::Symbol { message, .. } => assert!(message.contains("sb_"), "{err}"),
            other => panic!("expected a missing symbol, got {other}"),
        }
    }

    /// A file that is not a library fails to load with the loader's message.
    #[test]
    fn a_missing_library_is_a_load_error() {
        let err = Api::load(Path::new("/nonexistent/libsynboost.so")).expect_err("no such file");
        assert!(matches!(err, AbiError::Load { .. }), "{err}");
    }
}
