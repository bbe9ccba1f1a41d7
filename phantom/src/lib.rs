//! `synboost-phantom`: phantom echocardiography, apical 2CH/4CH cine loops with exact ground
//! truth. The simulator streams it to `libsynboost.so`; training draws patients from it.
//!
//! A [`Phantom`] is one simulated patient and acquisition, fully determined by its
//! [`PhantomConfig`] (seed included). [`Phantom::frame`] renders any frame on demand (random
//! access, deterministic): the 8-bit image, masks of LV cavity, myocardium and LA, the
//! [`ScanMeta`] a scanner would send (view, phase at ED/ES frames, cycle position, sex, age,
//! quality, pixel spacing, frame time, heart rate) and the true LV area, length and volume.
//!
//! Geometry and motion are in [`heart`], image formation (speckle, PSF, attenuation, TGC, noise,
//! log compression, scan conversion) in [`beam`], the random streams in [`rng`]; [`source`]
//! serves phantom patients as a dataset and [`dataset`] writes them in the seed layout.

#![deny(missing_docs)]

pub mod beam;
pub mod dataset;
pub mod heart;
pub mod rng;
pub mod source;

use beam::{BeamGrid, ScanConverter, convolve_axial, convolve_lateral};
use heart::{HeartShape, HeartState, Region, contraction, valve_opening};
use rng::{SplitMix64, mix, scatterer};
use serde::{Deserialize, Serialize};
use synboost_core::meta::{ImageQuality, Phase, PixelSpacing, ScanMeta, Sex, View};
use synboost_core::raster::{GrayImage, Mask};

/// Settings of a simulated acquisition. `None` fields are drawn from the seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhantomConfig {
    /// Image width, pixels (16..=2048).
    pub width: usize,
    /// Image height, pixels (16..=2048).
    pub height: usize,
    /// Apical view: two- or four-chamber.
    pub view: View,
    /// Image quality level: sets SNR, contrast, wall dropout, clutter and TGC error.
    pub quality: ImageQuality,
    /// Target ejection fraction, percent (15..=85; 30–75 is the validated range).
    pub ef_percent: Option<f64>,
    /// Heart rate, beats per minute (30..=220).
    pub heart_rate_bpm: Option<f64>,
    /// Frame rate, frames per second (1..=1000).
    pub fps: f64,
    /// Imaging depth, mm (60..=300).
    pub depth_mm: f64,
    /// Sector opening angle, degrees (30..=100).
    pub sector_deg: f64,
    /// Probe centre frequency, MHz (1..=10).
    pub probe_mhz: f64,
    /// Patient sex.
    pub sex: Option<Sex>,
    /// Patient age, years.
    pub age_years: Option<u8>,
    /// Seed: everything else about the patient follows from it.
    pub seed: u64,
}

impl Default for PhantomConfig {
    fn default() -> Self {
        Self {
            width: 256,
            height: 256,
            view: View::FourChamber,
            quality: ImageQuality::Good,
            ef_percent: None,
            heart_rate_bpm: None,
            fps: 50.0,
            depth_mm: 150.0,
            sector_deg: 75.0,
            probe_mhz: 2.5,
            sex: None,
            age_years: None,
            seed: 1,
        }
    }
}

/// Invalid phantom settings.
#[derive(Debug, thiserror::Error)]
pub enum PhantomError {
    /// A setting is out of its range.
    #[error("{name} = {value} is outside {range}")]
    OutOfRange {
        /// Setting.
        name: &'static str,
        /// Value given.
        value: f64,
        /// Allowed range.
        range: &'static str,
    },
    /// The view is not one the phantom draws.
    #[error("the phantom draws apical two- and four-chamber views, not {0}")]
    View(View),
    /// An image or mask could not be assembled (a size inconsistency; a bug if it happens).
    #[error("raster: {0}")]
    Raster(#[from] synboost_core::raster::RasterError),
}

/// Who the phantom patient is, as drawn from the seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientInfo {
    /// Sex.
    pub sex: Sex,
    /// Age, years.
    pub age_years: u8,
    /// True ejection fraction, percent (area–length volumes at ED and ES).
    pub ef_percent: f64,
    /// End-diastolic LV volume, ml (single-plane area–length).
    pub edv_ml: f64,
    /// End-systolic LV volume, ml.
    pub esv_ml: f64,
    /// Heart rate, bpm.
    pub heart_rate_bpm: f64,
    /// Cycle position of end-systole (fraction of the RR interval).
    pub es_phase: f64,
}

