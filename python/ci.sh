#!/usr/bin/env bash
# Builds the Python package into a fresh virtualenv and runs its tests (python/tests/),
# the Ray ones included (a local Ray: 2 CPUs, no dashboard, RAY_USAGE_STATS_ENABLED=0).
#   bash python/ci.sh            # from anywhere
# Installs what a fresh machine lacks (a venv, maturin, numpy, pytest, ray[data]) from
# PyPI; the wheel is built by `pip install ./python[ray,test]` exactly as the README says,
# with CARGO_TARGET_DIR=target/python so rebuilds reuse the compiled crates.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
start=$(date +%s)
PYTHON=${PYTHON:-python3}
venv=$root/target/py-venv

echo "--- fresh virtualenv ($($PYTHON --version))"
"$PYTHON" -m venv --clear "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet maturin numpy pytest "ray[data]"

echo "--- build and install the wheel (pip install ./python[ray,test])"
CARGO_TARGET_DIR=$root/target/python "$venv/bin/python" -m pip install --quiet \
  "./python[ray,test]"
"$venv/bin/python" -c "import vecmatch, vecmatch.ray; print('vecmatch', vecmatch.__version__, vecmatch.hardware_acceleration)"

echo "--- pytest"
export RAY_USAGE_STATS_ENABLED=0
# Run from the tests' directory so `import vecmatch` is the installed wheel.
(cd python/tests && "$venv/bin/python" -m pytest -q -p no:cacheprovider .)
echo "python/ci.sh: $(( $(date +%s) - start )) s"
