//! Scanner metadata: what a scanner (or a dataset) knows about a frame besides its pixels.
//!
//! Every field of [`ScanMeta`] is optional, because real scanners leave most of them empty
//! (DICOM `PatientSex` blank, no `PatientAge`, `HeartRate` 0). Prompts degrade to the richest
//! kind the metadata supports ([`crate::prompt`]).
//!
//! [`InfoCfg`] parses CAMUS `Info_2CH.cfg` / `Info_4CH.cfg` files.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Apical view of the heart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum View {
    /// Apical two-chamber view (A2C, CAMUS `2CH`).
    TwoChamber,
    /// Apical three-chamber view (A3C / apical long axis). Not in CAMUS; no seed prompt uses it.
    ThreeChamber,
    /// Apical four-chamber view (A4C, CAMUS `4CH`).
    FourChamber,
}

impl View {
    /// The word the seed prompts use before `-chamber view`.
    pub fn prompt_word(self) -> &'static str {
        match self {
            Self::TwoChamber => "two",
            Self::ThreeChamber => "three",
            Self::FourChamber => "four",
        }
    }

    /// The CAMUS file-name code (`2CH`, `3CH`, `4CH`).
    pub fn code(self) -> &'static str {
        match self {
            Self::TwoChamber => "2CH",
            Self::ThreeChamber => "3CH",
            Self::FourChamber => "4CH",
        }
    }
}

impl fmt::Display for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for View {
    type Err = MetaParseError;
    /// Accepts CAMUS codes (`2CH`), echo abbreviations (`A2C`) and words (`two-chamber`),
    /// case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let k = s.trim().to_ascii_lowercase().replace([' ', '_'], "-");
        match k.as_str() {
            "2ch" | "a2c" | "two" | "two-chamber" | "apical-two-chamber" => Ok(Self::TwoChamber),
            "3ch" | "a3c" | "three" | "three-chamber" | "aplax" | "apical-long-axis" => {
                Ok(Self::ThreeChamber)
            }
            "4ch" | "a4c" | "four" | "four-chamber" | "apical-four-chamber" => {
                Ok(Self::FourChamber)
            }
            _ => Err(MetaParseError::new("view", s)),
        }
    }
}

/// Phase of the cardiac cycle at which a frame was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// End of diastole (largest LV cavity).
    EndDiastole,
    /// End of systole (smallest LV cavity).
    EndSystole,
}

impl Phase {
    /// The word the seed prompts use in `at end of the <word> cycle`.
    pub fn prompt_word(self) -> &'static str {
        match self {
            Self::EndDiastole => "diastole",
            Self::EndSystole => "systole",
        }
    }

    /// The CAMUS code (`ED`, `ES`).
    pub fn code(self) -> &'static str {
        match self {
            Self::EndDiastole => "ED",
            Self::EndSystole => "ES",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Phase {
    type Err = MetaParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ed" | "end-diastole" | "end diastole" | "diastole" => Ok(Self::EndDiastole),
            "es" | "end-systole" | "end systole" | "systole" => Ok(Self::EndSystole),
            _ => Err(MetaParseError::new("phase", s)),
        }
    }
}

/// Patient sex as recorded by the scanner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// Female (`F`).
    Female,
    /// Male (`M`).
    Male,
}

impl Sex {
    /// The word the seed prompts use.
    pub fn prompt_word(self) -> &'static str {
        match self {
            Self::Female => "female",
            Self::Male => "male",
        }
    }
}

impl FromStr for Sex {
    type Err = MetaParseError;
    /// Accepts DICOM / CAMUS codes (`F`, `M`) and words, case-insensitively. DICOM's `O`
    /// (other) is not a value the prompts can express and is rejected, so callers keep it absent.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f" | "female" => Ok(Self::Female),
            "m" | "male" => Ok(Self::Male),
            _ => Err(MetaParseError::new("sex", s)),
        }
    }
}

/// Image quality grade as annotated in CAMUS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageQuality {
    /// Good quality.
    Good,
    /// Medium quality.
    Medium,
    /// Poor quality.
    Poor,
}

