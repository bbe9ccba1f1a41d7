#!/usr/bin/env bash
# Fuzz every target (or those named) with libFuzzer through cargo fuzz (nightly Rust, ASan),
# each for RUNS executions (default 1,000,000), with every allocation capped at 64 MiB, a
# 2 GiB RSS limit, a 10 s per-input timeout (a hang) and inputs of at most 64 KiB (longer
# seeds, such as real DICOM cines, are cut there: their headers are what is fuzzed). Seeds come from the repository and,
# when SYNBOOST_DICOM_DIR is set, the real DICOM files there.
#
#   fuzz/run.sh [TARGET...]            RUNS=1000000 JOBS=1 SYNBOOST_DICOM_DIR=../shared/data/dicom
#
# A crash, hang or cap breach stops that target and leaves the input in
# fuzz/artifacts/<target>/; fix it, then copy the input to fuzz/regressions/<target>/ so that
# tests/tests/fuzz_regressions.rs replays it in CI. Prints one line per target with its
# execution count, speed and coverage, and writes them to fuzz/results.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-1000000}
cache="${SYNBOOST_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/synboost}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
targets=("$@")
((${#targets[@]})) || targets=(dicom bundle abi_frame prompt camus_raw)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
rustup toolchain list | grep -q '^nightly' || { echo "cargo fuzz needs a nightly toolchain (rustup toolchain install nightly)" >&2; exit 1; }

echo "==> seed corpora"
cargo run -q --offline -p synboost-tests --example fuzz_seeds -- fuzz/corpus

echo "==> build (release, debug assertions, ASan)"
(cd fuzz && cargo +nightly fuzz build -O --debug-assertions)

: > fuzz/results.tsv
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  log="fuzz/artifacts/$t/fuzz.log"
  echo "==> $t: $runs runs (log: $log)"
  start=$(date +%s)
  set +e
  (cd fuzz && cargo +nightly fuzz run -O --debug-assertions "$t" "corpus/$t" -- \
      -runs="$runs" -malloc_limit_mb=64 -rss_limit_mb=2048 -timeout=10 \
      -max_len=65536 -print_final_stats=1 -close_fd_mask=3) > "$log" 2>&1
  status=$?
  set -e
  secs=$(( $(date +%s) - start ))
  execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1)
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+' || true)
  corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "${execs:-0}" "$secs" "${cov:-?}" "$corpus" "$status" | tee -a fuzz/results.tsv
  if ((status != 0)); then
    echo "$t: libFuzzer exited with $status; see $log and fuzz/artifacts/$t/" >&2
  fi
done
echo "target	executions	seconds	coverage	corpus	status"
cat fuzz/results.tsv
