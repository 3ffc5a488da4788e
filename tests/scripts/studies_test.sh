#!/usr/bin/env bash
# The study scripts end to end at a size of seconds, with the real modeconn: scripts/studies/width.sh and
# instability.sh write their CSV and PNG; the numbers are the ones modeconn itself gives for the same models
# (a pair's merged gap, a path's gap); a second run resumes without retraining or re-measuring anything; bad
# arguments get exit 2 and one line.
#
# usage: studies_test.sh MODECONN
set -u
MODECONN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
export MODECONN
here=$(cd "$(dirname "$0")" && pwd)
studies=$here/../../scripts/studies
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

/usr/bin/python3 - "$tmp/data" <<'PY' || { echo "FAIL: no NumPy"; exit 1; }
import os, sys
import numpy as np
rng = np.random.default_rng(0)
os.makedirs(sys.argv[1], exist_ok=True)
for split, n in (("train", 384), ("test", 128)):
    x = rng.standard_normal((n, 12)).astype(np.float32)
    y = (x[:, :3].sum(1) > 0).astype(np.int64) + (x[:, 3:6].sum(1) > 0)
    np.save(f"{sys.argv[1]}/x_{split}.npy", x)
    np.save(f"{sys.argv[1]}/y_{split}.npy", y)
PY

cd "$tmp" || exit 1
echo "== width.sh"
"$studies/width.sh" w --data data --widths 4,8 --seeds 3 --epochs 2 --points 5 2>/dev/null || fail "width.sh exited $?"
[ -s w/width.png ] || fail "width.sh wrote no width.png"
[ "$(wc -l <w/width.csv)" -eq 9 ] || fail "width.csv: $(wc -l <w/width.csv) lines, not a header and 2 widths x 2 splits x 2 paths"
# The naive test-loss gap of width 8 is the mean of modeconn's own three pairs.
want=$(awk -F, '$1 == "linear" && $2 == "test" && $3 == "loss" && $4 == "gap" && $5 < $6 {s += $7; n++} END {printf "%.9g", s / n}' w/w8/merged.csv)
got=$(awk -F, '$1 == 8 && $2 == "test" && $3 == "naive" {printf "%.9g", $5}' w/width.csv)
[ "$want" = "$got" ] || fail "width 8's naive test-loss gap is $got, the pairs' mean $want"
grep -q '^8,test,naive,3,' w/width.csv || fail "width 8 does not count 3 pairs"
stamps=$(stat -c '%n %Y %s' w/w4/*.safetensors w/w8/sweep/pairs/*)
"$studies/width.sh" w --data data --widths 4,8 --seeds 3 --epochs 2 --points 5 2>/dev/null || fail "the second width.sh run exited $?"
[ "$(stat -c '%n %Y %s' w/w4/*.safetensors w/w8/sweep/pairs/*)" = "$stamps" ] || fail "a second width.sh run redid finished work"

echo "== instability.sh"
"$studies/instability.sh" i --data data --hidden 8 --ks 0,2,6 --epochs 2 --pairs 2 --points 5 2>/dev/null || fail "instability.sh exited $?"
[ -s i/instability.png ] || fail "instability.sh wrote no instability.png"
[ "$(wc -l <i/instability.csv)" -eq 7 ] || fail "instability.csv: not a header and 3 ks x 2 splits"
# 384 rows in batches of 128 for 2 epochs: T = 6, so the children spawned at k = 6 train no further: each is
# its parent, and their barrier is nothing.
cmp -s i/k6/child1.safetensors i/k6/parent.safetensors || fail "a child spawned at the last step is not its parent"
# (The path's points combine the first layer's products over the endpoints, so identical ends give rounding.)
awk -F, '$1 == 6 && ($5 > 1e-6 || $7 > 1e-6) {bad = 1} END {exit bad}' i/instability.csv ||
  fail "the copies spawned at k = T = 6 have a barrier between them"
# The k = 2 line's test error gap is the mean of its two paths' own.
want=$(/usr/bin/python3 -c "import json; g = [json.load(open(f'i/k2/path{p}.json'))['splits']['test']['barrier']['error']['gap'] for p in (1, 2)]; print(repr((g[0] + g[1]) / 2))")
got=$(awk -F, '$1 == 2 && $3 == "test" {print $7}' i/instability.csv)
/usr/bin/python3 -c "import sys; sys.exit(abs($got - $want) > 1e-12)" || fail "k = 2's test error gap $got is not its paths' mean $want"
[ "$(ls i/k2/child*.safetensors | wc -l)" -eq 4 ] || fail "k = 2 does not have two pairs of children"
# The children of k = 2 differ (different data orders) and share their parent.
cmp -s i/k2/child1.safetensors i/k2/child2.safetensors && fail "the two children of k = 2 are the same model"
stamps=$(stat -c '%n %Y %s' i/k*/*.safetensors i/k*/path*.json)
"$studies/instability.sh" i --data data --hidden 8 --ks 0,2,6 --epochs 2 --pairs 2 --points 5 2>/dev/null || fail "the second instability.sh run exited $?"
[ "$(stat -c '%n %Y %s' i/k*/*.safetensors i/k*/path*.json)" = "$stamps" ] || fail "a second instability.sh run redid finished work"

echo "== bad arguments"
for args in "--widths 4,x" "--seeds 1" "--bogus 3"; do
  err=$("$studies/width.sh" bad $args 2>&1 >/dev/null)
  code=$?
  [ $code -eq 2 ] || fail "width.sh $args exited $code, not 2"
  [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "width.sh $args: not one line: $err"
done
err=$("$studies/instability.sh" bad --data data --ks 0,99 --epochs 2 2>&1 >/dev/null)
[ $? -eq 2 ] || fail "instability.sh with k past the run did not exit 2: $err"
[ ! -e bad/k0 ] || fail "a refused instability.sh run trained something"
"$studies/width.sh" --help | grep -q "width.sh OUT" || fail "width.sh --help prints no usage"

echo "studies_test: $failures failed"
[ "$failures" -eq 0 ]