/// Ground truth of one frame besides the masks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FrameTruth {
    /// Contraction, 0 at ED to 1 at ES.
    pub contraction: f64,
    /// Analytic LV cavity area, mm².
    pub lv_area_mm2: f64,
    /// LV long-axis length (apex to mitral plane), mm.
    pub lv_length_mm: f64,
    /// Single-plane area–length LV volume, ml.
    pub lv_volume_ml: f64,
}

/// One rendered frame.
#[derive(Debug, Clone)]
pub struct PhantomFrame {
    /// Frame number from the start of the loop.
    pub index: u64,
    /// Acquisition time, seconds from the first frame.
    pub time_s: f64,
    /// The image.
    pub image: GrayImage,
    /// Masks of LV cavity, myocardium and LA (indexed by `Structure::index`).
    pub masks: [Mask; 3],
    /// Metadata as a scanner would send it.
    pub meta: ScanMeta,
    /// True geometry.
    pub truth: FrameTruth,
}

/// Beam-domain data of a frame, for checking the physics.
#[derive(Debug, Clone)]
pub struct PolarFrame {
    /// Samples along each beam.
    pub n_r: usize,
    /// Number of beams.
    pub n_t: usize,
    /// Radial spacing, mm.
    pub dr: f64,
    /// Detected envelope after TGC, before log compression (beam-major).
    pub envelope: Vec<f32>,
    /// What each sample shows.
    pub regions: Vec<Region>,
    /// Echogenicity of each sample (before the PSF).
    pub echogenicity: Vec<f32>,
}

/// Imaging parameters of a quality level.
#[derive(Debug, Clone, Copy)]
struct Look {
    tissue: f32,
    myo: f32,
    blood: f32,
    noise: f32,
    clutter: f32,
    dropout: f32,
    tgc_error_db_per_cm: f64,
    dynamic_range_db: f32,
}

impl Look {
    fn of(q: ImageQuality) -> Self {
        match q {
            ImageQuality::Good => Self {
                tissue: 0.13,
                myo: 0.42,
                blood: 0.008,
                noise: 0.0015,
                clutter: 0.0,
                dropout: 1.0,
                tgc_error_db_per_cm: 0.0,
                dynamic_range_db: 45.0,
            },
            ImageQuality::Medium => Self {
                tissue: 0.15,
                myo: 0.34,
                blood: 0.02,
                noise: 0.004,
                clutter: 0.12,
                dropout: 0.4,
                tgc_error_db_per_cm: 0.4,
                dynamic_range_db: 42.0,
            },
            ImageQuality::Poor => Self {
                tissue: 0.18,
                myo: 0.26,
                blood: 0.045,
                noise: 0.01,
                clutter: 0.3,
                dropout: 0.12,
                tgc_error_db_per_cm: 0.9,
                dynamic_range_db: 38.0,
            },
        }
    }
}

/// Tissue attenuation, dB / (cm · MHz).
pub const ATTENUATION_DB_PER_CM_MHZ: f64 = 0.5;
/// Largest TGC gain, dB: deeper than that the image darkens and noise shows.
pub const MAX_TGC_DB: f64 = 42.0;

/// A simulated patient and acquisition.
#[derive(Debug, Clone)]
pub struct Phantom {
    config: PhantomConfig,
    patient: PatientInfo,
    shape: HeartShape,
    grid: BeamGrid,
    scan: ScanConverter,
    pixel_mm: f64,
    origin_px: (f64, f64),
    look: Look,
    /// Per radial sample: noise gain (σ / attenuation, capped) and display gain (TGC error).
    noise_gain: Vec<f32>,
    display_gain: Vec<f32>,
    texture_seed: u64,
    cell_mm: f64,
}

