//! The training data pipeline: (image, structure) pairs → prompted, tokenised, batched tensors.
//!
//! An epoch is every (sample, structure) pair of a [`SampleSource`] ([`epoch_items`]),
//! shuffled deterministically by `(seed, epoch)`. Each pair gets a prompt kind ([`PromptMode`])
//! and a wording ([`WordingMode`]) from a random stream keyed by `(seed, epoch, pair index)`, so
//! batches depend on nothing else: not on the number of loader threads, not on timing. A kind
//! the pair's metadata cannot support degrades to [`PromptKind::richest`].
//!
//! Images of another size than [`PipelineConfig::input`] are resized with core's
//! [`Preprocessor`] (stretch, antialiased), masks by nearest neighbour with pixel-centre
//! alignment. With [`PipelineConfig::augment`], each pair gets a small random affine transform
//! (scale, shift, rotation; the same geometry for image and mask) and a gamma change of the
//! image ([`Augment`]).
//!
//! A [`Loader`] produces one epoch's [`Batch`]es on background threads through bounded
//! channels, so decoding overlaps training; dropping it stops the threads. A [`Mix`] combines
//! sources (e.g. CAMUS and phantoms) by weight into one source.

use crossbeam_channel::{Receiver, Sender, bounded};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use synboost_core::frame::FrameView;
use synboost_core::preprocess::{PreprocessError, PreprocessOptions, Preprocessor};
use synboost_core::prompt::{PromptAttrs, PromptError, PromptKind, PromptScheme, Wording};
use synboost_core::raster::{GrayImage, Mask};
use synboost_core::structure::Structure;
use synboost_core::vocab::{Tokenizer, VocabError};
use synboost_data::{DataError, Sample, SampleSource};
use synboost_phantom::rng::{SplitMix64, mix};
use tch::Tensor;

/// Errors of the pipeline.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A sample could not be loaded.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A prompt could not be built.
    #[error("prompt: {0}")]
    Prompt(#[from] PromptError),
    /// A prompt could not be tokenised (longer than the tokenizer's length).
    #[error("tokens: {0}")]
    Vocab(#[from] VocabError),
    /// An image could not be resized.
    #[error("resize: {0}")]
    Preprocess(#[from] PreprocessError),
    /// libtorch refused to build a tensor.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// The configuration cannot work (what is wrong is said).
    #[error("pipeline configuration: {0}")]
    Config(String),
    /// A loader thread could not be started.
    #[error("starting a loader thread: {0}")]
    Thread(std::io::Error),
    /// A loader thread ended without delivering its batches (it panicked).
    #[error("a loader thread stopped unexpectedly")]
    Disconnected,
}

/// How prompt kinds are chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptMode {
    /// Always this kind (degraded per pair where the metadata lacks an attribute).
    Fixed(PromptKind),
    /// Drawn uniformly per pair from the list; kinds the scheme does not have (P7 of
    /// [`PromptScheme::Synthetic`]) are left out.
    Mix(Vec<PromptKind>),
}

impl PromptMode {
    /// The kinds this mode draws from under `scheme`, in order (duplicates kept: they weigh).
    pub fn kinds(&self, scheme: PromptScheme) -> Vec<PromptKind> {
        let all = match self {
            Self::Fixed(k) => std::slice::from_ref(k),
            Self::Mix(ks) => ks.as_slice(),
        };
        all.iter()
            .copied()
            .filter(|k| k.fields(scheme).is_some())
            .collect()
    }
}

impl fmt::Display for PromptMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fixed(k) => write!(f, "{k}"),
            Self::Mix(ks) => {
                let names: Vec<String> = ks.iter().map(|k| k.to_string()).collect();
                write!(f, "mix({})", names.join(","))
            }
        }
    }
}

impl FromStr for PromptMode {
    type Err = PromptError;
    /// `p3` (or `P3`, `3`): fixed; `mix`: every kind P0..P7 (those of the scheme are used);
    /// `p1,p3,p5`: a mix of these.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("mix") {
            return Ok(Self::Mix(PromptKind::ALL.to_vec()));
        }
        if t.contains(',') {
            let kinds = t
                .split(',')
                .map(str::parse)
                .collect::<Result<Vec<PromptKind>, _>>()?;
            return Ok(Self::Mix(kinds));
        }
        t.parse().map(Self::Fixed)
    }
}

/// How the wording of each prompt is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WordingMode {
    /// Each pair draws [`Wording::Heart`] or [`Wording::CardiacUltrasound`] 50/50, as the seed
    /// did.
    Random,
    /// Always this wording.
    Fixed(Wording),
}

impl FromStr for WordingMode {
    type Err = PipelineError;
    /// `random`, `heart` or `ultrasound` (also `cardiac_ultrasound`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "random" => Ok(Self::Random),
            "heart" => Ok(Self::Fixed(Wording::Heart)),
            "ultrasound" | "cardiac_ultrasound" | "cardiac-ultrasound" => {
                Ok(Self::Fixed(Wording::CardiacUltrasound))
            }
            other => Err(PipelineError::Config(format!(
                "unknown wording {other:?} (expected random, heart or ultrasound)"
            ))),
        }
    }
}

/// Settings of the pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineConfig {
    /// Pairs per batch (the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// Prompt kinds.
    pub prompt: PromptMode,
    /// Prompt wording.
    pub wording: WordingMode,
    /// Prompt family (real data or SDM-synthetic).
    pub scheme: PromptScheme,
    /// Structures to pair every sample with (duplicates are ignored).
    pub structures: Vec<Structure>,
    /// Model input (width, height), pixels.
    pub input: (usize, usize),
    /// Shuffle the pairs of each epoch.
    pub shuffle: bool,
    /// Random affine and gamma augmentation (off in the seed).
    pub augment: bool,
    /// Seed of shuffling, prompt draws and augmentation.
    pub seed: u64,
    /// Batches prepared ahead of the consumer, all threads together (at least one per thread).
    pub prefetch: usize,
    /// Loader threads (0 counts as 1).
    pub workers: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            batch_size: 16,
            prompt: PromptMode::Fixed(PromptKind::P3),
            wording: WordingMode::Random,
            scheme: PromptScheme::Camus,
            structures: Structure::ALL.to_vec(),
            input: (224, 224),
            shuffle: true,
            augment: false,
            seed: 0,
            prefetch: 4,
            workers: 1,
        }
    }
}

