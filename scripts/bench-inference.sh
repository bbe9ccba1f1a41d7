#!/usr/bin/env bash
# Inference benchmark table: the engine (tract 0.23.9) and onnxruntime (PyPI) on the same
# bundle's ONNX files, one thread each, in alternating rounds of one run so that both see the
# same machine load; the table reports the median over rounds of each median.
#
#   scripts/bench-inference.sh [ROUNDS=3] [ITERS=50]
#
# Needs python3 with numpy and onnxruntime (installed with pip if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
iters=${2:-50}
python3 -c "import onnxruntime, numpy" 2>/dev/null ||
  python3 -m pip install -q --disable-pip-version-check "onnxruntime>=1.20,<2" numpy >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo bench -q -p synboost-core --bench inference --no-run >&2
for r in $(seq 1 "$rounds"); do
  echo "round $r/$rounds" >&2
  cargo bench -q -p synboost-core --bench inference -- --iters "$iters" \
    --bundle "$work/bundle" --json "$work/tract_$r.json" >/dev/null
  python3 scripts/bench_ort.py "$work/bundle" "$iters" "$work/ort_$r.json"
done
python3 - "$work" "$rounds" "$(nproc)" <<'PY'
import json, statistics, sys, platform
work, rounds, ncpu = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def load(prefix):
    runs = [json.load(open(f"{work}/{prefix}_{r}.json")) for r in range(1, rounds + 1)]
    out = {}
    for k, v in runs[0]:
        vals = [dict(run)[k] for run in runs]
        out[k] = v if isinstance(v, str) else statistics.median(vals)
    return out
t, o = load("tract"), load("ort")
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
print(f"\nCPU: {cpu} ({ncpu} logical cores), one thread per runtime; onnxruntime {o.pop('onnxruntime version')}; "
      f"median over {rounds} alternating rounds of per-round medians\n")
print("| benchmark | ms |")
print("|---|---:|")
for k, v in list(t.items()) + list(o.items()):
    print(f"| {k} | {v:.4f} |")
print("\n| ratio (tract / onnxruntime, same ONNX, same run) | × |")
print("|---|---:|")
for name in ["f32", "int8"]:
    a = t.get(f"tract {name}: image graph, 224², 3 structures")
    b = o.get(f"onnxruntime {name}: image graph, 224², 3 structures")
    if a and b:
        print(f"| image graph {name} | {a / b:.2f} |")
a, b = t.get("tract: text graph (cache miss), 1 prompt"), o.get("onnxruntime: text graph, 1 prompt")
print(f"| text graph | {a / b:.2f} |")
a, b = t.get("tract int8: image graph, 224², 3 structures"), t.get("tract f32: image graph, 224², 3 structures")
print(f"\n| tract int8 / tract f32 (image graph) | {a / b:.2f} × |")
print("|---|---:|")
PY
