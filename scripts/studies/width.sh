#!/usr/bin/env bash
# Barrier against width (Entezari et al. 2022): for each width, MLPs trained from several seeds, every pair's
# barrier before and after weight matching, and the mean per width. Writes OUT/width.csv and OUT/width.png.
# Resumable: models that exist are kept, and each width's pairs go through modeconn sweep, which skips
# finished pairs. On a cluster, submit the script itself as one job (the #SBATCH lines below are its
# defaults), and submit it again after a cancellation:
#   sbatch scripts/studies/width.sh OUT --widths 16,64,256,1024 --seeds 4
#SBATCH --job-name=modeconn-width
#SBATCH --output=%x-%j.out
#SBATCH --cpus-per-task=4
set -euo pipefail
usage="usage: width.sh OUT [--data D] [--widths 16,64,256,1024] [--depth 1] [--seeds 3] [--epochs 5] [--points 9]"
help() {
  cat <<HELP
$usage
For each width W and seed 1..S: modeconn train --hidden W (repeated --depth times) --epochs E, written to
OUT/w<W>/seed<S>.safetensors; then modeconn sweep over each width's models (--no-curve, --points P; weight
matching, the naive and the aligned line for every pair) into OUT/w<W>/sweep, and modeconn merge. OUT/width.csv
holds one line per width, split and path (naive or aligned): the mean and standard deviation over the pairs of
the loss and error gaps; OUT/width.png draws them against the width (Debian's /usr/bin/python3 with
matplotlib). --data defaults to builtin:fashion-mnist. The binary is \$MODECONN, else this checkout's
build/host/modeconn, else modeconn on PATH. --threads is \$SLURM_CPUS_PER_TASK when set.
HELP
}
die() { echo "width.sh: $*; $usage" >&2; exit 2; }

for arg in "$@"; do case "$arg" in -h|--help) help; exit 0 ;; esac; done
[ $# -gt 0 ] || { echo "$usage" >&2; exit 2; }
case "$1" in -*) die "OUT comes first" ;; esac
out=$1
shift
data=builtin:fashion-mnist widths=16,64,256,1024 depth=1 seeds=3 epochs=5 points=9
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || die "$1 needs a value"
  case "$1" in
    --data) data=$2 ;;
    --widths) widths=$2 ;;
    --depth) depth=$2 ;;
    --seeds) seeds=$2 ;;
    --epochs) epochs=$2 ;;
    --points) points=$2 ;;
    *) die "unknown option $1" ;;
  esac
  shift 2
done
[[ $widths =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--widths must be a comma-separated list of numbers, not '$widths'"
for n in "$depth" "$seeds" "$epochs" "$points"; do [[ $n =~ ^[0-9]+$ ]] || die "'$n' is not a number"; done
[ "$seeds" -ge 2 ] || die "--seeds must be at least 2 (a barrier needs a pair)"
[ "$depth" -ge 1 ] || die "--depth must be at least 1"

here=$(cd "$(dirname "$0")" && pwd)
# Under sbatch this file runs from slurmd's spool: the checkout is the submission directory's.
repo=$(cd "$here/../.." 2>/dev/null && pwd)
[ -f "$repo/scripts/plot.py" ] || repo=${SLURM_SUBMIT_DIR:-.}
if [ -n "${MODECONN:-}" ]; then
  modeconn=$MODECONN
elif [ -x "$repo/build/host/modeconn" ]; then
  modeconn=$repo/build/host/modeconn
else
  modeconn=$(command -v modeconn) || die "no modeconn binary (build it with scripts/build.sh or set MODECONN)"
fi
threads=${SLURM_CPUS_PER_TASK:-0}
mkdir -p "$out"

csv_rows=()
IFS=, read -r -a width_list <<<"$widths"
for w in "${width_list[@]}"; do
  hidden=$w
  for ((d = 1; d < depth; d++)); do hidden="$hidden,$w"; done
  dir=$out/w$w
  mkdir -p "$dir"
  models=()
  for ((s = 1; s <= seeds; s++)); do
    m=$dir/seed$s.safetensors
    [ -f "$m" ] || "$modeconn" train -q --threads "$threads" --data "$data" --hidden "$hidden" --epochs "$epochs" \
      --seed "$s" --out "$m"
    models+=("$m")
  done
  echo "width $w: $seeds models; sweeping their pairs" >&2
  "$modeconn" sweep -q --threads "$threads" --models "${models[@]}" --data "$data" --out-dir "$dir/sweep" \
    --no-curve --points "$points" >/dev/null
  "$modeconn" merge -q --in-dir "$dir/sweep" --csv "$dir/merged.csv" >/dev/null
done

/usr/bin/python3 - "$out" "$widths" <<'PY'
import csv, math, os, sys
out, widths = sys.argv[1], [int(w) for w in sys.argv[2].split(",")]
rows = []
for w in widths:
    gaps = {}
    with open(os.path.join(out, f"w{w}", "merged.csv")) as f:
        for r in csv.DictReader(f):
            if r["definition"] != "gap" or int(r["i"]) >= int(r["j"]):
                continue
            path = {"linear": "naive", "linear_aligned": "aligned"}.get(r["path"])
            if path:
                gaps.setdefault((r["split"], path, r["metric"]), []).append(float(r["value"]))
    for split in ("test", "train"):
        for path in ("naive", "aligned"):
            row = {"width": w, "split": split, "path": path}
            for metric in ("loss", "error"):
                v = gaps.get((split, path, metric), [])
                mean = sum(v) / len(v) if v else float("nan")
                sd = math.sqrt(sum((x - mean) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else 0.0
                row.update({"pairs": len(v), f"{metric}_gap_mean": mean, f"{metric}_gap_sd": sd})
            rows.append(row)
tmp = os.path.join(out, "width.csv.tmp")
with open(tmp, "w", newline="") as f:
    wr = csv.DictWriter(f, ["width", "split", "path", "pairs", "loss_gap_mean", "loss_gap_sd", "error_gap_mean",
                            "error_gap_sd"])
    wr.writeheader()
    wr.writerows(rows)
os.replace(tmp, os.path.join(out, "width.csv"))
PY
/usr/bin/python3 "$repo/scripts/studies/plot_study.py" width "$out/width.csv" -o "$out/width.png"
echo "wrote $out/width.csv and $out/width.png"
