#!/usr/bin/env bash
# Print the path of an installed libonnxruntime for the ONNX Runtime backend
# (SB_BACKEND_ONNXRUNTIME / Backend::OnnxRuntime), installing the PyPI wheel's copy if none:
#
#   export SYNBOOST_ONNXRUNTIME=$(scripts/onnxruntime-lib.sh)
#
# An already set SYNBOOST_ONNXRUNTIME that names a file wins. The library is only loaded at run
# time; nothing of ONNX Runtime is linked into libsynboost.so.
set -euo pipefail
if [[ -n "${SYNBOOST_ONNXRUNTIME:-}" && -f "$SYNBOOST_ONNXRUNTIME" ]]; then
  echo "$SYNBOOST_ONNXRUNTIME"
  exit 0
fi
find_lib() {
  python3 - <<'PY' 2>/dev/null
import glob, os, onnxruntime
libs = sorted(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), "capi", "libonnxruntime.so*")))
print(libs[0])
PY
}
lib=$(find_lib || true)
if [[ -z "$lib" ]]; then
  python3 -m pip install -q --disable-pip-version-check "onnxruntime>=1.17,<2" >&2
  lib=$(find_lib)
fi
echo "$lib"
