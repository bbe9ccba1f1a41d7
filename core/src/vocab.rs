//! The closed word-level vocabulary of the prompts and the tokenizer the models consume.
//!
//! Tokenisation is deliberately simple and total: lower-case the text, split it into words at
//! white space and hyphens (so `fifty-six-year-old` is `fifty six year old`, which keeps every age
//! inside a small vocabulary), and drop the full stops and commas. Every word the prompt builder
//! can write is in [`Vocab::builtin`]; anything else maps to `[UNK]`. Sequences are padded with
//! `[PAD]` (id 0) to the model's fixed length; a prompt longer than that is an error, never
//! silently truncated.
//!
//! A vocabulary is versioned and serialisable (JSON). Model bundles store the vocabulary they
//! were trained with, and its [`Vocab::fingerprint`] lets a loader refuse a mismatch.

use crate::meta::{ImageQuality, Phase, Sex, View};
use crate::prompt::{Shape, number_words};
use crate::structure::Structure;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// The padding token, always id 0.
pub const PAD: &str = "[PAD]";
/// The unknown-word token, always id 1.
pub const UNK: &str = "[UNK]";
/// Format tag written into serialised vocabularies.
pub const FORMAT: &str = "synboost-vocab";

/// Version of [`Vocab::builtin`]. Bump it whenever the built-in word list changes.
pub const BUILTIN_VERSION: u32 = 1;

/// Words of the templates themselves (besides structure names and attribute values).
const TEMPLATE_WORDS: [&str; 18] = [
    "of",
    "the",
    "heart",
    "in",
    "cardiac",
    "ultrasound",
    "chamber",
    "view",
    "at",
    "end",
    "cycle",
    "a",
    "year",
    "old",
    "with",
    "image",
    "quality",
    "shape",
];

/// A closed vocabulary: ids are positions in `tokens`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vocab {
    version: u32,
    tokens: Vec<String>,
    index: HashMap<String, u32>,
}

#[derive(Serialize, Deserialize)]
struct VocabFile {
    format: String,
    version: u32,
    fingerprint: String,
    tokens: Vec<String>,
}

/// Vocabulary and tokenizer errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VocabError {
    /// The serialised form is not a vocabulary or is inconsistent.
    #[error("invalid vocabulary: {0}")]
    Invalid(String),
    /// A prompt has more words than the model's sequence length.
    #[error("prompt has {len} tokens, more than the model's {max_len}: {text:?}")]
    TooLong {
        /// Tokens in the prompt.
        len: usize,
        /// The model's fixed length.
        max_len: usize,
        /// The prompt.
        text: String,
    },
}

impl Vocab {
    /// The vocabulary of every word the prompt builder can write, version [`BUILTIN_VERSION`]:
    /// `[PAD]`, `[UNK]`, then the words sorted.
    pub fn builtin() -> Self {
        let mut words: BTreeSet<String> = BTreeSet::new();
        let mut add = |text: &str| {
            for w in split_words(text) {
                words.insert(w);
            }
        };
        TEMPLATE_WORDS.iter().for_each(|w| add(w));
        Structure::ALL.iter().for_each(|s| add(s.prompt_name()));
        [View::TwoChamber, View::ThreeChamber, View::FourChamber]
            .iter()
            .for_each(|v| add(v.prompt_word()));
        [Phase::EndDiastole, Phase::EndSystole]
            .iter()
            .for_each(|p| add(p.prompt_word()));
        [Sex::Female, Sex::Male]
            .iter()
            .for_each(|s| add(s.prompt_word()));
        [ImageQuality::Good, ImageQuality::Medium, ImageQuality::Poor]
            .iter()
            .for_each(|q| add(q.prompt_word()));
        Shape::ALL.iter().for_each(|s| add(s.word()));
        number_words().for_each(add);
        let tokens: Vec<String> = [PAD.to_string(), UNK.to_string()]
            .into_iter()
            .chain(words)
            .collect();
        // Well-formed by construction: PAD, UNK, then distinct non-empty words.
        let index = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        Self {
            version: BUILTIN_VERSION,
            tokens,
            index,
        }
    }

