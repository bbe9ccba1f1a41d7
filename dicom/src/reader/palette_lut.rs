//! Reading the palette colour lookup tables of a PALETTE COLOR file into a [`Palette`].

use super::Reader;
use crate::error::DicomError;
use crate::palette::Palette;
use dicom_core::Tag;
use dicom_dictionary_std::tags;

/// The tags and keywords of one channel's lookup table.
struct Channel {
    descriptor: Tag,
    data: Tag,
    descriptor_name: &'static str,
    data_name: &'static str,
}

const RED: Channel = Channel {
    descriptor: tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
    data: tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
    descriptor_name: "RedPaletteColorLookupTableDescriptor",
    data_name: "RedPaletteColorLookupTableData",
};
const GREEN: Channel = Channel {
    descriptor: tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
    data: tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
    descriptor_name: "GreenPaletteColorLookupTableDescriptor",
    data_name: "GreenPaletteColorLookupTableData",
};
const BLUE: Channel = Channel {
    descriptor: tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
    data: tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
    descriptor_name: "BluePaletteColorLookupTableDescriptor",
    data_name: "BluePaletteColorLookupTableData",
};

impl Reader<'_> {
    /// The three lookup tables (segmented tables are refused).
    pub(super) fn palette(&self) -> Result<Palette, DicomError> {
        let obj = self.obj;
        if obj.get(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA).is_none()
            && obj
                .get(tags::SEGMENTED_RED_PALETTE_COLOR_LOOKUP_TABLE_DATA)
                .is_some()
        {
            return Err(DicomError::Unsupported {
                path: self.path.to_path_buf(),
                what: "segmented palette colour lookup tables".into(),
            });
        }
        let (first, red) = self.palette_channel(&RED)?;
        let (_, green) = self.palette_channel(&GREEN)?;
        let (_, blue) = self.palette_channel(&BLUE)?;
        Ok(Palette {
            first,
            red,
            green,
            blue,
        })
    }

    /// One channel: its first mapped index and its entries reduced to 8 bits.
    fn palette_channel(&self, channel: &Channel) -> Result<(i64, Vec<u8>), DicomError> {
        let obj = self.obj;
        let desc_name = channel.descriptor_name;
        let data_name = channel.data_name;
        let desc = obj
            .get(channel.descriptor)
            .ok_or_else(|| self.missing(desc_name))?
            .to_multi_int::<i64>()
            .map_err(|_| self.invalid(desc_name, "not numbers"))?;
        let [n, first, bits] = desc[..] else {
            return Err(self.invalid(desc_name, format!("{desc:?} (3 values expected)")));
        };
        let n = if n == 0 {
            65536
        } else {
            n.unsigned_abs() as usize
        };
        if !(1..=16).contains(&bits) {
            return Err(self.invalid(desc_name, format!("{bits} bits per entry")));
        }
        let data = obj
            .get(channel.data)
            .ok_or_else(|| self.missing(data_name))?
            .to_bytes()
            .map_err(|_| self.invalid(data_name, "not binary"))?;
        let lut = lut_entries(&data, n, bits).ok_or_else(|| DicomError::SizeMismatch {
            path: self.path.to_path_buf(),
            what: format!("bytes of {data_name}"),
            expected: 2 * n as u64,
            found: data.len() as u64,
        })?;
        Ok((first, lut))
    }
}

/// `n` entries of `bits` bits each from a table's bytes (one byte per entry for 8-bit tables
/// that hold exactly that, else 16-bit words in native order), reduced to 8 bits; `None` when
/// the bytes are too few.
fn lut_entries(data: &[u8], n: usize, bits: i64) -> Option<Vec<u8>> {
    if bits <= 8 && data.len() >= n && data.len() < 2 * n {
        Some(data.iter().take(n).copied().collect())
    } else if data.len() >= 2 * n {
        Some(
            data.chunks_exact(2)
                .take(n)
                .map(|w| {
                    let v = u16::from_ne_bytes([w[0], w[1]]);
                    if bits > 8 {
                        (v >> (bits - 8)).min(255) as u8
                    } else {
                        v.min(255) as u8
                    }
                })
                .collect(),
        )
    } else {
        None
    }
}
