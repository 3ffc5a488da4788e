#!/usr/bin/env bash
# Submits an all-pairs sweep as a SLURM job array (one shard per task) and a merge job that runs when every
# task has succeeded. Prints both job ids.
#
#   scripts/slurm/submit_sweep.sh --data D --out DIR [--tasks N] [--partition P] [--gpus-per-task G]
#                                 [--time HH:MM:SS] [--sweep-args "..."] MODELS...
#
# --gpus-per-task 0 asks for no GPU (the sweep then runs on the CPU backend).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

data="" out="" tasks=4 partition="" gpus=1 time_limit="" sweep_args=""
while [ $# -gt 0 ]; do
  case "$1" in
    --data) data=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --tasks) tasks=$2; shift 2 ;;
    --partition) partition=$2; shift 2 ;;
    --gpus-per-task) gpus=$2; shift 2 ;;
    --time) time_limit=$2; shift 2 ;;
    --sweep-args) sweep_args=$2; shift 2 ;;
    -h|--help) usage ;;
    --*) echo "submit_sweep.sh: unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done
[ -n "$data" ] && [ -n "$out" ] || { echo "submit_sweep.sh: --data and --out are required" >&2; usage; }
[ $# -ge 2 ] || { echo "submit_sweep.sh: give at least two models" >&2; usage; }
[[ "$tasks" =~ ^[1-9][0-9]*$ ]] || { echo "submit_sweep.sh: --tasks must be a positive integer" >&2; exit 2; }
[[ "$gpus" =~ ^[0-9]+$ ]] || { echo "submit_sweep.sh: --gpus-per-task must be a number" >&2; exit 2; }

# Array tasks run elsewhere: every path they see must be absolute.
abs() { case "$1" in /*) echo "$1" ;; builtin:*) echo "$1" ;; *) echo "$(pwd)/$1" ;; esac; }
models=()
for m in "$@"; do
  [ -f "$m" ] || { echo "submit_sweep.sh: $m: no such model file" >&2; exit 2; }
  models+=("$(abs "$m")")
done
data=$(abs "$data")
out=$(abs "$out")
mkdir -p "$out/logs"
pairs=$(( ${#models[@]} * (${#models[@]} - 1) / 2 ))
[ "$tasks" -le "$pairs" ] || tasks=$pairs

modeconn=${MODECONN:-$repo/build/host/modeconn}
[ -x "$modeconn" ] || modeconn=$(command -v modeconn || true)
[ -n "$modeconn" ] || { echo "submit_sweep.sh: no modeconn binary (build it with scripts/build.sh or set MODECONN)" >&2; exit 2; }

# The jobs inherit this environment (--export=ALL): the binary, the extra sweep options, the plot script.
export MODECONN=$modeconn MODECONN_SWEEP_ARGS=$sweep_args MODECONN_PLOT=$repo/scripts/plot.py
common=(--parsable --chdir "$out" --export ALL)
[ -n "$partition" ] && common+=(--partition "$partition")
[ -n "$time_limit" ] && common+=(--time "$time_limit")
gres=()
[ "$gpus" -gt 0 ] && gres=(--gres "gpu:$gpus")

sweep_job=$(sbatch "${common[@]}" "${gres[@]}" --array "0-$((tasks - 1))" --output "$out/logs/sweep-%A_%a.out" \
  "$here/sweep.sbatch" "$tasks" "$data" "$out" "${models[@]}")
sweep_job=${sweep_job%%;*}
merge_job=$(sbatch "${common[@]}" --dependency "afterok:$sweep_job" --output "$out/logs/merge-%j.out" \
  "$here/merge.sbatch" "$out")
merge_job=${merge_job%%;*}
echo "sweep job $sweep_job (array 0-$((tasks - 1)), $pairs pairs of ${#models[@]} models)"
echo "merge job $merge_job (after every sweep task succeeds)"
