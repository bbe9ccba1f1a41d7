//! Where the ONNX graphs run: [`Backend::Tract`] (built in, pure Rust) or
//! [`Backend::OnnxRuntime`] (an installed `libonnxruntime`, loaded when an engine asks for it;
//! nothing is linked or downloaded at build time). Both take the same bundle files and give
//! the same outputs to the same pre- and postprocessing; the engine holds a [`Runtime`] and
//! its [`Graph`]s and never looks inside them.
//!
//! tract is the crate feature `tract` (on by default). A build without it has only the ONNX
//! Runtime backend, which is then the default, and asking for tract is a [`RuntimeError`].

mod onnxruntime;
#[cfg(feature = "tract")]
mod tract;

use std::path::PathBuf;

pub use onnxruntime::{ONNXRUNTIME_ENV, OnnxRuntimeInfo, loaded_onnxruntime};

/// Which inference runtime an engine uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// tract, compiled into the library (the default where the library is built with it).
    Tract,
    /// ONNX Runtime, loaded from an installed shared library at open time.
    OnnxRuntime {
        /// The library to load; `None`: the path in [`ONNXRUNTIME_ENV`] if set, else
        /// `libonnxruntime.so.1` / `libonnxruntime.so` from the loader's search path. One
        /// library serves the whole process: once one is loaded, asking for another path is
        /// an error.
        library: Option<PathBuf>,
    },
}

impl Default for Backend {
    /// tract where this build has it ([`Backend::TRACT_BUILT_IN`]), else ONNX Runtime from its
    /// default library path.
    fn default() -> Self {
        if Self::TRACT_BUILT_IN {
            Self::Tract
        } else {
            Self::OnnxRuntime { library: None }
        }
    }
}

impl Backend {
    /// Whether this build has the tract backend (the crate feature `tract`).
    pub const TRACT_BUILT_IN: bool = cfg!(feature = "tract");

    /// Short name: "tract" or "onnxruntime" (as recorded with measurements).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Tract => "tract",
            Self::OnnxRuntime { .. } => "onnxruntime",
        }
    }
}

/// A runtime failure: what was being done and the runtime's own message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{stage}: {message}")]
pub struct RuntimeError {
    /// What was being done.
    pub stage: &'static str,
    /// The runtime's message chain.
    pub message: String,
}

impl RuntimeError {
    pub(crate) fn new(stage: &'static str, message: impl Into<String>) -> Self {
        Self {
            stage,
            message: message.into(),
        }
    }
}

/// One input tensor, borrowed for a run: the data and its shape.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Input<'a> {
    /// uint8 elements.
    U8(&'a [u8], &'a [usize]),
    /// float32 elements.
    F32(&'a [f32], &'a [usize]),
    /// int64 elements.
    I64(&'a [i64], &'a [usize]),
}

impl Input<'_> {
    fn shape(&self) -> &[usize] {
        match self {
            Self::U8(_, s) | Self::F32(_, s) | Self::I64(_, s) => s,
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::U8(d, _) => d.len(),
            Self::F32(d, _) => d.len(),
            Self::I64(d, _) => d.len(),
        }
    }

    /// The data has exactly as many elements as the shape says.
    fn check(&self, stage: &'static str) -> Result<(), RuntimeError> {
        let n: usize = self.shape().iter().product();
        if n == self.len() {
            Ok(())
        } else {
            Err(RuntimeError::new(
                stage,
                format!("{} elements for shape {:?}", self.len(), self.shape()),
            ))
        }
    }
}

/// A runtime ready to load graphs: tract with its thread pool, or the loaded ONNX Runtime with
/// its thread count. Cheap to clone (shared).
#[derive(Clone)]
pub(crate) enum Runtime {
    #[cfg(feature = "tract")]
    Tract(tract::Tract),
    OnnxRuntime(onnxruntime::Ort),
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// A graph loaded into a [`Runtime`]; shared by engine clones (both runtimes may run one graph
/// from several threads at once).
#[derive(Clone)]
pub(crate) enum Graph {
    #[cfg(feature = "tract")]
    Tract(tract::Plan),
    OnnxRuntime(std::sync::Arc<onnxruntime::Session>),
}

/// The first output of a run, held where the runtime put it.
pub(crate) enum Output {
    #[cfg(feature = "tract")]
    Tract(::tract_onnx::prelude::Tensor),
    OnnxRuntime(onnxruntime::Value),
}

impl Output {
    /// The output as float32 elements.
    pub(crate) fn as_f32(&self) -> Result<&[f32], RuntimeError> {
        match self {
            #[cfg(feature = "tract")]
            Self::Tract(t) => tract::as_f32(t),
            Self::OnnxRuntime(v) => v.as_f32(),
        }
    }
}

impl Runtime {
    /// The runtime for `backend` with `threads` threads per run (1 to 64).
    pub(crate) fn new(backend: &Backend, threads: usize) -> Result<Self, RuntimeError> {
        if !(1..=64).contains(&threads) {
            return Err(RuntimeError::new(
                "starting the runtime",
                format!("engine threads {threads}: give 1 to 64"),
            ));
        }
        Ok(match backend {
            #[cfg(feature = "tract")]
            Backend::Tract => Self::Tract(tract::Tract::new(threads)?),
            #[cfg(not(feature = "tract"))]
            Backend::Tract => {
                return Err(RuntimeError::new(
                    "starting the runtime",
                    "this build of synboost has no tract backend (built without the feature \
                     `tract`): use the ONNX Runtime backend",
                ));
            }
            Backend::OnnxRuntime { library } => {
                Self::OnnxRuntime(onnxruntime::Ort::new(library.as_deref(), threads)?)
            }
        })
    }

    /// Which backend this is.
    pub(crate) fn backend_name(&self) -> &'static str {
        match self {
            #[cfg(feature = "tract")]
            Self::Tract(_) => "tract",
            Self::OnnxRuntime(_) => "onnxruntime",
        }
    }

    /// Runtime and version, e.g. "tract 0.23.9" or "onnxruntime 1.32.0 (/usr/lib/…)".
    pub(crate) fn describe(&self) -> String {
        match self {
            #[cfg(feature = "tract")]
            Self::Tract(_) => format!("tract {}", tract::VERSION),
            Self::OnnxRuntime(o) => {
                let i = o.info();
                format!("onnxruntime {} ({})", i.version, i.library)
            }
        }
    }

    /// Load an ONNX graph.
    pub(crate) fn load(&self, onnx: &[u8], stage: &'static str) -> Result<Graph, RuntimeError> {
        match self {
            #[cfg(feature = "tract")]
            Self::Tract(_) => tract::load(onnx, stage).map(Graph::Tract),
            Self::OnnxRuntime(o) => o.load(onnx, stage).map(|s| Graph::OnnxRuntime(s.into())),
        }
    }

    /// Run `graph` (loaded by this runtime) on `inputs`, in the graph's input order.
    pub(crate) fn run(
        &self,
        graph: &Graph,
        inputs: &[Input<'_>],
        stage: &'static str,
    ) -> Result<Output, RuntimeError> {
        for i in inputs {
            i.check(stage)?;
        }
        match (self, graph) {
            #[cfg(feature = "tract")]
            (Self::Tract(t), Graph::Tract(p)) => t.run(p, inputs, stage).map(Output::Tract),
            (Self::OnnxRuntime(_), Graph::OnnxRuntime(s)) => {
                s.run(inputs, stage).map(Output::OnnxRuntime)
            }
            #[allow(unreachable_patterns)] // one runtime only, without tract
            _ => Err(RuntimeError::new(
                stage,
                "the graph was loaded by another runtime",
            )),
        }
    }
}