impl PipelineConfig {
    /// The structures, without duplicates, in the given order.
    fn unique_structures(&self) -> Vec<Structure> {
        let mut out: Vec<Structure> = Vec::with_capacity(self.structures.len());
        for s in &self.structures {
            if !out.contains(s) {
                out.push(*s);
            }
        }
        out
    }

    /// Check that the settings can produce batches.
    pub fn validate(&self) -> Result<(), PipelineError> {
        let bad = |m: String| Err(PipelineError::Config(m));
        if self.batch_size == 0 {
            return bad("batch_size must be at least 1".into());
        }
        if self.input.0 == 0 || self.input.1 == 0 {
            return bad(format!("input size {:?} has a zero side", self.input));
        }
        if self.structures.is_empty() {
            return bad("no structures to train on".into());
        }
        if self.prompt.kinds(self.scheme).is_empty() {
            return bad(format!(
                "prompt mode {} has no kind of the {:?} scheme",
                self.prompt, self.scheme
            ));
        }
        Ok(())
    }
}

/// A training pair: a sample and the structure to segment in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Item {
    /// Sample index in the source.
    pub sample: usize,
    /// Structure.
    pub structure: Structure,
}

/// One batch of pairs.
#[derive(Debug)]
pub struct Batch {
    /// Images `[B, 1, H, W]`, `Kind::Uint8`, values 0–255.
    pub images: Tensor,
    /// Token ids `[B, L]`, int64, 0 = padding (L = the tokenizer's length).
    pub tokens: Tensor,
    /// Target masks `[B, 1, H, W]`, `Kind::Float`, 0 or 1.
    pub masks: Tensor,
    /// Structure of each pair.
    pub structures: Vec<Structure>,
    /// Prompt kind each pair got (after degradation).
    pub kinds: Vec<PromptKind>,
    /// Prompt text of each pair.
    pub prompts: Vec<String>,
    /// Sample id of each pair.
    pub ids: Vec<String>,
}

impl Batch {
    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True for a batch without pairs (never produced by a [`Loader`]).
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

const SHUFFLE_SALT: u64 = 0x5348_5546_464c_4531;
const PAIR_SALT: u64 = 0x5041_4952_5f44_5257;
const MIX_SALT: u64 = 0x4d49_585f_534f_5552;

/// A random stream for one purpose, keyed by up to three numbers.
fn stream(salt: u64, a: u64, b: u64, c: u64) -> SplitMix64 {
    SplitMix64::new(mix(mix(mix(salt ^ a).wrapping_add(b)).wrapping_add(c)))
}

/// Uniform in `0..n` (`n` > 0; 0 when `n` is 0).
fn below(rng: &mut SplitMix64, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    (rng.next_u64() % n as u64) as usize
}

/// Fisher–Yates shuffle.
fn shuffle<T>(v: &mut [T], rng: &mut SplitMix64) {
    for i in (1..v.len()).rev() {
        let j = below(rng, i + 1);
        v.swap(i, j);
    }
}

/// Every (sample, structure) pair of a source of `len` samples, sample-major (each sample's
/// structures in `cfg.structures` order), shuffled deterministically by `(cfg.seed, epoch)`
/// when `cfg.shuffle`.
pub fn epoch_items(len: usize, cfg: &PipelineConfig, epoch: usize) -> Vec<Item> {
    let structures = cfg.unique_structures();
    let mut items: Vec<Item> = (0..len)
        .flat_map(|sample| {
            structures
                .iter()
                .map(move |&structure| Item { sample, structure })
        })
        .collect();
    if cfg.shuffle {
        let mut rng = stream(SHUFFLE_SALT, cfg.seed, epoch as u64, 0);
        shuffle(&mut items, &mut rng);
    }
    items
}

/// Parameters of one augmentation: an affine map about the image centre (scale, rotation, then
/// shift), and a gamma applied to the image's grey values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Augment {
    /// Zoom factor (>1 enlarges).
    pub scale: f64,
    /// Shift (x, y), pixels of the model input.
    pub shift: (f64, f64),
    /// Rotation, degrees (counter-clockwise on screen).
    pub rotation_deg: f64,
    /// Gamma: output = 255 · (input / 255)^gamma.
    pub gamma: f64,
}

impl Augment {
    /// No change.
    pub const IDENTITY: Self = Self {
        scale: 1.0,
        shift: (0.0, 0.0),
        rotation_deg: 0.0,
        gamma: 1.0,
    };

    /// Random parameters: scale 0.9–1.1, shift ±8 px per axis, rotation ±10°, gamma 0.8–1.2.
    pub fn draw(rng: &mut SplitMix64) -> Self {
        Self {
            scale: rng.range(0.9, 1.1),
            shift: (rng.range(-8.0, 8.0), rng.range(-8.0, 8.0)),
            rotation_deg: rng.range(-10.0, 10.0),
            gamma: rng.range(0.8, 1.2),
        }
    }

    /// Where output point (x, y) (continuous pixel coordinates, pixel i covers [i, i+1)) comes
    /// from in a `w × h` input.
    fn source_point(&self, w: usize, h: usize, x: f64, y: f64) -> (f64, f64) {
        let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
        let (s, c) = (-self.rotation_deg).to_radians().sin_cos();
        let (dx, dy) = (x - cx - self.shift.0, y - cy - self.shift.1);
        // On screen y points down, so a counter-clockwise rotation by θ is (x, y) → (x cos θ +
        // y sin θ, −x sin θ + y cos θ); its inverse uses −θ.
        let k = 1.0 / self.scale;
        (cx + k * (dx * c + dy * s), cy + k * (-dx * s + dy * c))
    }

