#!/usr/bin/env bash
# Train on a GPU machine that has torch 2.11 (CUDA) for Python but no Rust toolchain.
#
#   scripts/gpu-train.sh build            # here: release-build synboost-train into dist/gpu/
#   scripts/gpu-train.sh run FIT-ARGS...  # there: run `synboost-train fit --device cuda FIT-ARGS`
#
# `build` links against the CPU libtorch 2.11.0 that scripts/setup-libtorch.sh assembles; the
# binary loads libtorch_cuda.so at start-up (`--device cuda`), so on the GPU machine it runs
# against that machine's torch/lib (put on LD_LIBRARY_PATH by `run`). Carry dist/gpu/ there.
# `run` prints the device, then throughput (image-prompt pairs per second) and validation dice
# per epoch from the run's log.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  build)
    LIBTORCH=$(scripts/setup-libtorch.sh)
    export LIBTORCH
    cargo build --release -p synboost-train --locked
    mkdir -p dist/gpu
    cp "${CARGO_TARGET_DIR:-target}/release/synboost-train" dist/gpu/
    echo "dist/gpu/synboost-train ($(du -h dist/gpu/synboost-train | cut -f1))"
    ;;
  run)
    shift
    torchlib=$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
    export LD_LIBRARY_PATH="$torchlib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
    python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
    out=""
    args=("$@")
    for ((i = 0; i < ${#args[@]}; i++)); do
      [[ "${args[$i]}" == "--out" ]] && out="${args[$((i + 1))]}"
    done
    [[ -n "$out" ]] || { echo "error: pass --out RUN_DIR" >&2; exit 2; }
    dist/gpu/synboost-train fit --device cuda "$@"
    python3 - "$out/log.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"val_dice"' in l]
print("| phase | epoch | pairs/s | val dice | seconds |")
print("|---|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r['phase']} | {r['epoch']} | {r['pairs_per_sec']:.0f} | {100 * r['val_dice']:.2f} | {r['seconds']:.0f} |")
PY
    ;;
  *)
    echo "usage: $0 build | run FIT-ARGS..." >&2
    exit 2
    ;;
esac
