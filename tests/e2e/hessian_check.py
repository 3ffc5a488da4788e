#!/usr/bin/env python3
"""`modeconn hessian` against PyTorch float64.

For small MLPs with every activation (and regression), PyTorch forms the whole Hessian of the mean training
loss in float64 (torch.autograd.functional.hessian) and takes its eigendecomposition; modeconn, asked for
every eigenvalue from the top and from the bottom, must give the same spectrum (Lanczos with full
reorthogonalisation over exact Hessian-vector products), and its Hutchinson trace must hold the exact trace
within four standard errors. Along a path, the spectrum at the barrier's peak is checked the same way at the
interpolated parameters.

Skipped (exit 77) without PyTorch.
"""
import argparse
import json
import os
import struct
import subprocess
import sys

import numpy as np

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("skipped: PyTorch is not installed (Debian: python3-torch)")
    sys.exit(77)

ACTIVATIONS = {
    "relu": F.relu,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.01),
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "gelu": F.gelu,
    "softplus": F.softplus,
    "identity": lambda x: x,
}
WIDTHS = [5, 6, 4, 3]


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def write_model(path, tensors, activation, task):
    header = {"__metadata__": {"modeconn.activation": activation, "modeconn.task": task}}
    offset, blobs = 0, []
    for name, a in tensors.items():
        data = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def random_model(rng):
    out = {}
    for l in range(len(WIDTHS) - 1):
        bound = 1.5 / np.sqrt(WIDTHS[l])
        out[f"{2 * l}.weight"] = rng.uniform(-bound, bound, (WIDTHS[l + 1], WIDTHS[l])).astype(np.float32)
        out[f"{2 * l}.bias"] = rng.uniform(-bound, bound, WIDTHS[l + 1]).astype(np.float32)
    return out


def flat(tensors):
    """modeconn's parameter order: each layer's weight (row-major), then its bias."""
    return np.concatenate([tensors[f"{2 * l}.{k}"].astype(np.float64).ravel()
                           for l in range(len(WIDTHS) - 1) for k in ("weight", "bias")])


def loss_function(x, y, activation, task):
    act = ACTIVATIONS[activation]

    def loss(theta):
        h, at = x, 0
        for l in range(len(WIDTHS) - 1):
            i, o = WIDTHS[l], WIDTHS[l + 1]
            w = theta[at:at + o * i].reshape(o, i)
            at += o * i
            b = theta[at:at + o]
            at += o
            h = h @ w.T + b
            if l + 2 < len(WIDTHS):
                h = act(h)
        if task == "classification":
            return F.cross_entropy(h, y)
        return F.mse_loss(h, y)

    return loss


def torch_spectrum(theta, x, y, activation, task):
    t = torch.tensor(theta, dtype=torch.float64)
    h = torch.autograd.functional.hessian(loss_function(x, y, activation, task), t)
    return torch.linalg.eigvalsh(h).numpy(), float(torch.trace(h))


def run(*args):
    r = subprocess.run(list(args), capture_output=True, text=True)
    if r.returncode != 0:
        fail(" ".join(args) + f" exited {r.returncode}: {r.stderr}")
    return r


