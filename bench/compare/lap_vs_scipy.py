#!/usr/bin/env python3
"""The assignment solver alone (build/bench/lap_bench, Google Benchmark, dense uniform costs maximised) against
scipy.optimize.linear_sum_assignment(maximize=True) on the same kind of matrix, one process each, same sizes.
SciPy runs in the interpreter --python names (default: this one) and times itself there; the header gives its
versions as that interpreter reports them.

usage: lap_vs_scipy.py [--lap-bench BIN] [--sizes 512,1024,2048,4096] [--runs 3] [--python PATH]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def modeconn_seconds(binary, n, runs):
    out = subprocess.run([binary, f"--benchmark_filter=BM_AssignmentUniform/{n}/", f"--benchmark_repetitions={runs}",
                          "--benchmark_format=json"], check=True, capture_output=True, text=True).stdout
    if not out.strip():
        sys.exit(f"lap_vs_scipy.py: {binary} has no case n = {n} (it has 512, 1024, 2048 and 4096)")
    times = [b["real_time"] for b in json.loads(out)["benchmarks"] if b.get("run_type") == "iteration"]
    unit = {"ms": 1e-3, "us": 1e-6, "ns": 1e-9, "s": 1.0}[json.loads(out)["benchmarks"][0]["time_unit"]]
    return statistics.median(times) * unit


def scipy_seconds(n, runs):
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(1)
    times = []
    for _ in range(runs):
        c = rng.random((n, n))
        t0 = time.perf_counter()
        linear_sum_assignment(c, maximize=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lap-bench", help="the benchmark (default: build/bench/lap_bench, built if missing)")
    p.add_argument("--sizes", default="512,1024,2048,4096")
    p.add_argument("--runs", type=int, default=3)
    common.add_peer_option(p)
    a = p.parse_args()
    if a.peer_serve:
        return common.serve({"scipy": scipy_seconds})
    a.lap_bench = a.lap_bench or common.built("bench/lap_bench")
    versions = common.peer_versions(a.python, ("numpy", "scipy"))
    print(f"{common.machine()}; single-threaded solvers; median of {a.runs}")
    print(f"peer: {versions}")
    peer = common.Peer(a.python, __file__)
    print(f"{'n':>6} {'modeconn s':>11} {'scipy s':>9} {'ratio':>7}")
    for n in map(int, a.sizes.split(",")):
        tm, ts = modeconn_seconds(a.lap_bench, n, a.runs), peer("scipy", n=n, runs=a.runs)
        print(f"{n:>6} {tm:>11.4f} {ts:>9.4f} {ts / tm:>6.2f}x", flush=True)


if __name__ == "__main__":
    main()
