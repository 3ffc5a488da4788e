#!/usr/bin/env bash
# Sets up, builds and runs every test: the Release build's full suite, then the I/O, CLI, alignment, symmetry and sweep tests
# again under AddressSanitizer and UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

scripts/setup.sh
scripts/build.sh
echo "== tests (Release)"
ctest --test-dir build --output-on-failure -j "$jobs"

echo "== tests (ASan + UBSan): io, model, path, cli, align, symmetry, sweep"
BUILD_DIR=build-asan scripts/build.sh -DCMAKE_BUILD_TYPE=Debug -DMODECONN_SANITIZE=ON -DMODECONN_BENCH=OFF -DMODECONN_CUDA=OFF
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$jobs" -L 'io|model|path|cli|align|symmetry|sweep'
