#!/usr/bin/env bash
# Build synboost-train (release, against libtorch 2.11.0 from scripts/setup-libtorch.sh) and print
# the path of the binary on stdout; build output goes to stderr. Run the binary with
# LD_LIBRARY_PATH including "$LIBTORCH/lib" (printed on stderr as a hint):
#
#   B=$(scripts/train-bin.sh)
#   LD_LIBRARY_PATH=$(scripts/setup-libtorch.sh)/lib $B fit --help
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
LIBTORCH=$("$root/scripts/setup-libtorch.sh")
export LIBTORCH
cargo build --release --locked --manifest-path "$root/Cargo.toml" -p synboost-train \
  --bin synboost-train >&2
echo "run it with LD_LIBRARY_PATH=$LIBTORCH/lib" >&2
echo "${CARGO_TARGET_DIR:-$root/target}/release/synboost-train"