    /// Warp a `w × h` grey image (bilinear; 0 outside) and apply the gamma.
    pub fn apply_gray(&self, data: &[u8], w: usize, h: usize) -> Vec<u8> {
        let lut: Vec<u8> = (0..=255u8)
            .map(|v| {
                let g = 255.0 * (f64::from(v) / 255.0).powf(self.gamma);
                g.round().clamp(0.0, 255.0) as u8
            })
            .collect();
        let at = |x: i64, y: i64| -> f64 {
            if x < 0 || y < 0 || x as usize >= w || y as usize >= h {
                return 0.0;
            }
            data.get(y as usize * w + x as usize)
                .map_or(0.0, |&v| f64::from(v))
        };
        let mut out = Vec::with_capacity(w * h);
        for py in 0..h {
            for px in 0..w {
                let (sx, sy) = self.source_point(w, h, px as f64 + 0.5, py as f64 + 0.5);
                let (fx, fy) = (sx - 0.5, sy - 0.5);
                let (x0, y0) = (fx.floor(), fy.floor());
                let (ax, ay) = (fx - x0, fy - y0);
                let (x0, y0) = (x0 as i64, y0 as i64);
                let v = (1.0 - ay) * ((1.0 - ax) * at(x0, y0) + ax * at(x0 + 1, y0))
                    + ay * ((1.0 - ax) * at(x0, y0 + 1) + ax * at(x0 + 1, y0 + 1));
                let v = v.round().clamp(0.0, 255.0) as u8;
                out.push(lut.get(usize::from(v)).copied().unwrap_or(v));
            }
        }
        out
    }

    /// Warp a `w × h` 0/1 mask with the same geometry (nearest neighbour; 0 outside).
    pub fn apply_mask(&self, data: &[u8], w: usize, h: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(w * h);
        for py in 0..h {
            for px in 0..w {
                let (sx, sy) = self.source_point(w, h, px as f64 + 0.5, py as f64 + 0.5);
                let (x, y) = (sx.floor(), sy.floor());
                let inside = x >= 0.0 && y >= 0.0 && x < w as f64 && y < h as f64;
                let v = if inside {
                    data.get(y as usize * w + x as usize).copied().unwrap_or(0)
                } else {
                    0
                };
                out.push(u8::from(v != 0));
            }
        }
        out
    }
}

/// `img` stretched to `w × h` by core's antialiased preprocessor (a copy when the size
/// already matches): how every training image reaches the model's size. `prep` is rebuilt
/// when it was made for another size.
pub fn resize_gray(
    prep: &mut Preprocessor,
    img: &GrayImage,
    w: usize,
    h: usize,
) -> Result<Vec<u8>, PreprocessError> {
    if (img.width(), img.height()) == (w, h) {
        return Ok(img.data().to_vec());
    }
    if prep.model_size() != (w, h) {
        *prep = Preprocessor::new(w, h);
    }
    let view = FrameView::gray8(img.width(), img.height(), img.data())?;
    let mut out = Vec::new();
    prep.run(&view, &PreprocessOptions::default(), &mut out)?;
    Ok(out)
}

/// Resize a mask to `w × h` by nearest neighbour, pixel-centre aligned (output pixel x takes
/// source pixel ⌊(x + ½) · sw / w⌋).
pub fn resize_mask_nearest(mask: &Mask, w: usize, h: usize) -> Vec<u8> {
    let (sw, sh) = (mask.width(), mask.height());
    if (sw, sh) == (w, h) {
        return mask.data().to_vec();
    }
    let pick = |o: usize, n: usize, sn: usize| ((2 * o + 1) * sn / (2 * n)).min(sn - 1);
    let cols: Vec<usize> = (0..w).map(|x| pick(x, w, sw)).collect();
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h {
        let sy = pick(y, h, sh);
        out.extend(cols.iter().map(|&sx| u8::from(mask.get(sx, sy))));
    }
    out
}

/// A sample brought to the model size.
struct Prepared {
    index: usize,
    sample: Sample,
    image: Vec<u8>,
    masks: [Vec<u8>; 3],
}

/// What every loader thread shares.
struct Shared {
    source: Arc<dyn SampleSource>,
    cfg: PipelineConfig,
    epoch: usize,
    items: Vec<Item>,
    kinds: Vec<PromptKind>,
    tokenizer: Tokenizer,
    stop: AtomicBool,
    degraded_logged: AtomicBool,
}

impl Shared {
    fn batches(&self) -> usize {
        self.items.len().div_ceil(self.cfg.batch_size.max(1))
    }

    fn prepare(&self, index: usize, prep: &mut Preprocessor) -> Result<Prepared, PipelineError> {
        let sample = self.source.load(index)?;
        let (w, h) = self.cfg.input;
        let img = &sample.image;
        let image = resize_gray(prep, img, w, h)?;
        let masks = std::array::from_fn(|i| {
            sample
                .masks
                .get(i)
                .map_or_else(|| vec![0; w * h], |m| resize_mask_nearest(m, w, h))
        });
        Ok(Prepared {
            index,
            sample,
            image,
            masks,
        })
    }

