//! `synboost-sim`: simulated live echo streams for integrating `libsynboost.so` before touching a
//! scanner. The phantom itself (and its datasets) is `synboost-phantom`.
//!
//! - [`dicom_write`]: US Multi-frame Image DICOM writer.
//! - [`replay`]: DICOM cines as timed frame streams.
//! - [`overlay`]: colour overlays of masks on frames, PNG contact sheets.
//! - [`live`]: real-time streams through `libsynboost.so` (dlopen, C ABI), scored and reported.
//! - [`soak`]: a fault-injected soak of `libsynboost.so`, checked and reported.
//! - [`error`]: the one error type of `live` and `soak`; [`progress`]: how they report
//!   progress to their caller.
#![deny(missing_docs)]

pub mod dicom_write;
pub mod error;
pub mod live;
pub mod overlay;
pub mod progress;
pub mod replay;
pub mod soak;
