#!/usr/bin/env bash
# A real SLURM, end to end: a single-node cluster (cluster.sh), a 4-model sweep submitted through
# scripts/slurm/submit_sweep.sh over 3 array tasks and merged by the dependent job, compared with a
# single-process sweep; then a sweep whose array task is cancelled mid-run (scancel) and resubmitted, which
# must finish without recomputing any pair finished before the cancel.
#
# usage: slurm_test.sh MODECONN_BINARY WORK_DIR      (exit 77: skipped, when SLURM or root is missing)
set -euo pipefail
modeconn=$1
work=$(mkdir -p "$2" && cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
submit=$repo/scripts/slurm/submit_sweep.sh

for tool in slurmctld slurmd munged sbatch; do
  command -v "$tool" >/dev/null || { echo "skipped: $tool is not installed (scripts/setup.sh installs slurm-wlm)"; exit 77; }
done
[ "$(id -u)" -eq 0 ] || { echo "skipped: starting munged and slurmd needs root"; exit 77; }

rm -rf "$work"/*
cluster=$work/cluster
export SLURMCTLD_PORT=$(( 20000 + $$ % 20000 )) SLURMD_PORT=$(( 20001 + $$ % 20000 ))
trap '"$here/cluster.sh" stop "$cluster"' EXIT
SLURM_CONF=$("$here/cluster.sh" start "$cluster")
export SLURM_CONF MODECONN=$modeconn
fail() { echo "FAIL: $*"; exit 1; }

# Waits until a job (every task of an array) has left the queue; prints its final states.
wait_job() {
  local job=$1 limit=$2
  for _ in $(seq $((limit * 5))); do
    [ -z "$(squeue -h -j "$job" 2>/dev/null)" ] && { scontrol -o show job "$job" | grep -o 'JobState=[A-Z_]*' | sort | uniq -c; return 0; }
    sleep 0.2
  done
  squeue; fail "job $job still queued after $limit s"
}

# Four minima of a small MLP on Fashion-MNIST.
models=()
for seed in 1 2 3 4; do
  "$modeconn" train -q --data builtin:fashion-mnist --hidden 24 --epochs 1 --seed $seed --out "$work/m$seed.safetensors"
  models+=("$work/m$seed.safetensors")
done
quick="--no-curve --points 5 --threads 1"

echo "== 1. a sweep over 3 array tasks, merged by the dependent job"
out=$(cd "$work" && "$submit" --data builtin:fashion-mnist --out sharded --tasks 3 --gpus-per-task 0 --sweep-args "$quick" "${models[@]}")
echo "$out"
sweep_job=$(echo "$out" | awk '/^sweep job/ {print $3}')
merge_job=$(echo "$out" | awk '/^merge job/ {print $3}')
[ -n "$sweep_job" ] && [ -n "$merge_job" ] || fail "submit_sweep.sh did not print both job ids"
wait_job "$sweep_job" 300
wait_job "$merge_job" 120
scontrol -o show job "$merge_job" | grep -q 'JobState=COMPLETED' || { cat "$work"/sharded/logs/*; fail "the merge job did not complete"; }
[ "$(ls "$work"/sharded/pairs | wc -l)" -eq 6 ] || fail "expected 6 pair results"

# shellcheck disable=SC2086
"$modeconn" sweep -q --models "${models[@]}" --data builtin:fashion-mnist --out-dir "$work/single" $quick >/dev/null
"$modeconn" merge -q --in-dir "$work/single" --csv "$work/single/merged.csv" >/dev/null
cmp "$work/single/merged.csv" "$work/sharded/merged.csv" || fail "3 shards under SLURM and one process merged to different matrices"
echo "the 3-shard SLURM sweep merged to exactly the single-process matrices"

# shellcheck disable=SC2086
again=$("$modeconn" sweep -q --shard 1/3 --models "${models[@]}" --data builtin:fashion-mnist --out-dir "$work/sharded" $quick)
echo "$again" | grep -q '0 computed' || fail "re-running a finished shard did work: $again"
echo "re-running a finished shard did no work: $again"

echo "== 2. cancel an array task mid-run, resubmit, and lose nothing"
slow="--curve-epochs 2 --points 5 --threads 1"
out=$(cd "$work" && "$submit" --data builtin:fashion-mnist --out resumed --tasks 2 --gpus-per-task 0 --sweep-args "$slow" "${models[@]}")
sweep_job=$(echo "$out" | awk '/^sweep job/ {print $3}')
merge_job=$(echo "$out" | awk '/^merge job/ {print $3}')
# Task 1 owns pairs 1, 3 and 5; cancel it once its first pair is written and while it still runs.
for _ in $(seq 1500); do
  [ -f "$work/resumed/pairs/pair-0000-0002.json" ] && break
  sleep 0.2
done
[ -f "$work/resumed/pairs/pair-0000-0002.json" ] || fail "task 1 wrote no pair"
squeue -h -j "${sweep_job}_1" | grep -q . || fail "task 1 finished before it could be cancelled; make the pairs slower"
scancel "${sweep_job}_1"
scancel "$merge_job"  # its dependency can no longer be met
wait_job "$sweep_job" 600
done_before=$(cd "$work/resumed/pairs" && ls)
echo "finished before the resubmission: $(echo $done_before)"
[ "$(echo "$done_before" | wc -w)" -lt 6 ] || fail "every pair finished: the cancel came too late to test anything"
stamps_before=$(cd "$work/resumed/pairs" && stat -c '%n %Y.%y %i' $done_before)
sums_before=$(cd "$work/resumed/pairs" && md5sum $done_before)

out=$(cd "$work" && "$submit" --data builtin:fashion-mnist --out resumed --tasks 2 --gpus-per-task 0 --sweep-args "$slow" "${models[@]}")
sweep_job=$(echo "$out" | awk '/^sweep job/ {print $3}')
merge_job=$(echo "$out" | awk '/^merge job/ {print $3}')
wait_job "$sweep_job" 600
wait_job "$merge_job" 120
scontrol -o show job "$merge_job" | grep -q 'JobState=COMPLETED' || fail "the merge after resubmission did not complete"
[ "$(ls "$work"/resumed/pairs | wc -l)" -eq 6 ] || fail "pairs are missing after the resubmission"
[ "$(cd "$work/resumed/pairs" && stat -c '%n %Y.%y %i' $done_before)" = "$stamps_before" ] || fail "a pair finished before the cancel was rewritten"
[ "$(cd "$work/resumed/pairs" && md5sum $done_before)" = "$sums_before" ] || fail "a pair finished before the cancel changed"
grep -h 'skipped (a valid result exists)' "$work"/resumed/logs/sweep-"$sweep_job"_*.out | sed 's/^/  /'
echo "the resubmitted sweep finished every pair and recomputed none of the $(echo "$done_before" | wc -w) finished before the cancel"
echo "== 3. train_seeds.sbatch trains one CNN per array task, the task id as its seed"
seeds=$work/cnn-seeds
job=$(cd "$work" && sbatch --parsable --array=1-2 --cpus-per-task=1 "$repo/scripts/slurm/train_seeds.sbatch" "$seeds" \
  --data builtin:fashion-mnist --arch vgg:4 --epochs 1)
job=${job%%;*}
wait_job "$job" 300
for s in 1 2; do
  [ -f "$seeds/seed$s.safetensors" ] || { cat "$work"/modeconn-train-"$job"_*.out; fail "array task $s wrote no model"; }
done
"$modeconn" inspect "$seeds/seed1.safetensors" | grep -q conv2d || fail "seed1.safetensors is not a convolutional graph"
cmp -s "$seeds/seed1.safetensors" "$seeds/seed2.safetensors" && fail "both array tasks trained the same model"
# The task ran with its id as the seed and one thread: the same training here gives the same bytes.
"$modeconn" train -q --threads 1 --seed 2 --data builtin:fashion-mnist --arch vgg:4 --epochs 1 --out "$work/seed2-here.safetensors"
cmp "$seeds/seed2.safetensors" "$work/seed2-here.safetensors" || fail "array task 2 did not train seed 2"
echo "two array tasks trained vgg:4 with seeds 1 and 2, task 2's model byte for byte the one seed 2 trains here"

echo "SLURM tests passed"