impl Phantom {
    /// Build a phantom; fails on settings outside their ranges.
    pub fn new(config: PhantomConfig) -> Result<Self, PhantomError> {
        let c = &config;
        check("width", c.width as f64, 16.0, 2048.0, "16..=2048")?;
        check("height", c.height as f64, 16.0, 2048.0, "16..=2048")?;
        check("fps", c.fps, 1.0, 1000.0, "1..=1000 fps")?;
        check("depth_mm", c.depth_mm, 60.0, 300.0, "60..=300 mm")?;
        check("sector_deg", c.sector_deg, 30.0, 100.0, "30..=100 degrees")?;
        check("probe_mhz", c.probe_mhz, 1.0, 10.0, "1..=10 MHz")?;
        if let Some(ef) = c.ef_percent {
            check("ef_percent", ef, 15.0, 85.0, "15..=85 %")?;
        }
        if let Some(hr) = c.heart_rate_bpm {
            check("heart_rate_bpm", hr, 30.0, 220.0, "30..=220 bpm")?;
        }
        if !matches!(c.view, View::TwoChamber | View::FourChamber) {
            return Err(PhantomError::View(c.view));
        }
        let mut rng =
            SplitMix64::new(c.seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ view_salt(c.view));
        // Patient-level draws use a view-independent stream, so 2CH and 4CH of one seed are the
        // same person.
        let mut prng = SplitMix64::new(c.seed);
        let sex = c.sex.unwrap_or(if prng.unit() < 0.6 {
            Sex::Male
        } else {
            Sex::Female
        });
        let age = c.age_years.unwrap_or(prng.range(20.0, 90.0) as u8);
        let ef = c.ef_percent.unwrap_or(prng.range(30.0, 75.0));
        let hr = c.heart_rate_bpm.unwrap_or(prng.range(55.0, 95.0));
        let shape = heart::sample_shape(&mut rng, c.view, sex, c.depth_mm, ef / 100.0);
        // Systole lasts about 0.38 √RR seconds.
        let rr = 60.0 / hr;
        let es_phase = (0.38 * rr.sqrt() / rr).clamp(0.25, 0.6);
        let (edv, esv) = (shape.lv_volume_ml(0.0), shape.lv_volume_ml(1.0));
        let patient = PatientInfo {
            sex,
            age_years: age,
            ef_percent: 100.0 * (edv - esv) / edv,
            edv_ml: edv,
            esv_ml: esv,
            heart_rate_bpm: hr,
            es_phase,
        };

        let half = c.sector_deg.to_radians() / 2.0;
        let sector_w = 2.0 * c.depth_mm * half.sin();
        let pixel_mm = (sector_w / c.width as f64).max(c.depth_mm / c.height as f64);
        // Sector apex at the top centre.
        let origin_px = (c.width as f64 / 2.0, 0.0);
        let grid = BeamGrid::new(c.depth_mm, 2.0 * half, pixel_mm, c.probe_mhz);
        let to_mm = |px: usize, py: usize| {
            (
                (px as f64 + 0.5 - origin_px.0) * pixel_mm,
                (py as f64 + 0.5 - origin_px.1) * pixel_mm,
            )
        };
        let scan = ScanConverter::new(&grid, c.width, c.height, to_mm);
        let look = Look::of(c.quality);
        let mut noise_gain = Vec::with_capacity(grid.n_r);
        let mut display_gain = Vec::with_capacity(grid.n_r);
        for r in 0..grid.n_r {
            let cm = grid.depth_of(r) / 10.0;
            let atten_db = ATTENUATION_DB_PER_CM_MHZ * c.probe_mhz * 2.0 * cm;
            // TGC undoes the attenuation (up to its maximum); the signal is then at its
            // original level, and the noise, added at the receiver, is amplified by the TGC.
            let tgc_db = atten_db.min(MAX_TGC_DB);
            let signal_db = tgc_db - atten_db - look.tgc_error_db_per_cm * cm;
            noise_gain.push(look.noise * db_to_amp(tgc_db) as f32);
            display_gain.push(db_to_amp(signal_db) as f32);
        }
        let texture_seed = rng.next_u64();
        let cell_mm = grid.dr.min(grid.dtheta * grid.depth * 0.35) * 0.7;
        Ok(Self {
            config,
            patient,
            shape,
            grid,
            scan,
            pixel_mm,
            origin_px,
            look,
            noise_gain,
            display_gain,
            texture_seed,
            cell_mm,
        })
    }