    /// A vocabulary from an explicit token list; `[PAD]` must be first, `[UNK]` second, and no
    /// token may repeat.
    pub fn from_tokens(version: u32, tokens: Vec<String>) -> Result<Self, VocabError> {
        if tokens.first().map(String::as_str) != Some(PAD)
            || tokens.get(1).map(String::as_str) != Some(UNK)
        {
            return Err(VocabError::Invalid(format!(
                "the first two tokens must be {PAD} and {UNK}"
            )));
        }
        if tokens.len() > u32::MAX as usize {
            return Err(VocabError::Invalid("too many tokens".into()));
        }
        let mut index = HashMap::with_capacity(tokens.len());
        for (i, t) in tokens.iter().enumerate() {
            if t.is_empty() {
                return Err(VocabError::Invalid(format!("token {i} is empty")));
            }
            if index.insert(t.clone(), i as u32).is_some() {
                return Err(VocabError::Invalid(format!("token {t:?} repeated")));
            }
        }
        Ok(Self {
            version,
            tokens,
            index,
        })
    }

    /// Version number.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Number of tokens, `[PAD]` and `[UNK]` included.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Never true for a valid vocabulary (it always holds `[PAD]` and `[UNK]`).
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The tokens, in id order.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// Id of a word (already lower-case), or `[UNK]`'s id.
    pub fn id(&self, word: &str) -> u32 {
        self.index.get(word).copied().unwrap_or(1)
    }

    /// A stable 64-bit FNV-1a hash of the version and token list, as 16 hex digits. Two
    /// vocabularies with the same fingerprint map every word to the same id.
    pub fn fingerprint(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |bytes: &[u8]| {
            for b in bytes {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        };
        eat(&self.version.to_le_bytes());
        for t in &self.tokens {
            eat(t.as_bytes());
            eat(&[0]);
        }
        format!("{h:016x}")
    }

    /// Serialise to JSON (with format tag and fingerprint).
    pub fn to_json(&self) -> String {
        let file = VocabFile {
            format: FORMAT.to_string(),
            version: self.version,
            fingerprint: self.fingerprint(),
            tokens: self.tokens.clone(),
        };
        serde_json::to_string_pretty(&file).unwrap_or_default()
    }

    /// Parse JSON written by [`Vocab::to_json`]; the fingerprint must match the tokens.
    pub fn from_json(text: &str) -> Result<Self, VocabError> {
        let file: VocabFile =
            serde_json::from_str(text).map_err(|e| VocabError::Invalid(e.to_string()))?;
        if file.format != FORMAT {
            return Err(VocabError::Invalid(format!(
                "format is {:?}, expected {FORMAT:?}",
                file.format
            )));
        }
        let vocab = Self::from_tokens(file.version, file.tokens)?;
        if vocab.fingerprint() != file.fingerprint {
            return Err(VocabError::Invalid(format!(
                "fingerprint {} does not match the tokens ({})",
                file.fingerprint,
                vocab.fingerprint()
            )));
        }
        Ok(vocab)
    }
}

/// Split a prompt into lower-case words (see the module docs).
pub fn split_words(text: &str) -> impl Iterator<Item = String> + '_ {
    words(text).map(str::to_lowercase)
}

/// The words of `text` as they stand (not lower-cased): what [`split_words`] lower-cases.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c.is_whitespace() || c == '-')
        .map(|w| w.trim_matches(|c: char| c == '.' || c == ','))
        .filter(|w| !w.is_empty())
}

/// Turns prompts into fixed-length id sequences.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    vocab: Vocab,
    max_len: usize,
}

impl Tokenizer {
    /// Longest sequence any builtin prompt needs (the longest P7 has 31 words); models use at
    /// least this.
    pub const DEFAULT_MAX_LEN: usize = 32;

    /// A tokenizer padding to `max_len` tokens.
    pub fn new(vocab: Vocab, max_len: usize) -> Self {
        Self { vocab, max_len }
    }

