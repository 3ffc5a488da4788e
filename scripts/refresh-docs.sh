#!/usr/bin/env bash
# Regenerates what the README shows of the demo from the current code, so that it stays what a user sees:
# runs scripts/demo.sh, puts its output between the README's demo-output markers, the machine and the time in
# the line above it, the numbers the prose quotes between the demo-numbers markers, and the picture in
# docs/demo-analysis.png. Run it on an otherwise idle machine: the time it writes is a measurement.
set -euo pipefail
for arg in "$@"; do
  case "$arg" in
    -h | --help)
      echo "usage: refresh-docs.sh"
      echo "Runs scripts/demo.sh and writes its output, machine, time, numbers and picture into README.md and docs/."
      exit 0
      ;;
    *)
      echo "refresh-docs.sh: unknown argument $arg; usage: refresh-docs.sh" >&2
      exit 2
      ;;
  esac
done
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Built first, so that the time measured is the demo's alone.
scripts/setup.sh
BUILD_TARGET=modeconn scripts/build.sh >/dev/null
start=$(date +%s%N)
scripts/demo.sh >"$log" 2>&1 || {
  cat "$log" >&2
  exit 1
}
seconds=$((($(date +%s%N) - start) / 1000000000))
cpu=$(LC_ALL=C lscpu | sed -n 's/^Model name: *//p' | head -n 1)
cores=$(nproc)
# The OpenBLAS the binary loads, as "OpenBLAS 0.3.21, pthread build" (from the library's real file name).
blas=$(ldd build/host/modeconn 2>/dev/null | awk '/libopenblas/ {print $3; exit}')
blas=$(readlink -f "${blas:-/nonexistent}" 2>/dev/null || true)
if [[ "$blas" =~ openblas-([a-z]+)/libopenblas[a-z]*-r([0-9.]+)\.so ]]; then
  blas="OpenBLAS ${BASH_REMATCH[2]}, ${BASH_REMATCH[1]} build"
else
  blas=""
fi
cp demo-out/analysis.png docs/demo-analysis.png
/usr/bin/python3 - "$log" "$seconds" "$cpu" "$cores" "${blas:-OpenBLAS}" <<'PY'
import json
import re
import sys

log, seconds, cpu, cores, blas = sys.argv[1:]
readme = open("README.md", encoding="utf-8").read()


def between(text, name, body):
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if text.count(begin) != 1 or text.count(end) != 1:
        sys.exit(f"refresh-docs.sh: README.md needs one {begin} and one {end}")
    head, rest = text.split(begin)
    _, tail = rest.split(end)
    return head + begin + "\n" + body + end + tail


output = open(log, encoding="utf-8").read().rstrip("\n")
readme = between(readme, "demo-output", f"```\n{output}\n```\n")
minutes = float(seconds) / 60
readme = between(
    readme, "demo-machine",
    f"Its output on {cores} cores of an {cpu} ({blas}), {float(seconds):.0f} s in all "
    f"(about {max(1, round(minutes))} minute{'s' if round(minutes) > 1 else ''}) once built; the times and the "
    "last digits depend on the machine and its BLAS:\n")

report = json.load(open("demo-out/analysis.json", encoding="utf-8"))
gap = lambda path, split: report["paths"][path]["splits"][split]["barrier"]["loss"]["gap"]
curve = next(name for name in report["paths"] if name not in ("linear", "linear_aligned"))
numbers = (
    f"Between the two independently trained networks the straight line climbs {gap('linear', 'test'):.2f} "
    f"above the line joining the endpoints' test losses. Weight matching removes almost all of it (train-loss "
    f"gap {gap('linear', 'train'):.2f} → {gap('linear_aligned', 'train'):.3f}): the barrier was the permutation "
    f"symmetry of the hidden units. The fitted curve between A and the aligned B has a train-loss gap of "
    f"{gap(curve, 'train'):.3f}.\n")
readme = between(readme, "demo-numbers", numbers)

# "Scale on paper" starts from the demo's analyze time: its row and the task count that follows from it.
analyze = re.search(r"^784-256-256-10 .*, ([0-9.]+) s$", output, re.M)
if not analyze:
    sys.exit("refresh-docs.sh: the demo's output has no analysis line ending in its seconds")
s = float(analyze.group(1))
per_hour = 3600 / s
row = (f"| 784-256-256-10 | 1.9 TFLOP | {s:.1f} s (the demo's `analyze`, measured) | {per_hour:.0f} | "
       "≈ 0.1 s + data loading | ≈ 20 000 |")
readme, rows = re.subn(r"^\| 784-256-256-10 \| .*$", row, readme, flags=re.M)
readme, tasks = re.subn(r"for 784-256-256-10, [0-9]+ two-core CPU tasks",
                        f"for 784-256-256-10, {-(-4950 // int(per_hour))} two-core CPU tasks", readme)
if rows != 1 or tasks != 1:
    sys.exit("refresh-docs.sh: README.md's Scale on paper has lost its 784-256-256-10 row or task count")
open("README.md", "w", encoding="utf-8").write(readme)
PY
echo "refresh-docs.sh: README.md and docs/demo-analysis.png now show this commit's demo (${seconds} s)"
