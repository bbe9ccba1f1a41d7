#!/usr/bin/env bash
# The main command: a live simulated echo stream through libsynboost.so on the bundled default
# model (models/default). Builds the library and the simulator in release mode (no libtorch
# needed), then runs `synboost-sim live` with your arguments:
#
#   scripts/live.sh                          # phantom, 50 fps for 60 s, 1 worker
#   scripts/live.sh --seconds 20 --workers 1
#   scripts/live.sh --dicom file.dcm         # a real cine, looped at its frame rate
#   scripts/live.sh --help                   # every option
#
# Writes live-out/live.gif (overlay animation) and live-out/report.json (latency, accounting,
# dice or areas, memory, targets) under the current folder (--out to change).
# CARGO_TARGET_DIR is respected; SYNBOOST_BUNDLE or --bundle picks another model.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
command -v cargo >/dev/null || { echo "error: cargo (Rust toolchain) not found" >&2; exit 1; }
# Cargo links with the system C compiler; a bare machine may not have one.
if ! command -v cc >/dev/null; then
  echo "installing gcc (cargo needs a linker)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc libc6-dev >&2
fi
# The simulator's build reads include/synboost.h with bindgen, which needs libclang.
if [[ -z "${LIBCLANG_PATH:-}" ]] && ! compgen -G '/usr/lib/llvm-*/lib/libclang*.so*' >/dev/null \
  && ! compgen -G '/usr/lib/x86_64-linux-gnu/libclang*.so*' >/dev/null; then
  echo "installing libclang-dev (bindgen reads the C header for the simulator)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libclang-dev >&2
fi
cargo build --release --locked --manifest-path "$root/Cargo.toml" -p synboost -p synboost-sim >&2
# The repository's default bundle, unless the caller chose one (--bundle still wins).
if [[ -z "${SYNBOOST_BUNDLE:-}" && -e "$root/models/default" ]]; then
  export SYNBOOST_BUNDLE="$root/models/default"
fi
export SYNBOOST_LIB="${SYNBOOST_LIB:-$target/release/libsynboost.so}"
exec "$target/release/synboost-sim" live "$@"
