#!/usr/bin/env python3
"""`modeconn plane` around one model against NumPy.

Directions are drawn here with NumPy, handed to modeconn as a file, and modeconn's normalised copies
(--save-directions) are compared with an independent NumPy implementation of Li et al. (2018)'s
normalisation: filter-wise (each slice along a tensor's first dimension scaled to the model's slice),
layer-wise, none, and with biases and BatchNorm fixed or perturbed. Then the loss and error at grid points of
an MLP's plane are recomputed in float64 NumPy from the model and the saved directions.

Runs on NumPy alone; a layer graph (a small VGG with BatchNorm) and an MLP are trained by modeconn itself.
"""
import argparse
import json
import os
import struct
import subprocess
import sys

import numpy as np


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        assert info["dtype"] == "F32"
        tensors[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(info["shape"])
    return header.get("__metadata__", {}), tensors


def write_safetensors(tensors, path):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = np.ascontiguousarray(t, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def run(*args):
    r = subprocess.run(list(args), capture_output=True, text=True)
    if r.returncode != 0:
        fail(" ".join(args) + " exited " + str(r.returncode) + ": " + r.stderr)
    return r


def parameters(path):
    """The model's parameter tensors (BatchNorm's running statistics are buffers, not moved by directions)."""
    meta, tensors = read_safetensors(path)
    buffers = ("running_mean", "running_var", "num_batches_tracked")
    return {k: v for k, v in tensors.items() if not k.endswith(buffers)}


def normalised(d, w, norm, perturb_bias_bn):
    """Li et al.'s normalize_directions_for_weights, written out again in float64."""
    d = d.astype(np.float64)
    w = w.astype(np.float64)
    if d.ndim <= 1:
        return w.copy() if perturb_bias_bn else np.zeros_like(d)
    if norm == "filter":
        out = np.empty_like(d)
        for i in range(d.shape[0]):
            out[i] = d[i] * np.linalg.norm(w[i]) / (np.linalg.norm(d[i]) + 1e-10)
        return out
    if norm == "layer":
        return d * np.linalg.norm(w) / (np.linalg.norm(d) + 1e-10)
    return d


def check_normalisation(args, model, raw, name, data):
    w = parameters(model)
    for norm in ("filter", "layer", "none"):
        for perturb in (False, True):
            saved = os.path.join(args.work, f"{name}-{norm}-{int(perturb)}.safetensors")
            cmd = [args.modeconn, "plane", "-q", "--model", model, "--directions", raw, "--norm", norm,
                   "--data", data, "--grid", "2x2", "--rows", "16", "--split", "test",
                   "--save-directions", saved]
            if perturb:
                cmd.append("--perturb-bias-bn")
            run(*cmd)
            meta, got = read_safetensors(saved)
            if meta.get("modeconn.directions_norm") != norm:
                fail(f"{saved}: metadata says norm {meta.get('modeconn.directions_norm')}, not {norm}")
            for axis in ("x", "y"):
                for k, v in w.items():
                    want = normalised(read_safetensors(raw)[1][f"{axis}.{k}"], v, norm, perturb)
                    have = got[f"{axis}.{k}"].astype(np.float64)
                    scale = max(1e-30, np.abs(want).max())
                    err = np.abs(have - want).max() / scale
                    if err > 2e-6:
                        fail(f"{name} norm {norm} perturb {perturb}: {axis}.{k} differs from NumPy by {err:.3g}")
    print(f"{name}: directions normalised as NumPy does (filter, layer, none; biases and BatchNorm fixed and "
          f"perturbed) over {len(w)} tensors")


def mlp_metrics(params, x, y):
    """Loss and error of a ReLU MLP whose tensors are layers.K.weight and layers.K.bias, in float64."""
    layers = sorted({int(k.split(".")[1]) for k in params})
    h = x.astype(np.float64)
    for i, l in enumerate(layers):
        h = h @ params[f"layers.{l}.weight"].T + params[f"layers.{l}.bias"]
        if i + 1 < len(layers):
            h = np.maximum(h, 0)
    h = h - h.max(axis=1, keepdims=True)
    logp = h - np.log(np.exp(h).sum(axis=1, keepdims=True))
    loss = -logp[np.arange(len(y)), y].mean()
    error = (h.argmax(axis=1) != y).mean()
    return loss, error


def check_mlp_grid(args, model, raw):
    saved = os.path.join(args.work, "mlp-grid-directions.safetensors")
    out = os.path.join(args.work, "mlp-plane.json")
    run(args.modeconn, "plane", "-q", "--model", model, "--directions", raw, "--data", args.flat,
        "--grid", "5x3", "--range", "-1:1,-0.5:0.5", "--save-directions", saved, "--json", out)
    report = json.load(open(out))
    _, d = read_safetensors(saved)
    w = {k: v.astype(np.float64) for k, v in parameters(model).items()}
    alpha, beta = report["plane"]["alpha"], report["plane"]["beta"]
    if len(alpha) != 5 or len(beta) != 3 or abs(alpha[0] + 1) > 1e-15 or abs(beta[2] - 0.5) > 1e-15:
        fail(f"axes {alpha} {beta} are not 5 points over [-1, 1] and 3 over [-0.5, 0.5]")
    worst = 0.0
    for split in ("test", "train"):
        x = np.load(os.path.join(args.flat, f"x_{split}.npy"))
        y = np.load(os.path.join(args.flat, f"y_{split}.npy"))
        for j, b in enumerate(beta):
            for i, a in enumerate(alpha):
                # θ + α·d1 + β·d2 rounded to float32, as the model the backends run.
                p = {k: (v + a * d["x." + k] + b * d["y." + k]).astype(np.float32) for k, v in w.items()}
                loss, error = mlp_metrics(p, x, y)
                got_loss = report["splits"][split]["loss"][j][i]
                got_error = report["splits"][split]["error"][j][i]
                worst = max(worst, abs(got_loss - loss) / max(1.0, abs(loss)))
                if abs(got_loss - loss) > 1e-5 * max(1.0, abs(loss)) or abs(got_error - error) > 1e-12:
                    fail(f"{split} at ({a}, {b}): modeconn loss {got_loss} error {got_error}, "
                         f"NumPy float64 {loss} {error}")
    centre = report["plane"]["markers"][0]
    if centre["splits"]["test"]["loss"] != report["splits"]["test"]["loss"][1][2]:
        fail("the model's own point and the grid's centre differ")
    print(f"MLP plane: 15 grid points on both splits match NumPy float64 (largest loss difference {worst:.2e})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--modeconn", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    rng = np.random.default_rng(5)
    # Small images (for the graph) and the same rows flat (for the MLP).
    args.data = os.path.join(args.work, "images")
    args.flat = os.path.join(args.work, "flat")
    for folder in (args.data, args.flat):
        os.makedirs(folder, exist_ok=True)
    for split, rows in (("train", 192), ("test", 96)):
        x = rng.standard_normal((rows, 1, 8, 8)).astype(np.float32)
        y = (x[:, 0, :4].sum(axis=(1, 2)) > 0).astype(np.int64) + (x[:, 0, 4:].sum(axis=(1, 2)) > 0)
        np.save(os.path.join(args.data, f"x_{split}.npy"), x)
        np.save(os.path.join(args.data, f"y_{split}.npy"), y)
        np.save(os.path.join(args.flat, f"x_{split}.npy"), x.reshape(rows, 64))
        np.save(os.path.join(args.flat, f"y_{split}.npy"), y)

    graph = os.path.join(args.work, "vgg.safetensors")
    run(args.modeconn, "train", "-q", "--data", args.data, "--arch", "vgg:4,8", "--epochs", "2", "--batch", "32",
        "--out", graph)
    mlp = os.path.join(args.work, "mlp.safetensors")
    run(args.modeconn, "train", "-q", "--data", args.flat, "--hidden", "12,7", "--epochs", "3", "--batch", "32",
        "--out", mlp)
    for name, model in (("graph", graph), ("mlp", mlp)):
        raw = os.path.join(args.work, f"{name}-raw.safetensors")
        tensors = {}
        for axis in ("x", "y"):
            for k, v in parameters(model).items():
                tensors[f"{axis}.{k}"] = rng.standard_normal(v.shape)
        write_safetensors(tensors, raw)
        check_normalisation(args, model, raw, name, args.flat if name == "mlp" else args.data)
        if name == "mlp":
            check_mlp_grid(args, mlp, raw)
    print("plane checks passed")


if __name__ == "__main__":
    main()
