#!/usr/bin/env bash
# Instability analysis (Frankle et al. 2020): train one network to step k, spawn two copies that differ only
# in the order they see the data, train both to the end, and measure the barrier between the two; a network
# is stable at k when the copies end in one linearly connected basin. Writes OUT/instability.csv and
# OUT/instability.png. Resumable: every model and result that exists is kept. On a cluster, submit the script
# itself as one job (the #SBATCH lines are its defaults), and again after a cancellation:
#   sbatch scripts/studies/instability.sh OUT --ks 0,10,50,200,1000
#SBATCH --job-name=modeconn-instability
#SBATCH --output=%x-%j.out
#SBATCH --cpus-per-task=4
set -euo pipefail
usage="usage: instability.sh OUT [--data D] [--hidden 256] [--ks 0,10,50,200,1000] [--epochs 3] [--pairs 3] [--seed 1] [--points 9] [--train-args \"...\"]"
help() {
  cat <<HELP
$usage
With T the steps of --epochs epochs (batch 128): for each k of --ks (at most T), modeconn train --seed S --steps k
writes the parent OUT/k<k>/parent.safetensors (k = 0: the initialisation itself); --pairs P pairs of children
continue from it (train --init, --steps T − k), pair p with --data-seeds 1000 + 2p − 1 and 1000 + 2p, so that
the two of a pair differ only in data order (their momentum starts at zero, as from any saved model); modeconn
path (no alignment) measures the line between them.
--train-args passes more modeconn train options to the parent and both children (e.g. "--lr 0.1").
OUT/instability.csv holds one line per k and split: the mean and standard deviation over the pairs of the loss
and error gaps, and the children's mean loss and error; OUT/instability.png draws the gaps against k (Debian's /usr/bin/python3 with matplotlib). --data
defaults to builtin:fashion-mnist. The binary is \$MODECONN, else this checkout's build/host/modeconn, else
modeconn on PATH. --threads is \$SLURM_CPUS_PER_TASK when set.
HELP
}
die() { echo "instability.sh: $*; $usage" >&2; exit 2; }

for arg in "$@"; do case "$arg" in -h|--help) help; exit 0 ;; esac; done
[ $# -gt 0 ] || { echo "$usage" >&2; exit 2; }
case "$1" in -*) die "OUT comes first" ;; esac
out=$1
shift
data=builtin:fashion-mnist hidden=256 ks=0,10,50,200,1000 epochs=3 pairs=3 seed=1 points=9 train_args=""
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || die "$1 needs a value"
  case "$1" in
    --data) data=$2 ;;
    --hidden) hidden=$2 ;;
    --ks) ks=$2 ;;
    --epochs) epochs=$2 ;;
    --pairs) pairs=$2 ;;
    --seed) seed=$2 ;;
    --points) points=$2 ;;
    --train-args) train_args=$2 ;;
    *) die "unknown option $1" ;;
  esac
  shift 2
