#!/usr/bin/env python3
"""Training and curve fitting at 1 and N threads, on an idle machine and beside N busy processes.

A shared cluster node or a laptop running anything else must not punish `--threads N`: it should never be slower
than `--threads 1` by more than 10%. Times one epoch of `modeconn train` (784-256-256-10 on Fashion-MNIST) and one
epoch of `modeconn fit-curve` between two such models, each the median of --runs runs, with N = the cores this
process may use. Prints a table; --json keeps the rows. Results go to bench/RESULTS.md by hand.

    /usr/bin/python3 bench/threads_under_load.py [--modeconn build/host/modeconn] [--runs 3] [--json out.json] [--demo]

The last column is the peer: N threads told to spin while they wait (OMP_WAIT_POLICY=ACTIVE, what OpenMP may do by
default), which is what modeconn did before it set passive waiting itself.
"""
import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def cpu_name():
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def busy(count):
    """`count` processes that spin on a core each until killed."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def timed(cmd, runs, env=None):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=None if env is None else {**os.environ, **env})
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modeconn", default=str(ROOT / "build/host/modeconn"))
    ap.add_argument("--data", default="builtin:fashion-mnist")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json")
    ap.add_argument("--demo", action="store_true", help="also time `modeconn demo` idle and beside N busy processes")
    a = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    m = a.modeconn
    with tempfile.TemporaryDirectory() as tmp:
        base = [m, "train", "-q", "--data", a.data, "--hidden", "256,256", "--epochs", "1"]
        subprocess.run(base + ["--seed", "1", "--out", f"{tmp}/a.safetensors"], check=True)
        subprocess.run(base + ["--seed", "2", "--out", f"{tmp}/b.safetensors"], check=True)
        jobs = {
            "train 1 epoch": base + ["--seed", "3", "--out", f"{tmp}/c.safetensors"],
            "fit-curve 1 epoch": [m, "fit-curve", "-q", "--a", f"{tmp}/a.safetensors", "--b", f"{tmp}/b.safetensors",
                                  "--data", a.data, "--epochs", "1", "--out", f"{tmp}/curve.safetensors"],
        }
        rows = []
        for load in (0, cores):
            spinners = busy(load)
            try:
                time.sleep(0.5)
                for name, cmd in jobs.items():
                    one = timed(cmd + ["--threads", "1"], a.runs)
                    many = timed(cmd + ["--threads", str(cores)], a.runs)
                    # The peer: the same N threads spinning while they wait, as OpenMP's default lets them.
                    spinning = timed(cmd + ["--threads", str(cores)], a.runs, {"OMP_WAIT_POLICY": "ACTIVE"})
                    rows.append({"job": name, "busy_processes": load, "threads_1_s": one, f"threads_{cores}_s": many,
                                 "ratio": many / one, "spinning_s": spinning})
            finally:
                for p in spinners:
                    p.kill()
                    p.wait()
        demo = {}
        if a.demo:
            for load in (0, cores):
                spinners = busy(load)
                try:
                    demo[load] = timed([m, "demo", "-q", "--data", a.data, "--out-dir", f"{tmp}/demo"], 1)
                finally:
                    for p in spinners:
                        p.kill()
                        p.wait()
    print(f"machine: {cpu_name()}, {cores} cores; median of {a.runs} runs")
    print(f"{'job':20} {'busy':>4} {'1 thread':>10} {f'{cores} threads':>10} {'N/1':>6} {'spinning':>10}")
    for r in rows:
        print(f"{r['job']:20} {r['busy_processes']:>4} {r['threads_1_s']:>9.2f}s {r[f'threads_{cores}_s']:>9.2f}s "
              f"{r['ratio']:>6.2f} {r['spinning_s']:>9.2f}s")
    if demo:
        print(f"demo: {demo[0]:.1f} s idle, {demo[cores]:.1f} s beside {cores} busy processes "
              f"({demo[cores] / demo[0]:.2f}x; the target is within 2x)")
    worst = max(r["ratio"] for r in rows)
    print(f"worst N-thread / 1-thread ratio: {worst:.2f} ({'within' if worst <= 1.1 else 'OVER'} the 1.10 target)")
    if a.json:
        pathlib.Path(a.json).write_text(json.dumps({"cores": cores, "runs": a.runs, "rows": rows,
                                                    "demo_s": demo}, indent=2) + "\n")


if __name__ == "__main__":
    main()