    /// Batch `b` of the epoch.
    fn batch(&self, b: usize, prep: &mut Preprocessor) -> Result<Batch, PipelineError> {
        let bs = self.cfg.batch_size;
        let start = b.saturating_mul(bs).min(self.items.len());
        let end = start.saturating_add(bs).min(self.items.len());
        let items = self.items.get(start..end).unwrap_or(&[]);
        let (w, h) = self.cfg.input;
        let n = items.len();
        let mut images: Vec<u8> = Vec::with_capacity(n * w * h);
        let mut masks: Vec<f32> = Vec::with_capacity(n * w * h);
        let mut tokens: Vec<i64> = Vec::with_capacity(n * self.tokenizer.max_len());
        let mut out = Batch {
            images: Tensor::new(),
            tokens: Tensor::new(),
            masks: Tensor::new(),
            structures: Vec::with_capacity(n),
            kinds: Vec::with_capacity(n),
            prompts: Vec::with_capacity(n),
            ids: Vec::with_capacity(n),
        };
        let mut cache: Vec<Prepared> = Vec::new();
        for (k, item) in items.iter().enumerate() {
            if self.stop.load(Ordering::Relaxed) {
                return Err(PipelineError::Disconnected);
            }
            let pos = match cache.iter().position(|p| p.index == item.sample) {
                Some(pos) => pos,
                None => {
                    cache.push(self.prepare(item.sample, prep)?);
                    cache.len() - 1
                }
            };
            let Some(p) = cache.get(pos) else {
                return Err(PipelineError::Disconnected);
            };
            let mut rng = stream(
                PAIR_SALT,
                self.cfg.seed,
                self.epoch as u64,
                (start + k) as u64,
            );
            let (kind, prompt) = self.prompt(&p.sample, item.structure, &mut rng)?;
            let (ids, _) = self.tokenizer.encode(&prompt)?;
            let mask = p.masks.get(item.structure.index()).map_or(&[][..], |m| m);
            if self.cfg.augment {
                let a = Augment::draw(&mut rng);
                images.extend(a.apply_gray(&p.image, w, h));
                masks.extend(a.apply_mask(mask, w, h).iter().map(|&v| f32::from(v)));
            } else {
                images.extend_from_slice(&p.image);
                masks.extend(mask.iter().map(|&v| f32::from(v)));
            }
            tokens.extend(ids);
            out.structures.push(item.structure);
            out.kinds.push(kind);
            out.prompts.push(prompt);
            out.ids.push(p.sample.id.clone());
        }
        let (bn, hh, ww) = (n as i64, h as i64, w as i64);
        out.images = Tensor::f_from_slice(&images)?.f_view([bn, 1, hh, ww])?;
        out.masks = Tensor::f_from_slice(&masks)?.f_view([bn, 1, hh, ww])?;
        out.tokens =
            Tensor::f_from_slice(&tokens)?.f_view([bn, self.tokenizer.max_len() as i64])?;
        Ok(out)
    }

    /// Kind and text of a pair's prompt; draws the kind, then the wording, from `rng`.
    fn prompt(
        &self,
        sample: &Sample,
        structure: Structure,
        rng: &mut SplitMix64,
    ) -> Result<(PromptKind, String), PipelineError> {
        let scheme = self.cfg.scheme;
        let wanted = self
            .kinds
            .get(below(rng, self.kinds.len()))
            .copied()
            .unwrap_or(PromptKind::P1);
        let wording = match self.cfg.wording {
            WordingMode::Random if rng.unit() < 0.5 => Wording::Heart,
            WordingMode::Random => Wording::CardiacUltrasound,
            WordingMode::Fixed(w) => w,
        };
        let mut attrs = PromptAttrs::from_meta(structure, &sample.meta);
        attrs.shape = sample.shapes.get(structure.index()).copied().flatten();
        let missing = wanted.fields(scheme).and_then(|f| attrs.missing(f));
        let kind = match missing {
            Some(field) => {
                let kind = PromptKind::richest(&attrs, wanted, scheme);
                if !self.degraded_logged.swap(true, Ordering::Relaxed) {
                    log::debug!(
                        "{}: no {field} for a {wanted} prompt, using {kind} (further \
                         degradations are not logged)",
                        sample.id
                    );
                }
                kind
            }
            None => wanted,
        };
        Ok((kind, attrs.build(kind, wording, scheme)?))
    }
}

/// One epoch of batches, prepared by background threads.
///
/// Batch `b` holds pairs `b · batch_size ..` of [`epoch_items`]; it is built by thread
/// `b % workers` and handed over in order, so the sequence is the same for any number of
/// threads. A batch that fails (a sample that does not load, say) is an `Err` item and the
/// epoch goes on. Dropping the loader stops its threads (each finishes at most the sample it is
/// decoding) and waits for them.
pub struct Loader {
    shared: Arc<Shared>,
    receivers: Vec<Receiver<Result<Batch, PipelineError>>>,
    handles: Vec<JoinHandle<()>>,
    next: usize,
    total: usize,
    pending: Option<PipelineError>,
}

impl fmt::Debug for Loader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loader")
            .field("epoch", &self.shared.epoch)
            .field("next", &self.next)
            .field("batches", &self.total)
            .field("workers", &self.handles.len())
            .finish()
    }
}

impl Loader {
    /// Epoch `epoch` of `source` with the builtin vocabulary's tokenizer
    /// ([`Tokenizer::default`], 32 tokens).
    pub fn epoch(source: Arc<dyn SampleSource>, cfg: PipelineConfig, epoch: usize) -> Self {
        Self::with_tokenizer(source, cfg, epoch, Tokenizer::default())
    }

    /// Epoch `epoch` of `source`, tokenising with `tokenizer` (e.g. a bundle's vocabulary and
    /// the model's length). An invalid configuration gives one `Err` item and no batches.
    pub fn with_tokenizer(
        source: Arc<dyn SampleSource>,
        cfg: PipelineConfig,
        epoch: usize,
        tokenizer: Tokenizer,
    ) -> Self {
        let invalid = cfg.validate().err();
        let items = if invalid.is_some() {
            Vec::new()
        } else {
            epoch_items(source.len(), &cfg, epoch)
        };
        let kinds = cfg.prompt.kinds(cfg.scheme);
        let shared = Arc::new(Shared {
            source,
            cfg,
            epoch,
            items,
            kinds,
            tokenizer,
            stop: AtomicBool::new(false),
            degraded_logged: AtomicBool::new(false),
        });
        let mut loader = Self {
            total: shared.batches(),
            shared,
            receivers: Vec::new(),
            handles: Vec::new(),
            next: 0,
            pending: invalid,
        };
        if loader.total > 0
            && let Err(e) = loader.spawn()
        {
            loader.shutdown();
            loader.total = 0;
            loader.pending = Some(e);
        }
        loader
    }

    fn spawn(&mut self) -> Result<(), PipelineError> {
        let workers = self.shared.cfg.workers.clamp(1, self.total);
        let capacity = self.shared.cfg.prefetch.div_ceil(workers).max(1);
        log::debug!(
            "loader epoch {}: {} pairs in {} batches, {workers} threads, {capacity} batches \
             buffered each",
            self.shared.epoch,
            self.shared.items.len(),
            self.total
        );
        for w in 0..workers {
            let (tx, rx) = bounded(capacity);
            let shared = Arc::clone(&self.shared);
            let handle = std::thread::Builder::new()
                .name(format!("loader-{w}"))
                .spawn(move || work(&shared, w, workers, &tx))
                .map_err(PipelineError::Thread)?;
            self.receivers.push(rx);
            self.handles.push(handle);
        }
        Ok(())
    }

