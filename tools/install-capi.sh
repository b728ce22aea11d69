#!/usr/bin/env bash
# Builds vecmatch's C library (release, feature capi only) and installs it for C/C++ builds,
# with the file layout distributions use (the cargo-c conventions):
#   PREFIX/include/vecmatch.h
#   LIBDIR/libvecmatch.so.ABI.VERSION         the shared library, SONAME libvecmatch.so.ABI
#   LIBDIR/libvecmatch.so.ABI -> libvecmatch.so.ABI.VERSION   (what programs load)
#   LIBDIR/libvecmatch.so -> libvecmatch.so.ABI               (what the linker finds)
#   LIBDIR/libvecmatch.a
#   LIBDIR/pkgconfig/vecmatch.pc
#   LIBDIR/cmake/vecmatch/vecmatchConfig.cmake, vecmatchConfigVersion.cmake
# ABI is VECMATCH_ABI_VERSION (src/ffi/library.rs; it changes only on a breaking change of
# the C API), VERSION the crate version: e.g. libvecmatch.so.2.0.1.0.
#
# Usage: bash tools/install-capi.sh [PREFIX] [--libdir DIR]
#   PREFIX  default /usr/local
#   DIR     default PREFIX/lib; a relative DIR is under PREFIX (lib64, lib/x86_64-linux-gnu)
#   DESTDIR=/tmp/stage bash tools/install-capi.sh /usr   stages a package: files go under
#           DESTDIR, the paths written into vecmatch.pc and the CMake files do not.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=/usr/local libdir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --libdir) libdir=${2:?--libdir needs a directory}; shift 2 ;;
    --libdir=*) libdir=${1#--libdir=}; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option $1 (see --help)" >&2; exit 1 ;;
    *) prefix=$1; shift ;;
  esac
done
dest=${DESTDIR:-}
case "$prefix" in
  /*) ;;
  *) # a relative prefix (only without DESTDIR) is made absolute
    [ -z "$dest" ] || { echo "with DESTDIR, PREFIX must be absolute" >&2; exit 1; }
    mkdir -p "$prefix" && prefix=$(cd "$prefix" && pwd) ;;
esac
case "$libdir" in
  "") libdir=$prefix/lib ;;
  /*) ;;
  *) libdir=$prefix/$libdir ;;
esac
includedir=$prefix/include

version=$(cargo metadata --no-deps --format-version 1 --locked |
  sed -n 's/.*"name":"vecmatch","version":"\([^"]*\)".*/\1/p')
[ -n "$version" ] || { echo "could not read the version from Cargo.toml" >&2; exit 1; }
abi=$(sed -n 's/^pub const VECMATCH_ABI_VERSION: u32 = \([0-9]*\);.*/\1/p' src/ffi/library.rs)
[ -n "$abi" ] || { echo "could not read VECMATCH_ABI_VERSION from src/ffi/library.rs" >&2; exit 1; }
real=libvecmatch.so.$abi.$version

# build.rs gives the shared library its SONAME (libvecmatch.so.ABI) on Linux.
cargo build --locked --release --no-default-features --features capi --lib
out=${CARGO_TARGET_DIR:-target}/release

install -d "$dest$includedir" "$dest$libdir/pkgconfig" "$dest$libdir/cmake/vecmatch"
install -m 644 include/vecmatch.h "$dest$includedir/"
install -m 644 "$out/libvecmatch.a" "$dest$libdir/"
install -m 755 "$out/libvecmatch.so" "$dest$libdir/$real"
ln -sfn "$real" "$dest$libdir/libvecmatch.so.$abi"
ln -sfn "libvecmatch.so.$abi" "$dest$libdir/libvecmatch.so"
subst() {
  sed -e "s|@PREFIX@|$prefix|g" -e "s|@LIBDIR@|$libdir|g" -e "s|@INCLUDEDIR@|$includedir|g" \
    -e "s|@VERSION@|$version|g" -e "s|@ABI@|$abi|g" -e "s|@REAL@|$real|g" "$1" > "$2"
}
subst packaging/vecmatch.pc.in "$dest$libdir/pkgconfig/vecmatch.pc"
subst packaging/vecmatchConfig.cmake.in "$dest$libdir/cmake/vecmatch/vecmatchConfig.cmake"
subst packaging/vecmatchConfigVersion.cmake.in "$dest$libdir/cmake/vecmatch/vecmatchConfigVersion.cmake"
echo "installed vecmatch $version C library (ABI $abi) into $dest$prefix (libraries in $dest$libdir)"
