#!/usr/bin/env bash
# The README's C section as a new user follows it: install the C library into a fresh
# prefix, then build examples/c with its Makefile (pkg-config) and with CMake
# (find_package), and run both. Called by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bash tools/install-capi.sh "$work/prefix"

echo "--- examples/c with make + pkg-config"
cp -r examples/c "$work/make"
PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" make -C "$work/make"
(cd "$work/make" && ./search "$root/data/minilm-5k" | tee out.txt)
grep -q '^query 0:' "$work/make/out.txt"

echo "--- examples/c with CMake"
cmake -S examples/c -B "$work/cmake" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/cmake" >/dev/null
(cd "$work/cmake" && ./search "$root/data/minilm-5k" | tee out.txt)
grep -q '^query 0:' "$work/cmake/out.txt"
echo "packaging checks passed"
