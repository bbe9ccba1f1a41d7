//! The inference engine: a verified model bundle loaded once into a runtime's prepared graphs
//! (tract, or ONNX Runtime when the host asks: [`crate::runtime`]), and
//! `segment(frame, meta, structures)` per frame.
//!
//! Per call:
//!
//! 1. **Preprocess** ([`crate::preprocess`]): the frame (GRAY8, GRAY16, RGB8 or BGRA8, any row
//!    stride, any size) is converted to 8-bit grey inside the ultrasound region (the whole frame
//!    unless [`Engine::set_roi`] gave one) and resampled to the model's input size, stretched or
//!    letterboxed as the model's spec says.
//! 2. **Prompts**: for each structure the richest prompt that the metadata supports (at most the
//!    bundle's prompt kind, in its wording and scheme), e.g. "Left ventricular cavity in
//!    two-chamber view of the heart." when only the view is known. Conditioning vectors come from
//!    a bounded least-recently-used cache keyed by prompt text, so the text graph runs once per
//!    distinct prompt, not per frame.
//! 3. **Image graph**: one run for all structures (the decoder is batched over them).
//! 4. **Postprocess** ([`crate::postprocess`]): threshold from the manifest, largest connected
//!    component, hole filling at model resolution, then a smooth mask at frame resolution.
//!
//! Every stage is timed ([`Timings`]). Bundles may carry an int8 image graph next to the float
//! one; [`VariantChoice::Auto`] picks one from the CPU's instruction set and the measurements
//! the manifest records for it ([`crate::variant`]), the same on every boot; only the graph that
//! runs is loaded. [`VariantChoice::Timed`] times both at load instead, when the host asks.

use crate::frame::FrameView;
use crate::meta::ScanMeta;
use crate::model::bundle::{Bundle, BundleError, Manifest};
use crate::model::spec::ModelSpec;
use crate::postprocess::{
    FrameMapper, PostprocessError, PostprocessOptions, Postprocessor, ProbStats,
};
use crate::preprocess::{Geometry, PreprocessError, PreprocessOptions, Preprocessor, Roi};
use crate::prompt::{PromptAttrs, PromptKind};
use crate::raster::Mask;
use crate::runtime::{Graph, Input, Output, Runtime, RuntimeError};
use crate::structure::Structure;
use crate::variant::{Choice, CpuClass, Measured};
use crate::vocab::{Tokenizer, VocabError};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bundle file role of the text graph.
pub const ROLE_TEXT: &str = "text";
/// Bundle file role of the float image graph.
pub const ROLE_IMAGE: &str = "image";
/// Bundle file role of the int8 image graph.
pub const ROLE_IMAGE_INT8: &str = "image_int8";

pub use crate::runtime::Backend;
pub use crate::variant::{INT8_MIN_GAIN, Variant};

/// How the engine picks its [`Variant`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VariantChoice {
    /// From the CPU's class and the manifest's measurements for it ([`crate::variant::choose`]):
    /// deterministic, nothing timed at load.
    #[default]
    Auto,
    /// Time both at load (alternating runs, [`EngineOptions::auto_trials`] each) and take int8
    /// only when it is at least [`INT8_MIN_GAIN`] faster: the machine's load at that moment
    /// decides, so only when the host asks.
    Timed,
    /// Float32 always.
    F32,
    /// Int8 (an error if the bundle has none).
    Int8,
}

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Which image graph to run.
    pub variant: VariantChoice,
    /// Distinct prompts whose conditioning is kept (least recently used ones are dropped).
    pub prompt_cache: usize,
    /// Keep only the largest connected component of each mask.
    pub largest_component: bool,
    /// Fill holes inside each mask.
    pub fill_holes: bool,
    /// Timed runs per variant with [`VariantChoice::Timed`] (alternating, after one warm-up each).
    pub auto_trials: usize,
    /// Threads one frame's graph may use, 1 to 64 (tract's multithreaded kernels, or ONNX
    /// Runtime's intra-op threads). Engines cloned with [`Engine::try_clone`] share tract's pool.
    pub threads: usize,
    /// The runtime that runs the graphs (default tract; ONNX Runtime in a build without tract).
    pub backend: Backend,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            variant: VariantChoice::Auto,
            prompt_cache: 64,
            largest_component: true,
            fill_holes: true,
            auto_trials: 7,
            threads: 1,
            backend: Backend::default(),
        }
    }
}

