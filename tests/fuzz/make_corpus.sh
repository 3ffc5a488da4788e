#!/usr/bin/env bash
# Makes the fuzzers' seed corpus in tests/fuzz/corpus/<target>/ from valid files: a tiny model trained by modeconn
# (and the same tensors in F64, F16 and BF16), a fitted curve, .npy files of every dtype modeconn reads, IDX files
# plain and gzip (one of two members), config files, a finished sweep's manifest and result, and the graph
# tests' example graphs. Small on purpose: the fuzzers grow their own corpora from these. Needs a built modeconn (MODECONN, default build/host/modeconn)
# and Debian's python3-numpy.
set -euo pipefail
cd "$(dirname "$0")/../.."
M=${MODECONN:-$PWD/build/host/modeconn}
out=$PWD/tests/fuzz/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$out"
mkdir -p "$out"/{safetensors,curve,npy,idx,config,sweep,graph}
# The graph tests' own example graphs seed the graph reader's fuzzer.
cp tests/graph/data/*.json "$out/graph/"

/usr/bin/python3 - "$work" "$out" <<'PY'
import gzip, json, struct, sys
import numpy as np
work, out = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(0)
for split, n in (("train", 24), ("test", 12)):
    np.save(f"{work}/x_{split}.npy", rng.standard_normal((n, 4)).astype(np.float32))
    np.save(f"{work}/y_{split}.npy", rng.integers(0, 3, n).astype(np.int64))
for name, a in (("f32", np.arange(6, dtype=np.float32).reshape(2, 3)), ("f64", np.linspace(0, 1, 5)),
                ("u8", np.arange(8, dtype=np.uint8).reshape(2, 2, 2)), ("i32", np.array([1, -2, 3], np.int32)),
                ("i64", np.array([0, 1, 2], np.int64)), ("empty", np.zeros((0, 3), np.float32))):
    np.save(f"{out}/npy/{name}.npy", a)
def idx(shape, values):
    return bytes([0, 0, 8, len(shape)]) + b"".join(struct.pack(">I", d) for d in shape) + bytes(values)
images, labels = idx((2, 2, 2), range(8)), idx((3,), (9, 0, 4))
open(f"{out}/idx/images", "wb").write(images)
open(f"{out}/idx/labels.gz", "wb").write(gzip.compress(labels))
open(f"{out}/idx/two-members.gz", "wb").write(gzip.compress(labels[:5]) + gzip.compress(labels[5:]))
PY

"$M" train -q --data "$work" --hidden 3 --epochs 1 --seed 1 --out "$work/a.safetensors"
"$M" train -q --data "$work" --hidden 3 --epochs 1 --seed 2 --activation tanh --out "$work/b.safetensors"
"$M" train -q --data "$work" --hidden 3 --epochs 1 --seed 2 --out "$work/c.safetensors"
"$M" fit-curve -q --a "$work/a.safetensors" --b "$work/c.safetensors" --data "$work" --epochs 1 --out "$out/curve/bezier.safetensors"
"$M" fit-curve -q --a "$work/a.safetensors" --b "$work/c.safetensors" --data "$work" --epochs 1 --kind polychain --bends 2 \
  --out "$out/curve/polychain.safetensors"
cp "$work/a.safetensors" "$work/b.safetensors" "$out/safetensors/"
/usr/bin/python3 - "$work/a.safetensors" "$out/safetensors" <<'PY'
import json, struct, sys
import numpy as np
src, out = sys.argv[1], sys.argv[2]
raw = open(src, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header, data = json.loads(raw[8:8 + n]), raw[8 + n:]
for dtype, np_type in (("F64", np.float64), ("F16", np.float16)):
    h, blobs, off = {"__metadata__": header["__metadata__"]}, [], 0
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, en = e["data_offsets"]
        v = np.frombuffer(data[b:en], np.float32).astype(np_type).tobytes()
        h[name] = {"dtype": dtype, "shape": e["shape"], "data_offsets": [off, off + len(v)]}
        blobs.append(v)
        off += len(v)
    text = json.dumps(h).encode()
    open(f"{out}/{dtype.lower()}.safetensors", "wb").write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
PY

printf 'points = 5\nalign = weight\ncurve-lr = 0.01\ncurve-seed = 7\nno-curve = true\n' >"$out/config/analyze.cfg"
printf '# comment\nbends = 2\ncurve-kind = polychain\ncurve-optimizer = adam\nmax-sweeps = 3\nthreads = 1\n' >"$out/config/curve.cfg"

"$M" sweep -q --models "$work/a.safetensors" "$work/c.safetensors" --data "$work" --out-dir "$work/sweep" --no-curve --points 3
{ cat "$work/sweep/manifest-0-of-1.json"; printf '\0'; cat "$work/sweep/pairs/pair-0000-0001.json"; } >"$out/sweep/finished"
echo "corpus: $(find "$out" -type f | wc -l) files, $(du -sh "$out" | cut -f1)"
