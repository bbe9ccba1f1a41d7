//! `synboost-sim`: simulated live echo streams for integrating `libsynboost.so` before touching a
//! scanner. The phantom generator, DICOM writer/replay and live driver arrive with their issues.
#![deny(missing_docs)]
