#!/usr/bin/env python3
"""Trains a small CNN in PyTorch on Fashion-MNIST and saves its checkpoint, to try the CNN workflow of the
README (export, inspect, align, path with each BatchNorm mode) on minima of one's own. Plain SGD with momentum
over shuffled minibatches; the seed fixes the initialisation and the data order.

usage: train_torch_cnn.py --model FILE.py:CLASS [--args JSON] --seed S --out CHECKPOINT.pt [--epochs 2]
"""
import argparse
import gzip
import importlib.util
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

FASHION = os.environ.get("MODECONN_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def model_class(spec):
    path, _, name = spec.rpartition(":")
    module_spec = importlib.util.spec_from_file_location("user_model", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return getattr(module, name)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True, help="FILE.py:CLASS")
    p.add_argument("--args", default="{}", help="the constructor's arguments, a JSON list or object")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--lr", type=float, default=0.05)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    args = json.loads(a.args)
    model = model_class(a.model)(*args) if isinstance(args, list) else model_class(a.model)(**args)
    x = torch.from_numpy(read_idx(f"{FASHION}/train-images-idx3-ubyte.gz").astype(np.float32) / 255).unsqueeze(1)
    y = torch.from_numpy(read_idx(f"{FASHION}/train-labels-idx1-ubyte.gz").astype(np.int64))
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9, weight_decay=5e-4)
    for epoch in range(a.epochs):
        order = torch.randperm(len(x))
        total = 0.0
        for i in range(0, len(x), 128):
            batch = order[i:i + 128]
            opt.zero_grad()
            loss = F.cross_entropy(model(x[batch]), y[batch])
            loss.backward()
            opt.step()
            total += loss.item() * len(batch)
        print(f"epoch {epoch + 1}: train loss {total / len(x):.4f}", file=sys.stderr)
    torch.save(model.state_dict(), a.out)


if __name__ == "__main__":
    main()
