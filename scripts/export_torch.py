#!/usr/bin/env python3
"""Turns a PyTorch MLP checkpoint (a state_dict, a dict holding one, or a whole nn.Module) into a
modeconn safetensors file: F32 tensors under their PyTorch names, with the activation, the task and
the layers' order (the state_dict's) in the metadata.

usage: export_torch.py CHECKPOINT OUT.safetensors [--activation relu] [--task classification]
       export_torch.py CHECKPOINT OUT.safetensors --model FILE.py:CLASS [--args JSON] --input-shape C,H,W

With --model the module is built, loaded from the checkpoint and traced with torch.fx into modeconn's layer
graph (nn.Sequential CNNs, VGG stacks, ResNets with identity and 1x1 shortcuts, functional relu, pools,
flatten and x + y); anything else is refused naming the op and the line of the model.
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


def load_state_dict(path, graph=False):
    """The checkpoint's tensors by name. For an MLP (graph False) every entry must be a Linear's weight or bias;
    with a graph the module decides which tensors it needs (BatchNorm's counter of batches is left out)."""
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
        if graph:
            if value.is_floating_point():
                out[name] = value.detach()
            continue
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


def export_graph(a):
    import torch

    import export_graph as eg

    if not a.input_shape:
        fail("--model needs --input-shape (C,H,W for images, D for flat data)")
    try:
        shape = [int(v) for v in a.input_shape.split(",")]
    except ValueError:
        shape = []
    if len(shape) not in (1, 3) or min(shape) < 1:
        fail(f"--input-shape {a.input_shape}: expected C,H,W or D, positive integers")
    cls, model_path = eg.load_class(a.model, fail)
    model = eg.build(cls, a.args, fail)
    if not isinstance(model, torch.nn.Module):
        fail(f"--model {a.model}: {cls.__name__} is not a torch.nn.Module")
    state = load_state_dict(a.checkpoint, graph=True)
    try:
        model.load_state_dict(state, strict=False)
    except RuntimeError as e:
        fail(f"{a.checkpoint}: does not fit {cls.__name__}: {str(e).splitlines()[0]}")
    missing = [k for k in model.state_dict() if k not in state and not k.endswith("num_batches_tracked")]
    if missing:
        fail(f"{a.checkpoint}: holds no '{missing[0]}', which {cls.__name__} needs")
    unexpected = [k for k in state if k not in model.state_dict()]
    if unexpected:
        fail(f"{a.checkpoint}: holds '{unexpected[0]}', which {cls.__name__} has not (another model's checkpoint?)")
    model.eval()
    try:
        with torch.no_grad():
            out = model(torch.zeros([2] + shape))
    except Exception as e:
        fail(f"--input-shape {a.input_shape}: {cls.__name__} cannot run on it ({type(e).__name__}: {e})")
    if out.dim() != 2:
        fail(f"{cls.__name__} returns shape {list(out.shape)[1:]} per sample; modeconn needs flat outputs")
    params = {k: v.detach() for k, v in model.state_dict().items() if v.is_floating_point()}
    try:
        graph, names = eg.trace_graph(model, shape, model_path, params)
    except eg.Unsupported as e:
        fail(f"--model {a.model}: unsupported: {e}")
    except Exception as e:  # torch.fx cannot trace data-dependent control flow
        fail(f"--model {a.model}: torch.fx cannot trace it ({type(e).__name__}: {str(e).splitlines()[0]})")
    tensors = {n: params[n].to(torch.float32).contiguous() for n in names}
    for n, t in tensors.items():
        if not bool(torch.isfinite(t).all()):
            fail(f"{a.checkpoint}: tensor '{n}' holds a NaN or Inf")
    metadata = {"modeconn.task": a.task, "modeconn.graph": json.dumps(graph)}
    write_safetensors(tensors, metadata, a.out)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint")
    p.add_argument("out")
    p.add_argument("--activation", default="relu", choices=ACTIVATIONS)
    p.add_argument("--task", default="classification", choices=TASKS)
    p.add_argument("--model", metavar="FILE.py:CLASS",
                   help="trace this module with torch.fx into a layer graph (CNNs, BatchNorm, residual adds)")
    p.add_argument("--args", metavar="JSON", help="the module's constructor arguments: a JSON list or object")
    p.add_argument("--input-shape", metavar="C,H,W",
                   help="with --model: one sample's shape, C,H,W for images or D for flat data")
    a = p.parse_args()
    if os.path.exists(a.out) and os.path.samefile(a.out, a.checkpoint):
        fail(f"{a.out}: is the checkpoint itself; refusing to overwrite it")
    if a.model:
        export_graph(a)
        return
    if a.args or a.input_shape:
        fail("--args and --input-shape go with --model")
    tensors = load_state_dict(a.checkpoint)
    # The state_dict's order is the order the modules were registered, which is the forward order in nearly
    # every model; names alone are not (input_layer, hidden1, output). modeconn reads the layers in this order.
    layers = []
    for name in tensors:
        prefix = name.rsplit(".", 1)[0] if "." in name else ""
        if prefix not in layers:
            layers.append(prefix)
    metadata = {"modeconn.activation": a.activation, "modeconn.task": a.task,
                "modeconn.layers": json.dumps(layers)}
    write_safetensors(tensors, metadata, a.out)


if __name__ == "__main__":
    main()