impl ImageQuality {
    /// The word the seed prompts use.
    pub fn prompt_word(self) -> &'static str {
        match self {
            Self::Good => "good",
            Self::Medium => "medium",
            Self::Poor => "poor",
        }
    }
}

impl FromStr for ImageQuality {
    type Err = MetaParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "good" => Ok(Self::Good),
            "medium" => Ok(Self::Medium),
            "poor" => Ok(Self::Poor),
            _ => Err(MetaParseError::new("image quality", s)),
        }
    }
}

/// Physical size of one pixel, in millimetres.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PixelSpacing {
    /// Distance between the centres of two adjacent rows (vertical), mm.
    pub row_mm: f64,
    /// Distance between the centres of two adjacent columns (horizontal), mm.
    pub col_mm: f64,
}

impl PixelSpacing {
    /// Spacing with both values checked to be finite and positive.
    pub fn new(row_mm: f64, col_mm: f64) -> Result<Self, MetaParseError> {
        if row_mm.is_finite() && col_mm.is_finite() && row_mm > 0.0 && col_mm > 0.0 {
            Ok(Self { row_mm, col_mm })
        } else {
            Err(MetaParseError::new(
                "pixel spacing",
                &format!("{row_mm} x {col_mm} mm"),
            ))
        }
    }

    /// Area of one pixel in mm².
    pub fn pixel_area_mm2(&self) -> f64 {
        self.row_mm * self.col_mm
    }
}

/// What is known about a frame besides its pixels. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScanMeta {
    /// Apical view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<View>,
    /// Cardiac phase when the frame is an ED or ES frame; `None` when unknown or in between.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// Position within the cardiac cycle, 0 at ED, in [0, 1), when a stream knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycle_position: Option<f32>,
    /// Patient sex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
    /// Patient age in whole years.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_years: Option<u8>,
    /// Image quality grade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<ImageQuality>,
    /// Physical pixel size; without it no areas in mm² or volumes can be reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pixel_spacing: Option<PixelSpacing>,
    /// Time between frames, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_time_ms: Option<f64>,
    /// Heart rate, beats per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heart_rate_bpm: Option<f64>,
}

impl ScanMeta {
    /// Frame rate in frames per second, from the frame time.
    pub fn fps(&self) -> Option<f64> {
        self.frame_time_ms
            .filter(|t| t.is_finite() && *t > 0.0)
            .map(|t| 1000.0 / t)
    }
}

/// A metadata value that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {value:?}")]
pub struct MetaParseError {
    /// Which field.
    pub field: &'static str,
    /// The value as given.
    pub value: String,
}

impl MetaParseError {
    fn new(field: &'static str, value: &str) -> Self {
        Self {
            field,
            value: value.to_string(),
        }
    }
}

/// Errors while reading a CAMUS `Info_*.cfg` file. Each names the file and, where it applies,
/// the 1-based line.
#[derive(Debug, thiserror::Error)]
pub enum InfoCfgError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A line is not `key: value`, or a known key has a value of the wrong kind.
    #[error("{path}:{line}: {message}")]
    Malformed {
        /// File.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// Contents of a CAMUS `Info_2CH.cfg` / `Info_4CH.cfg` file (`key: value` lines).
///
/// Both releases are understood: the 2019 MetaImage release (`LVedv`, `LVesv`, `LVef`) and the
/// 2023 NIfTI release (`EF`, `FrameRate`). Unknown keys are kept in [`InfoCfg::extra`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InfoCfg {
    /// 1-based index of the end-diastolic frame in the half sequence.
    pub ed_frame: Option<u32>,
    /// 1-based index of the end-systolic frame in the half sequence.
    pub es_frame: Option<u32>,
    /// Number of frames in the half sequence.
    pub nb_frames: Option<u32>,
    /// Patient sex.
    pub sex: Option<Sex>,
    /// Patient age, years.
    pub age_years: Option<u8>,
    /// Image quality grade.
    pub quality: Option<ImageQuality>,
    /// Ejection fraction, percent (`EF` or `LVef`).
    pub ef_percent: Option<f64>,
    /// End-diastolic LV volume, ml (`LVedv`).
    pub lv_edv_ml: Option<f64>,
    /// End-systolic LV volume, ml (`LVesv`).
    pub lv_esv_ml: Option<f64>,
    /// Frame rate, frames per second (`FrameRate`).
    pub frame_rate: Option<f64>,
    /// Keys this parser does not know, with their values, as written.
    pub extra: BTreeMap<String, String>,
}