    /// The settings.
    pub fn config(&self) -> &PhantomConfig {
        &self.config
    }

    /// The patient.
    pub fn patient(&self) -> &PatientInfo {
        &self.patient
    }

    /// The ED geometry.
    pub fn shape(&self) -> &HeartShape {
        &self.shape
    }

    /// Square pixel size, mm.
    pub fn pixel_mm(&self) -> f64 {
        self.pixel_mm
    }

    /// Frames in one cardiac cycle (fractional).
    pub fn frames_per_cycle(&self) -> f64 {
        self.config.fps * 60.0 / self.patient.heart_rate_bpm
    }

    /// Cycle position (0 at ED) of frame `index`.
    pub fn cycle_position(&self, index: u64) -> f64 {
        (index as f64 / self.frames_per_cycle()).rem_euclid(1.0)
    }

    /// The phase label of frame `index`: ED for the frame nearest each end-diastole, ES for the
    /// frame nearest each end-systole, `None` in between.
    pub fn phase_of(&self, index: u64) -> Option<Phase> {
        let step = 1.0 / self.frames_per_cycle();
        let p = self.cycle_position(index);
        let near = |target: f64| {
            let d = (p - target).rem_euclid(1.0);
            d < step / 2.0 || d >= 1.0 - step / 2.0
        };
        if near(0.0) {
            Some(Phase::EndDiastole)
        } else if near(self.patient.es_phase) {
            Some(Phase::EndSystole)
        } else {
            None
        }
    }

    /// Render frame `index` of the loop (time `index / fps`).
    pub fn frame(&self, index: u64) -> Result<PhantomFrame, PhantomError> {
        let phase = self.cycle_position(index);
        let mut f = self.render(phase, index)?;
        f.index = index;
        f.time_s = index as f64 / self.config.fps;
        f.meta.phase = self.phase_of(index);
        Ok(f)
    }

    /// Render the exact end-diastolic or end-systolic instant (for ED/ES datasets). `noise_seed`
    /// varies the electronic noise.
    pub fn frame_at(&self, phase: Phase, noise_seed: u64) -> Result<PhantomFrame, PhantomError> {
        let p = match phase {
            Phase::EndDiastole => 0.0,
            Phase::EndSystole => self.patient.es_phase,
        };
        let mut f = self.render(p, noise_seed)?;
        f.meta.phase = Some(phase);
        Ok(f)
    }

    fn meta(&self, phase: f64) -> ScanMeta {
        ScanMeta {
            view: Some(self.config.view),
            phase: None,
            cycle_position: Some(phase as f32),
            sex: Some(self.patient.sex),
            age_years: Some(self.patient.age_years),
            quality: Some(self.config.quality),
            pixel_spacing: PixelSpacing::new(self.pixel_mm, self.pixel_mm).ok(),
            frame_time_ms: Some(1000.0 / self.config.fps),
            heart_rate_bpm: Some(self.patient.heart_rate_bpm),
        }
    }

    fn state(&self, phase: f64) -> HeartState {
        let es = self.patient.es_phase;
        self.shape
            .state(contraction(phase, es), valve_opening(phase, es))
    }

    fn render(&self, phase: f64, noise_seed: u64) -> Result<PhantomFrame, PhantomError> {
        let state = self.state(phase);
        let polar = self.polar_display(&state, noise_seed);
        let (w, h) = (self.config.width, self.config.height);
        let mut pixels = vec![0u8; w * h];
        self.scan.convert(&polar, &mut pixels);
        let labels = self.labels(&state);
        let masks = [
            Mask::from_fn(w, h, &labels, |v| v == 1)?,
            Mask::from_fn(w, h, &labels, |v| v == 2)?,
            Mask::from_fn(w, h, &labels, |v| v == 3)?,
        ];
        let (area, length) = self.shape.lv_area_length(state.contraction);
        Ok(PhantomFrame {
            index: 0,
            time_s: 0.0,
            image: GrayImage::new(w, h, pixels)?,
            masks,
            meta: self.meta(phase),
            truth: FrameTruth {
                contraction: state.contraction,
                lv_area_mm2: area,
                lv_length_mm: length,
                lv_volume_ml: self.shape.lv_volume_ml(state.contraction),
            },
        })
    }

