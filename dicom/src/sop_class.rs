//! The ultrasound SOP classes this crate reads, from the standard dictionary's UIDs
//! ([`dicom_dictionary_std::uids`]).

use dicom_dictionary_std::uids;

/// SOP Class UID of the US Image Storage class.
pub const US_IMAGE_STORAGE: &str = uids::ULTRASOUND_IMAGE_STORAGE;
/// SOP Class UID of the US Multi-frame Image Storage class.
pub const US_MULTIFRAME_IMAGE_STORAGE: &str = uids::ULTRASOUND_MULTI_FRAME_IMAGE_STORAGE;
/// SOP Class UID of the retired US Image Storage class (1993).
#[allow(deprecated)] // the retired UID is what old files carry
pub const US_IMAGE_STORAGE_RETIRED: &str = uids::ULTRASOUND_IMAGE_STORAGE_RETIRED;
/// SOP Class UID of the retired US Multi-frame Image Storage class (1993).
#[allow(deprecated)] // the retired UID is what old files carry
pub const US_MULTIFRAME_IMAGE_STORAGE_RETIRED: &str =
    uids::ULTRASOUND_MULTI_FRAME_IMAGE_STORAGE_RETIRED;

/// The ultrasound image storage classes, current and retired.
const US_CLASSES: [&str; 4] = [
    US_IMAGE_STORAGE,
    US_MULTIFRAME_IMAGE_STORAGE,
    US_IMAGE_STORAGE_RETIRED,
    US_MULTIFRAME_IMAGE_STORAGE_RETIRED,
];

/// Whether `uid` is one of the ultrasound image storage classes.
pub(crate) fn is_ultrasound_class(uid: &str) -> bool {
    US_CLASSES.contains(&uid)
}
