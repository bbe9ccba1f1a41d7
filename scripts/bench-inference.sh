#!/usr/bin/env bash
# The runtime benchmark table: tract and ONNX Runtime (the PyPI wheel's libonnxruntime, loaded
# by the engine at run time) on the same bundle, f32 and int8, one thread each, in alternating
# rounds of one run, with the targets of the README's runtime table.
#
#   scripts/bench-inference.sh [BUNDLE=models/default] [ROUNDS=5] [ITERS=30]
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=$(cd "${1:-models/default}" && pwd)  # cargo bench runs in core/: absolute
rounds=${2:-5}
iters=${3:-30}
SYNBOOST_ONNXRUNTIME=$(scripts/onnxruntime-lib.sh)
export SYNBOOST_ONNXRUNTIME
cargo bench -q -p synboost-core --bench inference -- --open "$bundle" --rounds "$rounds" --iters "$iters"