/// Engine errors.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The bundle could not be opened or lacks a file.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// The runtime could not be started, refused a graph or failed to run it.
    #[error("{stage}: {message}")]
    Runtime {
        /// What was being done.
        stage: &'static str,
        /// The runtime's message chain.
        message: String,
    },
    /// The bundle's manifest does not fit its graphs or itself.
    #[error("bundle {0}")]
    Inconsistent(String),
    /// Int8 was asked for, but the bundle has no int8 graph.
    #[error("the bundle has no int8 image graph (role {ROLE_IMAGE_INT8:?})")]
    NoInt8,
    /// A structure the model was not trained for, or asked twice.
    #[error("structure {0:?} is not available from this model or was asked twice")]
    Structure(Structure),
    /// More structures than the model's batch.
    #[error("{asked} structures asked, the model segments at most {max} per frame")]
    TooMany {
        /// Asked.
        asked: usize,
        /// Maximum.
        max: usize,
    },
    /// No structure asked.
    #[error("no structure asked")]
    NoStructure,
    /// The prompt cannot be tokenised.
    #[error("prompt {prompt:?}: {source}")]
    Prompt {
        /// The prompt.
        prompt: String,
        /// Why.
        source: VocabError,
    },
    /// The frame cannot be preprocessed.
    #[error(transparent)]
    Preprocess(#[from] PreprocessError),
    /// The logits cannot be postprocessed.
    #[error(transparent)]
    Postprocess(#[from] PostprocessError),
}

impl From<RuntimeError> for EngineError {
    fn from(e: RuntimeError) -> Self {
        Self::Runtime {
            stage: e.stage,
            message: e.message,
        }
    }
}

/// Time spent in each stage of one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timings {
    /// Frame → model input.
    pub preprocess: Duration,
    /// Prompts → conditioning (cache lookups, text graph on a miss).
    pub text: Duration,
    /// The image graph.
    pub image: Duration,
    /// Logits → masks at frame resolution.
    pub postprocess: Duration,
    /// The whole call.
    pub total: Duration,
}

/// The result for one structure.
#[derive(Debug, Clone)]
pub struct StructureResult {
    /// The structure.
    pub structure: Structure,
    /// The prompt that conditioned the model.
    pub prompt: String,
    /// Its kind (degraded from the bundle's when metadata is missing).
    pub kind: PromptKind,
    /// Mask at frame resolution (0 outside the ultrasound region).
    pub mask: Mask,
    /// Probability statistics at model resolution.
    pub stats: ProbStats,
}

/// The result of [`Engine::segment`].
#[derive(Debug, Clone)]
pub struct Segmentation {
    /// One entry per asked structure, in the order asked.
    pub structures: Vec<StructureResult>,
    /// How the frame was mapped to the model input (to map results back).
    pub geometry: Geometry,
    /// Stage timings.
    pub timings: Timings,
    /// The image graph that ran.
    pub variant: Variant,
}

/// Counters of the prompt cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that ran the text graph.
    pub misses: u64,
    /// Entries held now.
    pub len: usize,
    /// Most entries held.
    pub capacity: usize,
}

/// Bounded least-recently-used map: prompt text → conditioning vector.
#[derive(Debug)]
struct PromptCache {
    map: HashMap<String, (Arc<[f32]>, u64)>,
    capacity: usize,
    clock: u64,
    hits: u64,
    misses: u64,
}

impl PromptCache {
    fn new(capacity: usize) -> Self {
        Self {
            map: HashMap::new(),
            capacity: capacity.max(1),
            clock: 0,
            hits: 0,
            misses: 0,
        }
    }

