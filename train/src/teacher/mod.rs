//! The paper's teachers in tch: [`clipseg`] (CLIPSeg-like) and [`cris`] (CRIS-like), from tiny
//! (tests) through small (CPU training) to the paper's shapes, and the loading of a user's
//! CLIP weights into their image or text encoders.
//!
//! No CLIP weights are reachable offline, so teachers start from random initialisation unless a
//! weights file is given ([`load_encoder_weights`]); their parameter names are OpenAI CLIP's
//! (`visual.*`, `transformer.*`, `token_embedding.weight`, …), so a CLIP state dict converted to
//! safetensors loads by name.

pub mod clip;
pub mod clipseg;
pub mod cris;
pub mod flops;
pub mod layers;
pub mod resnet;

use clipseg::{ClipSeg, ClipSegConfig};
use cris::{CRIS_THRESHOLD, Cris, CrisConfig};
use serde::{Deserialize, Serialize};
use std::path::Path;
use tch::{Tensor, nn};

/// CLIP's vocabulary size (the paper models' token table).
pub const CLIP_VOCAB: usize = 49_408;
/// CLIP's text context length.
pub const CLIP_CONTEXT: usize = 77;
/// CLIPSeg's parameter count as the seed paper reports it (rd64-refined, CLIP ViT-B/16 text
/// and image encoders included).
pub const PAPER_CLIPSEG_PARAMS: f64 = 150.75e6;
/// CRIS's parameter count as the seed paper reports it (CLIP RN50).
pub const PAPER_CRIS_PARAMS: f64 = 146.85e6;

/// Teacher errors.
#[derive(Debug, thiserror::Error)]
pub enum TeacherError {
    /// The shape cannot be built.
    #[error("invalid teacher configuration: {0}")]
    Config(String),
    /// A weights file could not be read or does not fit.
    #[error("{path}: {message}")]
    Weights {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// libtorch refused an operation.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

/// Which teacher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TeacherKind {
    /// CLIPSeg-like.
    ClipSeg,
    /// CRIS-like.
    Cris,
}

impl std::str::FromStr for TeacherKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "clipseg" => Ok(Self::ClipSeg),
            "cris" => Ok(Self::Cris),
            _ => Err(format!("unknown teacher {s:?}: expected clipseg or cris")),
        }
    }
}

/// Preset sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TeacherSize {
    /// For tests: trains in seconds.
    Tiny,
    /// For CPU training in tens of minutes.
    Small,
    /// The seed paper's shape.
    Paper,
}

impl std::str::FromStr for TeacherSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "tiny" => Ok(Self::Tiny),
            "small" => Ok(Self::Small),
            "paper" => Ok(Self::Paper),
            _ => Err(format!("unknown size {s:?}: expected tiny, small or paper")),
        }
    }
}

/// A teacher's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TeacherConfig {
    /// CLIPSeg-like.
    ClipSeg(ClipSegConfig),
    /// CRIS-like.
    Cris(CrisConfig),
}

impl TeacherConfig {
    /// A preset for a tokenizer of `vocab_size` words padding to `max_len` (the text context is
    /// `max_len + 1`: the start token).
    pub fn preset(kind: TeacherKind, size: TeacherSize, vocab_size: usize, max_len: usize) -> Self {
        let ctx = max_len + 1;
        match (kind, size) {
            (TeacherKind::ClipSeg, TeacherSize::Tiny) => {
                Self::ClipSeg(ClipSegConfig::tiny(vocab_size, ctx))
            }
            (TeacherKind::ClipSeg, TeacherSize::Small) => {
                Self::ClipSeg(ClipSegConfig::small(vocab_size, ctx))
            }
            (TeacherKind::ClipSeg, TeacherSize::Paper) => {
                Self::ClipSeg(ClipSegConfig::paper(vocab_size, ctx))
            }
            (TeacherKind::Cris, TeacherSize::Tiny) => Self::Cris(CrisConfig::tiny(vocab_size, ctx)),
            (TeacherKind::Cris, TeacherSize::Small) => {
                Self::Cris(CrisConfig::small(vocab_size, ctx))
            }
            (TeacherKind::Cris, TeacherSize::Paper) => {
                Self::Cris(CrisConfig::paper(vocab_size, ctx))
            }
        }
    }

    /// Which teacher.
    pub fn kind(&self) -> TeacherKind {
        match self {
            Self::ClipSeg(_) => TeacherKind::ClipSeg,
            Self::Cris(_) => TeacherKind::Cris,
        }
    }

