#!/usr/bin/env python3
"""Curves end to end on real data: two MLPs trained by `modeconn train` on Fashion-MNIST from different seeds,
a quadratic Bezier curve fitted between them by `modeconn fit-curve`, both paths evaluated by `modeconn path`.
The straight line's test-loss gap must exceed 0.1 (else the check says nothing) and the curve's must fall
below 25% of it; the curve's endpoints must evaluate exactly as A and B. Then `modeconn analyze` and
scripts/plot.py on its report and on a path report.

usage: curve_check.py --modeconn BIN --plot PLOT_SCRIPT --work DIR
"""
import argparse
import json
import os
import subprocess
import sys

import fashion_data  # its NumPy is needed anyway by scripts/plot.py's matplotlib


def run(*args):
    subprocess.run(list(args), check=True, stdout=subprocess.DEVNULL)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--modeconn", required=True)
    p.add_argument("--plot", required=True)
    p.add_argument("--work", required=True)
    a = p.parse_args()
    fashion_data.require()
    os.makedirs(a.work, exist_ok=True)
    m = a.modeconn
    data = "builtin:fashion-mnist"
    files = []
    for seed in (1, 2):
        out = os.path.join(a.work, f"m{seed}.safetensors")
        run(m, "train", "-q", "--data", data, "--hidden", "128,128", "--epochs", "4", "--seed", str(seed), "--out", out)
        files.append(out)
    curve = os.path.join(a.work, "curve.safetensors")
    run(m, "fit-curve", "-q", "--a", files[0], "--b", files[1], "--data", data, "--epochs", "4", "--out", curve)
    reports = {}
    for kind in ("linear", "bezier"):
        out = os.path.join(a.work, f"{kind}.json")
        extra = ["--kind", "bezier", "--curve", curve] if kind == "bezier" else ["--align", "none"]
        run(m, "path", "-q", "--a", files[0], "--b", files[1], "--data", data, "--split", "test", "--json", out, *extra)
        with open(out) as f:
            reports[kind] = json.load(f)["splits"]["test"]
    linear_gap = reports["linear"]["barrier"]["loss"]["gap"]
    curve_gap = reports["bezier"]["barrier"]["loss"]["gap"]
    print(f"test-loss gap: straight line {linear_gap:.4f}, quadratic Bezier {curve_gap:.4f} "
          f"({100 * curve_gap / linear_gap:.1f}% of the line's)")
    failures = []
    if linear_gap <= 0.1:
        failures.append(f"the straight line's gap {linear_gap} is not above 0.1: the check says nothing")
    if curve_gap >= 0.25 * linear_gap:
        failures.append(f"the curve's gap {curve_gap} is not below 25% of the line's {linear_gap}")
    for i in (0, -1):
        if reports["bezier"]["loss"][i] != reports["linear"]["loss"][i]:
            failures.append(f"curve endpoint {i}: loss {reports['bezier']['loss'][i]!r} is not the model's "
                            f"{reports['linear']['loss'][i]!r}")

    analysis = os.path.join(a.work, "analysis.json")
    run(m, "analyze", "-q", "--a", files[0], "--b", files[1], "--data", data, "--points", "9", "--curve-epochs", "1",
        "--json", analysis)
    with open(analysis) as f:
        j = json.load(f)
    if set(j["paths"]) != {"linear", "linear_aligned", "bezier"}:
        failures.append(f"analyze reported paths {sorted(j['paths'])}")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("matplotlib missing: plots not checked")
    else:
        for source in (analysis, os.path.join(a.work, "linear.json")):
            png = source + ".png"
            subprocess.run([sys.executable, a.plot, source, "-o", png], check=True)
            with open(png, "rb") as f:
                if f.read(8) != b"\x89PNG\r\n\x1a\n":
                    failures.append(f"{png} is not a PNG")
    if failures:
        print("\n".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
