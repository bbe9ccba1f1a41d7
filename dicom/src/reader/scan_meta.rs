//! What a file says about the scan: sex, age, frame time, heart rate and view.

use super::Reader;
use crate::age::parse_age;
use crate::attributes::{float, text};
use crate::view::{view_from_code, view_from_text};
use dicom_dictionary_std::tags;
use synboost_core::meta::{ScanMeta, Sex, View};

impl Reader<'_> {
    /// Sex, age, frame time, heart rate and view.
    pub(super) fn scan_meta(&mut self) -> ScanMeta {
        let obj = self.obj;
        let mut meta = ScanMeta::default();
        if let Some(s) = text(obj, tags::PATIENT_SEX) {
            match s.to_ascii_uppercase().as_str() {
                "M" => meta.sex = Some(Sex::Male),
                "F" => meta.sex = Some(Sex::Female),
                "O" => {}
                other => self.warn(format!("PatientSex {other:?} not understood; ignored")),
            }
        }
        if let Some(s) = text(obj, tags::PATIENT_AGE) {
            match parse_age(&s) {
                Some(a) => meta.age_years = Some(a),
                None => self.warn(format!("PatientAge {s:?} not understood; ignored")),
            }
        }
        meta.frame_time_ms = self.frame_time();
        meta.heart_rate_bpm = float(obj, tags::HEART_RATE).filter(|h| *h > 0.0);
        meta.view = self.view();
        meta
    }

    /// Time between frames, ms: `FrameTime`, else the mean increment of `FrameTimeVector`,
    /// else from `RecommendedDisplayFrameRate` or `CineRate`.
    fn frame_time(&mut self) -> Option<f64> {
        let obj = self.obj;
        if let Some(e) = obj.get(tags::FRAME_TIME) {
            match e.to_float64() {
                Ok(t) if t.is_finite() && t > 0.0 => return Some(t),
                _ => self.warn(format!(
                    "FrameTime {:?} is not a positive number; ignored",
                    e.to_str().unwrap_or_default()
                )),
            }
        }
        if let Some(v) = obj
            .get(tags::FRAME_TIME_VECTOR)
            .and_then(|e| e.to_multi_float64().ok())
        {
            // the first entry is 0, the others are increments from the previous frame
            let inc: Vec<f64> = v.iter().skip(1).copied().collect();
            if !inc.is_empty() && inc.iter().all(|t| t.is_finite() && *t > 0.0) {
                return Some(inc.iter().sum::<f64>() / inc.len() as f64);
            }
        }
        for tag in [tags::RECOMMENDED_DISPLAY_FRAME_RATE, tags::CINE_RATE] {
            if let Some(fps) = float(obj, tag).filter(|r| *r > 0.0) {
                return Some(1000.0 / fps);
            }
        }
        None
    }

    /// The view from `ViewCodeSequence`, else from `ViewName`.
    fn view(&self) -> Option<View> {
        let obj = self.obj;
        if let Some(items) = obj.get(tags::VIEW_CODE_SEQUENCE).and_then(|e| e.items())
            && let Some(v) = items.iter().find_map(view_from_code)
        {
            return Some(v);
        }
        text(obj, tags::VIEW_NAME).and_then(|s| view_from_text(&s))
    }
}
