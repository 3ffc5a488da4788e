#!/usr/bin/env python3
"""Curves between CNN minima, end to end: two ResNets trained by `modeconn train --arch` on Fashion-MNIST rows
from different seeds, a quadratic Bezier curve fitted between them by `modeconn fit-curve` (BatchNorm in train
mode at each minibatch's t); with BatchNorm recomputed, the curve's train-loss barrier is at most half the
straight line's, its endpoints evaluate as A and B do, and its points agree with a float64 PyTorch evaluation
of the same curve file (the Bezier combination of the control points loaded into an independent PyTorch twin,
BatchNorm recomputed by PyTorch's own train mode over the same rows).

usage: cnn_curve.py --modeconn BIN --work DIR
Exits 77 (reported as skipped) when PyTorch, NumPy or Fashion-MNIST is missing.
"""
import argparse
import json
import math
import os
import subprocess
import sys

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fashion_data  # noqa: E402
from cnn_train import TwinResNet, load_into  # noqa: E402
from graph_export import read_safetensors  # noqa: E402

TRAIN_ROWS = 3000
BN_ROWS = 1000
RTOL = 1e-4
SPEC = "resnet:6,12"
failures = []


def expect(ok, message):
    if not ok:
        failures.append(message)
        print("FAIL:", message)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    expect(r.returncode == 0, f"{' '.join(cmd[1:3])}: {r.stderr}")
    return r.returncode == 0


def path_json(args, data_dir, a, b, *extra):
    out = os.path.join(args.work, "path.json")
    if not run([args.modeconn, "path", "-q", "--a", a, "--b", b, "--data", data_dir, "--points", "5", "--split",
                "train", "--bn", "recompute", "--bn-rows", str(BN_ROWS), "--json", out, *extra]):
        return None
    with open(out) as f:
        return json.load(f)


