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
usage="usage: instability.sh OUT [--data D] [--hidden 256] [--ks 0,10,50,200,1000] [--epochs 3] [--seed 1] [--points 9]"
help() {
  cat <<HELP
$usage
With T the steps of --epochs epochs (batch 128): for each k of --ks (at most T), modeconn train --seed S --steps k
writes the parent OUT/k<k>/parent.safetensors (k = 0: the initialisation itself); two children continue from it
(train --init, --steps T − k) with --data-seed 1001 and 1002, so that they differ only in data order (their
momentum starts at zero, as from any saved model); modeconn path (no alignment) measures the line between them.
OUT/instability.csv holds one line per k and split: the loss and error gaps and the children's own loss and
error; OUT/instability.png draws the gaps against k (Debian's /usr/bin/python3 with matplotlib). --data
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
data=builtin:fashion-mnist hidden=256 ks=0,10,50,200,1000 epochs=3 seed=1 points=9
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || die "$1 needs a value"
  case "$1" in
    --data) data=$2 ;;
    --hidden) hidden=$2 ;;
    --ks) ks=$2 ;;
    --epochs) epochs=$2 ;;
    --seed) seed=$2 ;;
    --points) points=$2 ;;
    *) die "unknown option $1" ;;
  esac
  shift 2
done
[[ $ks =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--ks must be a comma-separated list of steps, not '$ks'"
[[ $hidden =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--hidden must be comma-separated widths, not '$hidden'"
for n in "$epochs" "$seed" "$points"; do [[ $n =~ ^[0-9]+$ ]] || die "'$n' is not a number"; done
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

train=("$modeconn" train -q --threads "$threads" --data "$data" --batch 128)
for k in "${k_list[@]}"; do
  dir=$out/k$k
  mkdir -p "$dir"
  [ -f "$dir/parent.safetensors" ] || "${train[@]}" --hidden "$hidden" --seed "$seed" --epochs "$epochs" --steps "$k" \
    --out "$dir/parent.safetensors"
  for child in 1 2; do
    [ -f "$dir/child$child.safetensors" ] || "${train[@]}" --init "$dir/parent.safetensors" --epochs "$epochs" \
      --steps $((total - k)) --data-seed $((1000 + child)) --out "$dir/child$child.safetensors"
  done
  [ -f "$dir/path.json" ] || "$modeconn" path -q --threads "$threads" --align none --a "$dir/child1.safetensors" \
    --b "$dir/child2.safetensors" --data "$data" --points "$points" --json "$dir/path.json" >/dev/null
  echo "k = $k: children trained and their line measured" >&2
done

/usr/bin/python3 - "$out" "$ks" "$total" <<'PY'
import csv, json, os, sys
out, ks, total = sys.argv[1], [int(k) for k in sys.argv[2].split(",")], int(sys.argv[3])
rows = []
for k in ks:
    r = json.load(open(os.path.join(out, f"k{k}", "path.json")))
    for split, s in r["splits"].items():
        rows.append({"k": k, "total_steps": total, "split": split,
                     "loss_gap": s["barrier"]["loss"]["gap"], "error_gap": s["barrier"]["error"]["gap"],
                     "child_loss": (s["loss"][0] + s["loss"][-1]) / 2, "child_error": (s["error"][0] + s["error"][-1]) / 2})
tmp = os.path.join(out, "instability.csv.tmp")
with open(tmp, "w", newline="") as f:
    w = csv.DictWriter(f, ["k", "total_steps", "split", "loss_gap", "error_gap", "child_loss", "child_error"])
    w.writeheader()
    w.writerows(rows)
os.replace(tmp, os.path.join(out, "instability.csv"))
PY
/usr/bin/python3 "$repo/scripts/studies/plot_study.py" instability "$out/instability.csv" -o "$out/instability.png"
echo "wrote $out/instability.csv and $out/instability.png"
