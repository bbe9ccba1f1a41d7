//! The deployable student in tch, built from [`ModelSpec`] with exactly the parameter names of
//! the ONNX initialisers (`enc.0.conv.weight`, `dec.1.lat.bias`, …), so that weights move
//! between training and [`synboost_export::onnx`] by name.
//!
//! Training batches pair each image with one prompt: `forward(frames [B,1,H,W] u8 or float 0–255,
//! cond [B,C]) → logits [B,1,H,W]`. The exported image graph runs the encoder once and the
//! decoder over S conditioning rows; the arithmetic per (image, prompt) pair is the same.

use synboost_core::model::spec::ModelSpec;
use synboost_export::onnx::Weights;
use tch::{Device, Kind, Tensor, nn};

/// Errors building or loading the student.
#[derive(Debug, thiserror::Error)]
pub enum StudentError {
    /// The spec is invalid.
    #[error(transparent)]
    Spec(#[from] synboost_core::model::spec::SpecError),
    /// Weights do not fit the spec.
    #[error(transparent)]
    Weights(#[from] synboost_export::onnx::OnnxError),
    /// libtorch refused an operation.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// A parameter is missing from the variable store.
    #[error("parameter {0:?} is missing from the variable store")]
    Missing(String),
}

/// The student's variables, held in a [`nn::VarStore`].
#[derive(Debug)]
pub struct Student {
    spec: ModelSpec,
    vars: std::collections::BTreeMap<String, Tensor>,
}

fn var(root: &nn::Path<'_>, name: &str, shape: &[usize]) -> Tensor {
    let dims: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
    let mut parts: Vec<&str> = name.split('.').collect();
    let leaf = parts.pop().unwrap_or(name);
    let mut p = root.clone();
    for part in parts {
        p = p / part;
    }
    let fan_in: i64 = dims.iter().skip(1).product::<i64>().max(1);
    let init = if leaf == "bias" {
        nn::Init::Const(0.0)
    } else if name == "text.embed.weight" {
        nn::Init::Randn {
            mean: 0.0,
            stdev: 1.0,
        }
    } else {
        // He (Kaiming) uniform for ReLU networks.
        let bound = (6.0 / fan_in as f64).sqrt();
        nn::Init::Uniform {
            lo: -bound,
            up: bound,
        }
    };
    p.var(leaf, &dims, init)
}

impl Student {
    /// Create the student's variables under `root` (freshly initialised).
    pub fn new(root: &nn::Path<'_>, spec: &ModelSpec) -> Result<Self, StudentError> {
        spec.validate()?;
        let vars = spec
            .parameters()
            .into_iter()
            .map(|p| {
                let t = var(root, &p.name, &p.shape);
                (p.name, t)
            })
            .collect();
        Ok(Self {
            spec: spec.clone(),
            vars,
        })
    }

    /// The architecture.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    fn v(&self, name: &str) -> Result<&Tensor, StudentError> {
        self.vars
            .get(name)
            .ok_or_else(|| StudentError::Missing(name.to_string()))
    }

    /// Copy named weights into the variables (sizes checked against the spec first).
    pub fn load(&mut self, w: &Weights) -> Result<(), StudentError> {
        synboost_export::onnx::check_weights(&self.spec, w)?;
        tch::no_grad(|| -> Result<(), StudentError> {
            for (name, t) in &mut self.vars {
                let data = w
                    .get(name)
                    .ok_or_else(|| StudentError::Missing(name.clone()))?;
                let src = Tensor::from_slice(data)
                    .view(t.size().as_slice())
                    .to_device(t.device());
                t.copy_(&src);
            }
            Ok(())
        })
    }

    /// The variables as named float32 weights (for export).
    pub fn weights(&self) -> Result<Weights, StudentError> {
        self.vars
            .iter()
            .map(|(k, t)| {
                let flat = t
                    .detach()
                    .to_device(Device::Cpu)
                    .to_kind(Kind::Float)
                    .flatten(0, -1);
                Ok((k.clone(), Vec::<f32>::try_from(&flat)?))
            })
            .collect()
    }

    /// Text branch: token ids `[B, L]` (int64, 0 = padding) → conditioning `[B, C]`.
    pub fn text(&self, tokens: &Tensor) -> Result<Tensor, StudentError> {
        let emb = Tensor::f_embedding(self.v("text.embed.weight")?, tokens, -1, false, false)?;
        let mask = tokens.gt(0).to_kind(Kind::Float).unsqueeze(2);
        let sum = (&emb * &mask).sum_dim_intlist(&[1i64][..], false, Kind::Float);
        let cnt = mask
            .sum_dim_intlist(&[1i64][..], false, Kind::Float)
            .clamp_min(1.0);
        let mean = sum / cnt;
        let h = mean
            .linear(self.v("text.fc1.weight")?, Some(self.v("text.fc1.bias")?))
            .relu();
        Ok(h.linear(self.v("text.fc2.weight")?, Some(self.v("text.fc2.bias")?)))
    }

    fn conv(
        &self,
        x: &Tensor,
        name: &str,
        stride: i64,
        groups: i64,
    ) -> Result<Tensor, StudentError> {
        let w = self.v(&format!("{name}.weight"))?;
        let k = w.size().last().copied().unwrap_or(1);
        Ok(x.f_conv2d(
            w,
            Some(self.v(&format!("{name}.bias"))?),
            [stride, stride],
            [k / 2, k / 2],
            [1, 1],
            groups,
        )?)
    }

    /// Image branch for (image, prompt) pairs: frames `[B, 1, H, W]` with values 0–255 (any
    /// kind) and conditioning `[B, C]` → logits `[B, 1, H, W]`.
    pub fn image(&self, frames: &Tensor, cond: &Tensor) -> Result<Tensor, StudentError> {
        let s = &self.spec;
        let x = frames.to_kind(Kind::Float);
        let mut x = (x / 255.0 - f64::from(s.input.mean)) / f64::from(s.input.std);
        let mut skips = Vec::with_capacity(s.encoder.len());
        for (i, &c) in s.encoder.iter().enumerate() {
            let y = self.conv(&x, &format!("enc.{i}.conv"), 2, 1)?.relu();
            let y = self.conv(&y, &format!("enc.{i}.dw"), 1, c as i64)?;
            x = self.conv(&y, &format!("enc.{i}.pw"), 1, 1)?.relu();
            skips.push(x.shallow_clone());
        }
        let n = s.encoder.len();
        let mut d = x;
        let batch = cond.size().first().copied().unwrap_or(1);
        for (j, &c) in s.decoder.iter().enumerate() {
            let cin = s.decoder_in(j) as i64;
            let y = self.conv(&d, &format!("dec.{j}.dw"), 1, cin)?;
            let y = self.conv(&y, &format!("dec.{j}.pw"), 1, 1)?;
            let off = s.film_offset(j) as i64;
            let c = c as i64;
            let gamma = cond.narrow(1, off, c).view([batch, c, 1, 1]);
            let beta = cond.narrow(1, off + c, c).view([batch, c, 1, 1]);
            let y = y * (gamma + 1.0) + beta;
            let size = y.size();
            let up = y.upsample_nearest2d([size[2] * 2, size[3] * 2], None, None);
            let skip = skips
                .get(n - 2 - j)
                .ok_or_else(|| StudentError::Missing(format!("enc.{}", n - 2 - j)))?;
            let lat = self.conv(skip, &format!("dec.{j}.lat"), 1, 1)?;
            d = (up + lat).relu();
        }
        let y = self.conv(&d, "head", 1, 1)?;
        let size = y.size();
        Ok(y.upsample_nearest2d([size[2] * 2, size[3] * 2], None, None))
    }

    /// Both branches: frames `[B, 1, H, W]` and token ids `[B, L]` → logits `[B, 1, H, W]`.
    pub fn forward(&self, frames: &Tensor, tokens: &Tensor) -> Result<Tensor, StudentError> {
        let cond = self.text(tokens)?;
        self.image(frames, &cond)
    }
}
