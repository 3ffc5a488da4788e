#!/usr/bin/env bash
# On the GPU machine: every test binary (the GPU ones included), compute-sanitizer's memcheck, racecheck and
# synccheck on the kernel and parity tests, and the GPU benchmark against cuBLAS SGEMM (and the PyTorch loop
# where PyTorch with CUDA is installed), from the build scripts/gpu-build.sh made. Logs go to $OUT (or
# /tmp/gpu-check); a short table comes last. Exits non-zero when anything failed, and when nvidia-smi sees a GPU
# but a GPU test reported skipped (a driver the runtime cannot use must not pass as "skipped").
set -uo pipefail
cd "$(dirname "$0")/.."
dist=${DIST:-build-gpu/dist}
out=${OUT:-/tmp/gpu-check}
mkdir -p "$out"
export PATH=/usr/local/cuda/bin:/usr/local/cuda/compute-sanitizer:$PATH
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
export MODECONN_BIN=$PWD/$dist/bin/modeconn
nvidia-smi -L 2>&1 | tee "$out/gpu.txt"
gpu_visible=0
grep -q '^GPU' "$out/gpu.txt" && gpu_visible=1
status=0
summary=()

count() { grep -o "\[  $1 *\] [0-9]*" "$2" | grep -o '[0-9]*$' | head -1; }

for t in "$dist"/bin/*_tests; do
  name=$(basename "$t")
  start=$(date +%s)
  # A hung test must not take the whole lease with it.
  timeout "${TEST_LIMIT:-180}" "$t" --gtest_brief=1 >"$out/$name.log" 2>&1
  rc=$?
  passed=$(count PASSED "$out/$name.log")
  skipped=$(count SKIPPED "$out/$name.log")
  failed=$(grep -o '\[  FAILED  \] [0-9]* test' "$out/$name.log" | grep -o '[0-9]*' | head -1)
  summary+=("$(printf '%-16s rc=%-3s passed=%-4s failed=%-4s skipped=%-4s %4ss' "$name" "$rc" "${passed:-0}" "${failed:-0}" "${skipped:-0}" $(( $(date +%s) - start )))")
  echo "${summary[-1]}"  # as it goes too: a run cut off by its limit still says how far it got
  if [ "$rc" -ne 0 ]; then
    status=1
    tail -30 "$out/$name.log"
  fi
  if [ "$name" = gpu_tests ] && [ "$gpu_visible" = 1 ] && [ "${skipped:-0}" != 0 ]; then
    status=1
    summary+=("gpu_tests: a GPU is visible but ${skipped} GPU tests skipped: $(grep -m1 'GPU tests:' "$out/$name.log")")
  fi
done

# compute-sanitizer: memcheck on the kernel, parity, chunking and training tests; racecheck and synccheck (shared
# memory and barriers: the CUB reduction) on the tests that run every kernel, with grids capped so loops wrap.
# Each under a time limit, so that the whole check stays within ten minutes on an H100 or H200.
sanitize() {
  local tool=$1 limit=$2 filter=$3 start
  if ! command -v compute-sanitizer >/dev/null; then
    status=1
    summary+=("$(printf '%-16s not run: compute-sanitizer not found' "$tool")")
    return
  fi
  start=$(date +%s)
  timeout "$limit" compute-sanitizer --tool "$tool" --error-exitcode 9 "$dist/bin/gpu_tests" --gtest_filter="$filter" \
    >"$out/$tool.log" 2>&1
  local rc=$?
  [ "$rc" -eq 0 ] || status=1
  summary+=("$(printf '%-16s rc=%-3s %s %4ss' "$tool" "$rc" "$(grep -m1 'ERROR SUMMARY' "$out/$tool.log")" $(( $(date +%s) - start )))")
  echo "${summary[-1]}"
}

"$dist/bin/gpu_bench" >"$out/gpu_bench.txt" 2>&1 || status=1
# The PyTorch loop on the same GPU, where this machine has PyTorch with CUDA (it says so and skips otherwise).
if python3 -c 'import numpy' 2>/dev/null; then
  timeout 120 python3 bench/compare/path_vs_torch.py --modeconn "$dist/bin/modeconn" --device cuda --runs 3 \
    >"$out/path_vs_torch_gpu.txt" 2>&1
  # The CNN path (a ResNet, BatchNorm recomputed) on the GPU against PyTorch's loop on the same GPU.
  for config in "16 fp32" "64 fp32" "64 tf32"; do
    read -r width precision <<<"$config"
    timeout 90 python3 bench/compare/cnn_path_vs_torch.py --modeconn "$dist/bin/modeconn" --device cuda --runs 3 \
      --width "$width" --precision "$precision" --test-rows 10000 >>"$out/path_vs_torch_gpu.txt" 2>&1
  done
else
  echo "path_vs_torch.py --device cuda: skipped, no NumPy here" >"$out/path_vs_torch_gpu.txt"
fi
# Last, as the likeliest to run out of time.
sanitize memcheck 150 'Gpu/CudaParity.*relu*:Gpu/CudaParity.*bezier*:CudaTraining.*:CudaChunks.*:CudaContract.*:HdMath.*:OptimizerKernel.*:Graphs/CudaGraphParity.*'
sanitize racecheck 60 'Gpu/CudaParity.EvaluateMatchesTheCpuBackend/relu*:CudaChunks.GridStrideLoopsThatWrap:CudaChunks.Streamed*'
sanitize synccheck 45 'Gpu/CudaParity.EvaluateMatchesTheCpuBackend/relu*:CudaChunks.GridStrideLoopsThatWrap:CudaChunks.Streamed*'
echo
cat "$out/gpu_bench.txt"
cat "$out/path_vs_torch_gpu.txt"
echo
printf '%s\n' "${summary[@]}"
echo "gpu-check: $([ "$status" = 0 ] && echo passed || echo FAILED)"
exit "$status"
