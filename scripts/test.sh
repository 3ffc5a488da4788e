#!/usr/bin/env bash
# Sets up, builds and runs every test: the Release build's full suite (with CUDA compiled for sm_80 and sm_90
# where the toolkit is installed; its GPU tests report skipped without a GPU), then a second build under
# AddressSanitizer and UndefinedBehaviorSanitizer whose CUDA backend runs on the CPU emulation
# (tests/emulation): the host tests again, and the GPU suite under the eager and three deferred stream schedules;
# last, tests/emulation/mutants.py breaks the CUDA backend in each known way and checks the suite fails.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

scripts/setup.sh
scripts/check-format.sh
scripts/build.sh
echo "== tests (Release)"
ctest --test-dir build --output-on-failure -j "$jobs"

echo "== tests (ASan + UBSan, CUDA backend on the emulation): host labels and the emulated GPU suite"
BUILD_DIR=build-asan scripts/build.sh -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMODECONN_SANITIZE=ON -DMODECONN_BENCH=OFF \
  -DMODECONN_CUDA=EMULATE
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$jobs" -L 'io|model|graph|backend|path|train|cli|align|symmetry|sweep|emulated'

echo "== mutations: each known way to break the CUDA backend must fail the emulated suite"
/usr/bin/python3 tests/emulation/mutants.py --build build-asan
