//! The ONNX Runtime backend: an installed `libonnxruntime` (1.17 or newer; e.g. the one in
//! the `onnxruntime` PyPI wheel, a distribution package, or a vendor's own build) opened with
//! `dlopen` the first time an engine asks for it, and used through its C API table
//! (`OrtGetApiBase()->GetApi(17)`, the struct layout from `ort-sys`). Nothing is linked or
//! downloaded at build time, and a library without ONNX Runtime installed works as before.
//!
//! One library and one `OrtEnv` serve the whole process and are never unloaded (ONNX Runtime
//! is not meant to be unloaded and reloaded). Its log goes to the `log` crate (target
//! `onnxruntime`). Sessions run with the engine's thread count (intra-op), one inter-op
//! thread, all graph optimisations.

use super::{Input, RuntimeError};
use ort_sys as sys;
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::ptr::{null, null_mut};
use std::sync::{Mutex, PoisonError};

/// Environment variable naming the `libonnxruntime` to load when the engine options give none.
pub const ONNXRUNTIME_ENV: &str = "SYNBOOST_ONNXRUNTIME";

/// The C API version asked of the library: that of ONNX Runtime 1.17, the oldest release whose
/// API table has everything used here.
const API_VERSION: u32 = sys::ORT_API_VERSION;

/// Names tried, in order, when neither the options nor [`ONNXRUNTIME_ENV`] give a path.
const DEFAULT_NAMES: [&str; 2] = ["libonnxruntime.so.1", "libonnxruntime.so"];

const STAGE_LOAD: &str = "loading ONNX Runtime";

/// The ONNX Runtime a process has loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnnxRuntimeInfo {
    /// The library as it was opened (a path, or a name the loader resolved).
    pub library: String,
    /// Its version string, e.g. "1.32.0".
    pub version: String,
}

/// The loaded library: its API table, one environment and a CPU memory description, for the
/// process's lifetime.
struct Loaded {
    api: &'static sys::OrtApi,
    env: *mut sys::OrtEnv,
    mem: *mut sys::OrtMemoryInfo,
    info: OnnxRuntimeInfo,
    /// What [`Ort::new`] compares later requests with (the canonical path when one was given).
    key: PathBuf,
}

// SAFETY: the API table is immutable; ONNX Runtime documents `OrtEnv` as shared by sessions
// created and run on any thread, and the CPU `OrtMemoryInfo` is only read (passed to tensor
// creation). Neither is ever released.
unsafe impl Send for Loaded {}
// SAFETY: as above; nothing here is mutated after loading.
unsafe impl Sync for Loaded {}

/// The process's ONNX Runtime, once loaded. The mutex serialises loading (and `dlerror`).
static LOADED: Mutex<Option<&'static Loaded>> = Mutex::new(None);

/// The ONNX Runtime this process has loaded, if an engine loaded one.
pub fn loaded_onnxruntime() -> Option<OnnxRuntimeInfo> {
    let slot = LOADED.lock().unwrap_or_else(PoisonError::into_inner);
    slot.map(|l| l.info.clone())
}

/// ONNX Runtime with an engine's thread count.
#[derive(Clone)]
pub(crate) struct Ort {
    lib: &'static Loaded,
    threads: usize,
}

