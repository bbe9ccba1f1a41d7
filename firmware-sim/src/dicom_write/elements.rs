//! Building data elements: text and numeric values, sequences, the view code item, the
//! ultrasound region item, and Decimal Strings.

use super::RegionSpec;
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_object::mem::InMemElement;
use synboost_core::meta::View;
use synboost_dicom::{DATA_TYPE_TISSUE, SPATIAL_FORMAT_2D, UNITS_CM, VIEW_CODES_SCT};

/// `RegionFlags`: bit 1 (scaling protection) set, bit 0 clear (high priority), the value the
/// EPIQ and SonoSite sample files carry for their 2D tissue region.
const REGION_FLAGS: u32 = 2;

/// A data set being filled, element by element.
#[derive(Debug)]
pub(super) struct DataSet(pub InMemDicomObject);

impl DataSet {
    /// An empty data set.
    pub fn empty() -> Self {
        Self(InMemDicomObject::new_empty())
    }

    /// A text element (empty text: an empty value; `\` splits a CS value).
    pub fn text(&mut self, tag: Tag, vr: VR, s: &str) {
        self.0.put(str_el(tag, vr, s));
    }

    /// A numeric (or other binary) element.
    pub fn value(&mut self, tag: Tag, vr: VR, v: impl Into<PrimitiveValue>) {
        self.0.put(DataElement::new(tag, vr, v.into()));
    }

    /// An `US` element.
    pub fn us(&mut self, tag: Tag, v: u16) {
        self.value(tag, VR::US, v);
    }

    /// A sequence of items.
    pub fn sequence(&mut self, tag: Tag, items: Vec<InMemDicomObject>) {
        self.0
            .put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
    }
}

fn str_el(tag: Tag, vr: VR, s: &str) -> InMemElement {
    let value = if s.is_empty() {
        PrimitiveValue::Empty
    } else if s.contains('\\') && vr == VR::CS {
        PrimitiveValue::Strs(s.split('\\').map(str::to_string).collect())
    } else {
        PrimitiveValue::from(s)
    };
    DataElement::new(tag, vr, value)
}

/// `ViewName` of a view.
pub(super) fn view_name(v: View) -> &'static str {
    match v {
        View::TwoChamber => "A2C",
        View::ThreeChamber => "A3C",
        View::FourChamber => "A4C",
        _ => "",
    }
}

/// The CID 12226 item for a view: code value, `SCT`, code meaning.
pub(super) fn view_code_item(v: View) -> InMemDicomObject {
    let code = VIEW_CODES_SCT
        .iter()
        .find(|(_, view)| *view == v)
        .map_or("", |(c, _)| *c);
    let meaning = match v {
        View::TwoChamber => "Apical two chamber",
        View::ThreeChamber => "Apical long axis",
        View::FourChamber => "Apical four chamber",
        _ => "",
    };
    let mut item = DataSet::empty();
    item.text(tags::CODE_VALUE, VR::SH, code);
    item.text(tags::CODING_SCHEME_DESIGNATOR, VR::SH, "SCT");
    item.text(tags::CODE_MEANING, VR::LO, meaning);
    item.0
}

/// The `SequenceOfUltrasoundRegions` item of a 2D tissue region, `PhysicalDeltaX/Y` in cm per
/// pixel.
pub(super) fn region_item(r: &RegionSpec, delta_x_cm: f64, delta_y_cm: f64) -> InMemDicomObject {
    let mut item = DataSet::empty();
    item.us(tags::REGION_SPATIAL_FORMAT, SPATIAL_FORMAT_2D);
    item.us(tags::REGION_DATA_TYPE, DATA_TYPE_TISSUE);
    item.value(tags::REGION_FLAGS, VR::UL, REGION_FLAGS);
    item.value(tags::REGION_LOCATION_MIN_X0, VR::UL, r.min_x);
    item.value(tags::REGION_LOCATION_MIN_Y0, VR::UL, r.min_y);
    item.value(tags::REGION_LOCATION_MAX_X1, VR::UL, r.max_x);
    item.value(tags::REGION_LOCATION_MAX_Y1, VR::UL, r.max_y);
    if let Some((x0, y0)) = r.reference_pixel {
        item.value(tags::REFERENCE_PIXEL_X0, VR::SL, x0);
        item.value(tags::REFERENCE_PIXEL_Y0, VR::SL, y0);
        item.value(tags::REFERENCE_PIXEL_PHYSICAL_VALUE_X, VR::FD, 0.0_f64);
        item.value(tags::REFERENCE_PIXEL_PHYSICAL_VALUE_Y, VR::FD, 0.0_f64);
    }
    item.us(tags::PHYSICAL_UNITS_X_DIRECTION, UNITS_CM);
    item.us(tags::PHYSICAL_UNITS_Y_DIRECTION, UNITS_CM);
    item.value(tags::PHYSICAL_DELTA_X, VR::FD, delta_x_cm);
    item.value(tags::PHYSICAL_DELTA_Y, VR::FD, delta_y_cm);
    item.0
}

/// A Decimal String of at most 16 characters, as precise as fits.
pub(super) fn ds(v: f64) -> String {
    let s = format!("{v}");
    if s.len() <= 16 {
        return s;
    }
    for prec in (0..=15).rev() {
        let s = format!("{v:.prec$}");
        let s = if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        };
        if s.len() <= 16 {
            return s;
        }
    }
    format!("{v:.0}")
}
