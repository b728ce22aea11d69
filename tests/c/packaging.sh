#!/usr/bin/env bash
# The README's C section as a new user and a packager follow it: install the C library
# into a fresh prefix, check the versioned shared library (file name, SONAME and symlinks
# following VECMATCH_ABI_VERSION), then build examples/c with its Makefile (pkg-config)
# and with CMake (find_package) against the installed shared library, and run both; the
# same with the distribution's library directory (lib/MULTIARCH on Debian and Ubuntu, else
# lib64) staged through DESTDIR, as a distribution package is built.
# Called by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "packaging: $*" >&2; exit 1; }

version=$(cargo metadata --no-deps --format-version 1 --locked |
  sed -n 's/.*"name":"vecmatch","version":"\([^"]*\)".*/\1/p')
abi=$(sed -n 's/^pub const VECMATCH_ABI_VERSION: u32 = \([0-9]*\);.*/\1/p' src/ffi/library.rs)
[ -n "$version" ] && [ -n "$abi" ] || fail "could not read the version or the ABI version"
grep -q "^#define VECMATCH_ABI_VERSION $abi\$" include/vecmatch.h ||
  fail "include/vecmatch.h does not define VECMATCH_ABI_VERSION $abi"

# The installed library directory: the versioned file, its SONAME, the two symlinks.
check_libdir() {
  local dir=$1 real=libvecmatch.so.$abi.$version
  [ -f "$dir/$real" ] && [ ! -L "$dir/$real" ] || fail "$dir/$real is missing"
  [ "$(readlink "$dir/libvecmatch.so.$abi")" = "$real" ] ||
    fail "$dir/libvecmatch.so.$abi does not point at $real"
  [ "$(readlink "$dir/libvecmatch.so")" = "libvecmatch.so.$abi" ] ||
    fail "$dir/libvecmatch.so does not point at libvecmatch.so.$abi"
  local soname
  soname=$(readelf -d "$dir/$real" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
  [ "$soname" = "libvecmatch.so.$abi" ] || fail "SONAME of $real is '$soname', not libvecmatch.so.$abi"
  echo "$dir: $real, SONAME $soname, symlinks ok"
}

# A built program must load the versioned library from the prefix.
check_program() {
  local exe=$1 dir=$2
  local dynamic loaded # (captured first: `grep -q` in a pipe would break it under pipefail)
  dynamic=$(readelf -d "$exe") loaded=$(ldd "$exe")
  grep -q "(NEEDED).*\[libvecmatch.so.$abi\]" <<<"$dynamic" ||
    fail "$exe does not need libvecmatch.so.$abi"
  grep -q "libvecmatch.so.$abi => $dir/" <<<"$loaded" ||
    fail "$exe does not load libvecmatch.so.$abi from $dir: $(grep vecmatch <<<"$loaded")"
}

run_example() {
  local exe=$1
  (cd "$(dirname "$exe")" && "./$(basename "$exe")" "$root/data/minilm-5k" | tee out.txt)
  grep -q '^query 0:' "$(dirname "$exe")/out.txt" || fail "$exe printed no results"
}

echo "--- install into a prefix (default libdir)"
prefix=$work/prefix
bash tools/install-capi.sh "$prefix"
check_libdir "$prefix/lib"

echo "--- examples/c with make + pkg-config (shared library)"
cp -r examples/c "$work/make"
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" make -C "$work/make"
check_program "$work/make/search" "$prefix/lib"
run_example "$work/make/search"

echo "--- examples/c with make STATIC=1"
cp -r examples/c "$work/make-static"
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" make -C "$work/make-static" STATIC=1
if grep -q "(NEEDED).*libvecmatch" <<<"$(readelf -d "$work/make-static/search")"; then
  fail "the STATIC=1 build loads libvecmatch at run time"
fi
run_example "$work/make-static/search"

echo "--- examples/c with CMake (shared library)"
cmake -S examples/c -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cmake" >/dev/null
check_program "$work/cmake/search" "$prefix/lib"
run_example "$work/cmake/search"

# CMake searches PREFIX/lib/MULTIARCH on Debian-like systems and PREFIX/lib64 elsewhere.
multiarch=$(${CC:-cc} -print-multiarch 2>/dev/null || true)
rel=lib64
[ -z "$multiarch" ] || rel=lib/$multiarch
echo "--- staged install (DESTDIR) with --libdir $rel, then pkg-config and CMake"
stage=$work/stage
final=$work/usr # where the staged tree is "unpacked"
DESTDIR=$stage bash tools/install-capi.sh "$final" --libdir "$rel"
lib=$final/$rel
[ ! -e "$stage$final/lib/libvecmatch.a" ] || fail "--libdir $rel also wrote $final/lib"
grep -q "^libdir=$lib\$" "$stage$lib/pkgconfig/vecmatch.pc" || fail "vecmatch.pc does not name $lib"
if grep -rqF "$stage" "$stage$lib/pkgconfig" "$stage$lib/cmake"; then
  fail "the DESTDIR staging path leaked into the installed pkg-config or CMake files"
fi
mkdir -p "$(dirname "$final")" && cp -a "$stage$final" "$final"
check_libdir "$lib"
cp -r examples/c "$work/make-distro"
PKG_CONFIG_PATH="$lib/pkgconfig" make -C "$work/make-distro"
check_program "$work/make-distro/search" "$lib"
run_example "$work/make-distro/search"
cmake -S examples/c -B "$work/cmake-distro" -DCMAKE_PREFIX_PATH="$final" >/dev/null
cmake --build "$work/cmake-distro" >/dev/null
check_program "$work/cmake-distro/search" "$lib"
run_example "$work/cmake-distro/search"
echo "packaging checks passed"
