#!/usr/bin/env bash
# On the GPU machine: every test binary (GPU ones included), compute-sanitizer memcheck on the parity tests,
# and the GPU benchmark, from the build scripts/gpu-build.sh made. Logs go to $OUT (or /tmp/gpu-check);
# a short table comes last.
set -uo pipefail
cd "$(dirname "$0")/.."
dist=${DIST:-build-gpu/dist}
out=${OUT:-/tmp/gpu-check}
mkdir -p "$out"
export PATH=/usr/local/cuda/bin:/usr/local/cuda/compute-sanitizer:$PATH
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
export MODECONN_BIN=$PWD/$dist/bin/modeconn
nvidia-smi -L 2>&1 | tee "$out/gpu.txt"
summary=()

for t in "$dist"/bin/*_tests; do
  name=$(basename "$t")
  start=$(date +%s)
  "$t" --gtest_brief=1 > "$out/$name.log" 2>&1
  rc=$?
  passed=$(grep -o '\[  PASSED  \] [0-9]*' "$out/$name.log" | grep -o '[0-9]*$' || echo 0)
  skipped=$(grep -o '\[  SKIPPED \] [0-9]*' "$out/$name.log" | grep -o '[0-9]*$' || echo 0)
  failed=$(grep -o '\[  FAILED  \] [0-9]* test' "$out/$name.log" | grep -o '[0-9]*' | head -1 || echo 0)
  summary+=("$(printf '%-16s rc=%-3s passed=%-4s failed=%-4s skipped=%-4s %4ss' "$name" "$rc" "${passed:-0}" "${failed:-0}" "${skipped:-0}" $(( $(date +%s) - start )))")
  [ "$rc" -eq 0 ] || tail -30 "$out/$name.log"
done

start=$(date +%s)
compute-sanitizer --tool memcheck --error-exitcode 9 "$dist/bin/gpu_tests" \
  --gtest_filter='Gpu/CudaParity.*relu*:Gpu/CudaParity.*bezier*:CudaTraining.*:HdMath.*' > "$out/memcheck.log" 2>&1
rc=$?
summary+=("$(printf '%-16s rc=%-3s %s %4ss' memcheck "$rc" "$(grep -m1 'ERROR SUMMARY' "$out/memcheck.log")" $(( $(date +%s) - start )))")

"$dist/bin/gpu_bench" > "$out/gpu_bench.txt" 2>&1
# The PyTorch loop on the same GPU, where this machine has PyTorch with CUDA (it says so and skips otherwise).
if python3 -c 'import numpy' 2>/dev/null; then
  timeout 240 python3 bench/compare/path_vs_torch.py --modeconn "$dist/bin/modeconn" --device cuda --runs 3 \
    > "$out/path_vs_torch_gpu.txt" 2>&1
else
  echo "path_vs_torch.py --device cuda: skipped, no NumPy here" > "$out/path_vs_torch_gpu.txt"
fi
echo
cat "$out/gpu_bench.txt"
cat "$out/path_vs_torch_gpu.txt"
echo
printf '%s\n' "${summary[@]}"
