//! `synboost-train compare`: two models' per-pair dice (the `pairs.csv` of `eval`), each side
//! the mean over one or more runs (seeds), paired by sample, prompt kind and structure; prints
//! both means, their difference and the one-sided Wilcoxon signed-rank test of "new > base"
//! (as the seed's `get_pvalues.py`, `synboost_data::stats`).

use anyhow::{Result, bail};
use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;
use synboost_data::stats::wilcoxon_greater;
use synboost_train::eval::EvalReport;

/// Arguments of `compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The baseline's `pairs.csv` files (one per seed), comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    pub base: Vec<PathBuf>,
    /// The new model's `pairs.csv` files (one per seed), comma-separated.
    #[arg(long = "new", value_delimiter = ',', required = true)]
    pub new: Vec<PathBuf>,
    /// Only pairs of this prompt kind (e.g. P3); default all.
    #[arg(long)]
    pub kind: Option<String>,
}

/// (id, kind, structure) → the dice of each file, in file order.
type Pairs = BTreeMap<(String, String, String), Vec<f64>>;

fn read_side(files: &[PathBuf], kind: Option<&str>) -> Result<Pairs> {
    let mut side: Pairs = BTreeMap::new();
    for (i, f) in files.iter().enumerate() {
        for p in EvalReport::read_pairs_csv(f)? {
            if kind.is_some_and(|k| !p.kind.eq_ignore_ascii_case(k)) {
                continue;
            }
            let v = side.entry((p.id, p.kind, p.structure)).or_default();
            if v.len() != i {
                bail!(
                    "{}: a pair is listed twice or missing from an earlier file",
                    f.display()
                );
            }
            v.push(p.dice);
        }
        if side.values().any(|v| v.len() != i + 1) {
            bail!(
                "{}: its pairs are not the same as the other files'",
                f.display()
            );
        }
    }
    Ok(side)
}

/// `compare`: print the paired comparison.
pub fn compare(a: CompareArgs) -> Result<()> {
    let kind = a.kind.as_deref();
    let base = read_side(&a.base, kind)?;
    let new = read_side(&a.new, kind)?;
    if base.is_empty() {
        bail!("no pairs to compare");
    }
    if base.keys().ne(new.keys()) {
        bail!("the two sides scored different pairs (other data, kinds or structures)");
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let (mut b, mut n, mut d) = (Vec::new(), Vec::new(), Vec::new());
    for (k, bv) in &base {
        let nv = &new[k];
        b.push(mean(bv));
        n.push(mean(nv));
        d.push(mean(nv) - mean(bv));
    }
    // Each seed's overall mean, to show the spread between seeds.
    let per_seed = |side: &Pairs, files: usize| -> Vec<f64> {
        (0..files)
            .map(|i| mean(&side.values().map(|v| v[i]).collect::<Vec<_>>()) * 100.0)
            .collect()
    };
    let w = wilcoxon_greater(&d);
    println!(
        "pairs: {}{}",
        d.len(),
        kind.map_or(String::new(), |k| format!(" ({k})"))
    );
    println!(
        "base: mean dice {:.2} over {} run(s) {:.2?}",
        mean(&b) * 100.0,
        a.base.len(),
        per_seed(&base, a.base.len())
    );
    println!(
        "new:  mean dice {:.2} over {} run(s) {:.2?}",
        mean(&n) * 100.0,
        a.new.len(),
        per_seed(&new, a.new.len())
    );
    println!("difference (new − base): {:+.2}", mean(&d) * 100.0);
    println!(
        "one-sided Wilcoxon signed-rank (new > base): n = {} nonzero, W+ = {:.1}, z = {:.3}, p = {:.3e}",
        w.n, w.w_plus, w.z, w.p
    );
    Ok(())
}
