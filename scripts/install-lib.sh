#!/usr/bin/env bash
# Install libsynboost.so for C and C++ programs into a prefix:
#
#   scripts/install-lib.sh PREFIX [--lib path/to/libsynboost.so]
#
#   PREFIX/lib/libsynboost.so.<version>          the library (soname libsynboost.so.0)
#   PREFIX/lib/libsynboost.so.0 -> .so.<version> what programs load
#   PREFIX/lib/libsynboost.so   -> .so.0         what -lsynboost links
#   PREFIX/include/synboost.h, synboost.hpp      the C ABI and the header-only C++17 API
#   PREFIX/lib/pkgconfig/synboost.pc             pkg-config --cflags --libs synboost
#
# Without --lib it builds the library first (cargo build --release -p synboost) and installs
# $CARGO_TARGET_DIR/release/libsynboost.so (CARGO_TARGET_DIR defaults to target/).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

usage() {
  echo "usage: $0 PREFIX [--lib path/to/libsynboost.so]" >&2
  exit 2
}
die() {
  echo "install-lib.sh: $*" >&2
  exit 1
}

prefix=""
lib=""
while (($#)); do
  case "$1" in
    --lib)
      (($# >= 2)) || usage
      lib=$2
      shift 2
      ;;
    --lib=*)
      lib=${1#--lib=}
      shift
      ;;
    -h | --help) usage ;;
    -*) usage ;;
    *)
      [[ -z "$prefix" ]] || usage
      prefix=$1
      shift
      ;;
  esac
done
[[ -n "$prefix" ]] || usage

if [[ -z "$lib" ]]; then
  command -v cargo >/dev/null || die "cargo not found (or give --lib)"
  (cd "$root" && cargo build --release -p synboost)
  target=${CARGO_TARGET_DIR:-$root/target}
  [[ "$target" = /* ]] || target=$root/$target
  lib=$target/release/libsynboost.so
fi
[[ -f "$lib" ]] || die "$lib: no such library"

# The version of the workspace ([workspace.package] version in Cargo.toml).
version=$(sed -n '/^\[workspace\.package\]/,/^\[/ s/^version *= *"\([^"]*\)".*/\1/p' \
  "$root/Cargo.toml" | head -n 1)
[[ -n "$version" ]] || die "no [workspace.package] version in $root/Cargo.toml"

# The soname the library carries (libsynboost.so.0); programs record it when they link.
soname=libsynboost.so.0
if command -v readelf >/dev/null; then
  found=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
  [[ -n "$found" ]] || die "$lib has no SONAME"
  soname=$found
fi
[[ "$soname" == libsynboost.so.* ]] || die "$lib: unexpected SONAME $soname"
[[ -s "$root/include/synboost.h" ]] || die "$root/include/synboost.h missing"

mkdir -p "$prefix/lib/pkgconfig" "$prefix/include"
prefix=$(cd "$prefix" && pwd)
case "$prefix" in
  *[[:space:]]*) die "PREFIX must not contain spaces (pkg-config files cannot quote them)" ;;
esac

install -m 0755 "$lib" "$prefix/lib/libsynboost.so.$version"
if [[ "$soname" != "libsynboost.so.$version" ]]; then
  ln -sfn "libsynboost.so.$version" "$prefix/lib/$soname"
fi
ln -sfn "$soname" "$prefix/lib/libsynboost.so"
install -m 0644 "$root/include/synboost.h" "$root/include/synboost.hpp" "$prefix/include/"
sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" "$root/ffi/synboost.pc.in" \
  >"$prefix/lib/pkgconfig/synboost.pc"
echo "installed libsynboost $version ($soname) into $prefix"