    /// Label map (0..3) on the display grid, clipped to the sector.
    fn labels(&self, state: &HeartState) -> Vec<u8> {
        let (w, h) = (self.config.width, self.config.height);
        let mut out = vec![0u8; w * h];
        for py in 0..h {
            let y = (py as f64 + 0.5 - self.origin_px.1) * self.pixel_mm;
            for px in 0..w {
                let i = py * w + px;
                if !self.scan.inside(i) {
                    continue;
                }
                let x = (px as f64 + 0.5 - self.origin_px.0) * self.pixel_mm;
                out[i] = self.shape.label_at(state, x, y);
            }
        }
        out
    }

    /// Echogenicity and scatterer field of every beam sample.
    fn scatter(
        &self,
        state: &HeartState,
        with_debug: bool,
    ) -> (Vec<[f32; 2]>, Vec<Region>, Vec<f32>) {
        let n = self.grid.len();
        let mut field = Vec::with_capacity(n);
        let mut regions = Vec::with_capacity(if with_debug { n } else { 0 });
        let mut echo = Vec::with_capacity(if with_debug { n } else { 0 });
        let lk = &self.look;
        for (i, &(x, y)) in self.grid.positions.iter().enumerate() {
            let (region, mu, mv) = self.shape.region_at(state, x, y);
            let depth = (i % self.grid.n_r) as f64 * self.grid.dr;
            let mut e = match region {
                Region::Background => lk.tissue,
                Region::LvCavity | Region::LaCavity | Region::RightCavity => lk.blood,
                Region::Myocardium => {
                    // Walls parallel to the beams (lateral wall, mid segments) drop out.
                    let lateral = mv > 0.35 * self.shape.lv_radius
                        && mu > 0.25 * self.shape.lv_semi_len
                        && mu < 1.4 * self.shape.lv_semi_len;
                    lk.myo * if lateral { lk.dropout } else { 1.0 }
                }
                Region::Pericardium => 2.2 * lk.myo,
                Region::OtherWall => 0.8 * lk.myo,
                Region::Valve => 1.6 * lk.myo,
            };
            if lk.clutter > 0.0 && region != Region::Background {
                e += lk.clutter * (-(depth / 22.0)).exp() as f32;
            }
            let z = scatterer(
                (mu / self.cell_mm).floor() as i64,
                (mv / self.cell_mm).floor() as i64,
                self.texture_seed,
            );
            field.push([e * z[0], e * z[1]]);
            if with_debug {
                regions.push(region);
                echo.push(e);
            }
        }
        (field, regions, echo)
    }

    /// Envelope after PSF, noise and TGC, beam-major.
    fn envelope(
        &self,
        state: &HeartState,
        noise_seed: u64,
        with_debug: bool,
    ) -> (Vec<f32>, Vec<Region>, Vec<f32>) {
        let (field, regions, echo) = self.scatter(state, with_debug);
        let n_r = self.grid.n_r;
        let mut tmp = vec![[0.0f32; 2]; field.len()];
        convolve_axial(&field, &mut tmp, n_r, &self.grid.axial);
        let mut rf = field;
        convolve_lateral(&tmp, &mut rf, n_r, &self.grid.lateral);
        let frame_seed = mix(noise_seed ^ self.config.seed.rotate_left(17) ^ 0xa076_1d64_78bd_642f);
        let env = rf
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let r = i % n_r;
                let nz = scatterer(i as i64, 0, frame_seed);
                let g = self.noise_gain[r];
                let (re, im) = (s[0] + g * nz[0], s[1] + g * nz[1]);
                (re * re + im * im).sqrt() * self.display_gain[r]
            })
            .collect();
        (env, regions, echo)
    }

    /// Log-compressed display values (0..255) in the beam grid.
    fn polar_display(&self, state: &HeartState, noise_seed: u64) -> Vec<f32> {
        let (env, _, _) = self.envelope(state, noise_seed, false);
        // Reference: the mean envelope of unit-echogenicity tissue (complex σ² = 2).
        let dr_db = self.look.dynamic_range_db;
        let scale = 255.0 / dr_db;
        let k = 20.0 * std::f32::consts::LN_2 / std::f32::consts::LN_10;
        let reference = 1.2f32.log2();
        env.iter()
            .map(|&a| {
                let db = k * (fast_log2(a.max(1e-6)) - reference);
                ((db + dr_db) * scale).clamp(0.0, 255.0)
            })
            .collect()
    }

    /// Beam-domain view of a cycle position, for physics checks.
    pub fn polar(&self, phase: f64, noise_seed: u64) -> PolarFrame {
        let state = self.state(phase);
        let (envelope, regions, echogenicity) = self.envelope(&state, noise_seed, true);
        PolarFrame {
            n_r: self.grid.n_r,
            n_t: self.grid.n_t,
            dr: self.grid.dr,
            envelope,
            regions,
            echogenicity,
        }
    }
}

