#!/usr/bin/env python3
"""modeconn hessian (whole process) against the same algorithm on PyTorch autograd: the top eigenvalues by
Lanczos with full reorthogonalisation, each Hessian-vector product by double backward (PyHessian's
hessian_vector_product: the gradient with create_graph, then the gradient of its dot product with v), the
same number of Lanczos steps modeconn took, plus the one Hutchinson probe modeconn also runs; same threads.
Checks that both find the same top eigenvalues. The PyTorch side runs in the interpreter --python names
(default: this one), e.g. PyPI's PyTorch in the virtual environment bench/compare/make-peer-venv.sh makes; it
is timed inside that process, which is kept between runs. The header gives its versions as that interpreter
reports them.

usage: hessian_vs_torch.py [--modeconn BIN] [--threads N] [--runs 3] [--top 5] [--widths 784,256,256,10]
                           [--rows 10000] [--python PATH]
"""
import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def torch_lanczos(widths, model, folder, rows, threads, steps, top, seed=0):
    """Returns (seconds, top eigenvalues): PyHessian-style HVPs, Lanczos with full reorthogonalisation."""
    import torch

    torch.set_num_threads(threads)
    net = common.torch_mlp(widths, model)
    x = torch.from_numpy(np.load(f"{folder}/x_train.npy")[:rows])
    y = torch.from_numpy(np.load(f"{folder}/y_train.npy")[:rows])
    params = [p for p in net.parameters()]
    t0 = time.perf_counter()
    loss = torch.nn.functional.cross_entropy(net(x), y)
    grads = torch.autograd.grad(loss, params, create_graph=True)

    def hvp(v):
        parts, at = [], 0
        for p in params:
            parts.append(v[at:at + p.numel()].view_as(p))
            at += p.numel()
        hv = torch.autograd.grad(grads, params, grad_outputs=parts, retain_graph=True)
        return torch.cat([h.reshape(-1) for h in hv]).double()

    n = sum(p.numel() for p in params)
    g = torch.Generator().manual_seed(seed)
    v = torch.rand(n, generator=g, dtype=torch.float64) - 0.5
    v /= v.norm()
    basis, alpha, beta = [], [], []
    for _ in range(steps):
        basis.append(v)
        w = hvp(v.float())
        alpha.append(float(w @ v))
        q = torch.stack(basis)
        for _ in range(2):
            w = w - q.T @ (q @ w)
        b = float(w.norm())
        beta.append(b)
        v = w / b
    t = torch.diag(torch.tensor(alpha)) + torch.diag(torch.tensor(beta[:-1]), 1) + torch.diag(torch.tensor(beta[:-1]), -1)
    values = torch.linalg.eigvalsh(t).numpy()[::-1][:top]
    z = (torch.randint(0, 2, (n,), generator=g) * 2 - 1).double()
    float(z @ hvp(z.float()))  # modeconn's one Hutchinson probe
    return time.perf_counter() - t0, values


def peer_lanczos(widths, model, folder, rows, threads, steps, top):
    """torch_lanczos on the model modeconn reads (a safetensors file)."""
    return torch_lanczos(widths, common.read_safetensors(model), folder, rows, threads, steps, top)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--modeconn", help="the executable (default: build/host/modeconn, built if missing)")
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--widths", default="784,256,256,10")
    p.add_argument("--rows", type=int, default=10000)
    common.add_peer_option(p)
    a = p.parse_args()
    if a.peer_serve:
        return common.serve({"lanczos": peer_lanczos})
    a.modeconn = a.modeconn or common.built("host/modeconn")
    versions = common.peer_versions(a.python, ("torch", "numpy"))
    peer = common.Peer(a.python, __file__)
    widths = [int(w) for w in a.widths.split(",")]
    work = common.workdir()
    folder = f"{work}/data"
    common.random_data(folder, widths[0], a.rows, 100)
    common.write_safetensors(f"{work}/m.safetensors", common.random_mlp(widths, 1))
    cmd = [a.modeconn, "hessian", "-q", "--threads", str(a.threads), "--model", f"{work}/m.safetensors", "--data",
           folder, "--rows", str(a.rows), "--top", str(a.top), "--bottom", "0", "--probes", "1", "--json",
           f"{work}/h.json"]
    common.time_process(cmd)
    report = json.load(open(f"{work}/h.json"))["hessian"]
    steps = report["lanczos"]["steps"]

    def lanczos():
        return peer("lanczos", widths=widths, model=f"{work}/m.safetensors", folder=folder, rows=a.rows,
                    threads=a.threads, steps=steps, top=a.top)

    values = np.array(lanczos()[1])
    ours = np.array(report["top"])
    diff = np.abs(ours - values).max() / np.abs(values).max()
    if diff > 1e-3:
        sys.exit(f"hessian_vs_torch.py: top eigenvalues differ by {diff:.3g}: {ours} vs {values}")
    tm, tt = common.alternate(a.runs, lambda: common.time_process(cmd), lambda: lanczos()[0])
    print(f"{common.machine()}; threads {a.threads}; median of {a.runs} alternated runs; {steps} Lanczos steps; "
          f"top eigenvalues agree to {diff:.1e}: {np.round(ours, 5).tolist()}")
    print(f"peer: {versions}")
    print(f"{'model':<20} {'rows':>6} {'top':>4} {'modeconn s':>11} {'torch s':>9} {'ratio':>7}")
    print(f"{a.widths.replace(',', '-'):<20} {a.rows:>6} {a.top:>4} {tm:>11.3f} {tt:>9.3f} {tt / tm:>6.2f}x")


if __name__ == "__main__":
    main()
