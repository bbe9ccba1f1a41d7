//! DICOM dates and times (`DA`, `TM`) of an instant, in UTC.

use dicom_core::chrono::{DateTime, Utc};
use std::time::SystemTime;

/// `YYYYMMDD` and `HHMMSS.FFFFFF` (UTC) for a time.
pub(super) fn dicom_date_time(t: SystemTime) -> (String, String) {
    let t: DateTime<Utc> = t.into();
    (
        t.format("%Y%m%d").to_string(),
        t.format("%H%M%S%.6f").to_string(),
    )
}
