"""Shared by the comparison scripts: random models and data in modeconn's formats, timing, the table, and the
peer (PyTorch, NumPy, SciPy) run by an interpreter of the user's choice (--python)."""
import argparse
import atexit
import json
import os
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import traceback

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
    """The tensors of an F32 safetensors file (as modeconn writes them), by name; writable, as
    torch.from_numpy wants them."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = bytearray(f.read())
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


# --- the peer ----------------------------------------------------------------------------------------------
# The peer side (the PyTorch loop, the NumPy/SciPy reference) runs in an interpreter of the user's choice
# (--python), so that one checkout can time modeconn against Debian's PyTorch and against PyPI's
# (make-peer-venv.sh). Each script serves its peer functions itself: the interpreter runs the script's own
# file with --peer-serve, which only needs NumPy, PyTorch and SciPy, never modeconn or the driver's packages.

HERE = os.path.dirname(os.path.abspath(__file__))


def add_peer_option(parser):
    """--python, and the hidden --peer-serve the script runs as in the peer's interpreter (Peer below)."""
    parser.add_argument("--python", default=sys.executable, metavar="PATH",
                        help="the Python interpreter that runs the peer side (PyTorch, NumPy, SciPy), e.g. "
                             ".venv-peer/bin/python from bench/compare/make-peer-venv.sh (default: the one running "
                             "this script, %(default)s)")
    parser.add_argument("--peer-serve", action="store_true", help=argparse.SUPPRESS)


def peer_command(python, script, args=()):
    """The command that runs comparison script `script` with `python` (not resolved: a venv's bin/python is
    a link whose target would lose the venv)."""
    return [python, os.path.abspath(script), *map(str, args)]


class Peer:
    """The script's peer functions, run by `python` in one process kept between calls. Every call times its
    own loop inside that process, as the script did in its own: loading and interpreter start stay outside
    the timing, and from the second run on the process is as warm as the script's was."""

    def __init__(self, python, script):
        self.python = python
        self.proc = subprocess.Popen(peer_command(python, script, ["--peer-serve"]), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        atexit.register(self.close)

    def __call__(self, name, **kwargs):
        """peer function `name`(**kwargs) in the peer's process; arguments and result travel as JSON, so large
        arrays go by file name."""
        self.proc.stdin.write(json.dumps({"call": name, "kwargs": kwargs}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            sys.exit(f"the peer ({self.python}) exited with status {self.proc.wait()} in {name}")
        reply = json.loads(line)
        if "error" in reply:
            sys.exit(f"the peer ({self.python}) failed in {name}:\n{reply['error']}")
        return reply["result"]

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait()


def cuda_missing():
    """Why this interpreter's PyTorch cannot run on the GPU, or None when it can (a peer function: the driver's
    own PyTorch, if any, says nothing about the peer's)."""
    try:
        import torch
    except ImportError as e:
        return str(e)
    return None if torch.cuda.is_available() else "PyTorch has no usable CUDA device"


def _plain(value):
    """NumPy values as JSON can hold them."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} does not go into JSON")


def serve(functions):
    """The peer's end of Peer: one JSON request a line on standard input, one JSON reply a line on the
    standard output it had when it started. Whatever else writes to standard output (a library's notice,
    from Python or C) goes to standard error instead, where it cannot break a reply."""
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    for line in sys.stdin:
        request = json.loads(line)
        try:
            reply = {"result": functions[request["call"]](**request["kwargs"])}
        except Exception:
            reply = {"error": traceback.format_exc()}
        replies.write(json.dumps(reply, default=_plain) + "\n")
        replies.flush()


def _torch_blas(torch):
    """Which BLAS this PyTorch multiplies with, from its build information."""
    text = torch.__config__.show()
    parts = []
    m = re.search(r"BLAS_INFO=([^,\s]+)", text)
    if m:
        parts.append(f"BLAS_INFO={m.group(1)}")
    m = re.search(r"Math Kernel Library Version ([\w.]+)", text)
    parts.append(f"MKL {m.group(1)}" if m else "MKL" if torch.backends.mkl.is_available() else "no MKL")
    m = re.search(r"MKL-DNN v([\w.]+)", text)
    if m:
        parts.append(f"oneDNN {m.group(1)}")
    if torch.version.cuda:
        parts.append(f"CUDA {torch.version.cuda}")
    return ", ".join(parts)


def _numpy_blas():
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]  # NumPy 1.26 and later
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except TypeError:  # earlier NumPy: no mode, the distutils build information instead
        info = getattr(np.__config__, "blas_opt_info", None) or {}
        return "/".join(sorted(set(info.get("libraries", [])))) or "unknown"
    except Exception:
        return "unknown"


def _loaded_blas():
    """The BLAS and LAPACK libraries this process has mapped. Debian's packages are built against the generic
    libblas.so.3, an alternatives link: only its loaded path (openblas-pthread/...) says which one runs."""
    found = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                fields = line.split(None, 5)
                if len(fields) == 6 and re.search(r"blas|mkl|lapack", os.path.basename(fields[5]), re.I) \
                        and "cublas" not in fields[5]:  # the GPU's, listed by the CUDA line already
                    path = fields[5].strip()
                    found.add(os.path.join(os.path.basename(os.path.dirname(path)), os.path.basename(path)))
    except OSError:
        pass
    return sorted(found)


def describe(modules):
    """This interpreter's versions of `modules` (torch, numpy, scipy) and their BLAS; run in the peer's
    interpreter by peer_info."""
    out = {"python": sys.executable, "python_version": sys.version.split()[0]}
    if "torch" in modules:
        import torch
        out["torch"] = torch.__version__
        out["torch_blas"] = _torch_blas(torch)
    if "numpy" in modules:
        out["numpy"] = np.__version__
        out["numpy_blas"] = _numpy_blas()
    if "scipy" in modules:
        import scipy
        out["scipy"] = scipy.__version__
    out["blas_loaded"] = _loaded_blas()
    return out


def peer_info(python, modules=("torch", "numpy")):
    """describe(modules) as the interpreter `python` answers it (one run of it). Exits with its error when it
    cannot run or lacks a module, before any work is done."""
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); import common; "
            "print(json.dumps(common.describe(sys.argv[2:])))")
    try:
        r = subprocess.run([python, "-c", code, HERE, *modules], capture_output=True, text=True)
    except OSError as e:
        sys.exit(f"--python {python}: {e}")
    if r.returncode != 0:
        sys.exit(f"--python {python} cannot run the peer (it needs {', '.join(modules)}):\n{r.stderr.strip()}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def format_peer(info):
    """peer_info's answer as one line."""
    parts = [f"Python {info['python_version']} ({info['python']})"]
    if "torch" in info:
        parts.append(f"torch {info['torch']} ({info['torch_blas']})")
    if "numpy" in info:
        parts.append(f"numpy {info['numpy']} (BLAS {info['numpy_blas']})")
    if "scipy" in info:
        parts.append(f"scipy {info['scipy']}")
    if info.get("blas_loaded"):
        parts.append(f"loaded {', '.join(info['blas_loaded'])}")
    return "; ".join(parts)


def peer_versions(python, modules=("torch", "numpy")):
    """The peer's versions as its own interpreter reports them, as one line for a table's header."""
    return format_peer(peer_info(python, modules))