    /// Input side, pixels.
    pub fn input(&self) -> usize {
        match self {
            Self::ClipSeg(c) => c.input,
            Self::Cris(c) => c.input,
        }
    }

    /// Probability threshold of its masks (0.5; CRIS 0.35).
    pub fn threshold(&self) -> f32 {
        match self {
            Self::ClipSeg(_) => 0.5,
            Self::Cris(_) => CRIS_THRESHOLD,
        }
    }

    /// Words its token table holds (without the start token).
    pub fn vocab_size(&self) -> usize {
        match self {
            Self::ClipSeg(c) => c.text.vocab_size,
            Self::Cris(c) => c.text.vocab_size,
        }
    }

    /// Text positions.
    pub fn context(&self) -> usize {
        match self {
            Self::ClipSeg(c) => c.text.context,
            Self::Cris(c) => c.text.context,
        }
    }

    /// The same shape with CLIP's vocabulary and context (to compare parameter counts with the
    /// paper's models).
    pub fn with_clip_text(&self) -> Self {
        let mut c = self.clone();
        let t = match &mut c {
            Self::ClipSeg(c) => &mut c.text,
            Self::Cris(c) => &mut c.text,
        };
        // CLIP's table includes its start and end tokens; ours adds the start row itself.
        t.vocab_size = CLIP_VOCAB - 1;
        t.context = CLIP_CONTEXT;
        c
    }

    /// Width of the text encoder.
    fn text_width(&self) -> usize {
        match self {
            Self::ClipSeg(c) => c.text.width,
            Self::Cris(c) => c.text.width,
        }
    }

    /// Parameters by which CLIP's token table and positions exceed this shape's:
    /// `(49 408 − (vocab + 1) + 77 − context) · text width`.
    pub fn text_table_difference(&self) -> i64 {
        let w = self.text_width() as i64;
        (CLIP_VOCAB as i64 - (self.vocab_size() as i64 + 1) + CLIP_CONTEXT as i64
            - self.context() as i64)
            * w
    }
}

/// A built teacher.
#[derive(Debug)]
pub enum Teacher {
    /// CLIPSeg-like.
    ClipSeg(Box<ClipSeg>),
    /// CRIS-like.
    Cris(Box<Cris>),
}

impl Teacher {
    /// Build the teacher's variables under `root` (random initialisation).
    pub fn new(root: &nn::Path<'_>, cfg: &TeacherConfig) -> Result<Self, TeacherError> {
        Ok(match cfg {
            TeacherConfig::ClipSeg(c) => Self::ClipSeg(Box::new(
                ClipSeg::new(root, c).map_err(TeacherError::Config)?,
            )),
            TeacherConfig::Cris(c) => {
                Self::Cris(Box::new(Cris::new(root, c).map_err(TeacherError::Config)?))
            }
        })
    }

    /// Its shape.
    pub fn config(&self) -> TeacherConfig {
        match self {
            Self::ClipSeg(m) => TeacherConfig::ClipSeg(m.config().clone()),
            Self::Cris(m) => TeacherConfig::Cris(m.config().clone()),
        }
    }

    /// Text positions (read in place: forward passes ask on every batch).
    fn context(&self) -> usize {
        match self {
            Self::ClipSeg(m) => m.config().text.context,
            Self::Cris(m) => m.config().text.context,
        }
    }

    /// Input side, pixels.
    pub fn input(&self) -> usize {
        match self {
            Self::ClipSeg(m) => m.config().input,
            Self::Cris(m) => m.config().input,
        }
    }

    /// Probability threshold of its masks.
    pub fn threshold(&self) -> f32 {
        match self {
            Self::ClipSeg(_) => 0.5,
            Self::Cris(_) => CRIS_THRESHOLD,
        }
    }

    /// Frames `[B, 1, S, S]` (0–255) and token ids `[B, L]` → logits `[B, 1, S, S]`;
    /// `train` switches dropout and batch-norm statistics.
    pub fn forward_t(
        &self,
        frames: &Tensor,
        tokens: &Tensor,
        train: bool,
    ) -> Result<Tensor, TeacherError> {
        let max = self.context() as i64 - 1;
        let l = tokens.size().get(1).copied().unwrap_or(0);
        if l > max {
            return Err(TeacherError::Config(format!(
                "prompts of {l} tokens exceed the text context ({max} words + start)"
            )));
        }
        Ok(match self {
            Self::ClipSeg(m) => m.forward_t(frames, tokens, train)?,
            Self::Cris(m) => m.forward_t(frames, tokens, train),
        })
    }
}

