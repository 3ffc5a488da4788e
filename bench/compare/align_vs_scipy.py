#!/usr/bin/env python3
"""modeconn align (whole process: load, weight matching, function check, write) against Git Re-Basin's weight
matching written with NumPy and scipy.optimize.linear_sum_assignment (the algorithm alone), MLPs
784-w-w-w-10, same threads. With --rebasin also the `rebasin` package from PyPI (PermutationCoordinateDescent,
construction and rebasin() timed), installed into a virtualenv this script makes on top of Debian's PyTorch
(build/bench-venv; needs the network once).

usage: align_vs_scipy.py [--modeconn BIN] [--widths 512,1024,2048] [--runs 3] [--rebasin]
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../tests/e2e"))
import common  # noqa: E402
from rebasin_reference import weight_matching  # noqa: E402  the reference the tests check modeconn against


def rebasin_python(venv):
    """The virtualenv's interpreter with `rebasin` importable, made on first use. Its dependencies come from
    Debian (python3-torch, numpy, scipy) through --system-site-packages; the pure-Python ones from PyPI."""
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", venv], check=True)
    if subprocess.run([python, "-c", "import rebasin"], capture_output=True).returncode != 0:
        subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "rebasin==0.0.47", "tqdm", "graphviz",
                        "torchview"], check=True)
    return python


def main():
    p = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    p.add_argument("--modeconn", help="the executable (default: build/host/modeconn, built if missing)")
    p.add_argument("--widths", default="512,1024,2048")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--rebasin", action="store_true", help="also time the rebasin package from PyPI")
    p.add_argument("--venv", default=os.path.join(here, "../../build/bench-venv"))
    a = p.parse_args()
    a.modeconn = a.modeconn or common.built("host/modeconn")
    peer_python = rebasin_python(os.path.abspath(a.venv)) if a.rebasin else None
    os.environ["OPENBLAS_NUM_THREADS"] = str(a.threads)  # NumPy's BLAS, before it starts
    print(f"{common.machine()}; versions: {common.versions()}; threads {a.threads}; median of {a.runs} alternated runs")
    print(f"{'model':<24} {'modeconn s':>11} {'scipy ref s':>12} {'ratio':>7}"
          + (f" {'rebasin s':>10} {'ratio':>7}" if peer_python else ""))
    for w in map(int, a.widths.split(",")):
        widths = [784, w, w, w, 10]
        work = common.workdir()
        models = [common.random_mlp(widths, s) for s in (1, 2)]
        for i, m in enumerate(models):
            common.write_safetensors(f"{work}/m{i}.safetensors", m)
        layers = [[(m[f"{2 * l}.weight"].astype(np.float64), m[f"{2 * l}.bias"].astype(np.float64))
                   for l in range(len(widths) - 1)] for m in models]
        cmd = [a.modeconn, "align", "-q", "--threads", str(a.threads), "--a", f"{work}/m0.safetensors", "--b",
               f"{work}/m1.safetensors", "--method", "weight", "--out", f"{work}/aligned.safetensors"]

        def reference():
            t0 = time.perf_counter()
            weight_matching(layers[0], layers[1], seed=0)
            return time.perf_counter() - t0

        tm, tr = common.alternate(a.runs, lambda: common.time_process(cmd), reference)
        line = f"{'-'.join(map(str, widths)):<24} {tm:>11.3f} {tr:>12.3f} {tr / tm:>6.2f}x"
        if peer_python:
            for i, m in enumerate(models):
                np.savez(f"{work}/m{i}.npz", **m)
            out = subprocess.run([peer_python, os.path.join(here, "rebasin_peer.py"), f"{work}/m0.npz", f"{work}/m1.npz",
                                  "-".join(map(str, widths)), str(a.runs), str(a.threads)],
                                 check=True, capture_output=True, text=True).stdout
            tp = float(out.strip().splitlines()[-1])
            line += f" {tp:>10.3f} {tp / tm:>6.2f}x"
        print(line, flush=True)


if __name__ == "__main__":
    main()
