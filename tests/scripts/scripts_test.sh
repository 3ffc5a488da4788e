#!/usr/bin/env bash
# The scripts' command lines, with no real work done: --help prints a usage and runs nothing; wrong arguments
# get exit 2, one line on stderr and nothing made; right ones reach modeconn or sbatch with the arguments the
# scripts always passed; the SLURM scripts find the binary where README.md says; setup.sh waits for apt's
# locks. Each run gets a checkout of its own in which every other script and every tool the script under test
# could start (modeconn, sbatch, cmake, ...) only records its call, so that a broken --help cannot install,
# build or submit anything.
#
# usage: scripts_test.sh      (SCRIPTS_DIR=DIR checks the scripts in DIR instead of this checkout's scripts/)
set -u
here=$(cd "$(dirname "$0")" && pwd)
scripts=$(cd "${SCRIPTS_DIR:-$here/../../scripts}" && pwd) || { echo "FAIL: no scripts folder"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# What the caller's environment says about SLURM or the binary must not reach the scripts under test.
# shellcheck disable=SC2046  # variable names: no spaces to split on
unset MODECONN MODECONN_SWEEP_ARGS MODECONN_PLOT $(compgen -v SLURM_)

checks=0 failures=0
check() {  # check DESCRIPTION COMMAND...: counts a check, reports it when COMMAND fails
  local what=$1
  shift
  checks=$((checks + 1))
  "$@" || { failures=$((failures + 1)); echo "FAIL: $what"; }
}

calls=$tmp/calls
recorder() {  # recorder FILE NAME [STDOUT]: an executable that appends "NAME ARGS" to $calls
  cat >"$1" <<EOF
#!/usr/bin/env bash
printf '%s\n' "$2\${*:+ \$*}" >>"$calls"
${3:+echo "$3"}
EOF
  chmod +x "$1"
}
fakebin=$tmp/bin
mkdir -p "$fakebin"
for tool in modeconn scontrol squeue cmake ninja git clang-format clang-format-14 clang++ clang++-14 apt-get sudo \
  nvidia-smi; do
  recorder "$fakebin/$tool" "$tool"
done
# sbatch --parsable prints the job id; the environment the jobs inherit is recorded with the call.
cat >"$fakebin/sbatch" <<EOF
#!/usr/bin/env bash
printf '%s\n' "sbatch MODECONN=\${MODECONN:-} MODECONN_SWEEP_ARGS=\${MODECONN_SWEEP_ARGS:-} \$*" >>"$calls"
echo 4211
EOF
chmod +x "$fakebin/sbatch"
fixtures=$tmp/fixtures
mkdir -p "$fixtures/sweep"
touch "$fixtures/m1.safetensors" "$fixtures/m2.safetensors" "$fixtures/m3.safetensors"
m1=$fixtures/m1.safetensors m2=$fixtures/m2.safetensors m3=$fixtures/m3.safetensors

runs=0 repo="" work="" rc=0 out="" err=""
# prepare REL: a fresh checkout (repo) holding scripts/REL, every other script a recorder, and an empty
# working folder (work).
prepare() {
  local rel=$1
  runs=$((runs + 1))
  repo=$tmp/run$runs/repo work=$tmp/run$runs/work
  mkdir -p "$repo/scripts/slurm" "$repo/build/host" "$work"
  recorder "$repo/scripts/setup.sh" setup.sh
  recorder "$repo/scripts/build.sh" build.sh
  recorder "$repo/build/host/modeconn" checkout-modeconn
  printf 'import sys\nopen("%s", "a").write(" ".join(["plot.py"] + sys.argv[1:]) + "\\n")\n' "$calls" >"$repo/scripts/plot.py"
  cp "$scripts/$rel" "$repo/scripts/$rel"
  : >"$calls"
}
# run REL [ARG...]: runs scripts/REL of a fresh checkout with bash from its empty working folder; sets rc, out
# and err, and leaves the calls it made in $calls.
run() {
  local rel=$1
  shift
  prepare "$rel"
  (cd "$work" && PATH=$fakebin:$PATH timeout 60 bash "$repo/scripts/$rel" "$@" >"$tmp/out" 2>"$tmp/err")
  rc=$?
  out=$(cat "$tmp/out")
  err=$(cat "$tmp/err")
}

rc_is() { [ "$rc" -eq "$1" ] || { echo "  exit $rc, expected $1; stderr: ${err:0:300}"; return 1; }; }
nothing_called() { [ ! -s "$calls" ] || { echo "  it ran: $(head -3 "$calls")"; return 1; }; }
work_empty() { [ -z "$(ls -A "$work")" ] || { echo "  it made: $(ls -A "$work")"; return 1; }; }
calls_are() { [ "$(cat "$calls")" = "$1" ] || { printf '  calls:\n%s\n  expected:\n%s\n' "$(cat "$calls")" "$1"; return 1; }; }
help_ok() {
  local name=$1
  [[ "$out" == usage:* ]] || { echo "  stdout does not start with usage: ${out:0:200}"; return 1; }
  [[ "$out" == *"$name"* ]] || { echo "  the usage does not name $name"; return 1; }
  [ -z "$err" ] || { echo "  stderr: ${err:0:200}"; return 1; }
}
# One line that carries the usage (and, when it is not the bare usage, names the problem first).
refusal_ok() {
  if [ -z "$err" ] || [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ]; then
    printf '  stderr is not one line:\n%s\n' "${err:0:500}"
    return 1
  fi
  [[ "$err" == *usage:* ]] || { echo "  stderr has no usage: $err"; return 1; }
}

# --help and -h: usage on stdout, exit 0, nothing run, nothing made.
for rel in slurm/merge.sbatch slurm/submit_sweep.sh slurm/sweep.sbatch slurm/train_seeds.sbatch demo.sh build.sh refresh-docs.sh \
  check-format.sh fuzz.sh; do
  name=$(basename "$rel")
  for flag in --help -h; do
    MODECONN=$fakebin/modeconn run "$rel" "$flag"
    check "$rel $flag exits 0" rc_is 0
    check "$rel $flag prints a usage naming $name" help_ok "$name"
    check "$rel $flag runs nothing" nothing_called
    check "$rel $flag makes nothing" work_empty
  done
done
# --help after other arguments, where those go on to modeconn.
MODECONN=$fakebin/modeconn run slurm/train_seeds.sbatch out --data builtin:fashion-mnist --help
check "train_seeds.sbatch OUT ... --help exits 0" rc_is 0
check "train_seeds.sbatch OUT ... --help runs nothing" nothing_called
check "train_seeds.sbatch OUT ... --help makes nothing" work_empty
MODECONN=$fakebin/modeconn run slurm/submit_sweep.sh --data builtin:fashion-mnist --help
check "submit_sweep.sh --data D --help exits 0" rc_is 0
check "submit_sweep.sh --data D --help runs nothing" nothing_called

# Missing or wrong arguments: exit 2, one line on stderr, nothing run, nothing made.
refused() {  # refused REL ARG...
  local rel=$1
  shift
  MODECONN=$fakebin/modeconn run "$rel" "$@"
  local what="$rel ${*:-(no arguments)}"
  check "$what exits 2" rc_is 2
  check "$what says why on one line" refusal_ok
  check "$what runs nothing" nothing_called
  check "$what makes nothing" work_empty
}
refused slurm/merge.sbatch
refused slurm/merge.sbatch --bogus
refused refresh-docs.sh --bogus
refused slurm/merge.sbatch "$fixtures/sweep" extra
refused slurm/merge.sbatch "$fixtures/no-such-sweep"
refused slurm/sweep.sbatch
refused slurm/sweep.sbatch --bogus
refused slurm/sweep.sbatch 3 builtin:fashion-mnist out "$m1"
refused slurm/sweep.sbatch three builtin:fashion-mnist out "$m1" "$m2"
refused slurm/sweep.sbatch 0 builtin:fashion-mnist out "$m1" "$m2"
refused slurm/train_seeds.sbatch
refused slurm/train_seeds.sbatch --bogus
refused slurm/submit_sweep.sh
refused slurm/submit_sweep.sh --bogus
refused slurm/submit_sweep.sh --data
refused slurm/submit_sweep.sh --data builtin:fashion-mnist --out
refused slurm/submit_sweep.sh --out sweep "$m1" "$m2"
refused slurm/submit_sweep.sh --data builtin:fashion-mnist --out sweep "$m1"
refused slurm/submit_sweep.sh --data builtin:fashion-mnist --out sweep --tasks 0 "$m1" "$m2"
refused slurm/submit_sweep.sh --data builtin:fashion-mnist --out sweep --gpus-per-task x "$m1" "$m2"
refused slurm/submit_sweep.sh --data builtin:fashion-mnist --out sweep "$m1" "$fixtures/missing.safetensors"
refused slurm/submit_sweep.sh --data builtin:fashion-mnist --out sweep "$m1" "$m2" --tasks 2
MODECONN=$tmp/no-such-modeconn run slurm/submit_sweep.sh --data builtin:fashion-mnist --out sweep "$m1" "$m2"
check "submit_sweep.sh with a MODECONN that does not exist exits 2" rc_is 2
check "submit_sweep.sh with a MODECONN that does not exist submits nothing" nothing_called
check "submit_sweep.sh with a MODECONN that does not exist makes nothing" work_empty

# Right arguments: the calls the scripts have always made.
MODECONN=$fakebin/modeconn run slurm/train_seeds.sbatch out --data builtin:fashion-mnist --epochs 1
check "train_seeds.sbatch without SLURM runs" rc_is 0
check "train_seeds.sbatch without SLURM trains seed 0 on every core" calls_are \
  "modeconn train --device auto --threads 0 --seed 0 --out out/seed0.safetensors --data builtin:fashion-mnist --epochs 1"
check "train_seeds.sbatch makes OUT_DIR" test -d "$work/out"
SLURM_ARRAY_TASK_ID=3 SLURM_CPUS_PER_TASK=2 MODECONN=$fakebin/modeconn run slurm/train_seeds.sbatch out --hidden 24
check "train_seeds.sbatch as array task 3 trains seed 3 on the task's CPUs" calls_are \
  "modeconn train --device auto --threads 2 --seed 3 --out out/seed3.safetensors --hidden 24"
MODECONN=$fakebin/modeconn MODECONN_SWEEP_ARGS="--no-curve --points 5" run slurm/sweep.sbatch 3 builtin:fashion-mnist \
  "$fixtures/sweep" "$m1" "$m2" "$m3"
check "sweep.sbatch without SLURM runs" rc_is 0
check "sweep.sbatch without SLURM runs shard 0" calls_are "modeconn sweep --device auto --shard 0/3 --data \
builtin:fashion-mnist --out-dir $fixtures/sweep --threads 0 --no-curve --points 5 --models $m1 $m2 $m3"
SLURM_ARRAY_TASK_ID=2 SLURM_CPUS_PER_TASK=4 MODECONN=$fakebin/modeconn MODECONN_SWEEP_ARGS="--threads 1" \
  run slurm/sweep.sbatch 3 builtin:fashion-mnist "$fixtures/sweep" "$m1" "$m2"
check "sweep.sbatch as array task 2 runs shard 2, with the threads its options ask for" calls_are \
  "modeconn sweep --device auto --shard 2/3 --data builtin:fashion-mnist --out-dir $fixtures/sweep --threads 1 --models $m1 $m2"
MODECONN=$fakebin/modeconn run slurm/merge.sbatch "$fixtures/sweep"
check "merge.sbatch runs" rc_is 0
check "merge.sbatch merges OUT_DIR" calls_are \
  "modeconn merge --in-dir $fixtures/sweep --json $fixtures/sweep/merged.json --csv $fixtures/sweep/merged.csv"
run slurm/submit_sweep.sh --data builtin:fashion-mnist --out sweep --tasks 8 --gpus-per-task 0 --partition debug \
  --sweep-args "--no-curve --points 5" "$m1" "$m2" "$m3"
check "submit_sweep.sh submits" rc_is 0
check "submit_sweep.sh prints both job ids" test "$out" = "sweep job 4211 (array 0-2, 3 pairs of 3 models)
merge job 4211 (after every sweep task succeeds)"
mc=$repo/build/host/modeconn
check "submit_sweep.sh submits an array of at most one task per pair, and the merge after it" calls_are \
  "sbatch MODECONN=$mc MODECONN_SWEEP_ARGS=--no-curve --points 5 --parsable --chdir $work/sweep --export ALL \
--partition debug --array 0-2 --output $work/sweep/logs/sweep-%A_%a.out $repo/scripts/slurm/sweep.sbatch 3 \
builtin:fashion-mnist $work/sweep $m1 $m2 $m3
sbatch MODECONN=$mc MODECONN_SWEEP_ARGS=--no-curve --points 5 --parsable --chdir $work/sweep --export ALL \
--partition debug --dependency afterok:4211 --output $work/sweep/logs/merge-%j.out $repo/scripts/slurm/merge.sbatch $work/sweep"
check "submit_sweep.sh makes the logs folder" test -d "$work/sweep/logs"
run slurm/submit_sweep.sh --data builtin:fashion-mnist --out sweep "$m1" "$m2"
check "submit_sweep.sh asks for one GPU per task by default" grep -q -- '--gres gpu:1 --array 0-0 ' "$calls"
run demo.sh --epochs 1
check "demo.sh runs" rc_is 0
check "demo.sh sets up, builds, runs the demo with its options and plots" calls_are "setup.sh
build.sh
checkout-modeconn demo --out-dir demo-out --epochs 1
plot.py demo-out/analysis.json -o demo-out/analysis.png"

# The binary by default (README.md: "default: this checkout's build/host/modeconn"), before one on PATH.
run slurm/train_seeds.sbatch out
check "train_seeds.sbatch run directly uses the checkout's build/host/modeconn" grep -q '^checkout-modeconn train ' "$calls"
run slurm/merge.sbatch "$fixtures/sweep"
check "merge.sbatch run directly uses the checkout's build/host/modeconn" grep -q '^checkout-modeconn merge ' "$calls"
run slurm/sweep.sbatch 2 builtin:fashion-mnist "$fixtures/sweep" "$m1" "$m2"
check "sweep.sbatch run directly uses the checkout's build/host/modeconn" grep -q '^checkout-modeconn sweep ' "$calls"
# Under sbatch the script runs from a copy in slurmd's spool; the job's Command= names the submitted one.
for rel in slurm/train_seeds.sbatch slurm/sweep.sbatch slurm/merge.sbatch; do
  prepare "$rel"
  spool=$tmp/spool$runs
  mkdir -p "$spool"
  cp "$repo/scripts/$rel" "$spool/slurm_script"
  printf '#!/usr/bin/env bash\nprintf "JobId=42 JobName=x\\n   Command=%s\\n   WorkDir=/\\n"\n' "$repo/scripts/$rel" \
    >"$fakebin/scontrol"
  case "$rel" in
    *train_seeds*) args=(out) ;;
    *sweep.sbatch) args=(2 builtin:fashion-mnist "$fixtures/sweep" "$m1" "$m2") ;;
    *) args=("$fixtures/sweep") ;;
  esac
  (cd "$work" && SLURM_JOB_ID=42 PATH=$fakebin:$PATH timeout 60 bash "$spool/slurm_script" "${args[@]}" >/dev/null 2>&1)
  check "$rel under sbatch uses the submitting checkout's build/host/modeconn" grep -q '^checkout-modeconn ' "$calls"
  recorder "$fakebin/scontrol" scontrol
done

# setup.sh: every apt-get waits for the dpkg lock instead of failing when another apt run holds it.
apt_lines=$(grep -v '^[[:space:]]*#' "$scripts/setup.sh" | grep -E '(^|[^[:alnum:]_-])apt-get([^[:alnum:]_-]|$)')
check "setup.sh calls apt-get" test "$(printf '%s\n' "$apt_lines" | grep -c .)" -ge 2
check "setup.sh gives every apt-get -o DPkg::Lock::Timeout" test -z \
  "$(printf '%s\n' "$apt_lines" | grep -v -E -- '-o DPkg::Lock::Timeout=[1-9][0-9]*')"

# Every script parses.
for f in "$scripts"/*.sh "$scripts"/slurm/*; do
  check "bash -n ${f#"$scripts"/}" bash -n "$f"
done

echo "scripts_test: $checks checks, $failures failed"
[ "$failures" -eq 0 ]
