#!/usr/bin/env python3
"""One epoch of quadratic Bezier curve fitting (Garipov et al. 2018): `modeconn fit-curve --epochs 1` (whole
process) against the PyTorch equivalent (per minibatch: t ~ U[0,1], the weights from the Bernstein basis,
forward, backward to the bend, an SGD-with-momentum step), same threads, same data, batch 128. The PyTorch
side runs in the interpreter --python names (default: this one), in one process kept between runs, and times
its epoch there; the header gives its versions as that interpreter reports them.

usage: curve_vs_torch.py [--modeconn BIN] [--widths 784,512,512,10] [--rows 60000] [--runs 3] [--python PATH]
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def torch_epoch_seconds(models, folder, threads, batch):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    a = {k: torch.from_numpy(v) for k, v in models[0].items()}
    b = {k: torch.from_numpy(v) for k, v in models[1].items()}
    bend = {k: ((a[k] + b[k]) / 2).clone().requires_grad_(True) for k in a}
    opt = torch.optim.SGD(bend.values(), lr=0.05, momentum=0.9)
    x = torch.from_numpy(np.load(f"{folder}/x_train.npy"))
    y = torch.from_numpy(np.load(f"{folder}/y_train.npy"))
    names = sorted({k.rsplit(".", 1)[0] for k in a}, key=int)
    g = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    perm = torch.randperm(len(x), generator=g)
    for i in range(0, len(x), batch):
        idx = perm[i:i + batch]
        t = float(torch.rand(1, generator=g))
        c = ((1 - t) ** 2, 2 * t * (1 - t), t * t)
        h = x[idx]
        for l, n in enumerate(names):
            w = c[0] * a[n + ".weight"] + c[1] * bend[n + ".weight"] + c[2] * b[n + ".weight"]
            bias = c[0] * a[n + ".bias"] + c[1] * bend[n + ".bias"] + c[2] * b[n + ".bias"]
            h = F.linear(h, w, bias)
            if l + 1 < len(names):
                h = F.relu(h)
        opt.zero_grad()
        F.cross_entropy(h, y[idx]).backward()
        opt.step()
    return time.perf_counter() - t0


def peer_epoch(models, folder, threads, batch):
    """torch_epoch_seconds on the two endpoints modeconn reads (safetensors files)."""
    return torch_epoch_seconds([common.read_safetensors(m) for m in models], folder, threads, batch)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--modeconn", help="the executable (default: build/host/modeconn, built if missing)")
    p.add_argument("--widths", default="784,512,512,10")
    p.add_argument("--rows", type=int, default=60000)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--runs", type=int, default=3)
    common.add_peer_option(p)
    a = p.parse_args()
    if a.peer_serve:
        return common.serve({"epoch": peer_epoch})
    a.modeconn = a.modeconn or common.built("host/modeconn")
    versions = common.peer_versions(a.python, ("torch", "numpy"))
    widths = list(map(int, a.widths.split(",")))
    work = common.workdir()
    folder = f"{work}/data"
    common.random_data(folder, widths[0], a.rows, 100)
    models = [f"{work}/m{i}.safetensors" for i in (0, 1)]
    for s, m in zip((1, 2), models):
        common.write_safetensors(m, common.random_mlp(widths, s))
    cmd = [a.modeconn, "fit-curve", "-q", "--threads", str(a.threads), "--a", models[0], "--b", models[1],
           "--data", folder, "--epochs", "1", "--batch", "128", "--out", f"{work}/c.safetensors"]
    peer = common.Peer(a.python, __file__)
    tm, tt = common.alternate(a.runs, lambda: common.time_process(cmd),
                              lambda: peer("epoch", models=models, folder=folder, threads=a.threads, batch=128))
    print(f"{common.machine()}; threads {a.threads}; median of {a.runs} alternated runs")
    print(f"peer: {versions}")
    print(f"{'model':<20} {'samples':>8} {'modeconn s':>11} {'torch s':>9} {'ratio':>7}")
    print(f"{a.widths.replace(',', '-'):<20} {a.rows:>8} {tm:>11.3f} {tt:>9.3f} {tt / tm:>6.2f}x")


if __name__ == "__main__":
    main()
