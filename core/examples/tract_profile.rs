//! Per-operation profile of a synboost image graph in tract: where the time goes.
//!
//! ```text
//! cargo run --release -p synboost-core --example tract_profile -- BUNDLE/image.onnx
//! ```
//!
//! Runs the graph 12 times (2 warm-ups) on a constant frame and constant conditioning and prints
//! the mean time per operator type and the 25 slowest nodes with their input shapes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::Instant;
use tract_onnx::prelude::*;

fn main() -> TractResult<()> {
    let path = std::env::args()
        .skip(1)
        .find(|a| a.ends_with(".onnx"))
        .ok_or_else(|| anyhow::anyhow!("usage: tract_profile GRAPH.onnx"))?;
    let model = tract_onnx::onnx().model_for_path(&path)?.into_optimized()?;
    let dims = |i: usize| -> TractResult<Vec<usize>> {
        let f = model.input_fact(i)?;
        f.shape
            .as_concrete()
            .map(|s| s.to_vec())
            .ok_or_else(|| anyhow::anyhow!("input {i} has a symbolic shape"))
    };
    let (fs, cs) = (dims(0)?, dims(1)?);
    let frame = Tensor::from_shape(&fs, &vec![100u8; fs.iter().product()])?;
    let cond = Tensor::from_shape(&cs, &vec![0.01f32; cs.iter().product()])?;
    let plan = model.into_runnable()?;
    let mut state = tract_onnx::tract_core::plan::SimpleState::new(&plan)?;
    let mut by_op: BTreeMap<String, f64> = BTreeMap::new();
    let mut by_node: BTreeMap<String, f64> = BTreeMap::new();
    let runs = 10.0;
    for it in 0..12 {
        let inputs = tvec!(frame.clone().into_tvalue(), cond.clone().into_tvalue());
        state.run_plan_with_eval(inputs, |ctx, st, node, inp| {
            let shapes: Vec<String> = inp.iter().map(|t| format!("{:?}", t.shape())).collect();
            let t = Instant::now();
            let r = tract_onnx::tract_core::plan::eval(ctx, st, node, inp);
            let ms = t.elapsed().as_secs_f64() * 1e3 / runs;
            if it >= 2 {
                *by_op.entry(node.op().name().to_string()).or_default() += ms;
                let key = format!("{} {} {}", node.op().name(), node.name, shapes.join(","));
                *by_node.entry(key).or_default() += ms;
            }
            r
        })?;
    }
    let total: f64 = by_op.values().sum();
    println!("total {total:.3} ms per run (profiling adds overhead)");
    let mut ops: Vec<_> = by_op.into_iter().collect();
    ops.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (k, t) in ops {
        println!("{t:8.3} ms  {k}");
    }
    let mut nodes: Vec<_> = by_node.into_iter().collect();
    nodes.sort_by(|a, b| b.1.total_cmp(&a.1));
    println!("\nslowest nodes:");
    for (k, t) in nodes.iter().take(25) {
        println!("{t:8.3} ms  {k}");
    }
    Ok(())
}