    fn get(&mut self, prompt: &str) -> Option<Arc<[f32]>> {
        self.clock += 1;
        let now = self.clock;
        match self.map.get_mut(prompt) {
            Some((v, used)) => {
                *used = now;
                self.hits += 1;
                Some(Arc::clone(v))
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }

    fn insert(&mut self, prompt: String, v: Arc<[f32]>) {
        if self.map.len() >= self.capacity && !self.map.contains_key(&prompt) {
            let oldest = self
                .map
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.map.remove(&k);
            }
        }
        self.map.insert(prompt, (v, self.clock));
    }

    fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits,
            misses: self.misses,
            len: self.map.len(),
            capacity: self.capacity,
        }
    }
}

/// A loaded model, ready to segment frames. Not shared between threads while segmenting
/// (`&mut self`); open one engine per worker (the plans are cheap to share through
/// [`Engine::try_clone`]).
pub struct Engine {
    manifest: Manifest,
    digest: String,
    tokenizer: Tokenizer,
    runtime: Runtime,
    text: Graph,
    image: Graph,
    variant: Variant,
    variant_reason: Arc<str>,
    cache: PromptCache,
    pre: Preprocessor,
    pre_opts: PreprocessOptions,
    post_opts: PostprocessOptions,
    mapper: FrameMapper,
    post: Postprocessor,
    clean: Option<Mask>,
    options: EngineOptions,
    input: Vec<u8>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("model", &self.manifest.name)
            .field("version", &self.manifest.version)
            .field("variant", &self.variant)
            .field("runtime", &self.runtime)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Open and verify the bundle in `dir` and load it.
    pub fn open(dir: &Path, options: EngineOptions) -> Result<Self, EngineError> {
        Self::from_bundle(&Bundle::open(dir)?, options)
    }

    /// [`Engine::open`], refusing any bundle whose digest is not `expected_sha256`
    /// ([`Bundle::open_pinned`]).
    pub fn open_pinned(
        dir: &Path,
        expected_sha256: &str,
        options: EngineOptions,
    ) -> Result<Self, EngineError> {
        Self::from_bundle(&Bundle::open_pinned(dir, expected_sha256)?, options)
    }

    /// The loaded bundle's digest ([`Bundle::digest`]): SHA-256 of its `manifest.json`.
    pub fn bundle_digest(&self) -> &str {
        &self.digest
    }

    /// Load a verified bundle.
    pub fn from_bundle(bundle: &Bundle, options: EngineOptions) -> Result<Self, EngineError> {
        let m = bundle.manifest().clone();
        // `Bundle::open` already checked the spec, one threshold in (0, 1) per structure, the
        // structures against the spec and the vocabulary size.
        let spec = &m.spec;
        let tokenizer = Tokenizer::new(bundle.vocab().clone(), spec.text.max_len);
        let runtime = Runtime::new(&options.backend, options.threads)?;
        let text = runtime.load(bundle.file(ROLE_TEXT)?, "loading the text graph")?;
        let (image, choice) = load_image(bundle, spec, &options, &runtime)?;
        log::info!(
            "{} {}: {}, image graph {}",
            m.name,
            m.version,
            runtime.describe(),
            choice.reason
        );
        let pre_opts = PreprocessOptions {
            fit: spec.input.fit,
            ..Default::default()
        };
        Ok(Self {
            tokenizer,
            runtime,
            text,
            image,
            variant: choice.variant,
            variant_reason: choice.reason.into(),
            cache: PromptCache::new(options.prompt_cache),
            pre: Preprocessor::new(spec.input.width, spec.input.height),
            pre_opts,
            post_opts: PostprocessOptions {
                threshold: 0.5,
                largest_component: options.largest_component,
                fill_holes: options.fill_holes,
            },
            mapper: FrameMapper::default(),
            post: Postprocessor::new(),
            clean: None,
            input: Vec::new(),
            options,
            manifest: m,
            digest: bundle.digest().to_string(),
        })
    }

