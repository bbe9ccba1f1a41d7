//! `synboost-core`: everything a scanner needs to segment echocardiography frames from a text
//! prompt, without libtorch.
//!
//! - [`meta`]: scanner metadata ([`meta::ScanMeta`]) and the CAMUS `Info_*.cfg` parser.
//! - [`prompt`]: the seed's P0–P7 prompt templates, byte for byte, and graceful degradation.
//! - [`vocab`]: the closed word-level vocabulary and tokenizer the models consume.
//! - [`raster`]: owned 8-bit greyscale images and binary masks.
//! - [`frame`]: borrowed scanner frame buffers (GRAY8/16, RGB, BGRA, strides) and grey conversion.
//! - [`preprocess`]: frame → model input (ROI, stretch or letterbox, antialiased resampling).
//! - [`postprocess`]: logits → clean mask at frame resolution, with probability statistics.
//! - [`measure`]: areas, LV long axis and volumes, EF, ED/ES detection, stream measurements.
//! - [`model`]: the deployable student as data ([`model::spec::ModelSpec`]) and model bundles.
//! - [`engine`]: a bundle loaded into a runtime's graphs; `segment(frame, meta, structures)`.
//! - [`runtime`]: where the graphs run: tract (built in) or ONNX Runtime (loaded at run time).
//! - [`variant`]: which image graph (f32 or int8) runs, from the CPU and the manifest.
//! - [`stream`]: the real-time loop (bounded queue, drop policy, workers, in-order results).
#![deny(missing_docs)]

pub mod engine;
pub mod frame;
pub mod measure;
pub mod meta;
pub mod model;
pub mod panics;
pub mod postprocess;
pub mod preprocess;
pub mod prompt;
pub mod raster;
pub mod runtime;
pub mod stream;
pub mod structure;
pub mod threads;
pub mod variant;
pub mod vocab;

pub use meta::{ImageQuality, Phase, PixelSpacing, ScanMeta, Sex, View};
pub use prompt::{PromptAttrs, PromptKind, PromptScheme, Wording};
pub use raster::{GrayImage, Mask};
pub use structure::Structure;
pub use vocab::{Tokenizer, Vocab};