impl InfoCfg {
    /// Read and parse a file.
    pub fn read(path: &Path) -> Result<Self, InfoCfgError> {
        let text = std::fs::read_to_string(path).map_err(|source| InfoCfgError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parse the text of a file; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, InfoCfgError> {
        let mut cfg = Self::default();
        let mut seen = BTreeMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let malformed = |message: String| InfoCfgError::Malformed {
                path: path.to_path_buf(),
                line: line_no,
                message,
            };
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line
                .split_once(':')
                .ok_or_else(|| malformed(format!("expected `key: value`, found {line:?}")))?;
            let key = key.trim();
            let value = value.trim();
            if key.is_empty() {
                return Err(malformed(format!("empty key in {line:?}")));
            }
            if let Some(first) = seen.insert(key.to_string(), line_no) {
                return Err(malformed(format!(
                    "key {key:?} repeated (first on line {first})"
                )));
            }
            let bad = |e: &dyn fmt::Display| malformed(format!("{key}: {e}"));
            match key.to_ascii_lowercase().as_str() {
                "ed" => cfg.ed_frame = Some(parse_num(value).map_err(|e| bad(&e))?),
                "es" => cfg.es_frame = Some(parse_num(value).map_err(|e| bad(&e))?),
                "nbframe" => cfg.nb_frames = Some(parse_num(value).map_err(|e| bad(&e))?),
                "sex" => cfg.sex = Some(value.parse().map_err(|e| bad(&e))?),
                "age" => cfg.age_years = Some(parse_num(value).map_err(|e| bad(&e))?),
                "imagequality" => cfg.quality = Some(value.parse().map_err(|e| bad(&e))?),
                "ef" | "lvef" => cfg.ef_percent = Some(parse_float(value).map_err(|e| bad(&e))?),
                "lvedv" => cfg.lv_edv_ml = Some(parse_float(value).map_err(|e| bad(&e))?),
                "lvesv" => cfg.lv_esv_ml = Some(parse_float(value).map_err(|e| bad(&e))?),
                "framerate" => cfg.frame_rate = Some(parse_float(value).map_err(|e| bad(&e))?),
                _ => {
                    cfg.extra.insert(key.to_string(), value.to_string());
                }
            }
        }
        if let (Some(n), Some(ed), Some(es)) = (cfg.nb_frames, cfg.ed_frame, cfg.es_frame)
            && (ed == 0 || es == 0 || ed > n || es > n)
        {
            return Err(InfoCfgError::Malformed {
                path: path.to_path_buf(),
                line: 0,
                message: format!("ED frame {ed} / ES frame {es} outside 1..={n} (NbFrame)"),
            });
        }
        Ok(cfg)
    }

    /// Metadata for one image of this view at the given phase (`None`: a frame in between).
    pub fn scan_meta(&self, view: View, phase: Option<Phase>) -> ScanMeta {
        ScanMeta {
            view: Some(view),
            phase,
            sex: self.sex,
            age_years: self.age_years,
            quality: self.quality,
            frame_time_ms: self
                .frame_rate
                .filter(|r| r.is_finite() && *r > 0.0)
                .map(|r| 1000.0 / r),
            ..ScanMeta::default()
        }
    }
}

fn parse_num<T: FromStr>(value: &str) -> Result<T, String> {
    value
        .parse::<T>()
        .map_err(|_| format!("expected a whole number, found {value:?}"))
}

fn parse_float(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("expected a number, found {value:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NIFTI_RELEASE: &str = "ED: 1\nES: 14\nNbFrame: 14\nSex: F\nAge: 56\nImageQuality: Good\nEF: 46.74\nFrameRate: 25\n";
    const MHD_RELEASE: &str = "ED: 1\r\nES: 17\r\nNbFrame: 17\r\nSex: M\r\nAge: 73\r\nImageQuality: Medium\r\nLVedv: 93.57\r\nLVesv: 39.29\r\nLVef: 58.0\r\n";

    #[test]
    fn parses_both_releases() {
        let p = Path::new("Info_2CH.cfg");
        let a = InfoCfg::parse(NIFTI_RELEASE, p).unwrap();
        assert_eq!(a.ed_frame, Some(1));
        assert_eq!(a.es_frame, Some(14));
        assert_eq!(a.sex, Some(Sex::Female));
        assert_eq!(a.age_years, Some(56));
        assert_eq!(a.quality, Some(ImageQuality::Good));
        assert_eq!(a.ef_percent, Some(46.74));
        assert_eq!(a.frame_rate, Some(25.0));
        let m = a.scan_meta(View::TwoChamber, Some(Phase::EndSystole));
        assert_eq!(m.frame_time_ms, Some(40.0));
        assert_eq!(m.fps(), Some(25.0));

        let b = InfoCfg::parse(MHD_RELEASE, p).unwrap();
        assert_eq!(b.sex, Some(Sex::Male));
        assert_eq!(b.quality, Some(ImageQuality::Medium));
        assert_eq!(b.lv_edv_ml, Some(93.57));
        assert_eq!(b.ef_percent, Some(58.0));
        assert!(b.extra.is_empty());
    }

    #[test]
    fn keeps_unknown_keys() {
        let c = InfoCfg::parse("ED: 1\nProbe: X5-1\nNotes: a: b\n", Path::new("x.cfg")).unwrap();
        assert_eq!(c.extra.get("Probe").map(String::as_str), Some("X5-1"));
        assert_eq!(c.extra.get("Notes").map(String::as_str), Some("a: b"));
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let err = InfoCfg::parse("ED: 1\nES 14\n", Path::new("dir/Info_4CH.cfg")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("dir/Info_4CH.cfg:2:"), "{msg}");
        let err = InfoCfg::parse("ED: 1\nAge: old\n", Path::new("a.cfg")).unwrap_err();
        assert!(err.to_string().contains("a.cfg:2: Age"), "{err}");
        let err = InfoCfg::parse("Sex: X\n", Path::new("a.cfg")).unwrap_err();
        assert!(err.to_string().contains("a.cfg:1"), "{err}");
        let err = InfoCfg::parse("ED: 1\nED: 2\n", Path::new("a.cfg")).unwrap_err();
        assert!(err.to_string().contains("repeated"), "{err}");
        let err = InfoCfg::parse("ED: 1\nES: 30\nNbFrame: 20\n", Path::new("a.cfg")).unwrap_err();
        assert!(err.to_string().contains("outside"), "{err}");
        let err = InfoCfg::parse("EF: NaN\n", Path::new("a.cfg")).unwrap_err();
        assert!(err.to_string().contains("EF"), "{err}");
    }

    #[test]
    fn parses_codes() {
        assert_eq!("A4C".parse::<View>().unwrap(), View::FourChamber);
        assert_eq!("2CH".parse::<View>().unwrap(), View::TwoChamber);
        assert!("PLAX".parse::<View>().is_err());
        assert_eq!("es".parse::<Phase>().unwrap(), Phase::EndSystole);
        assert!("O".parse::<Sex>().is_err());
        assert!(PixelSpacing::new(0.0, 1.0).is_err());
        assert!(PixelSpacing::new(f64::NAN, 1.0).is_err());
        assert_eq!(
            PixelSpacing::new(0.3, 0.2).unwrap().pixel_area_mm2(),
            0.3 * 0.2
        );
    }

    #[test]
    fn serde_skips_absent_fields() {
        let m = ScanMeta {
            view: Some(View::FourChamber),
            ..ScanMeta::default()
        };
        let s = serde_json::to_string(&m).unwrap();
        assert_eq!(s, r#"{"view":"four_chamber"}"#);
        let back: ScanMeta = serde_json::from_str(&s).unwrap();
        assert_eq!(back, m);
    }
}