    /// A second engine over the same prepared graphs (for another worker thread; both
    /// runtimes run one graph from several threads at once), with an empty cache.
    pub fn try_clone(&self) -> Self {
        Self {
            manifest: self.manifest.clone(),
            digest: self.digest.clone(),
            tokenizer: self.tokenizer.clone(),
            runtime: self.runtime.clone(),
            text: self.text.clone(),
            image: self.image.clone(),
            variant: self.variant,
            variant_reason: Arc::clone(&self.variant_reason),
            cache: PromptCache::new(self.options.prompt_cache),
            pre: Preprocessor::new(self.spec().input.width, self.spec().input.height),
            pre_opts: self.pre_opts,
            post_opts: self.post_opts,
            mapper: FrameMapper::default(),
            post: Postprocessor::new(),
            clean: None,
            options: self.options.clone(),
            input: Vec::new(),
        }
    }

    /// The bundle's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The model's architecture.
    pub fn spec(&self) -> &ModelSpec {
        &self.manifest.spec
    }

    /// The image graph in use.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// The runtime and its version, e.g. "tract 0.23.9" or "onnxruntime 1.32.0 (path)".
    pub fn runtime(&self) -> String {
        self.runtime.describe()
    }

    /// The backend in use: "tract" or "onnxruntime".
    pub fn backend_name(&self) -> &'static str {
        self.runtime.backend_name()
    }

    /// Why [`Engine::variant`] was chosen, in one sentence.
    pub fn variant_reason(&self) -> &str {
        &self.variant_reason
    }

    /// Prompt cache counters.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// Set (or clear) the ultrasound region of the frames to come, in frame pixels; outside
    /// it nothing is segmented.
    pub fn set_roi(&mut self, roi: Option<Roi>) {
        self.pre_opts.roi = roi;
    }

    /// Set the preprocessing options (region, GRAY16 window); the fit always follows the
    /// model's spec.
    pub fn set_preprocess(&mut self, mut opts: PreprocessOptions) {
        opts.fit = self.spec().input.fit;
        self.pre_opts = opts;
    }

    /// The prompt this engine builds for `structure` from `meta`, and its kind: the richest
    /// the metadata supports (at most the bundle's kind) that fits the text model's context.
    pub fn prompt_for(&self, structure: Structure, meta: &ScanMeta) -> (PromptKind, String) {
        let p = &self.manifest.prompt;
        PromptAttrs::from_meta(structure, meta)
            .build_fitting(p.kind, p.wording, p.scheme, |t| self.tokenizer.fits(t))
    }

    /// The conditioning vector of a prompt (from the cache, or by running the text graph).
    pub fn conditioning(&mut self, prompt: &str) -> Result<Arc<[f32]>, EngineError> {
        if let Some(v) = self.cache.get(prompt) {
            return Ok(v);
        }
        let (ids, _) = self
            .tokenizer
            .encode(prompt)
            .map_err(|source| EngineError::Prompt {
                prompt: prompt.to_string(),
                source,
            })?;
        let shape = [1, ids.len()];
        let out = self.runtime.run(
            &self.text,
            &[Input::I64(&ids, &shape)],
            "running the text graph",
        )?;
        let v: Arc<[f32]> = out.as_f32()?.to_vec().into();
        if v.len() != self.spec().cond_dim() {
            return Err(EngineError::Inconsistent(format!(
                "text graph gave {} values, the spec needs {}",
                v.len(),
                self.spec().cond_dim()
            )));
        }
        self.cache.insert(prompt.to_string(), Arc::clone(&v));
        Ok(v)
    }

    /// Segment `structures` in one frame, with prompts built from `meta`.
    pub fn segment(
        &mut self,
        frame: &FrameView<'_>,
        meta: &ScanMeta,
        structures: &[Structure],
    ) -> Result<Segmentation, EngineError> {
        let prompts: Vec<(Structure, PromptKind, String)> = structures
            .iter()
            .map(|&s| {
                let (k, p) = self.prompt_for(s, meta);
                (s, k, p)
            })
            .collect();
        self.segment_prompts(frame, &prompts)
    }

    /// Segment with prompts given by the caller (`structure` chooses the threshold; the text
    /// chooses what the model looks for).
    pub fn segment_prompts(
        &mut self,
        frame: &FrameView<'_>,
        prompts: &[(Structure, PromptKind, String)],
    ) -> Result<Segmentation, EngineError> {
        let t0 = Instant::now();
        let structures: Vec<Structure> = prompts.iter().map(|(s, _, _)| *s).collect();
        self.check_structures(&structures)?;
        let thresholds: Vec<f32> = structures
            .iter()
            .map(|s| {
                let idx = self.manifest.structures.iter().position(|m| m == s);
                idx.and_then(|i| self.manifest.thresholds.get(i).copied())
                    .unwrap_or(0.5)
            })
            .collect();
        let geometry = self
            .pre
            .run(frame, &self.pre_opts, &mut self.input)
            .map_err(EngineError::from)?;
        let t1 = Instant::now();
        let texts: Vec<&str> = prompts.iter().map(|(_, _, p)| p.as_str()).collect();
        let cond = self.batch_conditioning(&texts)?;
        let t2 = Instant::now();
        let (h, w) = (self.spec().input.height, self.spec().input.width);
        let out = self.image_logits(&self.input, &cond)?;
        let logits = out.as_f32()?;
        let t3 = Instant::now();
        let mut out = Vec::with_capacity(prompts.len());
        for (k, (s, kind, p)) in prompts.iter().enumerate() {
            let plane = &logits[k * h * w..(k + 1) * h * w];
            let opts = PostprocessOptions {
                threshold: thresholds[k],
                ..self.post_opts
            };
            // The model-size mask is reused from frame to frame (no allocation once made).
            let clean = match &mut self.clean {
                Some(m) => m,
                slot => slot.insert(Mask::zeros(w, h).map_err(PostprocessError::from)?),
            };
            let stats = self.post.run_into(plane, w, h, &opts, clean)?;
            let mask = self.mapper.map(plane, clean, &geometry, opts.threshold)?;
            out.push(StructureResult {
                structure: *s,
                prompt: p.clone(),
                kind: *kind,
                mask,
                stats,
            });
        }
        let t4 = Instant::now();
        Ok(Segmentation {
            structures: out,
            geometry,
            timings: Timings {
                preprocess: t1 - t0,
                text: t2 - t1,
                image: t3 - t2,
                postprocess: t4 - t3,
                total: t4 - t0,
            },
            variant: self.variant,
        })
    }
}

