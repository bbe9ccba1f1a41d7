//! How a live run is set up: its options, and the queue policy and model variant as the C ABI
//! numbers them.

use crate::live::abi::sys::{SB_BACKEND_ONNXRUNTIME, SB_BACKEND_TRACT};
use crate::live::abi::sys::{SB_POLICY_BLOCK, SB_POLICY_DROP_OLDEST, SB_POLICY_REJECT};
use crate::live::abi::sys::{SB_VARIANT_AUTO, SB_VARIANT_F32, SB_VARIANT_INT8, SB_VARIANT_TIMED};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// What a full queue does with a new frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Policy {
    /// Drop the oldest queued frame (live scanning).
    #[default]
    DropOldest,
    /// Refuse the new frame.
    Reject,
    /// Wait for room.
    Block,
}

impl Policy {
    /// The `SB_POLICY_*` value.
    pub(crate) fn c_value(self) -> u32 {
        match self {
            Policy::DropOldest => SB_POLICY_DROP_OLDEST,
            Policy::Reject => SB_POLICY_REJECT,
            Policy::Block => SB_POLICY_BLOCK,
        }
    }

    /// The name on the command line and in the report.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Policy::DropOldest => "drop-oldest",
            Policy::Reject => "reject",
            Policy::Block => "block",
        }
    }
}

/// Which image model the engine runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Variant {
    /// Chosen by the library from the CPU and the bundle's measurements (deterministic).
    #[default]
    Auto,
    /// The faster of float32 and int8, timed at load.
    Timed,
    /// Float32.
    F32,
    /// Int8.
    Int8,
}

impl Variant {
    /// The `SB_VARIANT_*` value.
    pub(crate) fn c_value(self) -> u32 {
        match self {
            Variant::Auto => SB_VARIANT_AUTO,
            Variant::Timed => SB_VARIANT_TIMED,
            Variant::F32 => SB_VARIANT_F32,
            Variant::Int8 => SB_VARIANT_INT8,
        }
    }

    /// The name on the command line and in the report.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Variant::Auto => "auto",
            Variant::Timed => "timed",
            Variant::F32 => "f32",
            Variant::Int8 => "int8",
        }
    }
}

/// Which inference runtime the library runs the model on (`sb_engine_options.backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Backend {
    /// tract, built into the library.
    #[default]
    Tract,
    /// ONNX Runtime, loaded by the library from an installed libonnxruntime.
    Onnxruntime,
}

impl Backend {
    /// The `SB_BACKEND_*` value.
    pub(crate) fn c_value(self) -> u32 {
        match self {
            Backend::Tract => SB_BACKEND_TRACT,
            Backend::Onnxruntime => SB_BACKEND_ONNXRUNTIME,
        }
    }

    /// The name on the command line and in the report.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Backend::Tract => "tract",
            Backend::Onnxruntime => "onnxruntime",
        }
    }
}

/// The name of the variant an engine runs (`sb_engine_info.variant`): `int8` or `f32`.
pub(crate) fn variant_label(variant: u32) -> &'static str {
    if variant == SB_VARIANT_INT8 {
        "int8"
    } else {
        "f32"
    }
}

/// How a live run is set up (the frames are prepared by the caller: [`super::source`]).
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// The library file ([`super::locate_library`]).
    pub lib: PathBuf,
    /// The model bundle ([`super::locate_bundle`]).
    pub bundle: PathBuf,
    /// Length of the stream, seconds.
    pub seconds: f64,
    /// Worker threads.
    pub workers: u32,
    /// Threads of each worker's matrix kernels (`sb_engine_options.threads`).
    pub threads: u32,
    /// Queue capacity.
    pub queue: u32,
    /// Queue policy.
    pub policy: Policy,
    /// Image-model variant.
    pub variant: Variant,
    /// Inference runtime.
    pub backend: Backend,
    /// With [`Backend::Onnxruntime`]: the libonnxruntime to load (`None`: the library's
    /// default, `SYNBOOST_ONNXRUNTIME` or the loader's path).
    pub onnxruntime: Option<PathBuf>,
    /// Output folder (created).
    pub out: PathBuf,
    /// Frames per second of the animation (sampling and playback).
    pub gif_fps: f64,
    /// Most frames in the animation (the latest are kept).
    pub gif_max_frames: usize,
    /// Largest side of the animation, pixels (frames are downscaled by an integer factor).
    pub gif_max_side: usize,
    /// Draw the phantom's truth outlines (dimmed) under the predictions.
    pub gif_truth: bool,
    /// Send every Nth frame twice, with the same timestamp (a scanner's retry); 0: never.
    pub resend_every: u64,
    /// Set from elsewhere (the binary's Ctrl-C handler) to end the stream early: pushing stops,
    /// the queued frames are drained, and the report (marked `interrupted`) is written.
    pub interrupt: Option<Arc<AtomicBool>>,
}

impl LiveOptions {
    /// Whether the interrupt flag has been set.
    pub(crate) fn interrupted(&self) -> bool {
        self.interrupt
            .as_ref()
            .is_some_and(|i| i.load(std::sync::atomic::Ordering::Relaxed))
    }
}
