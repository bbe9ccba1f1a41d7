//! [`ModelSpec`]: the deployable student, described as data.
//!
//! The student is split so that per-frame cost is image work only:
//!
//! - **text** (runs once per distinct prompt, results cached): token ids `[L]` → embedding
//!   `[L, E]` → mean over the non-padding tokens → `fc1` + ReLU → `fc2` → one conditioning vector
//!   `[C]` holding a FiLM scale and shift (γ, β) for every decoder stage.
//! - **image** (runs per frame): u8 frame `[1, 1, H, W]`, normalised inside the graph
//!   (`(x/255 − mean)/std`) → encoder stages, run once (each: 3×3 conv stride 2 + ReLU, then a
//!   depthwise-separable block: 3×3 depthwise conv, 1×1 conv, ReLU) → a top-down decoder
//!   batched over the S structures. Decoder stage `j` works at the resolution of its input
//!   `d` (the deepest encoder output for `j = 0`): 3×3 depthwise conv, 1×1 conv to the stage
//!   width, FiLM `(1 + γ)·x + β`; then ×2 nearest upsampling, plus a lateral 1×1 projection of
//!   the encoder skip at the new resolution (computed once and broadcast to the S structures),
//!   ReLU. A 1×1 head and ×2 upsampling give `[S, 1, H, W]` logits.
//!
//! All spatial filtering of the per-structure path happens *before* upsampling, at the lower
//! resolution, and the skips are projected once per frame rather than once per structure: the
//! per-structure work at full decoder resolution is one add and a ReLU. (The first design
//! concatenated skips and filtered after upsampling; tract spent 26 of its 33 ms there, in the
//! S-batched 112² depthwise conv, the concat and the axis moves of batched 1×1 convs.) The
//! default student is about 0.09 GFLOP per frame for three structures at 224².
//!
//! [`ModelSpec::parameters`] names every tensor (`text.embed.weight`, `enc.0.conv1.weight`,
//! `dec.1.conv.bias`, `head.weight`, …) with its shape; the ONNX initialisers and the tch
//! variables use exactly these names.

use crate::preprocess::Fit;
use crate::structure::Structure;
use serde::{Deserialize, Serialize};

/// Input frame size and normalisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputSpec {
    /// Model input height, pixels.
    pub height: usize,
    /// Model input width, pixels.
    pub width: usize,
    /// Mean subtracted after scaling to [0, 1].
    pub mean: f32,
    /// Standard deviation divided by after subtracting the mean.
    pub std: f32,
    /// How frames are fitted into the input (as the training images were made).
    #[serde(default)]
    pub fit: Fit,
}

/// The text branch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextSpec {
    /// Vocabulary size (ids 0..vocab_size; 0 is padding).
    pub vocab_size: usize,
    /// Fixed token sequence length.
    pub max_len: usize,
    /// Word embedding width.
    pub embed_dim: usize,
    /// Hidden width of the conditioning MLP.
    pub hidden: usize,
}

/// The whole student.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// Input frames.
    pub input: InputSpec,
    /// Channel widths of the encoder stages (each halves the resolution).
    pub encoder: Vec<usize>,
    /// Channel widths of the decoder stages (`encoder.len() − 1` of them, each doubles it).
    pub decoder: Vec<usize>,
    /// Text branch.
    pub text: TextSpec,
    /// Structures the model segments, in output order.
    pub structures: Vec<Structure>,
}

/// A spec that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid model spec: {0}")]
pub struct SpecError(pub String);

/// One parameter tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Name shared by ONNX and tch.
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
}

