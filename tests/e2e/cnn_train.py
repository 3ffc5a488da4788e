#!/usr/bin/env python3
"""CNN training against PyTorch, end to end: `modeconn train --arch vgg:... / resnet:...` builds networks that
load by name into independent PyTorch twins written here and evaluate identically (float64); then, from such a
model (`--init`), modeconn's full-batch training on Fashion-MNIST rows follows PyTorch's step for step, for SGD
with momentum and for Adam with weight decay, BatchNorm in train mode: after every step k of the first STEPS,
the loss at modeconn's parameters (float64, train-mode BatchNorm) is within 1e-4 relative of PyTorch's float64
run's (or, where rounding has grown past that, as close as PyTorch's own float32 run is), and the parameters and
running statistics agree over the first PARAM_STEPS.

usage: cnn_train.py --modeconn BIN --work DIR
Exits 77 (reported as skipped) when PyTorch, NumPy or Fashion-MNIST is missing.
"""
import argparse
import copy
import json
import os
import subprocess
import sys

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "models"))
import fashion_data  # noqa: E402
from cnns import Block  # noqa: E402  (a CIFAR basic block as researchers write it: the family's block)
from graph_export import read_safetensors  # noqa: E402

ROWS = 64
STEPS = 20
PARAM_STEPS = 10
RTOL = 1e-4
failures = []


def expect(ok, message):
    if not ok:
        failures.append(message)
        print("FAIL:", message)


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


class TwinVGG(nn.Module):
    """vgg:W1,W2,...: per width conv3x3 (no bias), BatchNorm, ReLU, 2x2 max-pool; flatten; linear."""

    def __init__(self, widths, classes=10, size=28):
        super().__init__()
        layers, c = [], 1
        for w in widths:
            layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2)]
            c, size = w, size // 2
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(c * size * size, classes)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class TwinResNet(nn.Module):
    """resnet:W1,W2,...[:B]: stem conv3x3, BatchNorm, ReLU; per width B basic blocks, the first of each later
    stage with stride 2; global average pooling; linear."""

    def __init__(self, widths, blocks=1, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        c = widths[0]
        for s, w in enumerate(widths):
            stage = []
            for k in range(blocks):
                stage.append(Block(c, w, 2 if s > 0 and k == 0 else 1))
                c = w
            setattr(self, f"layer{s + 1}", nn.Sequential(*stage))
        self.stages = len(widths)
        self.fc = nn.Linear(c, classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        for s in range(self.stages):
            out = getattr(self, f"layer{s + 1}")(out)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))