    /// Number of batches in this epoch.
    pub fn batches(&self) -> usize {
        self.total
    }

    /// Number of pairs in this epoch.
    pub fn pairs(&self) -> usize {
        self.shared.items.len()
    }

    fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        // Dropping the receivers fails any blocked send, so every thread returns.
        self.receivers.clear();
        for h in self.handles.drain(..) {
            if h.join().is_err() {
                log::warn!("a loader thread panicked");
            }
        }
    }
}

/// Loader thread `w` of `workers`: batches `w, w + workers, …` in order.
fn work(shared: &Shared, w: usize, workers: usize, tx: &Sender<Result<Batch, PipelineError>>) {
    let (mw, mh) = shared.cfg.input;
    let mut prep = Preprocessor::new(mw, mh);
    let mut b = w;
    while b < shared.batches() {
        if shared.stop.load(Ordering::Relaxed) {
            return;
        }
        let batch = shared.batch(b, &mut prep);
        if shared.stop.load(Ordering::Relaxed) || tx.send(batch).is_err() {
            return;
        }
        b += workers;
    }
}

impl Iterator for Loader {
    type Item = Result<Batch, PipelineError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.pending.take() {
            return Some(Err(e));
        }
        if self.next >= self.total {
            return None;
        }
        let rx = self
            .receivers
            .get(self.next % self.receivers.len().max(1))?;
        match rx.recv() {
            Ok(batch) => {
                self.next += 1;
                Some(batch)
            }
            Err(_) => {
                self.next = self.total;
                Some(Err(PipelineError::Disconnected))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.total - self.next.min(self.total) + usize::from(self.pending.is_some());
        (n, Some(n))
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A weighted mix of sources as one [`SampleSource`] of a chosen length.
///
/// Sample `i` comes from source `k` with probability ∝ its weight, drawn by `(seed, i)`. Within
/// a source, samples are taken without replacement in a seeded random order, reshuffled each
/// time the source is used up, so every sample of a source is used before any repeats. Ids are
/// the sources' own.
pub struct Mix {
    sources: Vec<Arc<dyn SampleSource>>,
    table: Vec<(usize, usize)>,
}

impl fmt::Debug for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mix")
            .field("sources", &self.sources.len())
            .field("len", &self.table.len())
            .finish()
    }
}

impl Mix {
    /// `len` samples drawn from `parts` (source, weight). Weights must be finite and ≥ 0 with
    /// a positive sum over non-empty sources; empty sources are never drawn.
    pub fn new(
        parts: Vec<(Arc<dyn SampleSource>, f64)>,
        len: usize,
        seed: u64,
    ) -> Result<Self, PipelineError> {
        if let Some((_, w)) = parts.iter().find(|(_, w)| !w.is_finite() || *w < 0.0) {
            return Err(PipelineError::Config(format!(
                "mix weight {w} is not a finite non-negative number"
            )));
        }
        let weights: Vec<f64> = parts
            .iter()
            .map(|(s, w)| if s.is_empty() { 0.0 } else { *w })
            .collect();
        let total: f64 = weights.iter().sum();
        if len > 0 && total <= 0.0 {
            return Err(PipelineError::Config(
                "a mix needs a non-empty source with a positive weight".into(),
            ));
        }
        let sources: Vec<Arc<dyn SampleSource>> = parts.into_iter().map(|(s, _)| s).collect();
        // Per source: its current random order and how much of it is used.
        let mut orders: Vec<(Vec<usize>, usize, u64)> =
            sources.iter().map(|s| (Vec::new(), s.len(), 0)).collect();
        let mut table = Vec::with_capacity(len);
        for i in 0..len {
            let mut rng = stream(MIX_SALT, seed, i as u64, 0);
            let mut u = rng.unit() * total;
            let mut k = weights.iter().rposition(|&w| w > 0.0).unwrap_or(0);
            for (j, &w) in weights.iter().enumerate() {
                if w > 0.0 && u < w {
                    k = j;
                    break;
                }
                u -= w;
            }
            let Some((order, used, cycle)) = orders.get_mut(k) else {
                continue;
            };
            if *used >= order.len() {
                let n = sources.get(k).map_or(0, |s| s.len());
                *order = (0..n).collect();
                shuffle(order, &mut stream(MIX_SALT, seed, k as u64, 1 + *cycle));
                *cycle += 1;
                *used = 0;
            }
            if let Some(&j) = order.get(*used) {
                table.push((k, j));
                *used += 1;
            }
        }
        Ok(Self { sources, table })
    }

    /// Which source (index in `parts`) and which of its samples sample `index` is.
    pub fn origin(&self, index: usize) -> Option<(usize, usize)> {
        self.table.get(index).copied()
    }
}

impl SampleSource for Mix {
    fn len(&self) -> usize {
        self.table.len()
    }

    /// `mix of A + B`.
    fn name(&self) -> String {
        let parts: Vec<String> = self.sources.iter().map(|s| s.name()).collect();
        format!("mix of {}", parts.join(" + "))
    }

    fn id(&self, index: usize) -> Option<&str> {
        let (k, j) = self.origin(index)?;
        self.sources.get(k)?.id(j)
    }