impl Param {
    fn new(name: String, shape: &[usize]) -> Self {
        Self {
            name,
            shape: shape.to_vec(),
        }
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

impl ModelSpec {
    /// The default deployable student for 224² frames and the builtin vocabulary.
    pub fn student(vocab_size: usize, max_len: usize) -> Self {
        Self {
            input: InputSpec {
                height: 224,
                width: 224,
                mean: 0.2,
                std: 0.25,
                fit: Fit::Stretch,
            },
            // Widths are where tract spends time, not parameters: the high-resolution stages
            // (the stem and the 112²/56² decoder stages, batched over the structures) dominate,
            // the 14²/7² stages are nearly free. 8 channels at the top and 80/128 at the bottom
            // run the image graph about 40 % faster than 16-32-48-80-128 / 96-64-32-8 with 78 %
            // of its parameters (`cargo run --release -p synboost-core --example spec_speed`).
            encoder: vec![8, 16, 32, 80, 128],
            decoder: vec![64, 32, 16, 8],
            text: TextSpec {
                vocab_size,
                max_len,
                embed_dim: 32,
                hidden: 64,
            },
            structures: Structure::ALL.to_vec(),
        }
    }

    /// A tiny student (64×48 input, three encoder stages) for tests and quick experiments.
    pub fn tiny(vocab_size: usize, max_len: usize) -> Self {
        Self {
            input: InputSpec {
                height: 64,
                width: 48,
                mean: 0.2,
                std: 0.25,
                fit: Fit::Stretch,
            },
            encoder: vec![8, 12, 16],
            decoder: vec![12, 8],
            text: TextSpec {
                vocab_size,
                max_len,
                embed_dim: 16,
                hidden: 24,
            },
            structures: Structure::ALL.to_vec(),
        }
    }

    /// This spec with other channel widths, given as `ENC,../DEC,..` (for example
    /// `8,16,48,128,256/128,48,16,8`: five encoder stages, four decoder stages); the result is
    /// validated.
    pub fn with_widths(&self, widths: &str) -> Result<Self, SpecError> {
        let (enc, dec) = widths.split_once('/').ok_or_else(|| {
            SpecError(format!(
                "widths {widths:?}: expected ENC,../DEC,.. (e.g. 8,16,32/16,8)"
            ))
        })?;
        let list = |part: &str| -> Result<Vec<usize>, SpecError> {
            part.split(',')
                .map(|w| {
                    w.trim()
                        .parse::<usize>()
                        .map_err(|_| SpecError(format!("widths {widths:?}: {w:?} is not a width")))
                })
                .collect()
        };
        let mut spec = self.clone();
        spec.encoder = list(enc)?;
        spec.decoder = list(dec)?;
        spec.validate()?;
        Ok(spec)
    }

    /// Check that the spec describes a buildable network.
    pub fn validate(&self) -> Result<(), SpecError> {
        let e = |m: String| Err(SpecError(m));
        let stages = self.encoder.len();
        if stages < 2 {
            return e(format!("{stages} encoder stages; at least 2 are needed"));
        }
        if self.decoder.len() != stages - 1 {
            return e(format!(
                "{} decoder stages for {stages} encoder stages; expected {}",
                self.decoder.len(),
                stages - 1
            ));
        }
        let div = 1usize << stages;
        let (h, w) = (self.input.height, self.input.width);
        if h == 0 || w == 0 || h % div != 0 || w % div != 0 || h > 4096 || w > 4096 {
            return e(format!(
                "input {w}x{h} must be positive multiples of {div} (2^stages), at most 4096"
            ));
        }
        if !(self.input.std.is_finite() && self.input.std > 0.0 && self.input.mean.is_finite()) {
            return e("input normalisation must be finite with std > 0".into());
        }
        if self
            .encoder
            .iter()
            .chain(&self.decoder)
            .any(|&c| c == 0 || c > 4096)
        {
            return e("channel widths must be in 1..=4096".into());
        }
        let t = &self.text;
        if t.vocab_size < 2 || t.max_len == 0 || t.embed_dim == 0 || t.hidden == 0 {
            return e("text sizes must be positive (vocabulary ≥ 2)".into());
        }
        if self.structures.is_empty() {
            return e("no output structures".into());
        }
        let mut seen = self.structures.clone();
        seen.sort();
        seen.dedup();
        if seen.len() != self.structures.len() {
            return e("a structure is listed twice".into());
        }
        Ok(())
    }

    /// Width of the conditioning vector: γ and β for every decoder stage.
    pub fn cond_dim(&self) -> usize {
        2 * self.decoder.iter().sum::<usize>()
    }

    /// Offset of decoder stage `j`'s γ in the conditioning vector (β follows it).
    pub fn film_offset(&self, j: usize) -> usize {
        2 * self.decoder[..j.min(self.decoder.len())]
            .iter()
            .sum::<usize>()
    }

    /// Input channels of decoder stage `j`: the previous stage's width (the deepest encoder
    /// stage's for `j = 0`).
    pub fn decoder_in(&self, j: usize) -> usize {
        let n = self.encoder.len();
        if j == 0 {
            self.encoder.get(n.wrapping_sub(1)).copied().unwrap_or(0)
        } else {
            self.decoder.get(j - 1).copied().unwrap_or(0)
        }
    }

    /// Channels of the encoder skip that decoder stage `j` adds after upsampling.
    pub fn skip_of(&self, j: usize) -> usize {
        let n = self.encoder.len();
        n.checked_sub(2 + j)
            .and_then(|i| self.encoder.get(i))
            .copied()
            .unwrap_or(0)
    }

    /// Every parameter, in a fixed order, with its shape.
    pub fn parameters(&self) -> Vec<Param> {
        let t = &self.text;
        let mut p = vec![
            Param::new("text.embed.weight".into(), &[t.vocab_size, t.embed_dim]),
            Param::new("text.fc1.weight".into(), &[t.hidden, t.embed_dim]),
            Param::new("text.fc1.bias".into(), &[t.hidden]),
            Param::new("text.fc2.weight".into(), &[self.cond_dim(), t.hidden]),
            Param::new("text.fc2.bias".into(), &[self.cond_dim()]),
        ];
        let mut cin = 1;
        for (i, &c) in self.encoder.iter().enumerate() {
            p.push(Param::new(format!("enc.{i}.conv.weight"), &[c, cin, 3, 3]));
            p.push(Param::new(format!("enc.{i}.conv.bias"), &[c]));
            p.push(Param::new(format!("enc.{i}.dw.weight"), &[c, 1, 3, 3]));
            p.push(Param::new(format!("enc.{i}.dw.bias"), &[c]));
            p.push(Param::new(format!("enc.{i}.pw.weight"), &[c, c, 1, 1]));
            p.push(Param::new(format!("enc.{i}.pw.bias"), &[c]));
            cin = c;
        }
        for (j, &c) in self.decoder.iter().enumerate() {
            let cin = self.decoder_in(j);
            p.push(Param::new(format!("dec.{j}.dw.weight"), &[cin, 1, 3, 3]));
            p.push(Param::new(format!("dec.{j}.dw.bias"), &[cin]));
            p.push(Param::new(format!("dec.{j}.pw.weight"), &[c, cin, 1, 1]));
            p.push(Param::new(format!("dec.{j}.pw.bias"), &[c]));
            let skip = self.skip_of(j);
            p.push(Param::new(format!("dec.{j}.lat.weight"), &[c, skip, 1, 1]));
            p.push(Param::new(format!("dec.{j}.lat.bias"), &[c]));
        }
        let last = self.decoder.last().copied().unwrap_or(1);
        p.push(Param::new("head.weight".into(), &[1, last, 1, 1]));
        p.push(Param::new("head.bias".into(), &[1]));
        p
    }

    /// Total number of parameters.
    pub fn parameter_count(&self) -> usize {
        self.parameters().iter().map(Param::numel).sum()
    }

    /// Floating-point operations (2 × multiply-adds of the convolutions and the head) of one
    /// frame for all structures; the text branch is excluded (it runs once per prompt).
    pub fn image_flops(&self) -> u64 {
        let (mut h, mut w) = (self.input.height as u64, self.input.width as u64);
        let mut macs = 0u64;
        let mut cin = 1u64;
        let mut sizes = Vec::new();
        for &c in &self.encoder {
            h /= 2;
            w /= 2;
            let c = c as u64;
            macs += (c * cin * 9 + c * 9 + c * c) * h * w;
            sizes.push((h, w));
            cin = c;
        }
        let s = self.structures.len() as u64;
        let n = self.encoder.len();
        for (j, &c) in self.decoder.iter().enumerate() {
            // Filtering at the input resolution (per structure), lateral at the output (once).
            let (lh, lw) = sizes[n - 1 - j];
            let (hh, ww) = sizes[n - 2 - j];
            let cin = self.decoder_in(j) as u64;
            macs += s * (cin * 9 + (c as u64) * cin) * lh * lw;
            macs += (c as u64) * self.skip_of(j) as u64 * hh * ww;
        }
        let (hh, ww) = sizes[0];
        macs += s * self.decoder.last().copied().unwrap_or(1) as u64 * hh * ww;
        2 * macs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::{Tokenizer, Vocab};

    #[test]
    fn widths_parse_and_are_validated() {
        let base = ModelSpec::student(Vocab::builtin().len(), Tokenizer::DEFAULT_MAX_LEN);
        let s = base.with_widths("8, 16,48,128,256/128,48,16,8").unwrap();
        assert_eq!(s.encoder, vec![8, 16, 48, 128, 256]);
        assert_eq!(s.decoder, vec![128, 48, 16, 8]);
        assert_eq!(s.input, base.input);
        assert!(s.parameter_count() > base.parameter_count());
        for bad in ["8,16,32", "8,16,x/8", "8,16,32/16", "8,0,32/16,8", "/"] {
            let e = base.with_widths(bad).unwrap_err();
            assert!(!e.0.is_empty(), "{bad}");
        }
    }

    #[test]
    fn default_student_meets_the_size_targets() {
        let s = ModelSpec::student(Vocab::builtin().len(), Tokenizer::DEFAULT_MAX_LEN);
        s.validate().unwrap();
        let params = s.parameter_count();
        let gflop = s.image_flops() as f64 / 1e9;
        println!("student: {params} parameters, {gflop:.3} GFLOP per frame (3 structures, 224²)");
        assert!(params <= 2_000_000, "{params}");
        assert!(gflop <= 0.5, "{gflop}");
        // Names are unique.
        let mut names: Vec<String> = s.parameters().into_iter().map(|p| p.name).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
        assert_eq!(s.film_offset(1), 2 * 64);
        assert_eq!(s.decoder_in(0), 128);
        assert_eq!(s.decoder_in(3), 16);
        assert_eq!(s.skip_of(0), 80);
        assert_eq!(s.skip_of(3), 8);
    }

    #[test]
    fn invalid_specs_are_refused() {
        let ok = ModelSpec::student(80, 32);
        let mut s = ok.clone();
        s.decoder.pop();
        assert!(s.validate().unwrap_err().0.contains("decoder stages"));
        let mut s = ok.clone();
        s.input.height = 100;
        assert!(s.validate().unwrap_err().0.contains("multiples of 32"));
        let mut s = ok.clone();
        s.structures.push(Structure::LvCavity);
        assert!(s.validate().is_err());
        let mut s = ok;
        s.input.std = 0.0;
        assert!(s.validate().is_err());
    }

    #[test]
    fn serde_round_trip() {
        let s = ModelSpec::student(80, 32);
        let j = serde_json::to_string(&s).unwrap();
        let back: ModelSpec = serde_json::from_str(&j).unwrap();
        assert_eq!(back, s);
    }
}