def bezier_reference(curve_file, t, x, y):
    """The curve's point at t from the file's control points, BatchNorm recomputed over the first BN_ROWS rows in
    PyTorch's train mode (exact statistics), evaluated in eval mode in float64."""
    _, tensors = read_safetensors(curve_file)
    points = {}
    for name, value in tensors.items():
        _, k, rest = name.split(".", 2)
        points.setdefault(int(k), {})[rest] = torch.from_numpy(value.copy()).double()
    n = len(points) - 1
    coef = [float(math.comb(n, k)) * (1 - t) ** (n - k) * t ** k for k in range(n + 1)]
    state = {name: sum(c * points[k][name] for k, c in enumerate(coef)) for name in points[0]}
    model = TwinResNet([6, 12]).double()
    model.load_state_dict(state, strict=False)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    with torch.no_grad():
        model.train()(x[:BN_ROWS].double())
        logits = model.eval()(x.double())
    return F.cross_entropy(logits, y).item()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--modeconn", required=True)
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    fashion_data.require()
    os.makedirs(args.work, exist_ok=True)
    data = fashion_data.load(TRAIN_ROWS, 500)
    images = {split: (x.reshape(-1, 1, 28, 28), y) for split, (x, y) in data.items()}
    data_dir = os.path.join(args.work, "data")
    fashion_data.save_npy_folder(images, data_dir)
    x, y = (torch.from_numpy(v) for v in images["train"])

    ends = []
    for seed in (1, 2):
        out = os.path.join(args.work, f"m{seed}.safetensors")
        run([args.modeconn, "train", "-q", "--data", data_dir, "--arch", SPEC, "--epochs", "3", "--batch", "64",
             "--lr", "0.05", "--seed", str(seed), "--out", out])
        ends.append(out)
    a, b = ends
    # The twin loads what modeconn trained: the names and shapes are PyTorch's.
    load_into(TwinResNet([6, 12]), a)
    curve = os.path.join(args.work, "curve.safetensors")
    run([args.modeconn, "fit-curve", "-q", "--a", a, "--b", b, "--data", data_dir, "--epochs", "4", "--batch",
         "64", "--lr", "0.05", "--out", curve])
    line = path_json(args, data_dir, a, b, "--align", "none")
    bent = path_json(args, data_dir, a, b, "--kind", "bezier", "--curve", curve)
    if line is None or bent is None:
        return 1
    line_barrier = line["splits"]["train"]["barrier"]["loss"]["gap"]
    bent_barrier = bent["splits"]["train"]["barrier"]["loss"]["gap"]
    print(f"train-loss barrier (BatchNorm recomputed): line {line_barrier:.4f}, Bezier curve {bent_barrier:.4f}")
    expect(line_barrier > 0.05, f"the line between two seeds shows no barrier to lower ({line_barrier})")
    expect(bent_barrier <= 0.5 * line_barrier, f"the curve's barrier {bent_barrier} is not half the line's "
                                               f"{line_barrier}")
    line_loss, bent_loss = line["splits"]["train"]["loss"], bent["splits"]["train"]["loss"]
    for end in (0, -1):
        expect(abs(bent_loss[end] - line_loss[end]) <= 1e-6 * abs(line_loss[end]),
               f"the curve's endpoint {end} evaluates to {bent_loss[end]}, not {line_loss[end]}")
    for t, got in zip(bent["t"], bent_loss):
        want = bezier_reference(curve, t, x, torch.from_numpy(images["train"][1]))
        print(f"t={t:.2f}  modeconn {got:.7f}  PyTorch float64 {want:.7f}")
        expect(abs(got - want) <= RTOL * abs(want), f"curve at t={t}: {got} vs PyTorch float64 {want}")

    # analyze puts the naive line, the aligned line and a curve fitted to the aligned B in one report; the
    # curve it writes evaluates by path to the profile it reported.
    report, fitted = os.path.join(args.work, "analyze.json"), os.path.join(args.work, "analyzed-curve.safetensors")
    if run([args.modeconn, "analyze", "-q", "--a", a, "--b", b, "--data", data_dir, "--points", "5", "--bn-rows",
            str(BN_ROWS), "--curve-epochs", "4", "--curve-lr", "0.05", "--json", report, "--curve-out", fitted,
            "--aligned-out", os.path.join(args.work, "b-aligned.safetensors")]):
        with open(report) as f:
            paths = json.load(f)["paths"]
        expect(sorted(paths) == ["bezier", "linear", "linear_aligned"], f"analyze's paths: {sorted(paths)}")
        expect(paths.get("bezier", {}).get("control_points") == 3, "analyze's curve has not 3 control points")
        if "bezier" in paths and "linear" in paths:
            gaps = {n: paths[n]["splits"]["train"]["barrier"]["loss"]["gap"] for n in paths}
            print(f"analyze: train-loss gaps {gaps}")
            expect(gaps["bezier"] <= 0.5 * gaps["linear"], f"analyze's curve does not halve the barrier: {gaps}")
            again = path_json(args, data_dir, a, os.path.join(args.work, "b-aligned.safetensors"), "--kind",
                              "bezier", "--curve", fitted)
            if again:
                mine, reported = again["splits"]["train"]["loss"], paths["bezier"]["splits"]["train"]["loss"]
                expect(all(abs(u - v) <= 1e-6 * abs(v) for u, v in zip(mine, reported)),
                       f"the written curve evaluates to {mine}, analyze reported {reported}")

    # demo --cnn: two ResNets trained and analysed; every file it names is there and loads into the twin.
    demo = os.path.join(args.work, "demo")
    if run([args.modeconn, "demo", "-q", "--cnn", "--data", data_dir, "--epochs", "1", "--points", "3",
            "--bn-rows", "500", "--curve-epochs", "1", "--out-dir", demo]):
        with open(os.path.join(demo, "analysis.json")) as f:
            names = sorted(json.load(f)["paths"])
        expect(names == ["bezier", "linear", "linear_aligned"], f"demo --cnn's paths: {names}")
        for name in ("seed1", "seed2", "seed2-aligned"):
            load_into(TwinResNet([8, 16]), os.path.join(demo, f"{name}.safetensors"))
        expect(os.path.exists(os.path.join(demo, "curve.safetensors")), "demo --cnn wrote no curve")

    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("the fitted CNN curve lowers the barrier and evaluates as PyTorch does")
    return 0


if __name__ == "__main__":
    sys.exit(main())