done
[[ $ks =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--ks must be a comma-separated list of steps, not '$ks'"
[[ $hidden =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--hidden must be comma-separated widths, not '$hidden'"
for n in "$epochs" "$pairs" "$seed" "$points"; do [[ $n =~ ^[0-9]+$ ]] || die "'$n' is not a number"; done
[ "$pairs" -ge 1 ] || die "--pairs must be at least 1"
[ "$epochs" -ge 1 ] || die "--epochs must be at least 1"

here=$(cd "$(dirname "$0")" && pwd)
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

# T: the steps of the whole run, from the training split's size.
rows=$(/usr/bin/python3 - "$data" <<'PY'
import gzip, os, struct, sys
import numpy as np
spec = sys.argv[1]
folder = "/usr/share/datasets/fashion-mnist" if spec == "builtin:fashion-mnist" else spec
npy = os.path.join(folder, "x_train.npy")
if os.path.exists(npy):
    print(np.load(npy, mmap_mode="r").shape[0])
else:
    for name in ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"):
        p = os.path.join(folder, name)
        if os.path.exists(p):
            with (gzip.open(p) if p.endswith(".gz") else open(p, "rb")) as f:
                print(struct.unpack(">I", f.read(8)[4:8])[0])
            break
    else:
        sys.exit(f"instability.sh: {folder} holds no x_train.npy or train-images-idx3-ubyte")
PY
) || die "cannot read the training split's size from $data"
total=$(( epochs * ((rows + 127) / 128) ))
IFS=, read -r -a k_list <<<"$ks"
for k in "${k_list[@]}"; do [ "$k" -le "$total" ] || die "k = $k is past the run's $total steps (--epochs $epochs)"; done

case " $train_args " in *" --batch"* | *" --hidden"* | *" --init"* | *" --steps"* | *" --data-seed"* | *" --out"*)
  die "--train-args may not set --batch, --hidden, --init, --steps, --data-seed or --out (the study sets them)" ;;
esac
read -r -a extra <<<"$train_args"
train=("$modeconn" train -q --threads "$threads" --data "$data" --batch 128 "${extra[@]}")
for k in "${k_list[@]}"; do
  dir=$out/k$k
  mkdir -p "$dir"
  [ -f "$dir/parent.safetensors" ] || "${train[@]}" --hidden "$hidden" --seed "$seed" --epochs "$epochs" --steps "$k" \
    --out "$dir/parent.safetensors"
  for ((p = 1; p <= pairs; p++)); do
    for child in $((2 * p - 1)) $((2 * p)); do
      [ -f "$dir/child$child.safetensors" ] || "${train[@]}" --init "$dir/parent.safetensors" --epochs "$epochs" \
        --steps $((total - k)) --data-seed $((1000 + child)) --out "$dir/child$child.safetensors"
    done
    [ -f "$dir/path$p.json" ] || "$modeconn" path -q --threads "$threads" --align none \
      --a "$dir/child$((2 * p - 1)).safetensors" --b "$dir/child$((2 * p)).safetensors" --data "$data" \
      --points "$points" --json "$dir/path$p.json" >/dev/null
  done
  echo "k = $k: $pairs pairs of children trained and their lines measured" >&2
done

/usr/bin/python3 - "$out" "$ks" "$total" "$pairs" <<'PY'
import csv, json, math, os, sys
out, ks, total, pairs = sys.argv[1], [int(k) for k in sys.argv[2].split(",")], int(sys.argv[3]), int(sys.argv[4])


def mean_sd(v):
    m = sum(v) / len(v)
    return m, (math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else 0.0)


rows = []
for k in ks:
    reports = [json.load(open(os.path.join(out, f"k{k}", f"path{p}.json"))) for p in range(1, pairs + 1)]
    for split in reports[0]["splits"]:
        s = [r["splits"][split] for r in reports]
        loss_gap, loss_sd = mean_sd([x["barrier"]["loss"]["gap"] for x in s])
        error_gap, error_sd = mean_sd([x["barrier"]["error"]["gap"] for x in s])
        rows.append({"k": k, "total_steps": total, "split": split, "pairs": pairs, "loss_gap": loss_gap,
                     "loss_gap_sd": loss_sd, "error_gap": error_gap, "error_gap_sd": error_sd,
                     "child_loss": sum(x["loss"][0] + x["loss"][-1] for x in s) / (2 * pairs),
                     "child_error": sum(x["error"][0] + x["error"][-1] for x in s) / (2 * pairs)})
tmp = os.path.join(out, "instability.csv.tmp")
with open(tmp, "w", newline="") as f:
    w = csv.DictWriter(f, ["k", "total_steps", "split", "pairs", "loss_gap", "loss_gap_sd", "error_gap",
                           "error_gap_sd", "child_loss", "child_error"])
    w.writeheader()
    w.writerows(rows)
os.replace(tmp, os.path.join(out, "instability.csv"))
PY
/usr/bin/python3 "$repo/scripts/studies/plot_study.py" instability "$out/instability.csv" -o "$out/instability.png"
echo "wrote $out/instability.csv and $out/instability.png"