impl Engine {
    /// Run the image graph on a frame already at the model's size with one conditioning row per
    /// batch slot; checks the output size.
    fn image_logits(&self, input: &[u8], cond: &[f32]) -> Result<Output, EngineError> {
        let spec = self.spec();
        let (h, w, batch) = (spec.input.height, spec.input.width, spec.structures.len());
        let out = run_image(&self.runtime, &self.image, spec, input, cond)?;
        let n = out.as_f32()?.len();
        if n != batch * h * w {
            return Err(EngineError::Inconsistent(format!(
                "image graph gave {n} values, expected {batch}×{h}×{w}"
            )));
        }
        Ok(out)
    }

    /// Check that `structures` can be segmented together: one to the batch size of them, each
    /// one the model was trained for, none twice.
    pub fn check_structures(&self, structures: &[Structure]) -> Result<(), EngineError> {
        self.check_count(structures.len())?;
        for (k, s) in structures.iter().enumerate() {
            if !self.manifest.structures.contains(s) || structures[..k].contains(s) {
                return Err(EngineError::Structure(*s));
            }
        }
        Ok(())
    }

    /// Between one and the batch size of prompts.
    fn check_count(&self, n: usize) -> Result<(), EngineError> {
        let max = self.spec().structures.len();
        match n {
            0 => Err(EngineError::NoStructure),
            n if n > max => Err(EngineError::TooMany { asked: n, max }),
            _ => Ok(()),
        }
    }

