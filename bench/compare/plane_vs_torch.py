#!/usr/bin/env python3
"""modeconn plane (whole process) against the PyTorch loop loss-landscape scripts write (Li et al.'s
plot_surface: for each grid point, set the weights to θ + α·d1 + β·d2, forward the split, loss and error),
same threads, same filter-normalised directions (modeconn's, saved once with --save-directions and read by the
loop). Checks that both grids agree, then prints the times and the ratio. The PyTorch loop runs in the
interpreter --python names (default: this one), e.g. PyPI's PyTorch in the virtual environment
bench/compare/make-peer-venv.sh makes; it is timed inside that process, which is kept between runs. The header
gives its versions as that interpreter reports them.

usage: plane_vs_torch.py [--modeconn BIN] [--threads N] [--runs 3] [--grid 21] [--widths 784,256,256,10]
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


def torch_plane(widths, model, dirs, folder, threads, axis):
    """The loop, timed without loading: returns (seconds, loss grid [beta][alpha])."""
    import torch

    torch.set_num_threads(threads)
    net = common.torch_mlp(widths)
    theta = {k: torch.from_numpy(v) for k, v in model.items()}
    d1 = {k: torch.from_numpy(dirs["x." + k].copy()) for k in model}
    d2 = {k: torch.from_numpy(dirs["y." + k].copy()) for k in model}
    x = torch.from_numpy(np.load(f"{folder}/x_test.npy"))
    y = torch.from_numpy(np.load(f"{folder}/y_test.npy"))
    grid = np.zeros((len(axis), len(axis)))
    t0 = time.perf_counter()
    with torch.no_grad():
        for j, b in enumerate(axis):
            for i, a in enumerate(axis):
                net.load_state_dict({k: theta[k] + a * d1[k] + b * d2[k] for k in theta})
                logits = net(x)
                grid[j, i] = torch.nn.functional.cross_entropy(logits, y).item()
                (logits.argmax(1) != y).float().mean().item()
    return time.perf_counter() - t0, grid


def peer_plane(widths, model, dirs, folder, threads, axis):
    """torch_plane on the model and directions modeconn reads and writes (safetensors files)."""
    return torch_plane(widths, common.read_safetensors(model), common.read_safetensors(dirs), folder, threads, axis)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--modeconn", help="the executable (default: build/host/modeconn, built if missing)")
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--grid", type=int, default=21)
    p.add_argument("--widths", default="784,256,256,10")
    p.add_argument("--rows", type=int, default=10000)
    common.add_peer_option(p)
    a = p.parse_args()
    if a.peer_serve:
        return common.serve({"plane": peer_plane})
    a.modeconn = a.modeconn or common.built("host/modeconn")
    versions = common.peer_versions(a.python, ("torch", "numpy"))
    peer = common.Peer(a.python, __file__)
    widths = [int(w) for w in a.widths.split(",")]
    work = common.workdir()
    folder = f"{work}/data"
    common.random_data(folder, widths[0], 100, a.rows)
    common.write_safetensors(f"{work}/m.safetensors", common.random_mlp(widths, 1))
    cmd = [a.modeconn, "plane", "-q", "--threads", str(a.threads), "--model", f"{work}/m.safetensors",
           "--data", folder, "--split", "test", "--grid", f"{a.grid}x{a.grid}", "--seed", "1",
           "--json", f"{work}/plane.json", "--save-directions", f"{work}/dirs.safetensors"]
    common.time_process(cmd)  # the directions for the loop, and a warm start for both
    report = json.load(open(f"{work}/plane.json"))
    axis = report["plane"]["alpha"]

    def plane():
        return peer("plane", widths=widths, model=f"{work}/m.safetensors", dirs=f"{work}/dirs.safetensors",
                    folder=folder, threads=a.threads, axis=axis)

    grid = np.array(plane()[1])
    ours = np.array(report["splits"]["test"]["loss"], dtype=float)
    diff = np.abs(ours - grid).max() / max(1.0, np.abs(grid).max())
    if diff > 1e-4:
        sys.exit(f"plane_vs_torch.py: the grids differ by {diff:.3g} relative: not the same computation")
    tm, tt = common.alternate(a.runs, lambda: common.time_process(cmd), lambda: plane()[0])
    print(f"{common.machine()}; threads {a.threads}; median of {a.runs} alternated runs; grids agree to {diff:.1e} "
          "relative")
    print(f"peer: {versions}")
    print(f"{'model':<20} {'rows':>6} {'grid':>7} {'modeconn s':>11} {'torch loop s':>13} {'ratio':>7}")
    print(f"{a.widths.replace(',', '-'):<20} {a.rows:>6} {a.grid:>3}x{a.grid:<3} {tm:>11.3f} {tt:>13.3f} "
          f"{tt / tm:>6.2f}x")


if __name__ == "__main__":
    main()
