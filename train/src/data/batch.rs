//! [`Batch`]es: pairs of an epoch made into tensors. Each sample is loaded and brought to the
//! model size once per batch, each pair gets its prompt (kind and wording drawn from a stream
//! keyed by seed, epoch and pair index) and, with augmentation, its own transform.

use super::random::{PAIR_SALT, below, stream};
use super::{Augment, Item, PipelineConfig, PipelineError, WordingMode, resize_gray};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use synboost_core::preprocess::Preprocessor;
use synboost_core::prompt::{PromptAttrs, PromptKind, Wording};
use synboost_core::raster::resize_nearest;
use synboost_core::structure::Structure;
use synboost_core::vocab::Tokenizer;
use synboost_data::{Sample, SampleSource};
use synboost_phantom::rng::SplitMix64;
use tch::Tensor;

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

    /// True for a batch without pairs (never produced by a [`Loader`](super::Loader)).
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// A sample brought to the model size.
struct Prepared {
    index: usize,
    sample: Sample,
    image: Vec<u8>,
    masks: [Vec<u8>; 3],
}

/// What every loader thread shares.
pub(super) struct Shared {
    pub(super) source: Arc<dyn SampleSource>,
    pub(super) cfg: PipelineConfig,
    pub(super) epoch: usize,
    pub(super) items: Vec<Item>,
    pub(super) kinds: Vec<PromptKind>,
    pub(super) tokenizer: Tokenizer,
    pub(super) stop: AtomicBool,
    pub(super) degraded_logged: AtomicBool,
}

impl Shared {
    pub(super) fn batches(&self) -> usize {
        self.items.len().div_ceil(self.cfg.batch_size.max(1))
    }

    fn prepare(&self, index: usize, prep: &mut Preprocessor) -> Result<Prepared, PipelineError> {
        let sample = self.source.load(index)?;
        let (w, h) = self.cfg.input;
        let img = &sample.image;
        let image = resize_gray(prep, img, w, h)?;
        let masks = std::array::from_fn(|i| {
            sample.masks.get(i).map_or_else(
                || vec![0; w * h],
                |m| resize_nearest(m.data(), m.width(), m.height(), w, h),
            )
        });
        Ok(Prepared {
            index,
            sample,
            image,
            masks,
        })
    }

    /// Batch `b` of the epoch.
    pub(super) fn batch(&self, b: usize, prep: &mut Preprocessor) -> Result<Batch, PipelineError> {
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
