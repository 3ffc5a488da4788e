#!/usr/bin/env python3
"""One epoch of CNN training and one epoch of curve fitting on Fashion-MNIST images: `modeconn train --arch`
and `modeconn fit-curve` (whole processes) against the same loops in PyTorch on the CPU, same threads, same
data, batch 128, SGD with momentum, BatchNorm in train mode. The PyTorch networks are the twins the end-to-end
tests load modeconn's files into (tests/e2e/cnn_train.py); the PyTorch curve step draws t, forms each parameter
from the Bernstein basis and runs the network functionally at those parameters (Garipov et al.'s loop).
The PyTorch loops run in the interpreter --python names (default: this one), e.g. PyPI's PyTorch in the virtual
environment bench/compare/make-peer-venv.sh makes; each epoch is timed inside that process, which is kept
between runs. The header gives its versions as that interpreter reports them.

usage: cnn_train_vs_torch.py [--modeconn BIN] [--arch resnet:8,16 vgg:8,16] [--rows 60000] [--runs 1]
                             [--python PATH]
"""
import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "../../tests/e2e"))
import common  # noqa: E402


def images(folder, rows):
    """Fashion-MNIST's first `rows` training images as [N, 1, 28, 28] (random images where the data set is not
    installed: the timing does not depend on the pixels)."""
    try:
        import fashion_data
        fashion_data.require()
        data = fashion_data.load(rows, 100)
    except SystemExit:
        rng = np.random.default_rng(0)
        data = {s: (rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n).astype(np.int64))
                for s, n in (("train", rows), ("test", 100))}
    os.makedirs(folder, exist_ok=True)
    for split, (x, y) in data.items():
        np.save(f"{folder}/x_{split}.npy", x.reshape(-1, 1, 28, 28))
        np.save(f"{folder}/y_{split}.npy", y)


def twin(spec):
    from cnn_train import TwinResNet, TwinVGG
    family, rest = spec.split(":", 1)
    parts = rest.split(":")
    widths = [int(w) for w in parts[0].split(",")]
    if family == "vgg":
        return TwinVGG(widths)
    return TwinResNet(widths, blocks=int(parts[1]) if len(parts) > 1 else 1)


def training_rows(folder):
    import torch
    return torch.from_numpy(np.load(f"{folder}/x_train.npy")), torch.from_numpy(np.load(f"{folder}/y_train.npy"))


def shuffled_minibatches(rows, batch):
    import torch
    perm = torch.randperm(rows)
    for i in range(0, rows, batch):
        yield perm[i:i + batch]


def torch_train_epoch(spec, folder, threads, batch):
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = twin(spec).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x, y = training_rows(folder)
    t0 = time.perf_counter()
    for idx in shuffled_minibatches(len(x), batch):
        opt.zero_grad()
        F.cross_entropy(model(x[idx]), y[idx]).backward()
        opt.step()
    return time.perf_counter() - t0


def torch_curve_epoch(spec, folder, threads, batch):
    import torch
    import torch.nn.functional as F
    try:
        from torch.func import functional_call  # PyTorch 2: torch.nn.utils.stateless's is deprecated there
    except ImportError:
        from torch.nn.utils.stateless import functional_call
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    a, b = twin(spec), twin(spec)
    model = twin(spec).train()
    pa, pb = dict(a.named_parameters()), dict(b.named_parameters())
    bend = {k: ((pa[k] + pb[k]) / 2).detach().clone().requires_grad_(True) for k in pa}
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    opt = torch.optim.SGD(bend.values(), lr=0.05, momentum=0.9)
    x, y = training_rows(folder)
    t0 = time.perf_counter()
    for idx in shuffled_minibatches(len(x), batch):
        t = float(torch.rand(1))
        c = ((1 - t) ** 2, 2 * t * (1 - t), t * t)
        phi = {k: c[0] * pa[k].detach() + c[1] * bend[k] + c[2] * pb[k].detach() for k in pa}
        opt.zero_grad()
        F.cross_entropy(functional_call(model, {**phi, **buffers}, (x[idx],)), y[idx]).backward()
        opt.step()
    return time.perf_counter() - t0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--modeconn", help="the executable (default: build/host/modeconn, built if missing)")
    p.add_argument("--arch", nargs="+", default=["resnet:8,16", "vgg:8,16"])
    p.add_argument("--rows", type=int, default=60000)
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument("--runs", type=int, default=1)
    common.add_peer_option(p)
    a = p.parse_args()
    if a.peer_serve:
        return common.serve({"train": torch_train_epoch, "curve": torch_curve_epoch})
    a.modeconn = a.modeconn or common.built("host/modeconn")
    versions = common.peer_versions(a.python, ("torch", "numpy"))
    peer = common.Peer(a.python, __file__)
    work = common.workdir()
    folder = f"{work}/data"
    images(folder, a.rows)
    base = [a.modeconn]
    print(f"{common.machine()}; threads {a.threads}; median of {a.runs} alternated runs; {a.rows} rows, batch 128")
    print(f"peer: {versions}")
    print(f"{'job':<10} {'network':<14} {'modeconn s':>11} {'torch s':>9} {'ratio':>7}")
    for spec in a.arch:
        ends = []
        for seed in (1, 2):  # the curve's endpoints: any two models of the family
            out = f"{work}/{seed}.safetensors"
            common.time_process(base + ["train", "-q", "--data", folder, "--arch", spec, "--epochs", "1", "--seed",
                                        str(seed), "--threads", str(a.threads), "--out", out])
            ends.append(out)
        train = base + ["train", "-q", "--data", folder, "--arch", spec, "--epochs", "1", "--batch", "128",
                        "--threads", str(a.threads), "--out", f"{work}/t.safetensors"]
        tm, tt = common.alternate(a.runs, lambda: common.time_process(train),
                                  lambda: peer("train", spec=spec, folder=folder, threads=a.threads, batch=128))
        print(f"{'train':<10} {spec:<14} {tm:>11.2f} {tt:>9.2f} {tt / tm:>6.2f}x", flush=True)
        curve = base + ["fit-curve", "-q", "--a", ends[0], "--b", ends[1], "--data", folder, "--epochs", "1",
                        "--batch", "128", "--threads", str(a.threads), "--out", f"{work}/c.safetensors"]
        tm, tt = common.alternate(a.runs, lambda: common.time_process(curve),
                                  lambda: peer("curve", spec=spec, folder=folder, threads=a.threads, batch=128))
        print(f"{'fit-curve':<10} {spec:<14} {tm:>11.2f} {tt:>9.2f} {tt / tm:>6.2f}x", flush=True)


if __name__ == "__main__":
    main()
