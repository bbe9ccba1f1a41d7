#!/usr/bin/env bash
# Assemble a CPU-usable libtorch 2.11.0 folder (what tch 0.24.0 / torch-sys 0.24.0 build against)
# from PyPI wheels, in a cache folder outside the repository, and print its path on stdout.
#
#   scripts/setup-libtorch.sh            # prints e.g. /root/.cache/synboost/libtorch-2.11.0
#   export LIBTORCH=$(scripts/setup-libtorch.sh)
#
# The folder is reused when it is already complete. Only pip and unzip (python's zipfile) are needed.
# Cache root: $SYNBOOST_CACHE_DIR, else $XDG_CACHE_HOME/synboost, else ~/.cache/synboost.
set -euo pipefail

TORCH_VERSION=2.11.0
CUDART_VERSION=13.0.96
CUPTI_VERSION=13.0.85

cache="${SYNBOOST_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/synboost}"
dest="$cache/libtorch-$TORCH_VERSION"
if [[ -f "$dest/.complete" ]]; then
  echo "$dest"
  exit 0
fi

mkdir -p "$cache/wheels"
wheels="$cache/wheels"
log() { echo "setup-libtorch: $*" >&2; }

log "downloading torch==$TORCH_VERSION and CUDA runtime wheels into $wheels"
python3 -m pip download -q --no-deps --only-binary=:all: \
  --python-version 3.11 --implementation cp --abi cp311 --platform manylinux_2_28_x86_64 \
  -d "$wheels" "torch==$TORCH_VERSION" >&2
python3 -m pip download -q --no-deps --only-binary=:all: \
  -d "$wheels" "nvidia-cuda-runtime==$CUDART_VERSION" "nvidia-cuda-cupti==$CUPTI_VERSION" >&2

tmp="$dest.partial"
rm -rf "$tmp"
mkdir -p "$tmp/lib"
log "extracting headers and CPU libraries into $dest"
python3 - "$wheels" "$tmp" "$TORCH_VERSION" <<'PY'
import pathlib, shutil, sys, zipfile
wheels, out, version = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
torch = sorted(wheels.glob(f"torch-{version}-*.whl"))
cudart = sorted(wheels.glob("nvidia_cuda_runtime-*.whl"))
cupti = sorted(wheels.glob("nvidia_cuda_cupti-*.whl"))
if not (torch and cudart and cupti):
    sys.exit(f"missing wheels in {wheels}")
libs = {"libc10.so", "libtorch_cpu.so", "libtorch.so", "libgomp.so.1"}
with zipfile.ZipFile(torch[-1]) as z:
    for info in z.infolist():
        name = info.filename
        if name.startswith("torch/include/") and not info.is_dir():
            target = out / name[len("torch/"):]
        elif name.startswith("torch/lib/") and name[len("torch/lib/"):] in libs:
            target = out / "lib" / name[len("torch/lib/"):]
        else:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with z.open(info) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
for wheel, wanted in ((cudart[-1], "libcudart.so."), (cupti[-1], "libcupti.so.")):
    with zipfile.ZipFile(wheel) as z:
        for info in z.infolist():
            base = info.filename.rsplit("/", 1)[-1]
            if base.startswith(wanted):
                with z.open(info) as src, open(out / "lib" / base, "wb") as dst:
                    shutil.copyfileobj(src, dst)
(out / "build-version").write_text(version + "\n")
PY
touch "$tmp/.complete"
rm -rf "$dest"
mv "$tmp" "$dest"
log "ready: $dest"
echo "$dest"