def compare(name, point, eig, trace):
    n = len(eig)
    top, bottom = np.array(point["top"]), np.array(point["bottom"])
    if len(top) != n or len(bottom) != n:
        fail(f"{name}: asked for all {n} eigenvalues, got {len(top)} and {len(bottom)}")
    scale = np.abs(eig).max()
    worst = max(np.abs(top - eig[::-1]).max(), np.abs(bottom - eig).max()) / scale
    if worst > 1e-4:
        fail(f"{name}: spectrum differs from PyTorch float64 by {worst:.3g} of its largest eigenvalue\n"
             f"  modeconn top {top[:4]}\n  torch      {eig[::-1][:4]}")
    if point["lambda_max"] != point["top"][0] or point["negative"] != int((bottom < 0).sum()):
        fail(f"{name}: lambda_max or the negative count disagree with the lists")
    est, se = point["trace"]["mean"], point["trace"]["stderr"]
    if abs(est - trace) > 4 * se + 1e-6 * abs(trace):
        fail(f"{name}: Hutchinson trace {est} +/- {se} does not hold the exact trace {trace}")
    return worst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--modeconn", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    rng = np.random.default_rng(3)
    rows = 40
    x = rng.standard_normal((rows, WIDTHS[0])).astype(np.float32)
    labels = rng.integers(0, WIDTHS[-1], rows).astype(np.int64)
    targets = rng.standard_normal((rows, WIDTHS[-1])).astype(np.float32)
    folders = {}
    for task, y in (("classification", labels), ("regression", targets)):
        folder = os.path.join(args.work, task)
        os.makedirs(folder, exist_ok=True)
        for split in ("train", "test"):
            np.save(os.path.join(folder, f"x_{split}.npy"), x)
            np.save(os.path.join(folder, f"y_{split}.npy"), y)
        folders[task] = folder
    xt = torch.tensor(x, dtype=torch.float64)
    ys = {"classification": torch.tensor(labels), "regression": torch.tensor(targets, dtype=torch.float64)}
    n = sum(WIDTHS[l] * WIDTHS[l + 1] + WIDTHS[l + 1] for l in range(len(WIDTHS) - 1))
    cases = [(a, "classification") for a in ACTIVATIONS] + [("tanh", "regression"), ("gelu", "regression")]
    for activation, task in cases:
        name = f"{activation}-{task}"
        tensors = random_model(rng)
        model = os.path.join(args.work, f"{name}.safetensors")
        write_model(model, tensors, activation, task)
        out = os.path.join(args.work, f"{name}.json")
        run(args.modeconn, "hessian", "-q", "--model", model, "--data", folders[task], "--rows", str(rows),
            "--top", str(n), "--bottom", str(n), "--max-steps", str(n), "--probes", "400", "--json", out)
        report = json.load(open(out))["hessian"]
        if report["params"] != n or report["rows"] != rows:
            fail(f"{name}: params {report['params']} rows {report['rows']}, not {n} and {rows}")
        eig, trace = torch_spectrum(flat(tensors), xt, ys[task], activation, task)
        worst = compare(name, report, eig, trace)
        print(f"{name}: {n} eigenvalues match PyTorch float64 to {worst:.1e} of the largest; trace "
              f"{report['trace']['mean']:.4g} +/- {report['trace']['stderr']:.2g} (exact {trace:.4g})")

    # Along a path: the spectrum at the train-loss barrier's peak, between a model and a copy whose first
    # hidden layer's units are permuted (the same function; a barrier between them).
    a = random_model(rng)
    perm = rng.permutation(WIDTHS[1])
    b = dict(a)
    b["0.weight"], b["0.bias"], b["2.weight"] = a["0.weight"][perm], a["0.bias"][perm], a["2.weight"][:, perm]
    for tag, t in (("a", a), ("b", b)):
        write_model(os.path.join(args.work, f"path-{tag}.safetensors"), t, "tanh", "classification")
    out = os.path.join(args.work, "path.json")
    run(args.modeconn, "hessian", "-q", "--a", os.path.join(args.work, "path-a.safetensors"), "--b",
        os.path.join(args.work, "path-b.safetensors"), "--at", "peak", "--data", folders["classification"],
        "--rows", str(rows), "--top", str(n), "--bottom", str(n), "--max-steps", str(n), "--probes", "400",
        "--json", out)
    points = json.load(open(out))["hessian"]["points"]
    if [p["t"] for p in points][::2] != [0.0, 1.0] or len(points) != 3 or not 0 < points[1]["t"] < 1:
        fail(f"--at peak gave t = {[p['t'] for p in points]}, not 0, a peak inside and 1")
    if not points[1]["loss"] > points[0]["loss"]:
        fail("the peak's loss is not above the endpoints'")
    for p in points:
        t = p["t"]
        theta = ((1 - t) * flat(a) + t * flat(b)).astype(np.float32).astype(np.float64)
        eig, trace = torch_spectrum(theta, xt, ys["classification"], "tanh", "classification")
        compare(f"path at t = {t:.4f}", p, eig, trace)
    print(f"path: spectra at t = 0, {points[1]['t']:.4f} (the peak) and 1 match PyTorch float64")
    print("hessian checks passed")


if __name__ == "__main__":
    main()
