//! `synboost-train models`: build every model shape and print parameters and FLOPs per frame
//! next to the seed paper's counts.

use super::common::student_spec;
use anyhow::Result;
use synboost_core::{Tokenizer, Vocab};
use synboost_train::model::Architecture;
use synboost_train::teacher::{
    PAPER_CLIPSEG_PARAMS, PAPER_CRIS_PARAMS, TeacherConfig, TeacherKind, TeacherSize, flops,
};
use tch::nn::VarStore;

/// Parameters of a built architecture (the variables PyTorch would count as parameters).
fn built_parameters(arch: &Architecture) -> Result<usize> {
    let vs = VarStore::new(tch::Device::Cpu);
    arch.build(&vs.root())?;
    Ok(synboost_train::teacher::layers::parameter_count(&vs))
}

/// `models`: the table of every shape (the paper shapes too when `paper`).
pub fn models(paper: bool) -> Result<()> {
    let vocab = Vocab::builtin().len();
    let len = Tokenizer::DEFAULT_MAX_LEN;
    let student = student_spec(224, None)?;
    let s_params = built_parameters(&Architecture::Student(student.clone()))?;
    let s_flops = student.image_flops();
    let n = student.structures.len();
    println!(
        "| model | size | input | parameters | with CLIP's token table | paper | GFLOP / frame ({n} prompts) | × student FLOPs | × student params |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| student | default | 224 | {:.3} M | | | {:.3} | 1 | 1 |",
        s_params as f64 / 1e6,
        s_flops as f64 / 1e9
    );
    let mut sizes = vec![TeacherSize::Tiny, TeacherSize::Small];
    if paper {
        sizes.push(TeacherSize::Paper);
    }
    for kind in [TeacherKind::ClipSeg, TeacherKind::Cris] {
        for &size in &sizes {
            let cfg = TeacherConfig::preset(kind, size, vocab, len);
            let ours = built_parameters(&Architecture::Teacher(cfg.clone()))?;
            let (clip, reference) = if size == TeacherSize::Paper {
                let c = built_parameters(&Architecture::Teacher(cfg.with_clip_text()))?;
                let p = match kind {
                    TeacherKind::ClipSeg => PAPER_CLIPSEG_PARAMS,
                    TeacherKind::Cris => PAPER_CRIS_PARAMS,
                };
                (
                    format!("{:.2} M", c as f64 / 1e6),
                    format!("{:.2} M", p / 1e6),
                )
            } else {
                (String::new(), String::new())
            };
            let f = flops::per_frame(&cfg, n);
            let ratio = |x: f64| {
                if x < 10.0 {
                    format!("{x:.1}")
                } else {
                    format!("{x:.0}")
                }
            };
            println!(
                "| {} | {size:?} | {} | {:.2} M | {clip} | {reference} | {:.2} | {} | {} |",
                Architecture::Teacher(cfg.clone()).name(),
                cfg.input(),
                ours as f64 / 1e6,
                f as f64 / 1e9,
                ratio(f as f64 / s_flops as f64),
                ratio(ours as f64 / s_params as f64)
            );
        }
    }
    println!(
        "\nOurs differ from the paper's models in the text token table and positions only: \
         {vocab} words + a start token over {} positions instead of CLIP's 49 408 tokens over 77.",
        len + 1
    );
    Ok(())
}
