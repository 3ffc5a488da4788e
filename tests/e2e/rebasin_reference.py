#!/usr/bin/env python3
"""Alignment end to end against independent references on real data: two MLPs trained by `modeconn train`
on Fashion-MNIST, aligned by `modeconn path --align weight|activation`, and by a NumPy/SciPy
implementation of Git Re-Basin's weight matching (Ainsworth et al. 2023, scipy's
linear_sum_assignment) and of activation matching. Checks: weight matching cuts the train-loss gap by at
least 80%; modeconn's aligned gap is within 0.01 of the weight-matching reference and within 0.02 of the
activation-matching one; the aligned model computes the original function.

usage: rebasin_reference.py --modeconn BIN --work DIR
Exits 77 (reported as skipped) when NumPy or SciPy is not installed.
"""
import argparse
import json
import os
import struct
import subprocess
import sys

try:
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    import fashion_data
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)

POINTS = 25


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32"
        b, t = e["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + b:8 + n + t], dtype="<f4").reshape(e["shape"]).astype(np.float64)
    return out


def layers(params):
    names = sorted({k.rsplit(".", 1)[0] for k in params}, key=lambda s: int(s.split(".")[1]))
    return [(params[p + ".weight"], params[p + ".bias"]) for p in names]


def forward(ls, x, upto=None):
    h = x
    for i, (w, b) in enumerate(ls):
        h = h @ w.T + b
        if i + 1 < len(ls):
            h = np.maximum(h, 0)
        if upto is not None and i == upto:
            return h
    return h


def loss(ls, x, y):
    z = forward(ls, x)
    z = z - z.max(1, keepdims=True)
    return float(np.mean(np.log(np.exp(z).sum(1)) - z[np.arange(len(y)), y]))


def permute(ls, perms):
    out = []
    for i, (w, b) in enumerate(ls):
        if i < len(perms):
            w, b = w[perms[i]], b[perms[i]]
        if i > 0:
            w = w[:, perms[i - 1]]
        out.append((w, b))
    return out


def weight_matching(la, lb, seed, max_iter=100):
    """Git Re-Basin's weight matching, written from the paper: random layer order, one LAP per layer."""
    rng = np.random.default_rng(seed)
    hidden = len(la) - 1
    perms = [np.arange(la[i][0].shape[0]) for i in range(hidden)]
    for _ in range(max_iter):
        improved = False
        for h in rng.permutation(hidden):
            wa, ba = la[h]
            wb, bb = lb[h]
            if h > 0:
                wb = wb[:, perms[h - 1]]
            s = wa @ wb.T + np.outer(ba, bb)
            wa2 = la[h + 1][0]
            wb2 = lb[h + 1][0]
            if h + 1 < hidden:
                wb2 = wb2[perms[h + 1]]
            s += wa2.T @ wb2
            _, cols = linear_sum_assignment(s, maximize=True)
            old = s[np.arange(len(cols)), perms[h]].sum()
            new = s[np.arange(len(cols)), cols].sum()
            if new > old + 1e-12:
                perms[h] = cols
                improved = True
        if not improved:
            break
    return perms


def activation_matching(la, lb, x):
    perms = []
    for h in range(len(la) - 1):
        a = forward(la, x, upto=h)
        b = forward(lb, x, upto=h)
        a = np.maximum(a, 0)
        b = np.maximum(b, 0)
        a = (a - a.mean(0)) / np.where(a.std(0) > 1e-12, a.std(0), np.inf)
        b = (b - b.mean(0)) / np.where(b.std(0) > 1e-12, b.std(0), np.inf)
        corr = a.T @ b / len(x)
        perms.append(linear_sum_assignment(corr, maximize=True)[1])
    return perms


def linear_gap(la, lb, x, y):
    ts = [i / (POINTS - 1) for i in range(POINTS)]
    f = [loss([((1 - t) * wa + t * wb, (1 - t) * ba + t * bb) for (wa, ba), (wb, bb) in zip(la, lb)], x, y) for t in ts]
    return max(v - ((1 - t) * f[0] + t * f[-1]) for t, v in zip(ts, f))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--modeconn", required=True)
    p.add_argument("--work", required=True)
    a = p.parse_args()
    fashion_data.require()
    os.makedirs(a.work, exist_ok=True)
    folder = os.path.join(a.work, "data")
    data = fashion_data.load(10000, 2000)
    fashion_data.save_npy_folder(data, folder)
    x, y = data["train"]

    files = []
    for seed in (1, 2):
        out = os.path.join(a.work, f"m{seed}.safetensors")
        subprocess.run([a.modeconn, "train", "-q", "--data", folder, "--hidden", "128,128", "--epochs", "8",
                        "--seed", str(seed), "--out", out], check=True)
        files.append(out)
    la, lb = layers(read_safetensors(files[0])), layers(read_safetensors(files[1]))
    x64 = x.astype(np.float64)

    gaps = {}
    failures = []
    for method in ("weight", "activation"):
        report = os.path.join(a.work, f"{method}.json")
        aligned = os.path.join(a.work, f"{method}.safetensors")
        subprocess.run([a.modeconn, "path", "-q", "--a", files[0], "--b", files[1], "--data", folder, "--split", "train",
                        "--points", str(POINTS), "--align", method, "--json", report], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([a.modeconn, "align", "-q", "--a", files[0], "--b", files[1], "--data", folder,
                        "--method", method, "--out", aligned], check=True, stdout=subprocess.DEVNULL)
        with open(report) as f:
            j = json.load(f)
        gaps[method] = j["splits"]["train"]["barrier"]["loss"]["gap"]
        gaps["naive"] = j["naive"]["splits"]["train"]["barrier"]["loss"]["gap"]
        # The aligned file computes B's function.
        lb_aligned = layers(read_safetensors(aligned))
        diff = np.abs(forward(lb, x64[:2000]) - forward(lb_aligned, x64[:2000])).max()
        if diff > 1e-4:
            failures.append(f"{method}: aligned model's outputs differ from B's by {diff}")

    ref_weight = linear_gap(la, permute(lb, weight_matching(la, lb, seed=0)), x64, y)
    ref_act = linear_gap(la, permute(lb, activation_matching(la, lb, x64)), x64, y)
    ref_naive = linear_gap(la, lb, x64, y)
    print(f"train-loss gap: naive {gaps['naive']:.4f} (reference {ref_naive:.4f}); weight matching "
          f"{gaps['weight']:.4f} (reference {ref_weight:.4f}); activation matching {gaps['activation']:.4f} "
          f"(reference {ref_act:.4f})")
    if abs(gaps["naive"] - ref_naive) > 1e-4 * abs(ref_naive):
        failures.append("naive gap differs from the float64 reference")
    if gaps["weight"] > 0.2 * gaps["naive"]:
        failures.append(f"weight matching cut the gap by only {100 * (1 - gaps['weight'] / gaps['naive']):.1f}% (< 80%)")
    if abs(gaps["weight"] - ref_weight) > 0.01:
        failures.append(f"weight matching gap {gaps['weight']} is not within 0.01 of the reference {ref_weight}")
    if abs(gaps["activation"] - ref_act) > 0.02:
        failures.append(f"activation matching gap {gaps['activation']} is not within 0.02 of the reference {ref_act}")
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print(f"weight matching cut the train-loss gap by {100 * (1 - gaps['weight'] / gaps['naive']):.1f}%")


if __name__ == "__main__":
    main()
