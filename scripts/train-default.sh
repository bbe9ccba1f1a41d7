#!/usr/bin/env bash
# Retrain the bundled default model (models/default) from scratch, export it and score it:
#
#   export SYNBOOST_CAMUS_DIR=../shared/data/camus224
#   scripts/train-default.sh OUT            # CPU: builds synboost-train against libtorch 2.11.0
#   scripts/train-default.sh OUT cuda       # GPU: see below
#
# OUT/run    the training run: log.jsonl, state.json, dice.png, loss.png, checkpoints
# OUT/bundle the bundle (f32 + int8), its manifest carrying the val scores of both variants at
#            P0-P3, which are also printed as tables at the end
#
# The recipe (one phase, 36 epochs, fixed: no time limit, no early stop, so the result does not
# depend on the machine's speed): the student with encoder 8-16-48-128-256 and decoder
# 128-48-16-8 (542,353 parameters), trained on camus224 train mixed with 15 % phantom frames
# (200 synthetic patients, so that `synboost-sim live` streams segment well), prompts drawn
# per pair from P0, P1, P2, P2, P3, P3, random affine + gamma augmentation, AdamW at 3e-3 with
# a per-batch cosine decay to 1e-5, batch 16, seed 0; the epoch with the best camus224 val dice
# at P3 is exported, int8 calibrated on 32 camus224 train frames.
#
# The shipped 1.0.x weights were trained on the camus224 masks as they were before their
# cleaning on 2026-12-02; trained on the cleaned masks, this recipe makes a new model, hence
# version 1.1.0 (set SYNBOOST_VERSION to override). Its manifest records the fingerprint of the
# val data every score was measured on (`synboost-train fingerprint` prints the current one).
#
# cuda: on a GPU machine without a Rust toolchain, build here with `scripts/gpu-train.sh build`,
# carry dist/gpu/ there and set SYNBOOST_TRAIN_BIN=dist/gpu/synboost-train; torch 2.11 for
# Python provides the CUDA libraries. GPU kernels round differently from the CPU's, so a GPU run
# lands near, not exactly on, the CPU numbers.
# SYNBOOST_THREADS sets libtorch's CPU threads (default: all cores); the thread count changes
# float rounding, hence the numbers in the last digits.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: $0 OUT [cpu|cuda]}
device=${2:-cpu}
: "${SYNBOOST_CAMUS_DIR:?set SYNBOOST_CAMUS_DIR to the camus224 folder}"
export SYNBOOST_CAMUS_DIR
if [[ -n "${SYNBOOST_TRAIN_BIN:-}" ]]; then
  bin=$SYNBOOST_TRAIN_BIN
else
  bin=$("$root/scripts/train-bin.sh")
  LIBTORCH=$("$root/scripts/setup-libtorch.sh")
  export LD_LIBRARY_PATH="$LIBTORCH/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
if [[ "$device" == cuda* ]]; then
  torchlib=$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
  export LD_LIBRARY_PATH="$torchlib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
threads=()
[[ -n "${SYNBOOST_THREADS:-}" ]] && threads=(--threads "$SYNBOOST_THREADS")
# libtorch's OpenMP threads otherwise spin between the small kernels of this model.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
mkdir -p "$out"
start=$(date +%s)
"$bin" fit --out "$out/run" --device "$device" "${threads[@]}" \
  --strategy mixed --synthetic phantom:200 --synthetic-share 0.15 \
  --prompt p0,p1,p2,p2,p3,p3 --val-prompt p3 --widths 8,16,48,128,256/128,48,16,8 \
  --augment --schedule cosine --epochs 36 --patience 36 --lr 3e-3 --batch 16 --seed 0
"$bin" export --run "$out/run" --out "$out/bundle" --calibration-frames 32 \
  --name synboost-default --version "${SYNBOOST_VERSION:-1.1.0}" --val-prompts p0,p1,p2,p3
echo "trained and exported in $(( ($(date +%s) - start) / 60 )) min: $out/bundle" >&2