    /// Conditioning rows for the fixed batch: one per prompt, then the first prompt repeated in
    /// the unused rows (their output is dropped).
    fn batch_conditioning(&mut self, prompts: &[&str]) -> Result<Vec<f32>, EngineError> {
        let (batch, c) = (self.spec().structures.len(), self.spec().cond_dim());
        let mut cond = Vec::with_capacity(batch * c);
        for p in prompts {
            cond.extend_from_slice(&self.conditioning(p)?);
        }
        while cond.len() < batch * c {
            cond.extend_from_within(..c);
        }
        Ok(cond)
    }

    /// Raw logits, `prompts.len()` planes of the model's height × width, for a frame already
    /// at the model's size (no pre- or postprocessing): for evaluation and parity checks.
    pub fn logits(&mut self, input: &[u8], prompts: &[&str]) -> Result<Vec<f32>, EngineError> {
        let spec = self.spec();
        let (h, w) = (spec.input.height, spec.input.width);
        self.check_count(prompts.len())?;
        if input.len() != h * w {
            return Err(EngineError::Inconsistent(format!(
                "input has {} pixels, the model takes {w}×{h}",
                input.len()
            )));
        }
        let cond = self.batch_conditioning(prompts)?;
        let out = self.image_logits(input, &cond)?;
        out.as_f32()?
            .get(..prompts.len() * h * w)
            .map(<[f32]>::to_vec)
            .ok_or_else(|| EngineError::Inconsistent("image graph output too short".into()))
    }
}

/// One run of the image graph: the frame at the model's size and one conditioning row per
/// batch slot.
fn run_image(
    runtime: &Runtime,
    graph: &Graph,
    spec: &ModelSpec,
    frame: &[u8],
    cond: &[f32],
) -> Result<Output, EngineError> {
    let (h, w, batch) = (spec.input.height, spec.input.width, spec.structures.len());
    let (fs, cs) = ([1, 1, h, w], [batch, spec.cond_dim()]);
    Ok(runtime.run(
        graph,
        &[Input::U8(frame, &fs), Input::F32(cond, &cs)],
        "running the image graph",
    )?)
}

