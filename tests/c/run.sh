#!/usr/bin/env bash
# Builds the static library with the C API and runs the C tests in tests/c/ against the
# committed header: once under AddressSanitizer + UndefinedBehaviorSanitizer, once under
# valgrind (memcheck), plus a C++ compile of the header. Called by .ci/run.
#   bash tests/c/run.sh            # all
#   ROWS=2000 bash tests/c/run.sh  # gallery size for the sanitizer run (default 1000)
#   VALGRIND_ROWS=1000 bash tests/c/run.sh  # gallery size under valgrind (default 200: the
#                                  # tests build HNSW graphs, ~50x slower under valgrind)
set -euo pipefail
cd "$(dirname "$0")/../.."
CC=${CC:-cc}
CXX=${CXX:-c++}
ROWS=${ROWS:-1000}
VALGRIND_ROWS=${VALGRIND_ROWS:-200}
out=target/ctest
mkdir -p "$out"

# One build serves all runs: the static library that `cargo test --locked --all-features`
# (the README's test command, run by CI just before this) builds beside the Rust tests, in
# the test profile (optimised, with debug assertions and overflow checks). This build
# names the same units (`--tests` brings in the dev-dependencies, whose features a plain
# `--lib` build would resolve without, compiling the library and part of its
# dependencies once more), so it only copies the library to target/debug/. The
# sanitizers instrument the C side, and Rust's own tests cover the library.
cargo build --locked --profile test --all-features --lib --tests
lib=${CARGO_TARGET_DIR:-target}/debug/libvecmatch.a
libs=(-lpthread -ldl -lm)
warn=(-std=c11 -Wall -Wextra -Werror -pedantic -Wno-unused-parameter)

echo "--- C tests under ASan + UBSan ($ROWS rows)"
"$CC" "${warn[@]}" -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
  -fno-sanitize-recover=all -Iinclude tests/c/test_api.c "$lib" "${libs[@]}" -o "$out/test_api_asan"
"$CC" "${warn[@]}" -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
  -fno-sanitize-recover=all -Iinclude tests/c/test_collection.c "$lib" "${libs[@]}" \
  -o "$out/test_collection_asan"
"$CC" "${warn[@]}" -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
  -fno-sanitize-recover=all -Iinclude tests/c/test_shards.c "$lib" "${libs[@]}" \
  -o "$out/test_shards_asan"
"$CC" "${warn[@]}" -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
  -fno-sanitize-recover=all -Iinclude tests/c/test_filter.c "$lib" "${libs[@]}" \
  -o "$out/test_filter_asan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
"$out/test_api_asan" data/minilm-5k "$ROWS"
"$out/test_collection_asan" data/minilm-5k "$ROWS"
"$out/test_shards_asan" data/minilm-5k "$ROWS"
"$out/test_filter_asan" data/minilm-5k "$ROWS"

echo "--- header as C++"
"$CXX" -std=c++11 -Wall -Wextra -Werror -pedantic -Iinclude tests/c/header_cpp.cpp "$lib" \
  "${libs[@]}" -o "$out/header_cpp"
"$out/header_cpp"

echo "--- C tests under valgrind ($VALGRIND_ROWS rows)"
if ! command -v valgrind >/dev/null; then
  echo "valgrind is not installed (apt-get install -y valgrind)" >&2
  exit 1
fi
for t in test_api test_collection test_shards test_filter; do
  # test_filter's filters must each admit at least k rows: it needs 500 rows or more.
  rows=$VALGRIND_ROWS
  if [ "$t" = test_filter ] && [ "$rows" -lt 500 ]; then rows=500; fi
  "$CC" "${warn[@]}" -g -O1 -Iinclude "tests/c/$t.c" "$lib" "${libs[@]}" -o "$out/$t"
  # --fair-sched=yes: valgrind runs one thread at a time, and with its default unfair
  # lock a thread busy searching can starve the one creating threads for many minutes.
  valgrind --quiet --fair-sched=yes --error-exitcode=99 --leak-check=full \
    --errors-for-leak-kinds=definite --show-leak-kinds=definite "$out/$t" data/minilm-5k "$rows"
done
echo "C tests passed"