    fn load(&self, index: usize) -> Result<Sample, DataError> {
        let out_of_range = || DataError::Index {
            index,
            len: self.table.len(),
        };
        let (k, j) = self.origin(index).ok_or_else(out_of_range)?;
        self.sources.get(k).ok_or_else(out_of_range)?.load(j)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::time::{Duration, Instant};
    use synboost_core::raster::GrayImage;
    use synboost_phantom::source::PhantomSource;
    use tch::Kind;

    fn phantoms(patients: usize, size: usize) -> Arc<dyn SampleSource> {
        Arc::new(PhantomSource::new(patients, 0, size, 11))
    }

    fn small(batch_size: usize) -> PipelineConfig {
        PipelineConfig {
            batch_size,
            input: (64, 64),
            seed: 5,
            ..PipelineConfig::default()
        }
    }

    /// A source of constant in-memory samples, counting loads; sample 1 fails when `bad`.
    struct Fake {
        ids: Vec<String>,
        size: (usize, usize),
        bad: bool,
        delay: Duration,
    }

    impl Fake {
        fn new(n: usize, size: (usize, usize)) -> Self {
            Self {
                ids: (0..n).map(|i| format!("fake{i:03}_2CH_ED")).collect(),
                size,
                bad: false,
                delay: Duration::ZERO,
            }
        }
    }

    impl SampleSource for Fake {
        fn len(&self) -> usize {
            self.ids.len()
        }
        fn id(&self, index: usize) -> Option<&str> {
            self.ids.get(index).map(String::as_str)
        }
        fn load(&self, index: usize) -> Result<Sample, DataError> {
            std::thread::sleep(self.delay);
            if self.bad && index == 1 {
                return Err(DataError::Index { index, len: 0 });
            }
            let (w, h) = self.size;
            let image: Vec<u8> = (0..w * h).map(|p| ((p + index) % 251) as u8).collect();
            let mask = |s: usize| Mask::from_fn(w, h, &image, |v| usize::from(v) % 3 == s).unwrap();
            Ok(Sample {
                id: self.ids[index].clone(),
                patient: format!("fake{index:03}"),
                image: GrayImage::new(w, h, image.clone()).unwrap(),
                masks: [mask(0), mask(1), mask(2)],
                meta: synboost_core::meta::ScanMeta {
                    view: Some(synboost_core::View::TwoChamber),
                    phase: Some(synboost_core::Phase::EndDiastole),
                    ..Default::default()
                },
                shapes: [None; 3],
            })
        }
    }

    #[test]
    fn epoch_items_cover_every_pair_once_and_shuffle_by_seed_and_epoch() {
        let cfg = PipelineConfig {
            seed: 3,
            structures: vec![
                Structure::LvCavity,
                Structure::LaCavity,
                Structure::LvCavity,
            ],
            ..PipelineConfig::default()
        };
        let a = epoch_items(50, &cfg, 0);
        assert_eq!(a.len(), 100);
        let set: HashSet<Item> = a.iter().copied().collect();
        assert_eq!(set.len(), 100);
        assert!(
            a.iter()
                .all(|i| i.sample < 50 && i.structure != Structure::Myocardium)
        );
        assert_eq!(a, epoch_items(50, &cfg, 0));
        let b = epoch_items(50, &cfg, 1);
        assert_ne!(a, b);
        assert_eq!(set, b.iter().copied().collect());
        let other_seed = PipelineConfig {
            seed: 4,
            ..cfg.clone()
        };
        assert_ne!(a, epoch_items(50, &other_seed, 0));
        let plain = PipelineConfig {
            shuffle: false,
            ..cfg
        };
        let p = epoch_items(2, &plain, 7);
        assert_eq!(
            p,
            [
                Item {
                    sample: 0,
                    structure: Structure::LvCavity
                },
                Item {
                    sample: 0,
                    structure: Structure::LaCavity
                },
                Item {
                    sample: 1,
                    structure: Structure::LvCavity
                },
                Item {
                    sample: 1,
                    structure: Structure::LaCavity
                },
            ]
        );
        assert!(epoch_items(0, &PipelineConfig::default(), 0).is_empty());
    }

    #[test]
    fn prompt_modes_parse() {
        assert_eq!(
            "p3".parse::<PromptMode>().unwrap(),
            PromptMode::Fixed(PromptKind::P3)
        );
        assert_eq!(
            "p1, P3,5".parse::<PromptMode>().unwrap(),
            PromptMode::Mix(vec![PromptKind::P1, PromptKind::P3, PromptKind::P5])
        );
        let mix: PromptMode = "mix".parse().unwrap();
        assert_eq!(mix.kinds(PromptScheme::Camus).len(), 8);
        assert_eq!(mix.kinds(PromptScheme::Synthetic).len(), 7);
        assert!(!mix.kinds(PromptScheme::Synthetic).contains(&PromptKind::P7));
        assert!("p9".parse::<PromptMode>().is_err());
        assert!("p1,".parse::<PromptMode>().is_err());
        assert_eq!(
            "Heart".parse::<WordingMode>().unwrap(),
            WordingMode::Fixed(Wording::Heart)
        );
        assert_eq!(
            "random".parse::<WordingMode>().unwrap(),
            WordingMode::Random
        );
        assert!("x".parse::<WordingMode>().is_err());
        assert_eq!(mix.to_string(), "mix(P0,P1,P2,P3,P4,P5,P6,P7)");
    }

    #[test]
    fn mix_respects_weights_and_covers_sources() {
        let a: Arc<dyn SampleSource> = Arc::new(Fake::new(10, (4, 4)));
        let b: Arc<dyn SampleSource> = Arc::new(Fake::new(7, (4, 4)));
        let m = Mix::new(vec![(a, 3.0), (b, 1.0)], 4000, 9).unwrap();
        assert_eq!(m.len(), 4000);
        let from_a = (0..4000).filter(|&i| m.origin(i).unwrap().0 == 0).count();
        let share = from_a as f64 / 4000.0;
        assert!((share - 0.75).abs() < 0.05, "{share}");
        // Without replacement: the first 10 draws from source a are all its samples.
        let first_a: HashSet<usize> = (0..4000)
            .filter_map(|i| m.origin(i).filter(|o| o.0 == 0).map(|o| o.1))
            .take(10)
            .collect();
        assert_eq!(first_a.len(), 10);
        let (k, j) = m.origin(17).unwrap();
        assert_eq!(m.id(17).unwrap(), format!("fake{j:03}_2CH_ED"));
        assert_eq!(m.load(17).unwrap().id, m.id(17).unwrap());
        assert!(k < 2);
        // Deterministic by seed.
        let again = Mix::new(
            vec![
                (
                    Arc::new(Fake::new(10, (4, 4))) as Arc<dyn SampleSource>,
                    3.0,
                ),
                (Arc::new(Fake::new(7, (4, 4))) as Arc<dyn SampleSource>, 1.0),
            ],
            4000,
            9,
        )
        .unwrap();
        assert!((0..4000).all(|i| m.origin(i) == again.origin(i)));
        assert!(m.load(4000).is_err());
        // Zero weight is never drawn; bad weights are errors.
        let z = Mix::new(
            vec![
                (Arc::new(Fake::new(3, (4, 4))) as Arc<dyn SampleSource>, 0.0),
                (Arc::new(Fake::new(3, (4, 4))) as Arc<dyn SampleSource>, 2.0),
            ],
            100,
            1,
        )
        .unwrap();
        assert!((0..100).all(|i| z.origin(i).unwrap().0 == 1));
        assert!(Mix::new(vec![(Arc::new(Fake::new(3, (4, 4))) as _, f64::NAN)], 5, 1).is_err());
        assert!(Mix::new(vec![(Arc::new(Fake::new(0, (4, 4))) as _, 1.0)], 5, 1).is_err());
    }

    #[test]
    fn augment_identity_is_identity_and_masks_stay_binary() {
        let (w, h) = (40, 30);
        let img: Vec<u8> = (0..w * h).map(|p| (p * 7 % 256) as u8).collect();
        let mask: Vec<u8> = (0..w * h)
            .map(|p| u8::from((p % w) > 10 && (p % w) < 25 && (p / w) > 5 && (p / w) < 20))
            .collect();
        assert_eq!(Augment::IDENTITY.apply_gray(&img, w, h), img);
        assert_eq!(Augment::IDENTITY.apply_mask(&mask, w, h), mask);
        // An integer shift moves the mask exactly.
        let shift = Augment {
            shift: (3.0, -2.0),
            ..Augment::IDENTITY
        };
        let m = shift.apply_mask(&mask, w, h);
        for y in 0..h {
            for x in 0..w {
                let src = (x >= 3 && y + 2 < h).then(|| mask[(y + 2) * w + x - 3]);
                assert_eq!(m[y * w + x], src.unwrap_or(0), "({x}, {y})");
            }
        }
        // Random parameters: binary masks, the image of a binary picture agrees with the mask.
        let mut rng = SplitMix64::new(1);
        let picture: Vec<u8> = mask.iter().map(|&v| v * 255).collect();
        for _ in 0..20 {
            let a = Augment {
                gamma: 1.0,
                ..Augment::draw(&mut rng)
            };
            assert!((0.9..1.1).contains(&a.scale) && a.rotation_deg.abs() <= 10.0);
            let m = a.apply_mask(&mask, w, h);
            assert!(m.iter().all(|&v| v <= 1));
            let g = a.apply_gray(&picture, w, h);
            let disagree = m
                .iter()
                .zip(&g)
                .filter(|(m, g)| (**m == 1) != (**g >= 128))
                .count();
            assert!(
                disagree * 10 < mask.iter().filter(|&&v| v == 1).count(),
                "{a:?}"
            );
            assert!(m.contains(&1));
        }
        // Gamma darkens mid-greys when above 1 and keeps 0 and 255.
        let dark = Augment {
            gamma: 1.2,
            ..Augment::IDENTITY
        }
        .apply_gray(&[0, 128, 255], 3, 1);
        assert_eq!(dark[0], 0);
        assert!(dark[1] < 128);
        assert_eq!(dark[2], 255);
    }

    #[test]
    fn nearest_mask_resize_is_pixel_centre_aligned() {
        let m = Mask::new(4, 1, vec![0, 1, 0, 1]).unwrap();
        assert_eq!(resize_mask_nearest(&m, 2, 1), [1, 1]);
        let m = Mask::new(2, 2, vec![1, 0, 0, 1]).unwrap();
        assert_eq!(
            resize_mask_nearest(&m, 4, 4),
            [1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1]
        );
    }

    #[test]
    fn loader_batches_phantoms_with_prompts_and_masks() {
        let source = phantoms(2, 64);
        let cfg = small(5);
        let mut loader = Loader::epoch(Arc::clone(&source), cfg.clone(), 0);
        assert_eq!(loader.batches(), 5); // 8 samples × 3 structures = 24 pairs
        let tok = Tokenizer::default();
        let mut pairs = 0;
        let mut wordings = HashSet::new();
        let items = epoch_items(8, &cfg, 0);
        for (b, batch) in loader.by_ref().enumerate() {
            let batch = batch.unwrap();
            let n = batch.len() as i64;
            assert_eq!(n, if b == 4 { 4 } else { 5 });
            assert_eq!(batch.images.size(), [n, 1, 64, 64]);
            assert_eq!(batch.images.kind(), Kind::Uint8);
            assert_eq!(batch.masks.size(), [n, 1, 64, 64]);
            assert_eq!(batch.masks.kind(), Kind::Float);
            assert_eq!(batch.tokens.size(), [n, Tokenizer::DEFAULT_MAX_LEN as i64]);
            assert_eq!(batch.tokens.kind(), Kind::Int64);
            let masks = Vec::<f32>::try_from(batch.masks.flatten(0, -1)).unwrap();
            assert!(masks.iter().all(|&v| v == 0.0 || v == 1.0));
            let images = Vec::<u8>::try_from(batch.images.flatten(0, -1)).unwrap();
            for k in 0..batch.len() {
                let item = items[b * 5 + k];
                assert_eq!(batch.structures[k], item.structure);
                let sample = source.load(item.sample).unwrap();
                assert_eq!(batch.ids[k], sample.id);
                let px = 64 * 64;
                let m: Vec<u8> = masks[k * px..(k + 1) * px]
                    .iter()
                    .map(|&v| v as u8)
                    .collect();
                assert_eq!(m, sample.mask(item.structure).data());
                assert_eq!(&images[k * px..(k + 1) * px], sample.image.data());
                assert_eq!(batch.kinds[k], PromptKind::P3);
                let mut attrs = PromptAttrs::from_meta(item.structure, &sample.meta);
                attrs.shape = sample.shapes[item.structure.index()];
                let heart = attrs.build(PromptKind::P3, Wording::Heart, PromptScheme::Camus);
                let us = attrs.build(
                    PromptKind::P3,
                    Wording::CardiacUltrasound,
                    PromptScheme::Camus,
                );
                let p = &batch.prompts[k];
                if *p == heart.unwrap() {
                    wordings.insert(Wording::Heart);
                } else {
                    assert_eq!(*p, us.unwrap());
                    wordings.insert(Wording::CardiacUltrasound);
                }
                let row = Vec::<i64>::try_from(batch.tokens.get(k as i64)).unwrap();
                let (ids, count) = tok.encode(p).unwrap();
                assert_eq!(row, ids);
                assert_eq!(row.iter().filter(|&&t| t != 0).count(), count);
                let words: Vec<String> = synboost_core::vocab::split_words(p).collect();
                assert_eq!(count, words.len());
                assert_eq!(tok.decode(&row), words.join(" "));
            }
            pairs += batch.len();
        }
        assert_eq!(pairs, 24);
        assert_eq!(wordings.len(), 2);
        assert!(loader.next().is_none());
    }

    #[test]
    fn mixed_kinds_degrade_and_resize() {
        // Fake samples know view and phase only: P4+ degrades to P3; P0 stays empty.
        let source: Arc<dyn SampleSource> = Arc::new(Fake::new(6, (50, 40)));
        let cfg = PipelineConfig {
            batch_size: 18,
            prompt: PromptMode::Mix(PromptKind::ALL.to_vec()),
            wording: WordingMode::Fixed(Wording::Heart),
            input: (32, 24),
            ..PipelineConfig::default()
        };
        let batches: Vec<Batch> = Loader::epoch(Arc::clone(&source), cfg, 2)
            .map(Result::unwrap)
            .collect();
        assert_eq!(batches.len(), 1);
        let b = &batches[0];
        assert_eq!(b.images.size(), [18, 1, 24, 32]);
        assert!(b.kinds.iter().all(|&k| k <= PromptKind::P3));
        assert!(b.kinds.contains(&PromptKind::P0) && b.kinds.contains(&PromptKind::P3));
        for (k, p) in b.kinds.iter().zip(&b.prompts) {
            assert_eq!(p.is_empty(), *k == PromptKind::P0);
            assert!(p.is_empty() || p.contains("of the heart"), "{p}");
        }
        // Masks are the nearest-neighbour resize of the sample's.
        let masks = Vec::<f32>::try_from(b.masks.flatten(0, -1)).unwrap();
        let id: usize = b.ids[0][4..7].parse().unwrap();
        let sample = source.load(id).unwrap();
        let want = resize_mask_nearest(sample.mask(b.structures[0]), 32, 24);
        let got: Vec<u8> = masks[..32 * 24].iter().map(|&v| v as u8).collect();
        assert_eq!(got, want);
    }

    fn collect(source: &Arc<dyn SampleSource>, cfg: &PipelineConfig) -> Vec<Batch> {
        Loader::epoch(Arc::clone(source), cfg.clone(), 1)
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn same_seed_same_batches_for_any_worker_count() {
        let source = phantoms(2, 64);
        let one = PipelineConfig {
            prompt: "mix".parse().unwrap(),
            augment: true,
            workers: 1,
            ..small(4)
        };
        let two = PipelineConfig {
            workers: 2,
            prefetch: 1,
            ..one.clone()
        };
        let (a, b) = (collect(&source, &one), collect(&source, &two));
        assert_eq!(a.len(), 6);
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.ids, y.ids);
            assert_eq!(x.prompts, y.prompts);
            assert_eq!(x.kinds, y.kinds);
            assert!(x.images.equal(&y.images));
            assert!(x.masks.equal(&y.masks));
            assert!(x.tokens.equal(&y.tokens));
        }
        // Augmentation changed the images but kept masks binary.
        let plain = collect(
            &source,
            &PipelineConfig {
                augment: false,
                ..one.clone()
            },
        );
        assert_eq!(plain[0].ids, a[0].ids);
        assert_eq!(plain[0].prompts, a[0].prompts);
        assert!(!plain[0].images.equal(&a[0].images));
        let m = Vec::<f32>::try_from(a[0].masks.flatten(0, -1)).unwrap();
        assert!(m.iter().all(|&v| v == 0.0 || v == 1.0));
        // Another seed, other batches.
        let c = collect(&source, &PipelineConfig { seed: 6, ..one });
        assert_ne!(a[0].ids, c[0].ids);
    }

