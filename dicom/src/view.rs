//! The apical view a file names: CID 12226 codes in `ViewCodeSequence` and free text
//! (`ViewName`, code meanings).

use crate::attributes::text;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use synboost_core::meta::View;

/// SNOMED CT codes of CID 12226 (Echocardiography Image View) for the apical views:
/// `(code value, view)`, coding scheme `SCT`.
pub const VIEW_CODES_SCT: [(&str, View); 3] = [
    ("399232001", View::TwoChamber),
    ("399149008", View::ThreeChamber),
    ("399214001", View::FourChamber),
];

/// The SNOMED RT codes older files carry for the same views (coding scheme `SRT`).
const VIEW_CODES_SRT: [(&str, View); 3] = [
    ("G-A19B", View::TwoChamber),
    ("G-0395", View::ThreeChamber),
    ("G-A19C", View::FourChamber),
];

/// The view of one `ViewCodeSequence` item: its code (SNOMED CT or SNOMED RT), else its
/// code meaning as text.
pub(crate) fn view_from_code(item: &InMemDicomObject) -> Option<View> {
    let value = text(item, tags::CODE_VALUE).unwrap_or_default();
    let scheme = text(item, tags::CODING_SCHEME_DESIGNATOR).unwrap_or_default();
    let table: &[(&str, View)] = match scheme.as_str() {
        "SCT" | "SNM3" => &VIEW_CODES_SCT,
        "SRT" => &VIEW_CODES_SRT,
        _ => &[],
    };
    if let Some((_, v)) = table.iter().find(|(c, _)| *c == value) {
        return Some(*v);
    }
    text(item, tags::CODE_MEANING).and_then(|m| view_from_text(&m))
}

/// An apical view from free text: CAMUS codes and echo abbreviations ([`View::from_str`]),
/// `ViewName` values such as `A4C`, `4CH`, `AP4` or `4 CHAMBER`, and CID 12226 code meanings
/// such as `Apical four chamber` or `Apical long axis`. Non-apical views (subcostal,
/// parasternal, five-chamber, …) and ambiguous text give `None`.
///
/// [`View::from_str`]: std::str::FromStr::from_str
pub fn view_from_text(s: &str) -> Option<View> {
    if let Ok(v) = s.parse::<View>() {
        return Some(v);
    }
    let norm: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect();
    let words: Vec<&str> = norm.split_whitespace().collect();
    let excluded = [
        "subcostal",
        "subxiphoid",
        "parasternal",
        "suprasternal",
        "plax",
        "psax",
        "short",
        "five",
        "5",
        "5ch",
        "a5c",
        "ap5",
    ];
    if words.iter().any(|w| excluded.contains(w)) {
        return None;
    }
    let compact = words.concat();
    let word_in = |set: &[&str]| words.iter().any(|w| set.contains(w));
    let has = |set: &[&str]| set.iter().any(|p| compact.contains(p));
    let two = word_in(&["a2c", "2ch", "2c", "ap2"]) || has(&["twochamber", "2chamber"]);
    let three = word_in(&["a3c", "3ch", "3c", "ap3", "aplax", "alax"])
        || has(&["threechamber", "3chamber", "apicallongaxis"]);
    let four = word_in(&["a4c", "4ch", "4c", "ap4"]) || has(&["fourchamber", "4chamber"]);
    match (two, three, four) {
        (true, false, false) => Some(View::TwoChamber),
        (false, true, false) => Some(View::ThreeChamber),
        (false, false, true) => Some(View::FourChamber),
        _ => None,
    }
}
