#!/usr/bin/env bash
# Build time and size of libsynboost.so at another revision and at this checkout, side by side:
# both share one release target folder (dependencies built once), then each side rebuilds the
# device crates after `touch core/src/lib.rs`, in alternating rounds, and from clean.
#
#   scripts/bench-so-build.sh [REV] [ROUNDS]     # default: a2384b7 (before issue 25), 3 rounds
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rev=${1:-a2384b7}
rounds=${2:-3}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/synboost/target-rel}
other=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$other" >/dev/null 2>&1 || true' EXIT
git -C "$root" worktree add --detach "$other" "$rev" >/dev/null
build() { (cd "$1" && cargo build --release --locked -p synboost >/dev/null 2>&1); }
timed() { local s e; s=$(date +%s.%N); build "$1"; e=$(date +%s.%N); echo "$e - $s" | bc; }
echo "first build $rev (with dependencies): $(timed "$other") s"
cp "$CARGO_TARGET_DIR/release/libsynboost.so" "$other.so"
echo "first build HEAD (dependencies shared): $(timed "$root") s"
cp "$CARGO_TARGET_DIR/release/libsynboost.so" "$other-head.so"
for r in $(seq "$rounds"); do
  for side in "$other" "$root"; do
    touch "$side/core/src/lib.rs"
    echo "round $r $( [[ $side == "$root" ]] && echo HEAD || echo "$rev") touch core: $(timed "$side") s"
  done
done
for side in "$other" "$root"; do
  (cd "$side" && cargo clean --release -p synboost-core -p synboost >/dev/null 2>&1)
  echo "$( [[ $side == "$root" ]] && echo HEAD || echo "$rev") core+ffi from clean: $(timed "$side") s"
done
for f in "$other.so" "$other-head.so"; do
  strip -o "$f.stripped" "$f"
  echo "$f: stripped $(stat -c %s "$f.stripped") B, $(nm -D --defined-only "$f" | grep -c ' T sb_') sb_* exports"
  rm -f "$f" "$f.stripped"
done
