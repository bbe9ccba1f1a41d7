//! The tract backend: ONNX parsed, optimised and made runnable once per graph; one frame's
//! matrix products on tract's own kernels, multithreaded through a named rayon pool when asked.

use super::{Input, RuntimeError};
use std::sync::Arc;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::tract_linalg::multithread::{Executor, multithread_tract_scope};

/// The tract release the workspace pins (`=0.23.9` in the workspace manifest).
pub(crate) const VERSION: &str = "0.23.9";

/// A runnable tract plan.
pub(crate) type Plan = Arc<TypedRunnableModel>;

/// tract with its executor (single-threaded, or a pool shared by engine clones).
#[derive(Clone)]
pub(crate) struct Tract {
    executor: Executor,
}

fn err(stage: &'static str) -> impl FnOnce(TractError) -> RuntimeError {
    move |e| RuntimeError::new(stage, format!("{e:#}"))
}

impl Tract {
    /// tract's executor for a thread count (already checked to be 1 to 64): single-threaded
    /// for 1, else a named pool with the host's stack size.
    pub(crate) fn new(threads: usize) -> Result<Self, RuntimeError> {
        if threads == 1 {
            return Ok(Self {
                executor: Executor::SingleThread,
            });
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("synboost-tract-{i}"))
            .stack_size(crate::threads::stack_size())
            .build()
            .map(|p| Self {
                executor: Executor::MultiThread(Arc::new(p)),
            })
            .map_err(|e| RuntimeError::new("starting the inference threads", e.to_string()))
    }

    /// Run a plan on the inputs (in the graph's order); its first output.
    pub(crate) fn run(
        &self,
        plan: &Plan,
        inputs: &[Input<'_>],
        stage: &'static str,
    ) -> Result<Tensor, RuntimeError> {
        let mut values = TVec::with_capacity(inputs.len());
        for i in inputs {
            let t = match *i {
                Input::U8(d, s) => Tensor::from_shape(s, d),
                Input::F32(d, s) => Tensor::from_shape(s, d),
                Input::I64(d, s) => Tensor::from_shape(s, d),
            }
            .map_err(err(stage))?;
            values.push(t.into_tvalue());
        }
        let mut out = match &self.executor {
            Executor::SingleThread => plan.run(values),
            ex => multithread_tract_scope(ex.clone(), || plan.run(values)),
        }
        .map_err(err(stage))?;
        if out.is_empty() {
            return Err(RuntimeError::new(stage, "the graph produced no output"));
        }
        Ok(out.remove(0).into_tensor())
    }
}

/// Parse, optimise and prepare an ONNX graph.
pub(crate) fn load(bytes: &[u8], stage: &'static str) -> Result<Plan, RuntimeError> {
    tract_onnx::onnx()
        .model_for_read(&mut std::io::Cursor::new(bytes))
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .map_err(err(stage))
}

/// A float32 output's elements.
pub(crate) fn as_f32(t: &Tensor) -> Result<&[f32], RuntimeError> {
    t.try_as_plain_ram()
        .and_then(|p| p.as_slice::<f32>())
        .map_err(err("reading the graph's output"))
}