    /// The vocabulary.
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// The fixed sequence length.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Ids of the words of `text`, unpadded. The empty prompt (P0) gives no ids.
    pub fn ids(&self, text: &str) -> Vec<u32> {
        split_words(text).map(|w| self.vocab.id(&w)).collect()
    }

    /// Whether `text` fits the text model ([`Tokenizer::encode`] would not refuse it for its
    /// length); counts words without allocating, for the per-frame prompt choice.
    pub fn fits(&self, text: &str) -> bool {
        words(text).nth(self.max_len).is_none()
    }

    /// Ids padded with `[PAD]` (0) to [`Tokenizer::max_len`], with the count of real tokens.
    pub fn encode(&self, text: &str) -> Result<(Vec<i64>, usize), VocabError> {
        let ids = self.ids(text);
        if ids.len() > self.max_len {
            return Err(VocabError::TooLong {
                len: ids.len(),
                max_len: self.max_len,
                text: text.to_string(),
            });
        }
        let n = ids.len();
        let mut out: Vec<i64> = ids.into_iter().map(i64::from).collect();
        out.resize(self.max_len, 0);
        Ok((out, n))
    }

    /// Words back from ids (padding dropped); for logs and tests.
    pub fn decode(&self, ids: &[i64]) -> String {
        ids.iter()
            .filter(|&&i| i != 0)
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| self.vocab.tokens.get(i))
                    .map_or(UNK, String::as_str)
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl Default for Tokenizer {
    fn default() -> Self {
        Self::new(Vocab::builtin(), Self::DEFAULT_MAX_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_is_small_and_stable() {
        let v = Vocab::builtin();
        assert_eq!(v.tokens()[0], PAD);
        assert_eq!(v.tokens()[1], UNK);
        assert!(v.len() > 60 && v.len() < 100, "{}", v.len());
        assert_eq!(v.fingerprint(), Vocab::builtin().fingerprint());
        for w in [
            "left",
            "ventricular",
            "myocardium",
            "fifty",
            "six",
            "rectangular",
            "poor",
        ] {
            assert_ne!(v.id(w), 1, "{w} missing");
        }
    }

    #[test]
    fn tokenizes_and_pads() {
        let t = Tokenizer::default();
        let (ids, n) = t
            .encode("Left ventricular cavity in two-chamber view of a fifty-six-year-old female.")
            .unwrap();
        assert_eq!(n, 14);
        assert_eq!(ids.len(), Tokenizer::DEFAULT_MAX_LEN);
        assert!(ids[n..].iter().all(|&i| i == 0));
        assert_eq!(
            t.decode(&ids),
            "left ventricular cavity in two chamber view of a fifty six year old female"
        );
        assert_eq!(t.ids(""), Vec::<u32>::new());
        assert_eq!(t.ids("Right ventricle"), vec![1, 1]);
        let long = "of ".repeat(40);
        assert!(matches!(
            t.encode(&long),
            Err(VocabError::TooLong { len: 40, .. })
        ));
        // `fits` agrees with `encode` at the limit, hyphens and stray punctuation included.
        assert!(!t.fits(&long));
        let exact = "of-".repeat(t.max_len()) + " . ,";
        assert!(t.fits(&exact) && t.encode(&exact).is_ok());
        let over = exact.clone() + " of";
        assert!(!t.fits(&over) && t.encode(&over).is_err());
    }

    #[test]
    fn json_round_trip_and_tamper() {
        let v = Vocab::builtin();
        let j = v.to_json();
        assert_eq!(Vocab::from_json(&j).unwrap(), v);
        let tampered = j.replacen("\"heart\"", "\"hearts\"", 1);
        assert!(
            Vocab::from_json(&tampered)
                .unwrap_err()
                .to_string()
                .contains("fingerprint")
        );
        assert!(Vocab::from_tokens(1, vec!["a".into()]).is_err());
        assert!(
            Vocab::from_tokens(1, vec![PAD.into(), UNK.into(), "x".into(), "x".into()]).is_err()
        );
    }
}
