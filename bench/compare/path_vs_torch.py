#!/usr/bin/env python3
"""modeconn path (whole process) against the PyTorch loop peers write (for each t: interpolate the state dict,
load it, forward the split, loss and error), same threads. Prints one row per case and the ratio: the two
target cases, then how the cost grows with width, depth and samples (25 points) and with the points.
--json writes the rows for `scripts/plot.py`, which draws them.

With --device cuda both run on the GPU at the same precision (--precision fp32 or tf32) over the GPU
benchmark's two regimes: small (784-128-128-10, 10k samples, bound by launches and synchronisation) and large
(784-512-512-512-10 and 784-1024-1024-10, 60k samples, bound by GEMMs). Without PyTorch with CUDA it says so and
exits 0. On the GPU the loop alone (data already on the device) is a small part of either side's wall time, so a
third column times the PyTorch script as a whole process too (interpreter, import, CUDA start-up, reading the
data, the loop), the same way modeconn is timed; the ratio is taken against it, and against the loop alone.

The PyTorch side runs in the interpreter --python names (default: this one), e.g. PyPI's PyTorch in the
virtual environment bench/compare/make-peer-venv.sh makes; the loop is timed inside that process, which is
kept between runs. The header, and --json's "peer", give its versions as that interpreter reports them.

usage: path_vs_torch.py [--modeconn BIN] [--threads N] [--runs 3] [--quick] [--json OUT.json]
                        [--device cpu|cuda] [--precision fp32|tf32] [--python PATH]
"""
import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

POINTS = 25


def torch_loop_seconds(widths, files, folder, threads, points, device="cpu", precision="fp32"):
    import time

    import numpy as np
    import torch

    torch.set_num_threads(threads)
    torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
    layers = []
    for l in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[l], widths[l + 1]))
        if l + 2 < len(widths):
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers).to(device)
    a = {k: torch.from_numpy(v).to(device) for k, v in files[0].items()}
    b = {k: torch.from_numpy(v).to(device) for k, v in files[1].items()}
    x = torch.from_numpy(np.load(f"{folder}/x_test.npy")).to(device)
    y = torch.from_numpy(np.load(f"{folder}/y_test.npy")).to(device)
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    with torch.no_grad():
        for i in range(points):
            t = i / (points - 1)
            model.load_state_dict({k: (1 - t) * a[k] + t * b[k] for k in a})
            logits = model(x)
            torch.nn.functional.cross_entropy(logits, y).item()
            (logits.argmax(1) != y).float().mean().item()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def peer_loop(widths, models, folder, threads, points, device, precision):
    """torch_loop_seconds on the two models modeconn reads (safetensors files)."""
    files = [common.read_safetensors(m) for m in models]
    return torch_loop_seconds(widths, files, folder, threads, points, device, precision)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--modeconn", help="the executable (default: build/host/modeconn, built if missing)")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="the two target cases only")
    p.add_argument("--json", help="write the rows here, for scripts/plot.py")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--precision", choices=("fp32", "tf32"), default="fp32")
    p.add_argument("--peer-process", help=argparse.SUPPRESS)  # JSON: run the PyTorch loop alone, then exit
    common.add_peer_option(p)
    a = p.parse_args()
    if a.peer_serve:
        return common.serve({"loop": peer_loop, "cuda": common.cuda_missing})
    if a.peer_process:
        c = json.loads(a.peer_process)
        peer_loop(c["widths"], c["models"], c["folder"], a.threads, c["points"], a.device, a.precision)
        return
    a.modeconn = a.modeconn or common.built("host/modeconn")
    info = common.peer_info(a.python, ("torch", "numpy"))
    peer = common.Peer(a.python, __file__)
    if a.device == "cuda":
        why = peer("cuda")
        if why:
            print(f"path_vs_torch.py --device cuda: skipped, no PyTorch peer on the GPU ({why}; --python {a.python})")
            return
        cases = [([784, 128, 128, 10], 10000, POINTS), ([784, 512, 512, 512, 10], 60000, POINTS),
                 ([784, 1024, 1024, 10], 60000, POINTS)]
    else:
        cases = [([784, 512, 512, 512, 10], 10000, POINTS), ([3072, 512, 512, 10], 10000, POINTS)]
    if not a.quick and a.device == "cpu":
        for h in (256, 1024, 4096):
            for depth in (1, 2, 3):
                for n in (10000, 60000):
                    if (h == 4096 and (depth > 1 or n > 10000)) or (h == 1024 and n > 10000):
                        continue  # tens of minutes of PyTorch loop on two cores
                    cases.append(([784] + [h] * depth + [10], n, POINTS))
        for widths in ([784, 1024, 10], [784, 512, 512, 512, 10]):
            for points in (5, 100):
                cases.append((widths, 10000, points))
    print(f"{common.machine()}; threads {a.threads}; device {a.device} {a.precision}; median of {a.runs} "
          "alternated runs")
    print(f"peer: {common.format_peer(info)}")
    print(f"{'model':<26} {'samples':>8} {'points':>6} {'modeconn s':>11} {'torch loop s':>13} {'ratio':>7}"
          + (f" {'torch process s':>15} {'ratio':>7}" if a.device == "cuda" else ""))
    rows = []
    for widths, n, points in cases:
        work = common.workdir()
        folder = f"{work}/data"
        common.random_data(folder, widths[0], 100, n)
        models = [f"{work}/m{i}.safetensors" for i in (0, 1)]
        for s, m in zip((1, 2), models):
            common.write_safetensors(m, common.random_mlp(widths, s))
        cmd = [a.modeconn, "path", "-q", "--threads", str(a.threads), "--a", models[0], "--b", models[1], "--data",
               folder, "--split", "test", "--points", str(points), "--align", "none", "--device", a.device,
               "--precision", a.precision, "--json", f"{work}/p.json"]
        tm, tt = common.alternate(a.runs, lambda: common.time_process(cmd),
                                  lambda: peer("loop", widths=widths, models=models, folder=folder,
                                               threads=a.threads, points=points, device=a.device,
                                               precision=a.precision))
        name = "-".join(map(str, widths))
        row = {"model": name, "widths": widths, "samples": n, "points": points, "modeconn_s": tm, "peer_s": tt,
               "ratio": tt / tm}
        line = f"{name:<26} {n:>8} {points:>6} {tm:>11.3f} {tt:>13.3f} {tt / tm:>6.2f}x"
        if a.device == "cuda":
            whole = common.peer_command(a.python, __file__, [
                "--device", a.device, "--precision", a.precision, "--threads", a.threads, "--peer-process",
                json.dumps({"widths": widths, "models": models, "folder": folder, "points": points})])
            tp = statistics.median(common.time_process(whole) for _ in range(a.runs))
            row.update(peer_process_s=tp, process_ratio=tp / tm)
            line += f" {tp:>15.3f} {tp / tm:>6.2f}x"
        print(line, flush=True)
        rows.append(row)
    if a.json:
        common.write_json(a.json, {"benchmark": f"path_vs_torch ({a.device}, {a.precision})",
                                   "peer": {"name": "PyTorch loop", "description": common.format_peer(info), **info},
                                   "machine": common.machine(), "threads": a.threads, "runs": a.runs,
                                   "versions": {k: info[k] for k in ("torch", "numpy")}, "rows": rows})


if __name__ == "__main__":
    main()
