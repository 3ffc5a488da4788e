#!/usr/bin/env python3
"""modeconn align (whole process: load, weight matching, function check, write) against Git Re-Basin's weight
matching written with NumPy and scipy.optimize.linear_sum_assignment (the algorithm alone), MLPs
784-w-w-w-10, same threads. The `rebasin` package from PyPI is not tried: it brings its own PyTorch.

usage: align_vs_scipy.py [--modeconn BIN] [--widths 512,1024,2048] [--runs 3]
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../tests/e2e"))
import common  # noqa: E402
from rebasin_reference import weight_matching  # noqa: E402  the reference the tests check modeconn against


def main():
    p = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    p.add_argument("--modeconn", default=os.path.join(here, "../../build/host/modeconn"))
    p.add_argument("--widths", default="512,1024,2048")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--runs", type=int, default=3)
    a = p.parse_args()
    os.environ["OPENBLAS_NUM_THREADS"] = str(a.threads)  # NumPy's BLAS, before it starts
    print(f"{common.machine()}; versions: {common.versions()}; threads {a.threads}; median of {a.runs} alternated runs")
    print(f"{'model':<24} {'modeconn s':>11} {'scipy ref s':>12} {'ratio':>7}")
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
        print(f"{'-'.join(map(str, widths)):<24} {tm:>11.3f} {tr:>12.3f} {tr / tm:>6.2f}x", flush=True)


if __name__ == "__main__":
    main()
