#!/usr/bin/env python3
"""Times the `rebasin` package's weight matching (PermutationCoordinateDescent, Git Re-Basin's algorithm) on two
MLPs stored as NumPy .npz files of PyTorch state dicts; prints the seconds of construction plus rebasin().
Run by align_vs_scipy.py --rebasin inside the virtualenv it makes.

usage: rebasin_peer.py A.npz B.npz WIDTHS RUNS THREADS
"""
import statistics
import sys
import time

import numpy as np
import torch
from rebasin import PermutationCoordinateDescent


def mlp(widths, state):
    layers = []
    for l in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[l], widths[l + 1]))
        if l + 2 < len(widths):
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    return model


def main():
    a_path, b_path, widths, runs, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    widths = [int(w) for w in widths.split("-")]
    states = [dict(np.load(p)) for p in (a_path, b_path)]
    x = torch.from_numpy(np.random.default_rng(0).random((8, widths[0]), dtype=np.float32))
    times = []
    for _ in range(runs):
        a, b = mlp(widths, states[0]), mlp(widths, states[1])
        t0 = time.perf_counter()
        PermutationCoordinateDescent(a, b, input_data_b=x).rebasin()
        times.append(time.perf_counter() - t0)
    print(statistics.median(times))


if __name__ == "__main__":
    main()