    #[test]
    fn dropping_mid_epoch_returns_promptly() {
        let mut fake = Fake::new(400, (64, 64));
        fake.delay = Duration::from_millis(5);
        let source: Arc<dyn SampleSource> = Arc::new(fake);
        let cfg = PipelineConfig {
            workers: 2,
            batch_size: 8,
            ..small(8)
        };
        let mut loader = Loader::epoch(source, cfg, 0);
        assert_eq!(loader.batches(), 150);
        assert!(loader.next().unwrap().is_ok());
        // Let the threads fill their buffers and block.
        std::thread::sleep(Duration::from_millis(200));
        let t = Instant::now();
        drop(loader);
        assert!(
            t.elapsed() < Duration::from_millis(500),
            "{:?}",
            t.elapsed()
        );
    }

    #[test]
    fn errors_are_items_and_bad_configs_are_reported() {
        let mut fake = Fake::new(4, (16, 16));
        fake.bad = true;
        let source: Arc<dyn SampleSource> = Arc::new(fake);
        let cfg = PipelineConfig {
            batch_size: 3,
            shuffle: false,
            input: (16, 16),
            workers: 2,
            ..PipelineConfig::default()
        };
        let results: Vec<_> = Loader::epoch(Arc::clone(&source), cfg.clone(), 0).collect();
        assert_eq!(results.len(), 4);
        // Pairs 3..6 are sample 1's.
        assert!(results[0].is_ok() && results[2].is_ok() && results[3].is_ok());
        assert!(matches!(results[1], Err(PipelineError::Data(_))));
        let bad = PipelineConfig {
            batch_size: 0,
            ..cfg.clone()
        };
        let mut l = Loader::epoch(Arc::clone(&source), bad, 0);
        assert_eq!(l.batches(), 0);
        assert!(matches!(l.next(), Some(Err(PipelineError::Config(_)))));
        assert!(l.next().is_none());
        let synthetic_p7 = PipelineConfig {
            prompt: PromptMode::Fixed(PromptKind::P7),
            scheme: PromptScheme::Synthetic,
            ..cfg
        };
        assert!(synthetic_p7.validate().is_err());
    }
}
