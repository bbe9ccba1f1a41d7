//! `synboost-sim`: simulated live echo streams for integrating `libsynboost.so` before touching a
//! scanner, and a second source of synthetic training data.
//!
//! - [`phantom`]: physically grounded phantom echo generator with exact ground truth.
//! - [`export`]: phantom datasets in the seed layout, with P0–P7 prompts.
//! - [`dicom_write`]: US Multi-frame Image DICOM writer.
//! - [`replay`]: DICOM cines as timed frame streams.
//! - [`overlay`]: colour overlays of masks on frames, PNG contact sheets.
//! - [`live`]: real-time streams through `libsynboost.so` (dlopen, C ABI), scored and reported.
#![deny(missing_docs)]

pub mod dicom_write;
pub mod export;
pub mod live;
pub mod overlay;
pub mod phantom;
pub mod replay;
pub mod soak;
