//! The subcommands of `synboost-train`: each file holds a subcommand's arguments and what it
//! does with the library; the work itself (training, evaluation, export) is the library's.
//!
//! | file | subcommands |
//! |---|---|
//! | `fit.rs` | `fit` |
//! | `eval.rs` | `eval` |
//! | `compare.rs` | `compare` |
//! | `export.rs` | `export` |
//! | `models.rs` | `models` |
//! | `requantize.rs` | `requantize` |
//! | `sdm.rs` | `sdm-train`, `sdm-sample`, `sdm-bench`, `experiment` |
//! | `score.rs` | `rescore`, `fingerprint` |
//! | `reseal.rs` | `reseal` |
//! | `common.rs` | flags and helpers the subcommands share |
//! | `progress.rs` | the progress bars (the one helper that builds them) |

pub mod common;
pub mod compare;
pub mod eval;
pub mod export;
pub mod fit;
pub mod models;
pub mod progress;
pub mod requantize;
pub mod reseal;
pub mod score;
pub mod sdm;
