#!/usr/bin/env python3
"""CNN paths against PyTorch float64, end to end: a VGG-style and a ResNet-style network (identity and 1x1
projection shortcuts), two of each trained here on Fashion-MNIST and exported with scripts/export_torch.py;
`modeconn path` with --bn keep, recompute and repair agrees with a float64 PyTorch loop at every t (recompute:
PyTorch's own BatchNorm run in train mode over the same rows; repair: an independent implementation of Jordan et
al.'s REPAIR); a planted channel permutation of a ResNet comes back exactly by weight and by activation matching;
weight matching lowers the recomputed-BatchNorm barrier; data of the wrong shape is refused naming both.

usage: cnn_path.py --modeconn BIN --export EXPORT_SCRIPT --work DIR
Exits 77 (reported as skipped) when PyTorch, NumPy or Fashion-MNIST is missing.
"""
import argparse
import json
import os
import subprocess
import sys

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "models", "cnns.py")
sys.path.insert(0, os.path.join(HERE, "models"))
sys.path.insert(0, HERE)
import cnns  # noqa: E402
import fashion_data  # noqa: E402
from graph_export import parse_groups, permuted, read_safetensors  # noqa: E402

failures = []
TS = [0.0, 0.25, 0.5, 0.75, 1.0]
BN_ROWS = 600


def expect(ok, message):
    if not ok:
        failures.append(message)
        print("FAIL:", message)


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def train(cls, seed, x, y, epochs=2):
    torch.manual_seed(seed)
    model = cls()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(epochs):
        order = torch.randperm(len(xt))
        for i in range(0, len(xt), 64):
            batch = order[i:i + 64]
            opt.zero_grad()
            F.cross_entropy(model(xt[batch]), yt[batch]).backward()
            opt.step()
    return model.eval()


def export(args, model, name):
    ckpt = os.path.join(args.work, f"{name}.pt")
    out = os.path.join(args.work, f"{name}.safetensors")
    torch.save({"state_dict": model.state_dict()}, ckpt)
    r = run([sys.executable, args.export, ckpt, out, "--model", f"{MODELS}:{type(model).__name__}",
             "--input-shape", "1,28,28"])
    expect(r.returncode == 0, f"export {name}: {r.stderr}")
    return out


def interpolated(a, b, t):
    m = type(a)().double()
    sa, sb = a.state_dict(), b.state_dict()
    m.load_state_dict({k: (1 - t) * sa[k].double() + t * sb[k].double() if sa[k].is_floating_point() else sa[k]
                       for k in sa})
    return m


def batch_norms(model):
    return [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]


def recompute(model, x_bn):
    """PyTorch's own BatchNorm in train mode over all rows at once: exact means and unbiased variances."""
    for bn in batch_norms(model):
        bn.reset_running_stats()
        bn.momentum = None
    model.train()
    with torch.no_grad():
        model(x_bn)
    return model.eval()


def output_moments(model, x_bn):
    """Each BatchNorm's output mean and (unbiased) standard deviation per channel, in eval mode."""
    seen = []
    hooks = [bn.register_forward_hook(lambda mod, i, o: seen.append(o.detach().clone())) for bn in batch_norms(model)]
    with torch.no_grad():
        model.eval()(x_bn)
    for h in hooks:
        h.remove()
    return [(o.mean((0, 2, 3)), o.transpose(0, 1).reshape(o.shape[1], -1).std(1)) for o in seen]


def repair(model, a, b, t, x_bn):
    """REPAIR (Jordan et al. 2023), written from the paper: each BatchNorm's output channels in the interpolated
    network rescaled and shifted to the interpolation of A's and B's statistics, one layer at a time."""
    targets = [((1 - t) * ma + t * mb, (1 - t) * sa + t * sb)
               for (ma, sa), (mb, sb) in zip(output_moments(a.double(), x_bn), output_moments(b.double(), x_bn))]
    for k, bn in enumerate(batch_norms(model)):
        mean, std = output_moments(model, x_bn)[k]
        target_mean, target_std = targets[k]
        gain = torch.where(std > 0, target_std / std, torch.zeros_like(std))
        with torch.no_grad():
            bn.weight.mul_(gain)
            bn.bias.copy_((bn.bias - mean) * gain + target_mean)
    return model


def reference(a, b, t, mode, x, y, x_bn):
    m = interpolated(a, b, t)
    if mode == "recompute":
        recompute(m, x_bn)
    elif mode == "repair":
        repair(m, a, b, t, x_bn)
    with torch.no_grad():
        logits = m.eval()(x)
    return F.cross_entropy(logits, y).item(), (logits.argmax(1) != y).double().mean().item()


def modeconn_path(args, fa, fb, mode, *extra):
    out = os.path.join(args.work, "path.json")
    r = run([args.modeconn, "path", "-q", "--a", fa, "--b", fb, "--data", args.data, "--points", "5", "--split",
             "test", "--bn", mode, "--bn-rows", str(BN_ROWS), "--json", out, *extra])
    expect(r.returncode == 0, f"path --bn {mode}: {r.stderr}")
    if r.returncode != 0:
        return None
    with open(out) as f:
        return json.load(f)


