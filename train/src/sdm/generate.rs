//! Sampling from a trained denoiser, and writing synthetic datasets in the seed layout.
//!
//! [`sample`] runs a [`Sampler`] (DDPM or DDIM) over a batch of label maps with the EMA
//! weights. [`generate_dataset`] makes `per_source` new label maps from each sample of a source
//! ([`Perturbation`], seeded by sample and copy), samples an image for each in batches, forces
//! the pixels outside the sector to black (a scanner's are), resizes to the output size and
//! writes image, masks and prompts (P0–P6 of the synthetic scheme, as far as the source's
//! metadata goes) through core's [`SeedWriter`], so the result trains like CAMUS.
//!
//! Ids are `<source patient>s<copy>_<view>_<phase>`, so each synthetic copy is its own patient
//! and view/phase parse as in CAMUS; annotations name the source sample and the drawn transform.

use super::SdmError;
use super::fit::SdmModel;
use super::labels::{LabelMap, OUTSIDE};
use super::perturb::Perturbation;
use super::schedule::{Sampler, Schedule};
use super::unet::one_hot;
use crate::data::resize_gray;
use crate::progress::Progress;
use serde_json::{Map, json};
use std::path::Path;
use synboost_core::meta::ScanMeta;
use synboost_core::preprocess::Preprocessor;
use synboost_core::prompt::PromptScheme;
use synboost_core::raster::{GrayImage, Mask};
use synboost_core::structure::Structure;
use synboost_data::writer::SeedWriter;
use synboost_data::{Sample, SampleSource, parse_camus_name};
use tch::{Device, Kind, Tensor};

/// Sample images `[B, 1, S, S]` in [−1, 1] for label maps `[B, S, S]` (u8) with the EMA
/// network; the noise comes from `seed`.
pub fn sample(
    model: &SdmModel,
    schedule: &Schedule,
    labels: &Tensor,
    sampler: Sampler,
    seed: u64,
    bf16: bool,
) -> Tensor {
    let _guard = tch::no_grad_guard();
    let device = model.ema_vs.device();
    let s = labels.size();
    let seg = one_hot(&labels.to_device(device));
    tch::manual_seed(seed as i64);
    let mut x = Tensor::randn([s[0], 1, s[1], s[2]], (Kind::Float, Device::Cpu)).to_device(device);
    let steps = schedule.respaced(sampler.steps());
    let b = s[0];
    for (i, &t) in steps.iter().enumerate() {
        let prev = steps.get(i + 1).copied();
        let c = schedule.step(t, prev, sampler.eta());
        let tt = Tensor::full([b], t as i64, (Kind::Int64, device));
        let eps = super::autocast::bf16(bf16 && device.is_cuda(), || {
            model.ema.forward_t(&x, &tt, &seg, false)
        })
        .to_kind(Kind::Float);
        let x0 = ((&x - &eps * c.sqrt_1ma) / c.sqrt_a).clamp(-1.0, 1.0);
        // ε consistent with the clamped x̂₀.
        let eps = (&x - &x0 * c.sqrt_a) / c.sqrt_1ma.max(1e-8);
        let mut next = &x0 * c.sqrt_ap + eps * c.dir;
        if c.sigma > 0.0 {
            let z = Tensor::randn_like(&x);
            next += z * c.sigma;
        }
        x = next;
    }
    x
}

/// Images in [−1, 1] → 0–255 bytes, one `Vec` per image.
pub fn to_bytes(images: &Tensor) -> Result<Vec<Vec<u8>>, SdmError> {
    let b = images.size()[0];
    let u8s = ((images.clamp(-1.0, 1.0) + 1.0) * 127.5)
        .round()
        .to_kind(Kind::Uint8)
        .to_device(Device::Cpu)
        .contiguous();
    (0..b)
        .map(|i| {
            Vec::<u8>::try_from(u8s.get(i).flatten(0, -1))
                .map_err(|e| SdmError::Data(e.to_string()))
        })
        .collect()
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Synthetic copies per source sample.
    pub per_source: usize,
    /// Use at most this many source samples.
    pub limit: Option<usize>,
    /// Label-map perturbation.
    pub perturbation: Perturbation,
    /// Sampler.
    pub sampler: Sampler,
    /// Images per sampling batch.
    pub batch: usize,
    /// Side of the written images (the model's size is resized to it).
    pub out_size: usize,
    /// Split name written.
    pub split: String,
    /// Base seed.
    pub seed: u64,
    /// bf16 autocast on CUDA.
    pub bf16: bool,
}

/// What was written.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateReport {
    /// Images written.
    pub images: usize,
    /// Source samples that could not be read (skipped).
    pub skipped: usize,
    /// Seconds spent sampling (network time), for throughput.
    pub sampling_seconds: f64,
}

struct Job {
    id: String,
    patient: String,
    meta: ScanMeta,
    label: LabelMap,
    extra: Map<String, serde_json::Value>,
}

