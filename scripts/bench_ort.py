#!/usr/bin/env python3
"""onnxruntime (one thread) on the ONNX files of a synboost bundle: the same inputs the engine
feeds (a 224² uint8 frame, 3 conditioning rows; padded token ids), median latency in ms.

    python3 scripts/bench_ort.py BUNDLE_DIR ITERS OUT.json
"""
import json
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort


def session(path):
    o = ort.SessionOptions()
    o.intra_op_num_threads = 1
    o.inter_op_num_threads = 1
    o.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])


def median_ms(fn, iters):
    for _ in range(3):
        fn()
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def main():
    d, iters, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    manifest = json.load(open(f"{d}/manifest.json"))
    spec = manifest["spec"]
    h, w = spec["input"]["height"], spec["input"]["width"]
    s = len(spec["structures"])
    cond_dim = 2 * sum(spec["decoder"])
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, size=(1, 1, h, w), dtype=np.uint8)
    cond = rng.normal(0, 0.1, size=(s, cond_dim)).astype(np.float32)
    tokens = np.zeros((1, spec["text"]["max_len"]), dtype=np.int64)
    tokens[0, :12] = rng.integers(2, spec["text"]["vocab_size"], size=12)
    rows = []
    files = {f["role"]: f"{d}/{f['path']}" for f in manifest["files"]}
    for role, name in [("image", "f32"), ("image_int8", "int8")]:
        if role in files:
            sess = session(files[role])
            rows.append([f"onnxruntime {name}: image graph, 224², 3 structures", median_ms(
                lambda: sess.run(None, {"frame": frame, "cond": cond}), iters)])
    sess = session(files["text"])
    rows.append(["onnxruntime: text graph, 1 prompt", median_ms(
        lambda: sess.run(None, {"tokens": tokens}), max(iters, 10) * 4)])
    rows.append(["onnxruntime version", ort.__version__])
    json.dump(rows, open(out, "w"), indent=1)


if __name__ == "__main__":
    main()