fn check(
    name: &'static str,
    v: f64,
    lo: f64,
    hi: f64,
    range: &'static str,
) -> Result<(), PhantomError> {
    if v.is_finite() && v >= lo && v <= hi {
        Ok(())
    } else {
        Err(PhantomError::OutOfRange {
            name,
            value: v,
            range,
        })
    }
}

/// log₂ for positive normal floats, within 2e-5 (display resolution is 0.2 dB, 0.01 in log₂):
/// exponent from the bits, mantissa m ∈ [1, 2) by the atanh series in s = (m − 1)/(m + 1).
#[inline]
fn fast_log2(x: f32) -> f32 {
    let bits = x.to_bits();
    let exp = ((bits >> 23) & 0xff) as f32 - 127.0;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let ln_m = 2.0 * s * (1.0 + s2 * (1.0 / 3.0 + s2 * (0.2 + s2 * (1.0 / 7.0))));
    exp + ln_m * std::f32::consts::LOG2_E
}

fn db_to_amp(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

fn view_salt(v: View) -> u64 {
    match v {
        View::TwoChamber => 0x2c,
        View::ThreeChamber => 0x3c,
        _ => 0x4c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_log2_is_accurate() {
        for i in 1..2000 {
            let x = i as f32 * 0.0137;
            assert!((fast_log2(x) - x.log2()).abs() < 2e-4, "{x}");
        }
    }

    #[test]
    fn rejects_bad_settings() {
        let bad = |f: fn(&mut PhantomConfig)| {
            let mut c = PhantomConfig::default();
            f(&mut c);
            Phantom::new(c).unwrap_err()
        };
        assert!(matches!(
            bad(|c| c.fps = 0.0),
            PhantomError::OutOfRange { name: "fps", .. }
        ));
        assert!(matches!(
            bad(|c| c.ef_percent = Some(95.0)),
            PhantomError::OutOfRange { .. }
        ));
        assert!(matches!(
            bad(|c| c.depth_mm = f64::NAN),
            PhantomError::OutOfRange { .. }
        ));
        assert!(matches!(
            bad(|c| c.view = View::ThreeChamber),
            PhantomError::View(_)
        ));
        assert!(matches!(
            bad(|c| c.width = 4),
            PhantomError::OutOfRange { .. }
        ));
    }

    #[test]
    fn deterministic_and_seed_dependent() {
        let a = Phantom::new(PhantomConfig {
            width: 96,
            height: 96,
            ..PhantomConfig::default()
        })
        .unwrap();
        let b = Phantom::new(PhantomConfig {
            width: 96,
            height: 96,
            ..PhantomConfig::default()
        })
        .unwrap();
        let c = Phantom::new(PhantomConfig {
            width: 96,
            height: 96,
            seed: 2,
            ..PhantomConfig::default()
        })
        .unwrap();
        assert_eq!(a.frame(7).unwrap().image, b.frame(7).unwrap().image);
        assert_ne!(a.frame(7).unwrap().image, c.frame(7).unwrap().image);
        assert_ne!(a.frame(7).unwrap().masks[0], c.frame(7).unwrap().masks[0]);
    }
}