def check_parity(args, name, a, b, fa, fb, data):
    x = torch.from_numpy(data["test"][0]).double()
    y = torch.from_numpy(data["test"][1])
    x_bn = torch.from_numpy(data["train"][0][:BN_ROWS]).double()
    n = len(y)
    for mode in ("keep", "recompute", "repair"):
        j = modeconn_path(args, fa, fb, mode, "--align", "none")
        if j is None:
            continue
        expect(j["path"]["bn"] == mode, f"{name}: path.bn is {j['path'].get('bn')}, not {mode}")
        expect(j["t"] == TS, f"{name}: t = {j['t']}")
        for t, loss, err in zip(j["t"], j["splits"]["test"]["loss"], j["splits"]["test"]["error"]):
            ref_loss, ref_err = reference(a, b, t, mode, x, y, x_bn)
            print(f"{name} {mode:9s} t={t:.2f}  loss {loss:.7f} (torch {ref_loss:.7f})  error {err:.4f} "
                  f"(torch {ref_err:.4f})")
            expect(abs(loss - ref_loss) <= 1e-4 * abs(ref_loss),
                   f"{name} --bn {mode} t={t}: loss {loss} vs PyTorch float64 {ref_loss}")
            expect(abs(err - ref_err) <= 2.0 / n, f"{name} --bn {mode} t={t}: error {err} vs PyTorch {ref_err}")


def check_alignment(args, a, fa, fb):
    """A planted permutation of A comes back exactly by both methods; the aligned file's tensors are A's."""
    inspect = run([args.modeconn, "inspect", fa])
    groups = parse_groups(inspect.stdout)
    expect(len(groups) == 4, f"ResNet: {len(groups)} permutation groups, expected 4")
    g = torch.Generator().manual_seed(8)
    perms = [torch.randperm(size, generator=g) for size, _ in groups]
    planted = type(a)()
    planted.load_state_dict(permuted(a.state_dict(), groups, perms))
    fp = export(args, planted.eval(), "planted")
    _, ta = read_safetensors(fa)
    for method in ("weight", "activation"):
        back = os.path.join(args.work, f"back-{method}.safetensors")
        r = run([args.modeconn, "align", "-q", "--a", fa, "--b", fp, "--data", args.data, "--method", method,
                 "--out", back])
        expect(r.returncode == 0, f"align --method {method}: {r.stderr}")
        if r.returncode == 0:
            _, tb = read_safetensors(back)
            expect(all(np.array_equal(tb[k], ta[k]) for k in ta),
                   f"align --method {method}: the planted permutation did not come back exactly")

    # Two independent minima: the barrier with BatchNorm recomputed falls once B is aligned.
    j = modeconn_path(args, fa, fb, "recompute", "--align", "weight")
    if j:
        aligned = j["splits"]["test"]["barrier"]["loss"]["mean"]
        naive = j["naive"]["splits"]["test"]["barrier"]["loss"]["mean"]
        print(f"ResNet recomputed-BN loss barrier: naive {naive:.4f}, weight-matched {aligned:.4f}")
        expect(aligned < naive, f"weight matching did not lower the barrier: {naive} -> {aligned}")
        expect(j["align"]["function_check"]["max_output_difference"] <= j["align"]["function_check"]["tolerance"],
               "the aligned ResNet computes another function")


def check_bad_data(args, fa):
    wrong = os.path.join(args.work, "wrong")
    os.makedirs(wrong, exist_ok=True)
    for split in ("train", "test"):
        np.save(f"{wrong}/x_{split}.npy", np.zeros((4, 3, 32, 32), np.float32))
        np.save(f"{wrong}/y_{split}.npy", np.zeros(4, np.int64))
    out = os.path.join(args.work, "never.json")
    r = run([args.modeconn, "path", "-q", "--a", fa, "--b", fa, "--data", wrong, "--json", out])
    expect(r.returncode == 2 and r.stderr.count("\n") == 1 and "[3, 32, 32]" in r.stderr and "[1, 28, 28]" in
           r.stderr and "x_train.npy" in r.stderr and not os.path.exists(out),
           f"data of the wrong shape: rc {r.returncode}, {r.stderr!r}")
    mlp = os.path.join(args.work, "mlp.safetensors")
    r = run([args.modeconn, "train", "-q", "--data", args.data, "--hidden", "16", "--epochs", "1", "--out", mlp])
    expect(r.returncode == 0, f"train an MLP: {r.stderr}")
    r = run([args.modeconn, "path", "-q", "--a", fa, "--b", mlp, "--data", args.data, "--json", out])
    expect(r.returncode == 2 and r.stderr.count("\n") == 1 and "mlp.safetensors: holds an MLP" in r.stderr and
           not os.path.exists(out), f"an MLP beside a CNN: rc {r.returncode}, {r.stderr!r}")
    for bad, words in ((["--bn", "later"], "keep, recompute, repair"), (["--bn-rows", "1"], "--bn-rows"),
                       (["--bn-rows", "99999999"], "--bn-rows")):
        r = run([args.modeconn, "path", "-q", "--a", fa, "--b", fa, "--data", args.data, "--json", out, *bad])
        expect(r.returncode == 2 and words in r.stderr and not os.path.exists(out),
               f"{bad}: rc {r.returncode}, {r.stderr!r}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--modeconn", required=True)
    p.add_argument("--export", required=True)
    p.add_argument("--work", required=True)
    args = p.parse_args()
    fashion_data.require()
    os.makedirs(args.work, exist_ok=True)
    torch.set_num_threads(2)
    raw = fashion_data.load(2000, 600)
    data = {s: (x.reshape(-1, 1, 28, 28), y) for s, (x, y) in raw.items()}
    args.data = os.path.join(args.work, "fashion")
    fashion_data.save_npy_folder(data, args.data)

    for cls in (cnns.VGG, cnns.ResNet):
        name = cls.__name__
        a, b = train(cls, 1, *data["train"]), train(cls, 2, *data["train"])
        fa, fb = export(args, a, f"{name}-a"), export(args, b, f"{name}-b")
        check_parity(args, name, a, b, fa, fb, data)
        if cls is cnns.ResNet:
            check_alignment(args, a, fa, fb)
            check_bad_data(args, fa)
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("CNN paths agree with PyTorch float64")
    return 0


if __name__ == "__main__":
    sys.exit(main())
