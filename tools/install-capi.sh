#!/usr/bin/env bash
# Builds vecmatch's C library (release, feature capi) and installs it for C/C++ builds:
#   PREFIX/include/vecmatch.h
#   PREFIX/lib/libvecmatch.a, PREFIX/lib/libvecmatch.so
#   PREFIX/lib/pkgconfig/vecmatch.pc
#   PREFIX/lib/cmake/vecmatch/vecmatchConfig.cmake, vecmatchConfigVersion.cmake
# Usage: bash tools/install-capi.sh [PREFIX]     (default /usr/local)
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-/usr/local}
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
version=$(cargo metadata --no-deps --format-version 1 --locked |
  sed -n 's/.*"name":"vecmatch","version":"\([^"]*\)".*/\1/p')
[ -n "$version" ] || { echo "could not read the version from Cargo.toml" >&2; exit 1; }

cargo build --locked --release --features capi --lib
install -d "$prefix/include" "$prefix/lib/pkgconfig" "$prefix/lib/cmake/vecmatch"
install -m 644 include/vecmatch.h "$prefix/include/"
install -m 644 target/release/libvecmatch.a "$prefix/lib/"
install -m 755 target/release/libvecmatch.so "$prefix/lib/"
subst() { sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" "$1" > "$2"; }
subst packaging/vecmatch.pc.in "$prefix/lib/pkgconfig/vecmatch.pc"
subst packaging/vecmatchConfig.cmake.in "$prefix/lib/cmake/vecmatch/vecmatchConfig.cmake"
subst packaging/vecmatchConfigVersion.cmake.in "$prefix/lib/cmake/vecmatch/vecmatchConfigVersion.cmake"
echo "installed vecmatch $version C library into $prefix"