/// Generate a synthetic dataset from the label maps of `source` into `out` (seed layout),
/// reporting the images written to `progress`.
pub fn generate_dataset(
    model: &SdmModel,
    timesteps: usize,
    source: &dyn SampleSource,
    out: &Path,
    opts: &GenerateOptions,
    mut progress: impl FnMut(Progress),
) -> Result<GenerateReport, SdmError> {
    opts.perturbation.validate().map_err(SdmError::Config)?;
    if opts.per_source == 0 || opts.batch == 0 || opts.out_size == 0 {
        return Err(SdmError::Config(
            "per_source, batch and out_size must be ≥ 1".into(),
        ));
    }
    let size = model.ema.config().size;
    let schedule = Schedule::cosine(timesteps);
    let writer = SeedWriter::create(out, &opts.split, PromptScheme::Synthetic)?;
    let n = opts.limit.map_or(source.len(), |l| l.min(source.len()));
    progress(Progress::Start {
        label: "SDM sampling".into(),
        unit: "images",
        total: (n * opts.per_source) as u64,
        done: 0,
    });
    let report = GenerateReport {
        images: 0,
        skipped: 0,
        sampling_seconds: 0.0,
    };
    let mut jobs: Vec<Job> = Vec::new();
    let mut sink = Sink {
        model,
        schedule: &schedule,
        writer,
        prep: Preprocessor::new(opts.out_size, opts.out_size),
        opts,
        report,
    };
    for i in 0..n {
        let s = match source.load(i) {
            Ok(s) => s,
            Err(e) => {
                log::warn!("skipping source sample {i}: {e}");
                sink.report.skipped += 1;
                continue;
            }
        };
        let label = LabelMap::of_sample(&s).resized(size, size);
        for k in 0..opts.per_source {
            let seed = opts
                .seed
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .wrapping_add((i * opts.per_source + k) as u64);
            let (l, drawn) = opts.perturbation.apply(&label, seed);
            let (patient, rest) = match parse_camus_name(&s.id) {
                Some((p, _, _)) => {
                    let rest = s.id[p.len()..].to_string();
                    (format!("{p}s{k:02}"), rest)
                }
                None => (format!("{}s{k:02}", s.id), String::new()),
            };
            let mut extra = Map::new();
            extra.insert("source".into(), json!(s.id));
            extra.insert("perturbation".into(), json!(drawn));
            extra.insert("perturbation_seed".into(), json!(seed));
            extra.insert("sampler".into(), json!(opts.sampler));
            jobs.push(Job {
                id: format!("{patient}{rest}"),
                patient,
                meta: s.meta.clone(),
                label: l,
                extra,
            });
            if jobs.len() == opts.batch {
                sink.flush(&mut jobs)?;
                progress(Progress::Advance {
                    done: sink.report.images as u64,
                    note: None,
                });
            }
        }
    }
    if !jobs.is_empty() {
        sink.flush(&mut jobs)?;
    }
    progress(Progress::Finish);
    sink.writer.finish()?;
    Ok(sink.report)
}

/// Where sampled batches go: the model that samples them and the writer that stores them.
struct Sink<'a> {
    model: &'a SdmModel,
    schedule: &'a Schedule,
    writer: SeedWriter,
    prep: Preprocessor,
    opts: &'a GenerateOptions,
    report: GenerateReport,
}

impl Sink<'_> {
    /// Sample the queued jobs as one batch and write them.
    fn flush(&mut self, jobs: &mut Vec<Job>) -> Result<(), SdmError> {
        let (model, schedule, opts) = (self.model, self.schedule, self.opts);
        let (writer, prep, report) = (&mut self.writer, &mut self.prep, &mut self.report);
        let size = model.ema.config().size as i64;
        let labs: Vec<u8> = jobs
            .iter()
            .flat_map(|j| j.label.data.iter().copied())
            .collect();
        let labels = Tensor::from_slice(&labs).view([jobs.len() as i64, size, size]);
        let t0 = std::time::Instant::now();
        let seed = opts.seed ^ (report.images as u64).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        let imgs = sample(model, schedule, &labels, opts.sampler, seed, opts.bf16);
        let bytes = to_bytes(&imgs)?;
        report.sampling_seconds += t0.elapsed().as_secs_f64();
        for (job, mut px) in jobs.drain(..).zip(bytes) {
            for (p, &l) in px.iter_mut().zip(&job.label.data) {
                if l == OUTSIDE {
                    *p = 0;
                }
            }
            let out = opts.out_size;
            let label = job.label.resized(out, out);
            let sampled = GrayImage::new(size as usize, size as usize, px)
                .map_err(|e| SdmError::Data(e.to_string()))?;
            let image =
                resize_gray(prep, &sampled, out, out).map_err(|e| SdmError::Data(e.to_string()))?;
            let masks = Structure::ALL.map(|s| Mask::new(out, out, label.mask(s)));
            let [a, b, c] = masks;
            let sample = Sample {
                id: job.id,
                patient: job.patient,
                image: GrayImage::new(out, out, image)
                    .map_err(|e| SdmError::Data(e.to_string()))?,
                masks: [
                    a.map_err(|e| SdmError::Data(e.to_string()))?,
                    b.map_err(|e| SdmError::Data(e.to_string()))?,
                    c.map_err(|e| SdmError::Data(e.to_string()))?,
                ],
                meta: ScanMeta {
                    // Synthetic images have no acquisition quality.
                    quality: None,
                    ..job.meta
                },
                shapes: [None; 3],
            };
            writer.write(&sample, &job.extra)?;
            report.images += 1;
        }
        Ok(())
    }
}
