#!/usr/bin/env python3
"""modeconn align (whole process: load, weight matching, function check, write) against Git Re-Basin's weight
matching written with NumPy and scipy.optimize.linear_sum_assignment (the algorithm alone), MLPs
784-w-w-w-10, same threads. With --rebasin also the `rebasin` package from PyPI (PermutationCoordinateDescent,
construction and rebasin() timed), installed into a virtualenv this script makes on top of the peer's PyTorch
(build/bench-venv for Debian's /usr/bin/python3; needs the network once).

The reference (and rebasin's PyTorch) runs in the interpreter --python names (default: this one), e.g. PyPI's
NumPy and SciPy in the virtual environment bench/compare/make-peer-venv.sh makes; it times itself there, in
one process kept between runs. The header gives its versions as that interpreter reports them.

usage: align_vs_scipy.py [--modeconn BIN] [--widths 512,1024,2048] [--runs 3] [--rebasin] [--python PATH]
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "../../tests/e2e"))
import common  # noqa: E402


def peer_reference(models, widths):
    """The reference's weight matching alone, in float64 as the tests run it, on the models modeconn reads."""
    from rebasin_reference import weight_matching  # the reference the tests check modeconn against

    states = [common.read_safetensors(m) for m in models]
    layers = [[(m[f"{2 * l}.weight"].astype(np.float64), m[f"{2 * l}.bias"].astype(np.float64))
               for l in range(len(widths) - 1)] for m in states]
    t0 = time.perf_counter()
    weight_matching(layers[0], layers[1], seed=0)
    return time.perf_counter() - t0


def interpreter_site(python):
    """`python`'s prefix and site-packages folders, as it reports them."""
    code = "import json, site, sys; print(json.dumps([sys.prefix, site.getsitepackages()]))"
    return json.loads(subprocess.run([python, "-c", code], check=True, capture_output=True, text=True).stdout)


def default_venv(python):
    """build/bench-venv for Debian's interpreter (where it has always been), one folder per other one."""
    prefix = interpreter_site(python)[0]
    name = "bench-venv" if prefix == "/usr" else "bench-venv-" + hashlib.sha1(prefix.encode()).hexdigest()[:8]
    return os.path.join(HERE, "../../build", name)


def rebasin_python(venv, python):
    """The virtualenv's interpreter with `rebasin` importable, made on first use on top of `python`'s packages
    (PyTorch, NumPy, SciPy); the pure-Python dependencies come from PyPI. A .pth file names `python`'s
    site-packages: --system-site-packages would reach only the base interpreter's, not a virtualenv's."""
    rebasin = os.path.join(venv, "bin", "python")
    if not os.path.exists(rebasin):
        subprocess.run([python, "-m", "venv", venv], check=True)
        own = interpreter_site(rebasin)[1][0]
        with open(os.path.join(own, "peer-site-packages.pth"), "w") as f:
            f.write("\n".join(interpreter_site(python)[1]) + "\n")
    if subprocess.run([rebasin, "-c", "import rebasin"], capture_output=True).returncode != 0:
        subprocess.run([rebasin, "-m", "pip", "install", "-q", "--no-deps", "rebasin==0.0.47", "tqdm", "graphviz",
                        "torchview"], check=True)
    return rebasin


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--modeconn", help="the executable (default: build/host/modeconn, built if missing)")
    p.add_argument("--widths", default="512,1024,2048")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--rebasin", action="store_true", help="also time the rebasin package from PyPI")
    p.add_argument("--venv", help="rebasin's virtualenv (default: build/bench-venv for /usr/bin/python3, "
                                  "build/bench-venv-HASH for another --python)")
    common.add_peer_option(p)
    a = p.parse_args()
    if a.peer_serve:
        return common.serve({"reference": peer_reference})
    a.modeconn = a.modeconn or common.built("host/modeconn")
    versions = common.peer_versions(a.python, ("numpy", "scipy") + (("torch",) if a.rebasin else ()))
    peer_python = rebasin_python(os.path.abspath(a.venv or default_venv(a.python)), a.python) if a.rebasin else None
    os.environ["OPENBLAS_NUM_THREADS"] = str(a.threads)  # the peer's BLAS threads: set before it starts
    peer = common.Peer(a.python, __file__)
    print(f"{common.machine()}; threads {a.threads}; median of {a.runs} alternated runs")
    print(f"peer: {versions}" + (f"; rebasin run by {peer_python}" if peer_python else ""))
    print(f"{'model':<24} {'modeconn s':>11} {'scipy ref s':>12} {'ratio':>7}"
          + (f" {'rebasin s':>10} {'ratio':>7}" if peer_python else ""))
    for w in map(int, a.widths.split(",")):
        widths = [784, w, w, w, 10]
        work = common.workdir()
        models = [common.random_mlp(widths, s) for s in (1, 2)]
        files = [f"{work}/m{i}.safetensors" for i in (0, 1)]
        for m, f in zip(models, files):
            common.write_safetensors(f, m)
        cmd = [a.modeconn, "align", "-q", "--threads", str(a.threads), "--a", files[0], "--b", files[1],
               "--method", "weight", "--out", f"{work}/aligned.safetensors"]
        tm, tr = common.alternate(a.runs, lambda: common.time_process(cmd),
                                  lambda: peer("reference", models=files, widths=widths))
        line = f"{'-'.join(map(str, widths)):<24} {tm:>11.3f} {tr:>12.3f} {tr / tm:>6.2f}x"
        if peer_python:
            for i, m in enumerate(models):
                np.savez(f"{work}/m{i}.npz", **m)
            out = subprocess.run([peer_python, os.path.join(HERE, "rebasin_peer.py"), f"{work}/m0.npz",
                                  f"{work}/m1.npz", "-".join(map(str, widths)), str(a.runs), str(a.threads)],
                                 check=True, capture_output=True, text=True).stdout
            tp = float(out.strip().splitlines()[-1])
            line += f" {tp:>10.3f} {tp / tm:>6.2f}x"
        print(line, flush=True)


if __name__ == "__main__":
    main()
