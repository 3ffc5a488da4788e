#!/usr/bin/env python3
"""modeconn path on a ResNet-style CNN (whole process) against the PyTorch loop peers write, same threads: for
each of 25 points, load the interpolated state_dict, recompute BatchNorm on the first 2,000 training rows
(train mode, one batch, momentum None: exact statistics, as modeconn's --bn recompute), then evaluate the
10,000 Fashion-MNIST test rows. The ResNet is tests/e2e/models/cnns.py's (identity and 1x1-projection
shortcuts, BatchNorm after every convolution), exported with scripts/export_torch.py.

With --device cuda both sides run on the GPU (modeconn's CUDA backend, PyTorch's CUDA tensors) at the same
--precision: fp32 turns off the TF32 that PyTorch's convolutions use by default on the GPU
(torch.backends.cudnn.allow_tf32), tf32 turns it on for both. Where
Fashion-MNIST is not installed (the GPU machine), the rows are uniform random images of the same shape: the
cost of either side does not depend on the pixel values.

The PyTorch loop runs in the interpreter --python names (default: this one), e.g. PyPI's PyTorch in the
virtual environment bench/compare/make-peer-venv.sh makes; it is timed inside that process, which is kept
between runs. The header gives its versions as that interpreter reports them.

usage: cnn_path_vs_torch.py [--modeconn BIN] [--threads N] [--runs 3] [--width 16] [--points 25]
                            [--device cpu|cuda] [--precision fp32|tf32] [--test-rows 10000] [--python PATH]
"""
import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../.."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests/e2e"))
sys.path.insert(0, os.path.join(ROOT, "tests/e2e/models"))
import common  # noqa: E402

BN_ROWS = 2000


def torch_loop_seconds(cls, width, states, x_bn, x, y, threads, points, device, precision):
    import torch

    torch.set_num_threads(threads)
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
    model = cls(width=width).to(device)
    states = [{k: v.to(device) for k, v in s.items()} for s in states]
    x_bn, x, y = x_bn.to(device), x.to(device), y.to(device)
    t0 = time.perf_counter()
    with torch.no_grad():
        for i in range(points):
            t = i / (points - 1)
            model.load_state_dict({k: (1 - t) * states[0][k] + t * states[1][k] if states[0][k].is_floating_point()
                                   else states[0][k] for k in states[0]})
            for m in model.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.reset_running_stats()
                    m.momentum = None
            model.train()
            model(x_bn)
            model.eval()
            loss = err = 0.0
            for b in range(0, len(x), 1000):
                logits = model(x[b:b + 1000])
                loss += torch.nn.functional.cross_entropy(logits, y[b:b + 1000], reduction="sum").item()
                err += (logits.argmax(1) != y[b:b + 1000]).sum().item()
    return time.perf_counter() - t0


def peer_loop(width, states, rows, threads, points, device, precision):
    """torch_loop_seconds on cnns.ResNet, from the driver's files: the two state_dicts (.npz) and the BatchNorm
    rows, test rows and labels (.npy)."""
    import numpy as np
    import torch

    import cnns

    states = [{k: torch.from_numpy(v) for k, v in np.load(s).items()} for s in states]
    x_bn, x, y = (torch.from_numpy(np.load(r)) for r in rows)
    return torch_loop_seconds(cnns.ResNet, width, states, x_bn, x, y, threads, points, device, precision)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--modeconn", help="the executable (default: build/host/modeconn, built if missing)")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--width", type=int, default=16, help="channels of the first stage (the second has twice)")
    p.add_argument("--points", type=int, default=25)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--test-rows", type=int, default=10000)
    p.add_argument("--precision", choices=("fp32", "tf32"), default="fp32")
    common.add_peer_option(p)
    a = p.parse_args()
    if a.peer_serve:
        return common.serve({"loop": peer_loop, "cuda": common.cuda_missing})
    a.modeconn = a.modeconn or common.built("host/modeconn")
    import numpy as np
    import torch

    import cnns
    import fashion_data

    versions = common.peer_versions(a.python, ("torch", "numpy"))
    peer = common.Peer(a.python, __file__)
    if a.device == "cuda":
        why = peer("cuda")
        if why:
            print(f"cnn_path_vs_torch.py --device cuda: skipped, {why} (--python {a.python})")
            return
    work = common.workdir()
    if os.path.isdir(fashion_data.FASHION) and a.test_rows <= 10000:
        data = fashion_data.load(BN_ROWS, a.test_rows)
        data_arg, source = "builtin:fashion-mnist", "Fashion-MNIST"
    else:
        rng = np.random.default_rng(0)
        data = {split: (rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n).astype(np.int64))
                for split, n in (("train", BN_ROWS), ("test", a.test_rows))}
        fashion_data.save_npy_folder(data, f"{work}/data")
        data_arg, source = f"{work}/data", "random 1x28x28 images"
    rows = [f"{work}/peer_{name}.npy" for name in ("x_bn", "x", "y")]
    for path, array in zip(rows, (data["train"][0].reshape(-1, 1, 28, 28), data["test"][0].reshape(-1, 1, 28, 28),
                                  data["test"][1])):
        np.save(path, array)
    states, files, peer_states = [], [], []
    for seed in (1, 2):
        torch.manual_seed(seed)
        model = cnns.ResNet(width=a.width)
        for m in model.modules():  # statistics away from their defaults: the cost does not depend on them
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_var.uniform_(0.5, 2)
        states.append(model.state_dict())
        peer_states.append(f"{work}/m{seed}.npz")
        np.savez(peer_states[-1], **{k: v.numpy() for k, v in model.state_dict().items()})
        ckpt, out = f"{work}/m{seed}.pt", f"{work}/m{seed}.safetensors"
        torch.save(model.state_dict(), ckpt)
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts/export_torch.py"), ckpt, out, "--model",
                        os.path.join(ROOT, "tests/e2e/models/cnns.py") + ":ResNet", "--args",
                        f'{{"width": {a.width}}}', "--input-shape", "1,28,28"], check=True, stdout=subprocess.DEVNULL)
        files.append(out)
    cmd = [a.modeconn, "path", "-q", "--threads", str(a.threads), "--a", files[0], "--b", files[1], "--data",
           data_arg, "--split", "test", "--points", str(a.points), "--align", "none", "--bn", "recompute",
           "--bn-rows", str(BN_ROWS), "--device", a.device, "--precision", a.precision, "--json", f"{work}/p.json"]
    print(f"{common.machine()}; threads {a.threads}; device {a.device} {a.precision}; median of {a.runs} "
          "alternated runs")
    print(f"peer: {versions}")
    print(f"ResNet width {a.width}/{2 * a.width}, {sum(v.numel() for k, v in states[0].items() if 'running' not in k and 'num_batches' not in k)} "
          f"parameters; {a.points} points, BatchNorm recomputed on {BN_ROWS} train rows, {a.test_rows} test rows ({source})")
    tm, tt = common.alternate(a.runs, lambda: common.time_process(cmd),
                              lambda: peer("loop", width=a.width, states=peer_states, rows=rows, threads=a.threads,
                                           points=a.points, device=a.device, precision=a.precision))
    print(f"{'modeconn path s':>16} {'torch loop s':>13} {'ratio':>7}")
    print(f"{tm:>16.2f} {tt:>13.2f} {tt / tm:>6.2f}x")


if __name__ == "__main__":
    main()
