#!/usr/bin/env bash
# Times `modeconn path` (25 points, MLP 784-1024-1024-10, the 10k Fashion-MNIST test samples) as a whole
# process, and the in-process evaluation against OpenBLAS SGEMM on the same shapes. Prints what
# bench/RESULTS.md records.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
scripts/build.sh >/dev/null
threads=${THREADS:-$(nproc)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; threads $threads"
echo "compiler: $(c++ --version | head -1); OpenBLAS $(pkg-config --modversion openblas); $(date -u +%F)"

# Two untrained minima of the benchmark's shape: evaluation cost does not depend on the weights.
for seed in 1 2; do
  build/host/modeconn train -q --data builtin:fashion-mnist --hidden 1024,1024 --epochs 0 --seed $seed \
    --out "$work/m$seed.safetensors"
done
echo
echo "modeconn path, whole process (load, evaluate, report), 3 runs:"
for run in 1 2 3; do
  start=$(date +%s.%N)
  build/host/modeconn path -q --threads "$threads" --a "$work/m1.safetensors" --b "$work/m2.safetensors" \
    --data builtin:fashion-mnist --split test --points 25 --align none --json "$work/p.json" >/dev/null
  end=$(date +%s.%N)
  echo "  run $run: $(echo "$end - $start" | bc) s"
done
echo
OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads build/bench/path_bench --benchmark_min_time=5
