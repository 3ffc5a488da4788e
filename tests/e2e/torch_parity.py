#!/usr/bin/env python3
"""End to end against PyTorch: MLPs trained on real Fashion-MNIST in PyTorch, exported with
scripts/export_torch.py, evaluated along the linear path by `modeconn path`; every loss and barrier
must match PyTorch's float64 evaluation to 1e-4 relative.

usage: torch_parity.py --modeconn BIN --export EXPORT_SCRIPT --work DIR
Exits 77 (reported as skipped) when PyTorch or NumPy is not installed.
"""
import argparse
import json
import os
import subprocess
import sys

try:
    import numpy as np  # noqa: F401
    import torch

    import fashion_data
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)

POINTS = 25
RTOL = 1e-4


class Named(torch.nn.Module):
    """An MLP whose layers have names rather than Sequential indices, as many research codes write them."""

    def __init__(self, widths, act):
        super().__init__()
        self.fc1 = torch.nn.Linear(widths[0], widths[1])
        self.fc2 = torch.nn.Linear(widths[1], widths[2])
        self.fc3 = torch.nn.Linear(widths[2], widths[3])
        self.act = act

    def forward(self, x):
        return self.fc3(self.act(self.fc2(self.act(self.fc1(x)))))


class Unordered(torch.nn.Module):
    """Layers whose names do not sort into forward order: only the state_dict's order says which comes first."""

    def __init__(self, widths):
        super().__init__()
        self.input_layer = torch.nn.Linear(widths[0], widths[1])
        self.hidden1 = torch.nn.Linear(widths[1], widths[2])
        self.output = torch.nn.Linear(widths[2], widths[3])

    def forward(self, x):
        return self.output(torch.relu(self.hidden1(torch.relu(self.input_layer(x)))))


def make_model(style, widths):
    if style == "unordered":
        return Unordered(widths)
    if style == "sequential":
        return torch.nn.Sequential(torch.nn.Linear(widths[0], widths[1]), torch.nn.ReLU(),
                                   torch.nn.Linear(widths[1], widths[2]), torch.nn.ReLU(),
                                   torch.nn.Linear(widths[2], widths[3]))
    return Named(widths, torch.tanh)


def train(model, x, y, seed, epochs):
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), 128):
            idx = perm[i:i + 128]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()


def float64_profile(style, widths, sd_a, sd_b, x, y):
    """Loss and error at t = i/(POINTS-1), the weights interpolated and the forward pass run in float64."""
    model = make_model(style, widths).double()
    xs, ys = torch.from_numpy(x).double(), torch.from_numpy(y)
    losses, errors = [], []
    with torch.no_grad():
        for i in range(POINTS):
            t = i / (POINTS - 1)
            model.load_state_dict({k: (1 - t) * sd_a[k].double() + t * sd_b[k].double() for k in sd_a})
            logits = model(xs)
            losses.append(torch.nn.functional.cross_entropy(logits, ys).item())
            errors.append((logits.argmax(1) != ys).double().mean().item())
    return losses, errors


def barriers(ts, f):
    """DESIGN's definitions, written out again independently of modeconn."""
    f0, f1 = f[0], f[-1]
    excess = [v - ((1 - t) * f0 + t * f1) for t, v in zip(ts, f)]
    k = max(range(len(f)), key=lambda i: (excess[i], -i))
    return {"gap": excess[k], "mean": max(f) - (f0 + f1) / 2, "midpoint": f[ts.index(0.5)] - (f0 + f1) / 2,
            "t_peak": ts[k]}


def check(label, actual, ref, rtol, atol, failures):
    if not abs(actual - ref) <= atol + rtol * abs(ref):
        failures.append(f"{label}: modeconn {actual!r} vs float64 {ref!r}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--modeconn", required=True)
    p.add_argument("--export", required=True)
    p.add_argument("--work", required=True)
    a = p.parse_args()
    fashion_data.require()
    torch.set_num_threads(2)
    os.makedirs(a.work, exist_ok=True)
    data = fashion_data.load(6000, 2000)
    folder = os.path.join(a.work, "data")
    fashion_data.save_npy_folder(data, folder)

    failures = []
    widths = [784, 128, 96, 10]
    for style, act in (("sequential", "relu"), ("named", "tanh"), ("unordered", "relu")):
        files, sds = [], []
        for seed in (1, 2):
            torch.manual_seed(seed)
            model = make_model(style, widths)
            train(model, *data["train"], seed, epochs=2)
            ckpt = os.path.join(a.work, f"{style}{seed}.pt")
            # One checkpoint as a bare state_dict, the other wrapped the way training scripts save them.
            torch.save(model.state_dict() if seed == 1 else {"epoch": 2, "model_state_dict": model.state_dict()}, ckpt)
            out = os.path.join(a.work, f"{style}{seed}.safetensors")
            subprocess.run([sys.executable, a.export, ckpt, out, "--activation", act], check=True)
            files.append(out)
            sds.append({k: v.detach().clone() for k, v in model.state_dict().items()})

        report = os.path.join(a.work, f"{style}.json")
        subprocess.run([a.modeconn, "path", "-q", "--a", files[0], "--b", files[1], "--data", folder,
                        "--points", str(POINTS), "--align", "none", "--json", report], check=True,
                       stdout=subprocess.DEVNULL)
        with open(report) as f:
            got = json.load(f)
        ts = [i / (POINTS - 1) for i in range(POINTS)]
        assert len(got["t"]) == POINTS and all(abs(u - v) < 1e-15 for u, v in zip(got["t"], ts)), got["t"]
        for split in ("test", "train"):
            x, y = data[split]
            losses, errors = float64_profile(style, widths, sds[0], sds[1], x, y)
            s = got["splits"][split]
            for i in range(POINTS):
                check(f"{style} {split} loss t={ts[i]:.4f}", s["loss"][i], losses[i], RTOL, 0, failures)
                check(f"{style} {split} error t={ts[i]:.4f}", s["error"][i], errors[i], 0, 1.01 / len(y), failures)
            for metric, profile, atol in (("loss", losses, 1e-7), ("error", errors, 2.01 / len(y))):
                ref = barriers(ts, profile)
                for key in ("gap", "mean", "midpoint"):
                    check(f"{style} {split} {metric} barrier {key}", s["barrier"][metric][key], ref[key], RTOL, atol, failures)
            worst = max(abs(u - v) / abs(v) for u, v in zip(s["loss"], losses))
            print(f"{style} ({act}) {split}: worst relative loss difference {worst:.2e}, "
                  f"loss gap {s['barrier']['loss']['gap']:.5f} (float64 {barriers(ts, losses)['gap']:.5f})")

    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print("modeconn path agrees with PyTorch float64 on every loss and barrier")


if __name__ == "__main__":
    main()
