//! The training data pipeline: (image, structure) pairs → prompted, tokenised, batched tensors.
//!
//! An epoch is every (sample, structure) pair of a [`SampleSource`] ([`epoch_items`]),
//! shuffled deterministically by `(seed, epoch)`. Each pair gets a prompt kind ([`PromptMode`])
//! and a wording ([`WordingMode`]) from a random stream keyed by `(seed, epoch, pair index)`, so
//! batches depend on nothing else: not on the number of loader threads, not on timing. A kind
//! the pair's metadata cannot support degrades to [`PromptKind::richest`].
//!
//! Images of another size than [`PipelineConfig::input`] are resized with core's
//! [`Preprocessor`] (stretch, antialiased), masks by core's nearest-neighbour rule
//! ([`synboost_core::raster::resize_nearest`], pixel-centre aligned). With
//! [`PipelineConfig::augment`], each pair gets a small random affine transform (scale, shift,
//! rotation; the same geometry for image and mask) and a gamma change of the image
//! ([`Augment`]).
//!
//! A [`Loader`] produces one epoch's [`Batch`]es on background threads through bounded
//! channels, so decoding overlaps training; dropping it stops the threads. A [`Mix`] combines
//! sources (e.g. CAMUS and phantoms) by weight into one source, a [`Take`] keeps the first
//! samples of one. A [`DataSpec`] names a dataset as the command line does and knows where its
//! samples come from.
//!
//! | file | holds |
//! |---|---|
//! | `prompt_mode.rs` | [`PromptMode`], [`WordingMode`] |
//! | `config.rs` | [`PipelineConfig`] |
//! | `item.rs` | [`Item`], [`epoch_items`] |
//! | `random.rs` | the keyed random streams |
//! | `augment.rs` | [`Augment`] |
//! | `resize.rs` | [`resize_gray`] |
//! | `batch.rs` | [`Batch`] and how one is assembled |
//! | `loader.rs` | [`Loader`] and its threads |
//! | `mix.rs`, `take.rs` | [`Mix`], [`Take`] |
//! | `spec.rs` | [`DataSpec`] |
//!
//! [`SampleSource`]: synboost_data::SampleSource
//! [`PromptKind::richest`]: synboost_core::prompt::PromptKind::richest
//! [`Preprocessor`]: synboost_core::preprocess::Preprocessor

mod augment;
mod batch;
mod config;
mod item;
mod loader;
mod mix;
mod prompt_mode;
mod random;
mod resize;
mod spec;
mod take;

pub use augment::Augment;
pub use batch::Batch;
pub use config::PipelineConfig;
pub use item::{Item, epoch_items};
pub use loader::Loader;
pub use mix::Mix;
pub use prompt_mode::{PromptMode, WordingMode};
pub use resize::resize_gray;
pub use spec::{DataSpec, DataSpecError};
pub use take::Take;

use synboost_core::preprocess::PreprocessError;
use synboost_core::prompt::PromptError;
use synboost_core::vocab::VocabError;
use synboost_data::DataError;

/// Errors of the pipeline.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A sample could not be loaded.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A prompt could not be built.
    #[error("prompt: {0}")]
    Prompt(#[from] PromptError),
    /// A prompt could not be tokenised (longer than the tokenizer's length).
    #[error("tokens: {0}")]
    Vocab(#[from] VocabError),
    /// An image could not be resized.
    #[error("resize: {0}")]
    Preprocess(#[from] PreprocessError),
    /// libtorch refused to build a tensor.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// The configuration cannot work (what is wrong is said).
    #[error("pipeline configuration: {0}")]
    Config(String),
    /// A loader thread could not be started.
    #[error("starting a loader thread: {0}")]
    Thread(std::io::Error),
    /// A loader thread ended without delivering its batches (it panicked).
    #[error("a loader thread stopped unexpectedly")]
    Disconnected,
}

#[cfg(test)]
mod tests;
