#!/usr/bin/env bash
# The synboost test command: installs what the build needs on a fresh machine (C/C++ compiler,
# Python pip for the libtorch wheels and the onnx checker, libtorch 2.11.0 assembled into a cache folder outside the
# repository), then checks formatting and lints and runs every test of the workspace.
#
#   scripts/test.sh
#
# Real data (read from where you keep it; never copied into the repository):
#   SYNBOOST_CAMUS_DIR    camus224 folder (seed layout)   — tests on real CAMUS
#   SYNBOOST_PROMPTS_DIR  golden prompt vectors            — default: prompts/ beside camus224
#   SYNBOOST_DICOM_DIR    real ultrasound DICOM files
#   SYNBOOST_REQUIRE_DATA=1 turns "data folder not given" from a skip into a failure (CI sets it).
# Caches: SYNBOOST_CACHE_DIR (default ~/.cache/synboost) holds libtorch and, unless
# CARGO_TARGET_DIR is set, the cargo target folder, so repeated runs on one machine rebuild little.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
start=$(date +%s)
step() { echo "==> [$(( $(date +%s) - start ))s] $*"; }

# Data folders may be given relative to where the command was started; tests run elsewhere.
for var in SYNBOOST_CAMUS_DIR SYNBOOST_PROMPTS_DIR SYNBOOST_DICOM_DIR; do
  if [[ -n "${!var:-}" ]]; then
    if [[ -d "${!var}" ]]; then
      export "$var=$(cd "${!var}" && pwd)"
    else
      echo "warning: $var=${!var} is not a folder" >&2
    fi
  fi
done

step "system packages"
need=()
command -v cc >/dev/null || need+=(gcc)
command -v c++ >/dev/null || need+=(g++)
command -v make >/dev/null || need+=(make)
# nm/readelf check libsynboost.so's exports and soname; pkg-config builds a client the way a
# vendor would.
command -v nm >/dev/null || need+=(binutils)
command -v pkg-config >/dev/null || need+=(pkgconf)
command -v python3 >/dev/null || need+=(python3)
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
# dciodvfy validates the DICOM files the simulator writes.
command -v dciodvfy >/dev/null || need+=(dicom3tools)
# valgrind runs the C client under memcheck (tests/tests/c_clients.rs).
command -v valgrind >/dev/null || need+=(valgrind)
# libclang: bindgen reads include/synboost.h into the simulator's dlopen table (firmware-sim/build.rs).
# libclang itself, not libclang-cpp (which some images carry without it, and bindgen cannot use).
[[ -n "${LIBCLANG_PATH:-}" ]] || compgen -G '/usr/lib/llvm-*/lib/libclang.so*' >/dev/null \
  || compgen -G '/usr/lib/*-linux-gnu/libclang-[0-9]*.so*' >/dev/null || need+=(libclang-dev)
if ((${#need[@]})); then
  step "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
command -v cargo >/dev/null || { echo "error: cargo (Rust toolchain) not found" >&2; exit 1; }

step "python: onnx (the ONNX checker test)"
python3 -c "import onnx" 2>/dev/null || python3 -m pip install -q --disable-pip-version-check "onnx>=1.17,<2" >&2

step "ONNX Runtime (the SB_BACKEND_ONNXRUNTIME tests; loaded at run time, never linked)"
SYNBOOST_ONNXRUNTIME=$(scripts/onnxruntime-lib.sh)
export SYNBOOST_ONNXRUNTIME
echo "SYNBOOST_ONNXRUNTIME=$SYNBOOST_ONNXRUNTIME"

step "libtorch 2.11.0"
LIBTORCH=$(scripts/setup-libtorch.sh)
export LIBTORCH
cache="${SYNBOOST_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/synboost}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
echo "LIBTORCH=$LIBTORCH CARGO_TARGET_DIR=$CARGO_TARGET_DIR"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
# The ONNX Runtime-only library (core and ffi without the `tract` feature) is linted too.
cargo clippy -p synboost --no-default-features --locked -- -D warnings

step "cargo test"
set +e
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$CARGO_TARGET_DIR/test.log"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -Eo '^test result: [a-zA-Z]+\. [0-9]+ passed' "$CARGO_TARGET_DIR/test.log" | awk '{s+=$4} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' "$CARGO_TARGET_DIR/test.log" | awk '{s+=$1} END {print s+0}')
step "done in $(( $(date +%s) - start ))s"
echo "${passed} passed, ${failed} failed"
exit "$status"
