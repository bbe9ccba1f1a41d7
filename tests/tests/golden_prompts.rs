//! Every prompt string of the seed's golden vectors (`../shared/data/prompts/*.json`, 3600
//! entries) is rebuilt from its attributes, byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde::Deserialize;
use std::collections::BTreeMap;
use synboost_core::prompt::Shape;
use synboost_core::{
    ImageQuality, Phase, PromptAttrs, PromptKind, PromptScheme, Sex, Structure, View, Wording,
};

#[derive(Deserialize)]
#[serde(untagged)]
enum Strings {
    One(String),
    Two(Vec<String>),
}

#[derive(Deserialize)]
struct Golden {
    image: String,
    structure: u8,
    view: String,
    phase: String,
    sex: String,
    age: u8,
    age_words: String,
    quality: Option<String>,
    shape: String,
    prompts: BTreeMap<String, Strings>,
}

fn check_file(name: &str, scheme: PromptScheme, expect_entries: usize) -> usize {
    let Some(dir) = synboost_tests::prompts_dir() else {
        assert!(
            !synboost_tests::data_required(),
            "SYNBOOST_REQUIRE_DATA=1 but no prompts folder (set SYNBOOST_PROMPTS_DIR)"
        );
        eprintln!("skipped: no golden prompts (set SYNBOOST_PROMPTS_DIR or SYNBOOST_CAMUS_DIR)");
        return 0;
    };
    let text = std::fs::read_to_string(dir.join(name)).unwrap();
    let entries: Vec<Golden> = serde_json::from_str(&text).unwrap();
    assert_eq!(entries.len(), expect_entries);
    let mut compared = 0;
    for e in &entries {
        let attrs = PromptAttrs {
            structure: Structure::from_label(e.structure).unwrap(),
            view: Some(e.view.parse::<View>().unwrap()),
            phase: Some(e.phase.parse::<Phase>().unwrap()),
            sex: Some(e.sex.parse::<Sex>().unwrap()),
            age_years: Some(e.age),
            quality: e
                .quality
                .as_deref()
                .map(|q| q.parse::<ImageQuality>().unwrap()),
            shape: Some(e.shape.parse::<Shape>().unwrap()),
        };
        assert_eq!(synboost_core::prompt::age_in_words(e.age), e.age_words);
        for (key, strings) in &e.prompts {
            let kind: PromptKind = key.parse().unwrap();
            let expected: Vec<&str> = match strings {
                Strings::One(s) => vec![s.as_str()],
                Strings::Two(v) => v.iter().map(String::as_str).collect(),
            };
            for (wording, want) in Wording::ALL.iter().zip(&expected) {
                let got = attrs.build(kind, *wording, scheme).unwrap();
                assert_eq!(got, *want, "{} {key} {wording:?}", e.image);
                compared += 1;
            }
            // The kind the entry's metadata supports is at least this kind.
            assert!(PromptKind::richest(&attrs, kind, scheme) >= kind);
        }
    }
    compared
}

#[test]
fn camus_val_golden_prompts_byte_for_byte() {
    let n = check_file("golden_camus_val.json", PromptScheme::Camus, 600);
    if n > 0 {
        // p0 once, p1..p7 in two wordings.
        assert_eq!(n, 600 * 15);
    }
}

#[test]
fn sdm_val_golden_prompts_byte_for_byte() {
    let n = check_file("golden_sdm_val.json", PromptScheme::Synthetic, 3000);
    if n > 0 {
        assert_eq!(n, 3000 * 13);
    }
}

#[test]
fn every_golden_prompt_tokenizes_without_unknown_words() {
    let Some(dir) = synboost_tests::prompts_dir() else {
        return;
    };
    let tok = synboost_core::Tokenizer::default();
    let mut longest = 0;
    for name in ["golden_camus_val.json", "golden_sdm_val.json"] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let entries: Vec<Golden> = serde_json::from_str(&text).unwrap();
        for e in entries {
            for s in e.prompts.values() {
                let all = match s {
                    Strings::One(s) => vec![s.clone()],
                    Strings::Two(v) => v.clone(),
                };
                for p in all {
                    let ids = tok.ids(&p);
                    assert!(!ids.contains(&1), "unknown word in {p:?}");
                    longest = longest.max(ids.len());
                    tok.encode(&p).unwrap();
                }
            }
        }
    }
    assert!(longest <= synboost_core::Tokenizer::DEFAULT_MAX_LEN);
    println!("longest golden prompt: {longest} tokens");
}
