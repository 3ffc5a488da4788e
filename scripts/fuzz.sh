#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan; build-fuzz/) and runs each for SECONDS (default 60), as many
# at a time as there are cores, from the seed corpus in tests/fuzz/corpus/. Fails on any finding: a crash, a
# sanitizer report, an escaped exception, a leak, an input slower than 10 s or using more than 2 GB. Findings are
# kept in build-fuzz/findings/<target>/ (tests/fuzz/README.md says how to turn one into a regression test).
#
#   scripts/fuzz.sh [SECONDS]           # every target
#   TARGETS="npy idx" scripts/fuzz.sh 600
set -euo pipefail
case "${1:-}" in
  -h|--help)
    cat <<HELP
usage: fuzz.sh [SECONDS]
Builds the libFuzzer targets (build-fuzz/) and runs each for SECONDS (default 60) from tests/fuzz/corpus/;
fails on any finding, kept in build-fuzz/findings/<target>/. \$TARGETS picks targets (default: all), e.g.
  TARGETS="npy idx" scripts/fuzz.sh 600
HELP
    exit 0 ;;
esac
cd "$(dirname "$0")/.."
seconds=${1:-60}
targets=${TARGETS:-safetensors curve npy idx config sweep graph}
jobs=$(nproc)

scripts/setup.sh >/dev/null
clang=clang++-14
command -v "$clang" >/dev/null || clang=clang++
if [ ! -f build-fuzz/CMakeCache.txt ]; then
  CC=${clang/++/} CXX=$clang cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMODECONN_SANITIZE=ON \
    -DMODECONN_FUZZ=ON -DMODECONN_CUDA=OFF -DMODECONN_TESTS=OFF -DMODECONN_BENCH=OFF >/dev/null
fi
cmake --build build-fuzz -j "$jobs" --target $(printf 'fuzz_%s ' $targets) >/dev/null

run() {
  local t=$1 work=build-fuzz/corpus/$1 findings=build-fuzz/findings/$1
  mkdir -p "$work" "$findings"
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "build-fuzz/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$findings/" "$work" "tests/fuzz/corpus/$t" >"build-fuzz/fuzz-$t.log" 2>&1
}

echo "== fuzzing: $targets, $seconds s each, $jobs at a time"
status=0
pids=()
names=()
for t in $targets; do
  run "$t" &
  pids+=($!)
  names+=("$t")
  if [ ${#pids[@]} -ge "$jobs" ]; then
    wait "${pids[0]}" || { status=1; echo "FINDING in ${names[0]}: build-fuzz/fuzz-${names[0]}.log"; }
    pids=("${pids[@]:1}")
    names=("${names[@]:1}")
  fi
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || { status=1; echo "FINDING in ${names[$i]}: build-fuzz/fuzz-${names[$i]}.log"; }
done
for t in $targets; do
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "build-fuzz/fuzz-$t.log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "build-fuzz/fuzz-$t.log" | tail -1 | grep -o '[0-9]*' || echo "?")
  printf '  %-12s %10s runs, %6s edges covered\n' "$t" "$runs" "$cov"
done
if [ "$status" != 0 ]; then
  for t in $targets; do
    grep -q -E 'ERROR|SUMMARY|deadly|Test unit written' "build-fuzz/fuzz-$t.log" && tail -40 "build-fuzz/fuzz-$t.log"
  done
  exit 1
fi
echo "fuzz: no findings"
