#!/usr/bin/env bash
# Submits an all-pairs sweep as a SLURM job array (one shard per task) and a merge job that runs when every
# task has succeeded. Prints both job ids. `submit_sweep.sh --help` describes the options.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
usage="usage: submit_sweep.sh --data D --out DIR [--tasks N] [--partition P] [--gpus-per-task G] [--time HH:MM:SS] [--sweep-args \"...\"] MODEL MODEL..."
help() {
  cat <<HELP
$usage
Submits the sweep of every pair of the MODEL files on data D as a job array of N tasks (default 4, at most
one per pair), each running scripts/slurm/sweep.sbatch with G GPUs (default 1; 0 asks for no GPU, and the
sweep then runs on the CPU backend), and scripts/slurm/merge.sbatch as a job that runs when every task has
succeeded. Results, merged matrices and logs (DIR/logs) go to DIR. Submitting again skips finished pairs.
  --partition P    the partition to submit to (default: the cluster's)
  --time HH:MM:SS  a time limit for every job
  --sweep-args     modeconn sweep options for every task, e.g. "--no-curve --points 49"
The binary is \$MODECONN, else this checkout's build/host/modeconn, else modeconn on PATH.
HELP
}
# One line, so that the problem and the usage show together.
die() { echo "submit_sweep.sh: $*; usage: submit_sweep.sh --data D --out DIR [OPTION...] MODEL MODEL..." >&2; exit 2; }

[ $# -gt 0 ] || { echo "$usage" >&2; exit 2; }
data="" out="" tasks=4 partition="" gpus=1 time_limit="" sweep_args=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) help; exit 0 ;;
    --data|--out|--tasks|--partition|--gpus-per-task|--time|--sweep-args)
      [ $# -ge 2 ] || die "$1 needs a value"
      case "$1" in
        --data) data=$2 ;;
        --out) out=$2 ;;
        --tasks) tasks=$2 ;;
        --partition) partition=$2 ;;
        --gpus-per-task) gpus=$2 ;;
        --time) time_limit=$2 ;;
        --sweep-args) sweep_args=$2 ;;
      esac
      shift 2 ;;
    -*) die "unknown option $1" ;;
    *) break ;;
  esac
done
[ -n "$data" ] && [ -n "$out" ] || die "--data and --out are required"
[ $# -ge 2 ] || die "give at least two models"
[[ "$tasks" =~ ^[1-9][0-9]*$ ]] || die "--tasks must be a positive integer"
[[ "$gpus" =~ ^[0-9]+$ ]] || die "--gpus-per-task must be a number"

# Array tasks run elsewhere: every path they see must be absolute.
abs() { case "$1" in /*) echo "$1" ;; builtin:*) echo "$1" ;; *) echo "$(pwd)/$1" ;; esac; }
models=()
for m in "$@"; do
  case "$m" in -*) die "$m: options go before the models" ;; esac
  [ -f "$m" ] || die "$m: no such model file"
  models+=("$(abs "$m")")
done
data=$(abs "$data")
out=$(abs "$out")
pairs=$(( ${#models[@]} * (${#models[@]} - 1) / 2 ))
[ "$tasks" -le "$pairs" ] || tasks=$pairs

# Checked before anything is made, so that a refused submission leaves nothing behind.
if [ -n "${MODECONN:-}" ]; then
  modeconn=$(command -v "$MODECONN") || { echo "submit_sweep.sh: MODECONN=$MODECONN is not an executable" >&2; exit 2; }
elif [ -x "$repo/build/host/modeconn" ]; then
  modeconn=$repo/build/host/modeconn
else
  modeconn=$(command -v modeconn) || { echo "submit_sweep.sh: no modeconn binary (build it with scripts/build.sh or set MODECONN)" >&2; exit 2; }
fi
modeconn=$(abs "$modeconn")
command -v sbatch >/dev/null || { echo "submit_sweep.sh: sbatch not found (run this where SLURM's commands are)" >&2; exit 2; }
mkdir -p "$out/logs"

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
