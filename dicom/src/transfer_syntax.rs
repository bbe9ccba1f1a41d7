//! The transfer syntaxes this crate decodes, grouped by how their pixel data is stored (UIDs
//! from [`dicom_dictionary_std::uids`]), and their names from the transfer syntax registry.

use dicom_dictionary_std::uids;
use dicom_transfer_syntax_registry::{TransferSyntaxIndex, TransferSyntaxRegistry};

/// Explicit VR Big Endian (retired, still read).
#[allow(deprecated)] // retired in 2018; old files carry it
pub(crate) const EXPLICIT_BIG_ENDIAN_TS: &str = uids::EXPLICIT_VR_BIG_ENDIAN;
/// Transfer syntaxes whose pixel data is stored natively (uncompressed) in the data set.
pub(crate) const NATIVE_TS: [&str; 4] = [
    uids::IMPLICIT_VR_LITTLE_ENDIAN,
    uids::EXPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_BIG_ENDIAN_TS,
    uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
];
/// JPEG transfer syntaxes this build decodes (baseline, extended, lossless, lossless SV1).
pub(crate) const JPEG_TS: [&str; 4] = [
    uids::JPEG_BASELINE8_BIT,
    uids::JPEG_EXTENDED12_BIT,
    uids::JPEG_LOSSLESS,
    uids::JPEG_LOSSLESS_SV1,
];
/// RLE Lossless.
pub(crate) const RLE_TS: &str = uids::RLE_LOSSLESS;
/// Encapsulated Uncompressed Explicit VR Little Endian.
pub(crate) const ENCAPSULATED_UNCOMPRESSED_TS: &str =
    uids::ENCAPSULATED_UNCOMPRESSED_EXPLICIT_VR_LITTLE_ENDIAN;

/// Whether this build decodes the encapsulated pixel data of `ts`.
pub(crate) fn is_decodable_encapsulated(ts: &str) -> bool {
    JPEG_TS.contains(&ts) || ts == RLE_TS || ts == ENCAPSULATED_UNCOMPRESSED_TS
}

/// A human name for a transfer syntax UID, for error messages: the name the `dicom-rs`
/// transfer syntax registry gives it (e.g. `JPEG 2000 Image Compression`), `unknown` for a UID
/// it does not list.
pub fn transfer_syntax_name(uid: &str) -> &'static str {
    TransferSyntaxRegistry
        .get(uid)
        .map_or("unknown", |ts| ts.name())
}
