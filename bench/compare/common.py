"""Shared by the comparison scripts: random models and data in modeconn's formats, timing, and the table."""
import atexit
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np


def write_safetensors(path, tensors, activation="relu"):
    header = {"__metadata__": {"modeconn.activation": activation, "modeconn.task": "classification"}}
    offset, blobs = 0, []
    for name, a in tensors.items():
        data = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_safetensors(path):
    """The tensors of an F32 safetensors file (as modeconn writes them), by name."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    return {k: np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]], dtype="<f4").reshape(v["shape"])
            for k, v in header.items() if k != "__metadata__"}


def torch_mlp(widths, state=None):
    """nn.Sequential of Linear layers with ReLU between them (the names random_mlp writes), loaded with `state`."""
    import torch

    layers = []
    for l in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[l], widths[l + 1]))
        if l + 2 < len(widths):
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    if state is not None:
        net.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    return net


def random_mlp(widths, seed):
    """PyTorch-style names (nn.Sequential: Linear at even indices) and PyTorch's default init range."""
    rng = np.random.default_rng(seed)
    out = {}
    for l in range(len(widths) - 1):
        bound = 1 / np.sqrt(widths[l])
        out[f"{2 * l}.weight"] = rng.uniform(-bound, bound, (widths[l + 1], widths[l])).astype(np.float32)
        out[f"{2 * l}.bias"] = rng.uniform(-bound, bound, widths[l + 1]).astype(np.float32)
    return out


def random_data(folder, features, n_train, n_test, classes=10, seed=0):
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    for split, n in (("train", n_train), ("test", n_test)):
        np.save(f"{folder}/x_{split}.npy", rng.random((n, features), dtype=np.float32))
        np.save(f"{folder}/y_{split}.npy", rng.integers(0, classes, n).astype(np.int64))


def time_process(cmd):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def alternate(runs, a, b):
    """Times a() and b() alternately, `runs` times each; returns the two medians."""
    ta, tb = [], []
    for _ in range(runs):
        ta.append(a())
        tb.append(b())
    return statistics.median(ta), statistics.median(tb)


def built(relative):
    """build/<relative> of this checkout, building it first (scripts/setup.sh, scripts/build.sh) when it is not
    there, so that every comparison runs from a fresh checkout with one command."""
    root = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../.."))
    path = os.path.join(root, "build", relative)
    if not os.path.exists(path):
        print(f"{path} is missing: building (scripts/setup.sh, scripts/build.sh)", file=sys.stderr, flush=True)
        subprocess.run([os.path.join(root, "scripts/setup.sh")], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([os.path.join(root, "scripts/build.sh")], check=True, stdout=subprocess.DEVNULL)
    return path


def workdir():
    """A fresh temporary folder, removed when the script exits (the data can run to gigabytes)."""
    folder = tempfile.mkdtemp(prefix="modeconn-compare-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def machine():
    """The processor's name and the cores this process may use."""
    name = "unknown processor"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{name}, {len(os.sched_getaffinity(0))} cores"


def write_json(path, payload):
    """Written whole, then renamed: an interrupted run leaves no half file."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(payload, f, indent=1)
    os.replace(tmp, path)


def versions():
    import torch
    out = {"torch": torch.__version__, "numpy": np.__version__}
    try:
        import scipy
        out["scipy"] = scipy.__version__
    except ImportError:
        pass
    return out