/// The path a request names, made comparable: canonical when it names an existing file.
fn key_of(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

impl Ort {
    /// The process's ONNX Runtime (loading `library`, or the default, the first time).
    pub(crate) fn new(library: Option<&Path>, threads: usize) -> Result<Self, RuntimeError> {
        let wanted: Option<PathBuf> = match library {
            Some(p) => Some(p.to_path_buf()),
            None => std::env::var_os(ONNXRUNTIME_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
        };
        let mut slot = LOADED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(lib) = *slot {
            if let Some(w) = &wanted
                && key_of(w) != lib.key
            {
                return Err(RuntimeError::new(
                    STAGE_LOAD,
                    format!(
                        "{} was asked for, but this process already runs ONNX Runtime {} from {} \
                         (one library per process)",
                        w.display(),
                        lib.info.version,
                        lib.info.library
                    ),
                ));
            }
            return Ok(Self { lib, threads });
        }
        let loaded = load(wanted.as_deref())?;
        let lib: &'static Loaded = Box::leak(Box::new(loaded));
        *slot = Some(lib);
        log::info!(
            "ONNX Runtime {} loaded from {}",
            lib.info.version,
            lib.info.library
        );
        Ok(Self { lib, threads })
    }

    /// What was loaded.
    pub(crate) fn info(&self) -> &OnnxRuntimeInfo {
        &self.lib.info
    }

    /// A session over an ONNX graph.
    pub(crate) fn load(&self, onnx: &[u8], stage: &'static str) -> Result<Session, RuntimeError> {
        Session::new(self.lib, onnx, self.threads, stage)
    }
}

/// Turn a status into a result, releasing it.
fn check(api: &sys::OrtApi, s: sys::OrtStatusPtr, stage: &'static str) -> Result<(), RuntimeError> {
    if s.0.is_null() {
        return Ok(());
    }
    // SAFETY: a non-null status from this API; its message is NUL-terminated and lives until
    // the status is released, after the copy.
    let msg = unsafe {
        let m = (api.GetErrorMessage)(s.0);
        let text = if m.is_null() {
            "ONNX Runtime gave no message".to_string()
        } else {
            CStr::from_ptr(m).to_string_lossy().into_owned()
        };
        (api.ReleaseStatus)(s.0);
        text
    };
    Err(RuntimeError::new(stage, msg))
}

/// The loader's last error message.
fn dlerror() -> String {
    // SAFETY: dlerror returns NULL or a NUL-terminated string valid until the next dl* call on
    // this thread; it is copied at once (loading is serialised by `LOADED`).
    unsafe {
        let e = libc::dlerror();
        if e.is_null() {
            "unknown dlopen error".into()
        } else {
            CStr::from_ptr(e).to_string_lossy().into_owned()
        }
    }
}

/// Open the library: the path asked for, or the default names in turn.
fn load(wanted: Option<&Path>) -> Result<Loaded, RuntimeError> {
    let candidates: Vec<PathBuf> = match wanted {
        Some(p) => vec![p.to_path_buf()],
        None => DEFAULT_NAMES.iter().map(PathBuf::from).collect(),
    };
    let mut failures = Vec::new();
    for c in &candidates {
        let Ok(cpath) = CString::new(c.as_os_str().as_bytes()) else {
            failures.push(format!("{}: the path has a NUL byte", c.display()));
            continue;
        };
        // SAFETY: a NUL-terminated path. dlopen runs the library's initialisers, which is what
        // loading ONNX Runtime means; the handle is kept for the process's lifetime.
        let handle = unsafe { libc::dlopen(cpath.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if handle.is_null() {
            failures.push(dlerror());
            continue;
        }
        return init(handle, c);
    }
    Err(RuntimeError::new(
        STAGE_LOAD,
        format!(
            "{} (install ONNX Runtime 1.17 or newer, or give its library's path in the engine \
             options or {ONNXRUNTIME_ENV})",
            failures.join("; ")
        ),
    ))
}

/// ONNX Runtime's log, into `log`.
///
/// # Safety
/// Called by ONNX Runtime with NULL or NUL-terminated strings valid for the call.
unsafe extern "system" fn log_message(
    _param: *mut c_void,
    severity: sys::OrtLoggingLevel,
    _category: *const c_char,
    _logid: *const c_char,
    _location: *const c_char,
    message: *const c_char,
) {
    // Never unwind into C++.
    let _ = std::panic::catch_unwind(|| {
        if message.is_null() {
            return;
        }
        // SAFETY: NUL-terminated per ONNX Runtime's contract, valid for this call.
        let m = unsafe { CStr::from_ptr(message) }.to_string_lossy();
        use sys::OrtLoggingLevel as L;
        match severity {
            L::ORT_LOGGING_LEVEL_ERROR | L::ORT_LOGGING_LEVEL_FATAL => {
                log::error!(target: "onnxruntime", "{m}")
            }
            L::ORT_LOGGING_LEVEL_WARNING => log::warn!(target: "onnxruntime", "{m}"),
            _ => log::debug!(target: "onnxruntime", "{m}"),
        }
    });
}

/// The API table, an environment and the CPU memory description of an opened library.
fn init(handle: *mut c_void, path: &Path) -> Result<Loaded, RuntimeError> {
    let library = path.display().to_string();
    // SAFETY: a live handle and a NUL-terminated symbol name.
    let sym = unsafe { libc::dlsym(handle, c"OrtGetApiBase".as_ptr()) };
    if sym.is_null() {
        return Err(RuntimeError::new(
            STAGE_LOAD,
            format!("{library} does not export OrtGetApiBase: it is not ONNX Runtime"),
        ));
    }
    // SAFETY: ONNX Runtime's `const OrtApiBase* OrtGetApiBase(void)`, ORT_API_CALL (the
    // platform's "system" convention).
    let get_base: unsafe extern "system" fn() -> *const sys::OrtApiBase =
        unsafe { std::mem::transmute::<*mut c_void, _>(sym) };
    // SAFETY: takes nothing; returns a pointer to a static struct (or NULL).
    let base = unsafe { get_base() };
    if base.is_null() {
        return Err(RuntimeError::new(
            STAGE_LOAD,
            format!("{library}: OrtGetApiBase gave NULL"),
        ));
    }
    // SAFETY: non-null, static for the library's lifetime (never unloaded).
    let base: &'static sys::OrtApiBase = unsafe { &*base };
    // SAFETY: returns a static NUL-terminated string.
    let version = unsafe {
        let v = (base.GetVersionString)();
        if v.is_null() {
            String::from("unknown")
        } else {
            CStr::from_ptr(v).to_string_lossy().into_owned()
        }
    };
    // SAFETY: returns NULL (version not offered) or the static API table of that version,
    // whose layout is the prefix `ort-sys` describes for API 17.
    let api = unsafe { (base.GetApi)(API_VERSION) };
    if api.is_null() {
        return Err(RuntimeError::new(
            STAGE_LOAD,
            format!(
                "{library} is ONNX Runtime {version}, which does not offer C API version \
                 {API_VERSION} (1.{API_VERSION} or newer is needed)"
            ),
        ));
    }
    // SAFETY: non-null and static, as above.
    let api: &'static sys::OrtApi = unsafe { &*api };
    let mut env = null_mut();
    // SAFETY: a valid logging function with a NULL parameter, a static log id, an out pointer.
    let s = unsafe {
        (api.CreateEnvWithCustomLogger)(
            log_message,
            null_mut(),
            sys::OrtLoggingLevel::ORT_LOGGING_LEVEL_WARNING,
            c"synboost".as_ptr(),
            &mut env,
        )
    };
    check(api, s, STAGE_LOAD)?;
    let mut mem = null_mut();
    // SAFETY: plain enum arguments and an out pointer.
    let s = unsafe {
        (api.CreateCpuMemoryInfo)(
            sys::OrtAllocatorType::OrtArenaAllocator,
            sys::OrtMemType::OrtMemTypeDefault,
            &mut mem,
        )
    };
    check(api, s, STAGE_LOAD)?;
    if env.is_null() || mem.is_null() {
        return Err(RuntimeError::new(
            STAGE_LOAD,
            format!("{library}: ONNX Runtime gave a NULL environment"),
        ));
    }
    Ok(Loaded {
        api,
        env,
        mem,
        info: OnnxRuntimeInfo { library, version },
        key: key_of(path),
    })
}

/// An ONNX Runtime object released by its `Release*` function when dropped.
struct Owned<T> {
    ptr: *mut T,
    release: unsafe extern "system" fn(*mut T),
}

impl<T> Owned<T> {
    fn new(ptr: *mut T, release: unsafe extern "system" fn(*mut T)) -> Self {
        Self { ptr, release }
    }
}

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY: an object of this API, owned here and released once.
            unsafe { (self.release)(self.ptr) }
        }
    }
}

/// A session: one ONNX graph prepared by ONNX Runtime, with its input and output names.
pub(crate) struct Session {
    lib: &'static Loaded,
    ptr: *mut sys::OrtSession,
    inputs: Vec<CString>,
    outputs: Vec<CString>,
}

// SAFETY: ONNX Runtime documents `Run` on one session as safe from several threads at once;
// the names are only read after creation and the session is released once, on drop.
unsafe impl Send for Session {}
// SAFETY: as above.
unsafe impl Sync for Session {}

impl Drop for Session {
    fn drop(&mut self) {
        // SAFETY: created by this API, released once.
        unsafe { (self.lib.api.ReleaseSession)(self.ptr) }
    }
}

impl Session {
    fn new(
        lib: &'static Loaded,
        onnx: &[u8],
        threads: usize,
        stage: &'static str,
    ) -> Result<Self, RuntimeError> {
        let api = lib.api;
        let threads =
            c_int::try_from(threads).map_err(|_| RuntimeError::new(stage, "too many threads"))?;
        let mut opts = null_mut();
        // SAFETY: an out pointer.
        check(api, unsafe { (api.CreateSessionOptions)(&mut opts) }, stage)?;
        let opts = Owned::new(opts, api.ReleaseSessionOptions);
        // SAFETY: live options and plain values.
        unsafe {
            check(api, (api.SetIntraOpNumThreads)(opts.ptr, threads), stage)?;
            check(api, (api.SetInterOpNumThreads)(opts.ptr, 1), stage)?;
            check(
                api,
                (api.SetSessionGraphOptimizationLevel)(
                    opts.ptr,
                    sys::GraphOptimizationLevel::ORT_ENABLE_ALL,
                ),
                stage,
            )?;
        }
        let mut ptr = null_mut();
        // SAFETY: the environment is live; `onnx` is readable for its length during the call
        // (ONNX Runtime copies what it keeps); the options are live; an out pointer.
        let s = unsafe {
            (api.CreateSessionFromArray)(
                lib.env,
                onnx.as_ptr().cast(),
                onnx.len(),
                opts.ptr,
                &mut ptr,
            )
        };
        check(api, s, stage)?;
        if ptr.is_null() {
            return Err(RuntimeError::new(stage, "ONNX Runtime gave a NULL session"));
        }
        let mut session = Self {
            lib,
            ptr,
            inputs: Vec::new(),
            outputs: Vec::new(),
        };
        session.inputs = session.names(false, stage)?;
        session.outputs = session.names(true, stage)?;
        if session.outputs.is_empty() {
            return Err(RuntimeError::new(stage, "the graph has no output"));
        }
        Ok(session)
    }

    /// The session's input (or output) names, in order.
    fn names(&self, outputs: bool, stage: &'static str) -> Result<Vec<CString>, RuntimeError> {
        let api = self.lib.api;
        let mut alloc = null_mut();
        // SAFETY: an out pointer; the default allocator is static.
        check(
            api,
            unsafe { (api.GetAllocatorWithDefaultOptions)(&mut alloc) },
            stage,
        )?;
        let mut n = 0usize;
        // SAFETY: a live session and an out pointer.
        let s = unsafe {
            if outputs {
                (api.SessionGetOutputCount)(self.ptr, &mut n)
            } else {
                (api.SessionGetInputCount)(self.ptr, &mut n)
            }
        };
        check(api, s, stage)?;
        let mut names = Vec::with_capacity(n.min(64));
        for i in 0..n {
            let mut p: *mut c_char = null_mut();
            // SAFETY: a live session, an index below the count, the default allocator and an
            // out pointer; the name is copied, then freed with the allocator that made it.
            unsafe {
                let s = if outputs {
                    (api.SessionGetOutputName)(self.ptr, i, alloc, &mut p)
                } else {
                    (api.SessionGetInputName)(self.ptr, i, alloc, &mut p)
                };
                check(api, s, stage)?;
                if p.is_null() {
                    return Err(RuntimeError::new(stage, "ONNX Runtime gave a NULL name"));
                }
                names.push(CStr::from_ptr(p).to_owned());
                check(api, (api.AllocatorFree)(alloc, p.cast()), stage)?;
            }
        }
        Ok(names)
    }

    /// Run on `inputs` (the graph's inputs in order); the first output.
    pub(crate) fn run(
        &self,
        inputs: &[Input<'_>],
        stage: &'static str,
    ) -> Result<Value, RuntimeError> {
        let api = self.lib.api;
        if inputs.len() != self.inputs.len() {
            return Err(RuntimeError::new(
                stage,
                format!(
                    "{} inputs given, the graph takes {}",
                    inputs.len(),
                    self.inputs.len()
                ),
            ));
        }
        use sys::ONNXTensorElementDataType as T;
        let mut values = Vec::with_capacity(inputs.len());
        for i in inputs {
            let (data, bytes, ty) = match *i {
                Input::U8(d, _) => (
                    d.as_ptr().cast::<c_void>(),
                    d.len(),
                    T::ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8,
                ),
                Input::F32(d, _) => (
                    d.as_ptr().cast::<c_void>(),
                    std::mem::size_of_val(d),
                    T::ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT,
                ),
                Input::I64(d, _) => (
                    d.as_ptr().cast::<c_void>(),
                    std::mem::size_of_val(d),
                    T::ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64,
                ),
            };
            let shape = i
                .shape()
                .iter()
                .map(|&d| i64::try_from(d))
                .collect::<Result<Vec<i64>, _>>()
                .map_err(|_| RuntimeError::new(stage, "a dimension does not fit int64"))?;
            let mut v = null_mut();
            // SAFETY: `data` is `bytes` readable bytes that outlive the value (released before
            // this function returns); ONNX Runtime does not write input tensors, so handing it
            // a mutable pointer to shared data is sound. The shape is read during the call.
            let s = unsafe {
                (api.CreateTensorWithDataAsOrtValue)(
                    self.lib.mem,
                    data.cast_mut(),
                    bytes,
                    shape.as_ptr(),
                    shape.len(),
                    ty,
                    &mut v,
                )
            };
            check(api, s, stage)?;
            values.push(Owned::new(v, api.ReleaseValue));
        }
        let names: Vec<*const c_char> = self.inputs.iter().map(|n| n.as_ptr()).collect();
        let ins: Vec<*const sys::OrtValue> = values.iter().map(|v| v.ptr.cast_const()).collect();
        let out_names = [self.outputs[0].as_ptr()];
        let mut out: *mut sys::OrtValue = null_mut();
        // SAFETY: a live session; names and values are arrays of `ins.len()` live entries; one
        // output name and one out slot (NULL: ONNX Runtime allocates the output).
        let s = unsafe {
            (api.Run)(
                self.ptr,
                null(),
                names.as_ptr(),
                ins.as_ptr(),
                ins.len(),
                out_names.as_ptr(),
                1,
                &mut out,
            )
        };
        check(api, s, stage)?;
        if out.is_null() {
            return Err(RuntimeError::new(stage, "ONNX Runtime gave no output"));
        }
        Ok(Value {
            owned: Owned::new(out, api.ReleaseValue),
            api,
        })
    }
}

/// An output tensor ONNX Runtime allocated; released on drop.
pub(crate) struct Value {
    owned: Owned<sys::OrtValue>,
    api: &'static sys::OrtApi,
}

impl Value {
    /// Its float32 elements (an error for another element type).
    pub(crate) fn as_f32(&self) -> Result<&[f32], RuntimeError> {
        const STAGE: &str = "reading the graph's output";
        let api = self.api;
        let mut info = null_mut();
        // SAFETY: a live value and an out pointer.
        check(
            api,
            unsafe { (api.GetTensorTypeAndShape)(self.owned.ptr, &mut info) },
            STAGE,
        )?;
        let info = Owned::new(info, api.ReleaseTensorTypeAndShapeInfo);
        let mut ty = sys::ONNXTensorElementDataType::ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
        let mut n = 0usize;
        let mut data: *mut c_void = null_mut();
        // SAFETY: live objects and out pointers.
        unsafe {
            check(api, (api.GetTensorElementType)(info.ptr, &mut ty), STAGE)?;
            check(
                api,
                (api.GetTensorShapeElementCount)(info.ptr, &mut n),
                STAGE,
            )?;
            check(
                api,
                (api.GetTensorMutableData)(self.owned.ptr, &mut data),
                STAGE,
            )?;
        }
        if ty != sys::ONNXTensorElementDataType::ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT {
            return Err(RuntimeError::new(
                STAGE,
                format!("the output is {ty:?}, not float"),
            ));
        }
        if n == 0 {
            return Ok(&[]);
        }
        if data.is_null() {
            return Err(RuntimeError::new(STAGE, "the output has no data"));
        }
        // SAFETY: ONNX Runtime owns `n` float32 elements at `data` (aligned by its allocator)
        // for the value's lifetime, which the returned slice borrows.
        Ok(unsafe { std::slice::from_raw_parts(data.cast::<f32>(), n) })
    }
}
