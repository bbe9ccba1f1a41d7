//! The subcommands of `synboost-sim`, one file each (`generate`, `dicom`, `replay`, `live`,
//! `soak`, `preview`): their options and what they do. What several share: the phantom's
//! options ([`phantom_args`]), the Ctrl-C flag ([`interrupt`]) and the progress bars
//! ([`progress`]).

pub mod dicom;
pub mod generate;
pub mod interrupt;
pub mod live;
pub mod phantom_args;
pub mod preview;
pub mod progress;
pub mod replay;
pub mod soak;