/// The image graph `options` asks for, loaded, and why it was chosen.
fn load_image(
    bundle: &Bundle,
    spec: &ModelSpec,
    options: &EngineOptions,
    runtime: &Runtime,
) -> Result<(Graph, Choice), EngineError> {
    let int8_bytes = match bundle.file(ROLE_IMAGE_INT8) {
        Ok(b) => Some(b),
        Err(BundleError::NoRole(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let load = |variant: Variant| -> Result<Graph, EngineError> {
        match (variant, int8_bytes) {
            (Variant::Int8, Some(b)) => Ok(runtime.load(b, "loading the int8 image graph")?),
            (Variant::Int8, None) => Err(EngineError::NoInt8),
            (Variant::F32, _) => {
                Ok(runtime.load(bundle.file(ROLE_IMAGE)?, "loading the image graph")?)
            }
        }
    };
    let forced = |variant: Variant| Choice {
        variant,
        reason: format!("{}: asked for by the host", variant.name()),
    };
    let backend = runtime.backend_name();
    let choice = match options.variant {
        VariantChoice::F32 => forced(Variant::F32),
        VariantChoice::Int8 => forced(Variant::Int8),
        VariantChoice::Auto => crate::variant::choose(
            CpuClass::detect(),
            backend,
            int8_bytes.is_some(),
            &crate::variant::recorded(&bundle.manifest().quantization),
        ),
        VariantChoice::Timed if int8_bytes.is_none() => {
            crate::variant::choose(CpuClass::detect(), backend, false, &[])
        }
        VariantChoice::Timed => {
            let (g32, g8) = (load(Variant::F32)?, load(Variant::Int8)?);
            let (t32, t8) = time_variants(spec, runtime, [&g32, &g8], options.auto_trials)?;
            let (t32, t8) = (t32.as_secs_f64() * 1e3, t8.as_secs_f64() * 1e3);
            let int8 = crate::variant::prefer_int8(t32, t8);
            let reason = format!(
                "{}: timed at load on {backend}, int8 {t8:.2} ms vs f32 {t32:.2} ms (medians of \
                 {} alternating runs)",
                if int8 { "int8" } else { "f32" },
                options.auto_trials.max(1)
            );
            let (g, variant) = if int8 {
                (g8, Variant::Int8)
            } else {
                (g32, Variant::F32)
            };
            return Ok((g, Choice { variant, reason }));
        }
    };
    Ok((load(choice.variant)?, choice))
}

/// Both image graphs of `bundle` timed on this machine by `backend` (one thread, alternating
/// runs, `trials` each after a warm-up): the measurement export and requantize record in the
/// manifest for this CPU's class and backend ([`crate::variant`]).
pub fn measure_variants(
    bundle: &Bundle,
    backend: &Backend,
    trials: usize,
) -> Result<Measured, EngineError> {
    let spec = &bundle.manifest().spec;
    let runtime = Runtime::new(backend, 1)?;
    let g32 = runtime.load(bundle.file(ROLE_IMAGE)?, "loading the image graph")?;
    let g8 = match bundle.file(ROLE_IMAGE_INT8) {
        Ok(b) => runtime.load(b, "loading the int8 image graph")?,
        Err(BundleError::NoRole(_)) => return Err(EngineError::NoInt8),
        Err(e) => return Err(e.into()),
    };
    let (t32, t8) = time_variants(spec, &runtime, [&g32, &g8], trials)?;
    Ok(Measured {
        cpu: CpuClass::detect().name().into(),
        runtime: runtime.backend_name().into(),
        f32_ms: t32.as_secs_f64() * 1e3,
        int8_ms: t8.as_secs_f64() * 1e3,
        cpu_model: cpu_model(),
        threads: 1,
    })
}

/// The CPU's model name from `/proc/cpuinfo` where there is one ("unknown" elsewhere).
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name") || l.starts_with("Model"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// Median times of two image graphs, run alternately (a, b, a, b, …, after one warm-up each) so
/// that a burst of load on a shared machine hits both alike.
fn time_variants(
    spec: &ModelSpec,
    runtime: &Runtime,
    graphs: [&Graph; 2],
    trials: usize,
) -> Result<(Duration, Duration), EngineError> {
    let (h, w, s, c) = (
        spec.input.height,
        spec.input.width,
        spec.structures.len(),
        spec.cond_dim(),
    );
    // A mid-grey frame with zero conditioning: latency does not depend on the values.
    let frame = vec![96u8; h * w];
    let cond = vec![0.0f32; s * c];
    let mut times = [Vec::new(), Vec::new()];
    for round in 0..=trials.max(1) {
        for (k, graph) in graphs.iter().enumerate() {
            let t = Instant::now();
            run_image(runtime, graph, spec, &frame, &cond)?;
            if round > 0 {
                times[k].push(t.elapsed());
            }
        }
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v.get(v.len() / 2).copied().unwrap_or_default()
    };
    let [mut a, mut b] = times;
    Ok((median(&mut a), median(&mut b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_evicts_the_least_recently_used() {
        let mut c = PromptCache::new(2);
        c.insert("a".into(), vec![1.0].into());
        c.insert("b".into(), vec![2.0].into());
        assert!(c.get("a").is_some()); // a is now newer than b
        c.insert("c".into(), vec![3.0].into());
        assert!(c.get("b").is_none());
        assert!(c.get("a").is_some());
        assert!(c.get("c").is_some());
        let s = c.stats();
        assert_eq!((s.hits, s.misses, s.len, s.capacity), (3, 1, 2, 2));
    }
}
