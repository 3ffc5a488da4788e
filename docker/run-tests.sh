#!/usr/bin/env bash
# Inside the CI image: the CPU suite (Release build), the GPU suite on the CPU emulation (every
# stream schedule), and the GPU suite on a real card when one is visible, which must then skip nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

echo "== CPU suite"
ctest --test-dir build --output-on-failure -j "$jobs" -LE 'gpu|slurm'

echo "== GPU suite on the CPU emulation"
ctest --test-dir build-emu --output-on-failure -j "$jobs" -L emulated

if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
  echo "== GPU suite on $(nvidia-smi -L | head -1)"
  log=$(mktemp)
  ctest --test-dir build --output-on-failure -L gpu | tee "$log"
  if grep -q '(Skipped)' "$log"; then
    echo "run-tests: a GPU is visible but GPU tests were skipped" >&2
    exit 1
  fi
else
  echo "== no GPU visible: the real-GPU suite did not run (docker run --gpus all runs it)"
fi