/// Which encoder a weights file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncoderPart {
    /// `visual.*`.
    Image,
    /// `token_embedding.*`, `positional_embedding`, `transformer.*`, `ln_final.*`,
    /// `text_projection`.
    Text,
}

impl EncoderPart {
    fn owns(self, name: &str) -> bool {
        match self {
            Self::Image => name.starts_with("visual."),
            Self::Text => {
                name.starts_with("token_embedding.")
                    || name == "positional_embedding"
                    || name.starts_with("transformer.")
                    || name.starts_with("ln_final.")
                    || name == "text_projection"
            }
        }
    }
}

/// What [`load_encoder_weights`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Tensors copied.
    pub loaded: usize,
    /// Tensors of the file for the other part (or not the model's), left alone.
    pub ignored: usize,
    /// The part's variables the file did not have (they keep their initialisation).
    pub missing: Vec<String>,
}

/// Copy the `part` encoder's weights from a safetensors file (CLIP names) into `vs`.
///
/// Every tensor of the part must match its variable's shape, except the text positions, of
/// which the first `context` rows are taken (CLIP has 77). A file with none of the part's
/// tensors, or with a mismatched shape, is an error and changes nothing.
pub fn load_encoder_weights(
    vs: &mut nn::VarStore,
    path: &Path,
    part: EncoderPart,
) -> Result<LoadReport, TeacherError> {
    let err = |message: String| TeacherError::Weights {
        path: path.display().to_string(),
        message,
    };
    let file = Tensor::read_safetensors(path).map_err(|e| err(e.to_string()))?;
    let vars = vs.variables();
    let mut plan = Vec::new();
    let mut report = LoadReport::default();
    for (name, t) in &file {
        let Some(var) = vars.get(name).filter(|_| part.owns(name)) else {
            report.ignored += 1;
            continue;
        };
        let want = var.size();
        let got = t.size();
        let src = if got == want {
            t.shallow_clone()
        } else if name == "positional_embedding"
            && got.len() == 2
            && got[1] == want[1]
            && got[0] >= want[0]
        {
            t.narrow(0, 0, want[0])
        } else {
            return Err(err(format!(
                "{name}: shape {got:?} in the file, {want:?} in the model"
            )));
        };
        plan.push((name.clone(), src));
    }
    if plan.is_empty() {
        return Err(err(format!("no {part:?} encoder tensor in the file")));
    }
    let mut names: Vec<&String> = vars.keys().filter(|n| part.owns(n)).collect();
    names.sort();
    report.missing = names
        .into_iter()
        .filter(|n| !plan.iter().any(|(p, _)| p == *n))
        .cloned()
        .collect();
    tch::no_grad(|| {
        for (name, src) in &plan {
            if let Some(var) = vars.get(name) {
                let mut v = var.shallow_clone();
                v.copy_(&src.to_kind(var.kind()).to_device(var.device()));
            }
        }
    });
    report.loaded = plan.len();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    fn vocab() -> (usize, usize) {
        let v = synboost_core::Vocab::builtin().len();
        (v, synboost_core::Tokenizer::DEFAULT_MAX_LEN)
    }

    fn tokens(b: i64, l: i64) -> Tensor {
        let mut ids = vec![0i64; (b * l) as usize];
        for (i, id) in ids.iter_mut().enumerate() {
            // A few words per row, then padding; row 0 is the empty prompt.
            let (r, c) = (i as i64 / l, i as i64 % l);
            if c < r * 3 {
                *id = 2 + (i as i64 % 40);
            }
        }
        Tensor::from_slice(&ids).view([b, l])
    }

    #[test]
    fn tiny_teachers_run_forward_and_backward_at_their_input_size() {
        let (v, l) = vocab();
        for kind in [TeacherKind::ClipSeg, TeacherKind::Cris] {
            let cfg = TeacherConfig::preset(kind, TeacherSize::Tiny, v, l);
            let vs = nn::VarStore::new(Device::Cpu);
            let t = Teacher::new(&vs.root(), &cfg).unwrap();
            let s = cfg.input() as i64;
            let frames = Tensor::rand([3, 1, s, s], (Kind::Float, Device::Cpu)) * 255.0;
            let y = t.forward_t(&frames, &tokens(3, l as i64), true).unwrap();
            assert_eq!(y.size(), vec![3, 1, s, s], "{kind:?}");
            y.mean(Kind::Float).backward();
            let with_grad = vs
                .trainable_variables()
                .iter()
                .filter(|v| v.grad().defined())
                .count();
            assert!(
                with_grad > 10,
                "{kind:?}: {with_grad} variables got gradients"
            );
            // Different prompts give different masks for the same frame.
            let f1 = frames.narrow(0, 1, 1).repeat([2, 1, 1, 1]);
            let y1 = t
                .forward_t(&f1, &tokens(3, l as i64).narrow(0, 1, 2), false)
                .unwrap();
            assert!(
                !y1.get(0).allclose(&y1.get(1), 1e-4, 1e-4, false),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn too_long_prompts_are_refused() {
        let (v, l) = vocab();
        let cfg = TeacherConfig::preset(TeacherKind::Cris, TeacherSize::Tiny, v, l);
        let vs = nn::VarStore::new(Device::Cpu);
        let t = Teacher::new(&vs.root(), &cfg).unwrap();
        let frames = Tensor::zeros([1, 1, 64, 64], (Kind::Float, Device::Cpu));
        let e = t
            .forward_t(&frames, &tokens(1, l as i64 + 1), false)
            .unwrap_err();
        assert!(e.to_string().contains("exceed"), "{e}");
    }

    /// The paper shapes with CLIP's vocabulary and context have the seed's parameter counts.
    #[test]
    fn paper_shapes_have_the_papers_parameter_counts() {
        let (v, l) = vocab();
        for (kind, paper) in [
            (TeacherKind::ClipSeg, PAPER_CLIPSEG_PARAMS),
            (TeacherKind::Cris, PAPER_CRIS_PARAMS),
        ] {
            let ours = TeacherConfig::preset(kind, TeacherSize::Paper, v, l);
            let clip = ours.with_clip_text();
            let count = |c: &TeacherConfig| {
                let vs = nn::VarStore::new(Device::Cpu);
                Teacher::new(&vs.root(), c).unwrap();
                layers::parameter_count(&vs) as i64
            };
            let (n_ours, n_clip) = (count(&ours), count(&clip));
            // Rounded as the paper does (0.01 M); CLIP's logit scale (1 parameter) is not ours.
            assert!(
                ((n_clip + 1) as f64 - paper).abs() < 0.005e6,
                "{kind:?}: {n_clip} with CLIP's text table vs {paper}"
            );
            assert_eq!(n_clip - n_ours, ours.text_table_difference(), "{kind:?}");
        }
    }

    #[test]
    fn encoder_weights_load_from_a_safetensors_file() {
        let (v, l) = vocab();
        let cfg = TeacherConfig::preset(TeacherKind::ClipSeg, TeacherSize::Tiny, v, l);
        let src = nn::VarStore::new(Device::Cpu);
        Teacher::new(&src.root(), &cfg).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("clip.safetensors");
        // A CLIP-like file: the image encoder plus an unrelated tensor.
        let mut named: Vec<(String, Tensor)> = src
            .variables()
            .into_iter()
            .filter(|(n, _)| n.starts_with("visual."))
            .collect();
        named.push(("logit_scale".into(), Tensor::from_slice(&[4.6f32])));
        Tensor::write_safetensors(&named, &file).unwrap();

        let mut dst = nn::VarStore::new(Device::Cpu);
        Teacher::new(&dst.root(), &cfg).unwrap();
        let r = load_encoder_weights(&mut dst, &file, EncoderPart::Image).unwrap();
        assert_eq!(r.loaded, named.len() - 1);
        assert_eq!(r.ignored, 1);
        assert!(r.missing.is_empty(), "{:?}", r.missing);
        let (a, b) = (src.variables(), dst.variables());
        for (n, t) in &a {
            if n.starts_with("visual.") {
                assert!(t.equal(&b[n]), "{n} not loaded");
            }
        }
        // The text encoder kept its own initialisation.
        let n = "token_embedding.weight";
        assert!(!a[n].equal(&b[n]));
        // The file has no text encoder: asking for it is an error.
        let e = load_encoder_weights(&mut dst, &file, EncoderPart::Text).unwrap_err();
        assert!(e.to_string().contains("no Text encoder tensor"), "{e}");
        // A mismatched shape is refused.
        let bad = dir.path().join("bad.safetensors");
        Tensor::write_safetensors(
            &[(
                "visual.conv1.weight".to_string(),
                Tensor::zeros([2, 3, 8, 8], (Kind::Float, Device::Cpu)),
            )],
            &bad,
        )
        .unwrap();
        let e = load_encoder_weights(&mut dst, &bad, EncoderPart::Image).unwrap_err();
        assert!(e.to_string().contains("visual.conv1.weight"), "{e}");
    }
}