def load_into(model, path):
    """The file's tensors into the twin by name: every parameter and buffer but num_batches_tracked."""
    _, tensors = read_safetensors(path)
    state = {k: torch.from_numpy(v.copy()) for k, v in tensors.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    expect(not missing and not unexpected, f"{path}: names differ from the twin: {missing} {unexpected}")
    return model


def batch_loss(model, x, y):
    """Float64 mean cross-entropy with BatchNorm in train mode on the batch (running statistics untouched)."""
    twin = model_copy(model).double().train()
    for mod in twin.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.track_running_stats = False
            mod.running_mean = None
            mod.running_var = None
    with torch.no_grad():
        return F.cross_entropy(twin(x.double()), y).item()


def model_copy(model):
    return copy.deepcopy(model)


def check_family(args, spec, twin, data_dir, x_test, y_test):
    out = os.path.join(args.work, spec.replace(":", "_").replace(",", "_") + ".safetensors")
    r = run([args.modeconn, "train", "--data", data_dir, "--arch", spec, "--epochs", "1", "--batch", "16",
             "--seed", "5", "--out", out, "--quiet"])
    expect(r.returncode == 0, f"train --arch {spec}: {r.stderr}")
    if r.returncode != 0:
        return None
    load_into(twin, out)
    # The wiring: the file evaluated by modeconn (BatchNorm as trained) equals the twin in eval mode.
    r = run([args.modeconn, "path", "--a", out, "--b", out, "--data", data_dir, "--points", "2", "--split", "test",
             "--align", "none", "--bn", "keep", "--json",
             os.path.join(args.work, "self.json"), "--quiet"])
    expect(r.returncode == 0, f"path {spec}: {r.stderr}")
    if r.returncode == 0:
        with open(os.path.join(args.work, "self.json")) as f:
            got = json.load(f)["splits"]["test"]["loss"][0]
        with torch.no_grad():
            want = F.cross_entropy(model_copy(twin).double().eval()(x_test.double()), y_test).item()
        expect(abs(got - want) <= RTOL * abs(want), f"{spec}: modeconn's loss {got} vs the twin's {want}")
    return out


def check_steps(args, spec, twin, start, data_dir, x, y, optimizer):
    name, flags, make = optimizer
    # The exact trajectory (float64) and PyTorch's float32 one: training amplifies rounding step by step, so
    # after many steps no float32 run stays within 1e-4 of the exact one; modeconn must stay as close to it as
    # PyTorch's own float32 run does (within 1e-4, or within 4 times PyTorch's float32 deviation where that is
    # larger).
    exact = model_copy(twin).double().train()
    single = model_copy(twin).train()
    opts = [(exact, make(exact.parameters()), x.double()), (single, make(single.parameters()), x)]
    worst = 0.0
    for k in range(1, STEPS + 1):
        for model, opt, xx in opts:
            opt.zero_grad()
            F.cross_entropy(model(xx), y).backward()
            opt.step()
        out = os.path.join(args.work, "step.safetensors")
        r = run([args.modeconn, "train", "--data", data_dir, "--init", start, "--epochs", str(k), "--batch",
                 str(ROWS), "--out", out, "--quiet", "--threads", "2"] + flags)
        expect(r.returncode == 0, f"{spec} {name} step {k}: {r.stderr}")
        if r.returncode != 0:
            return
        mine = load_into(model_copy(twin), out)
        want = batch_loss(exact, x, y)
        got = batch_loss(mine, x, y)
        torch_drift = abs(batch_loss(single, x, y) - want)
        worst = max(worst, abs(got - want) / abs(want))
        expect(abs(got - want) <= max(RTOL * abs(want), 4 * torch_drift),
               f"{spec} {name} step {k}: loss {got} vs PyTorch's float64 {want} (its float32 is {torch_drift:.2e} off)")
        # Adam's first steps move every parameter by about the learning rate whatever the gradient's size, so
        # the sign of a gradient that is zero but for rounding decides them: parameters are compared for SGD.
        # Over the first PARAM_STEPS steps, before rounding's growth dominates, held to the same standard: 1e-3
        # of the tensor's scale, or 8 times PyTorch's float32 deviation (a BatchNorm bias near 0 has a small
        # scale, and rounding moves it as much as any).
        single_state = single.state_dict()
        for (pn, p), (_, q) in zip(mine.state_dict().items(), exact.state_dict().items()):
            if k > PARAM_STEPS or pn.endswith("num_batches_tracked") or (name == "adam" and "running" not in pn):
                continue
            scale = max(q.abs().max().item(), 1e-3)
            diff = (p.double() - q).abs().max().item() / scale
            torch_diff = (single_state[pn].double() - q).abs().max().item() / scale
            expect(diff <= max(1e-3, 8 * torch_diff),
                   f"{spec} {name} step {k}: {pn} differs by {diff:.2e} of its scale (PyTorch float32 {torch_diff:.2e})")
    print(f"{spec} {name}: {STEPS} steps, largest relative loss difference from float64 {worst:.2e}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--modeconn", required=True)
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    fashion_data.require()
    os.makedirs(args.work, exist_ok=True)
    data = fashion_data.load(ROWS, ROWS)
    data_dir = os.path.join(args.work, "data")
    images = {split: (x.reshape(-1, 1, 28, 28), y) for split, (x, y) in data.items()}
    fashion_data.save_npy_folder(images, data_dir)
    x, y = (torch.from_numpy(a) for a in images["train"])
    x_test, y_test = (torch.from_numpy(a) for a in images["test"])

    optimizers = [
        ("sgd", ["--optimizer", "sgd", "--lr", "0.02", "--momentum", "0.9"],
         lambda p: torch.optim.SGD(p, lr=0.02, momentum=0.9)),
        ("adam", ["--optimizer", "adam", "--lr", "0.002", "--weight-decay", "0.01"],
         lambda p: torch.optim.Adam(p, lr=0.002, weight_decay=0.01)),
    ]
    for spec, twin in (("vgg:4,8", TwinVGG([4, 8])), ("resnet:4,8:2", TwinResNet([4, 8], blocks=2))):
        start = check_family(args, spec, twin, data_dir, x_test, y_test)
        if start:
            for optimizer in optimizers:
                check_steps(args, spec, twin, start, data_dir, x, y, optimizer)

    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("CNN training follows PyTorch step for step")
    return 0


if __name__ == "__main__":
    sys.exit(main())
