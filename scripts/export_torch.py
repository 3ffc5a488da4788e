#!/usr/bin/env python3
"""Turns a PyTorch MLP checkpoint (a state_dict, a dict holding one, or a whole nn.Module) into a
modeconn safetensors file: F32 tensors under their PyTorch names, with the activation and task in
the metadata.

usage: export_torch.py CHECKPOINT OUT.safetensors [--activation relu] [--task classification]
"""
import argparse
import json
import os
import struct
import sys
import tempfile

ACTIVATIONS = ["relu", "leaky_relu", "tanh", "sigmoid", "gelu", "softplus", "identity"]
TASKS = ["classification", "regression"]


def fail(message):
    print(f"export_torch.py: {message}", file=sys.stderr)
    sys.exit(2)


def load_state_dict(path):
    import torch

    if not os.path.isfile(path):
        fail(f"{path}: no such file")
    try:
        obj = torch.load(path, map_location="cpu")
    except Exception as e:  # a corrupt or foreign file: say so in one line
        fail(f"{path}: cannot load as a PyTorch checkpoint ({type(e).__name__}: {e})")
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj:
        fail(f"{path}: holds no state_dict")
    out = {}
    for name, value in obj.items():
        if not torch.is_tensor(value):
            fail(f"{path}: entry '{name}' is not a tensor")
        if name.startswith("module."):  # saved from DataParallel
            name = name[len("module."):]
        if not (name.endswith(".weight") or name.endswith(".bias")):
            fail(f"{path}: tensor '{name}' is neither a .weight nor a .bias; modeconn reads MLPs of Linear layers")
        if not value.is_floating_point():
            fail(f"{path}: tensor '{name}' has dtype {value.dtype}, not floating point")
        if name.endswith(".weight") and value.dim() != 2:
            fail(f"{path}: tensor '{name}' has shape {list(value.shape)}, not [out, in]")
        if not bool(torch.isfinite(value).all()):
            fail(f"{path}: tensor '{name}' holds a NaN or Inf")
        out[name] = value.detach().to(torch.float32).contiguous()
    return out


def write_safetensors(tensors, metadata, path):
    header = {"__metadata__": metadata}
    offset = 0
    blobs = []
    for name, t in tensors.items():
        data = t.numpy().tobytes()  # little-endian on every platform modeconn runs on
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=os.path.basename(path) + ".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for b in blobs:
                f.write(b)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint")
    p.add_argument("out")
    p.add_argument("--activation", default="relu", choices=ACTIVATIONS)
    p.add_argument("--task", default="classification", choices=TASKS)
    a = p.parse_args()
    if os.path.exists(a.out) and os.path.samefile(a.out, a.checkpoint):
        fail(f"{a.out}: is the checkpoint itself; refusing to overwrite it")
    tensors = load_state_dict(a.checkpoint)
    write_safetensors(tensors, {"modeconn.activation": a.activation, "modeconn.task": a.task}, a.out)


if __name__ == "__main__":
    main()
