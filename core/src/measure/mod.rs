//! Clinical measurements: areas, the LV long axis, volumes (single-plane area–length, Simpson's
//! method of discs single-plane and biplane), the ejection fraction, and ED/ES detection from
//! the LV area curve without ECG.
//!
//! - [`geometry`]: a cavity's area, long axis and disc diameters from its mask, in mm when the
//!   pixel spacing is known and in pixels (flagged) otherwise.
//! - [`volume`]: the volume formulas and the ejection fraction.
//! - [`cycle`]: the online ED/ES detector.
//! - [`agreement`]: correlation, bias and spread of measured against reference values.
//! - [`tracker`]: per-frame and per-cycle measurements over a stream (what
//!   [`crate::stream::Stream`] attaches to its results).

pub mod agreement;
pub mod cycle;
pub mod geometry;
pub mod tracker;
pub mod volume;

pub use agreement::Agreement;
pub use cycle::{CycleConfig, CycleDetector, Landmark};
pub use geometry::{Calibration, CavityGeometry, DISCS, Units, cavity_geometry};
pub use tracker::{
    Biplane, CardiacTracker, CycleFrame, CycleReport, FrameMeasurements, LvMeasure, PhaseClock,
    PhaseSource, QualityFlags, StructureMeasure, TrackerConfig, Volumes, measure_frame,
};
