#!/usr/bin/env python3
"""Export from PyTorch, end to end: scripts/export_torch.py --model traces a ResNet (identity and projection
shortcuts, functional style, x.view(x.size(0), -1)) and a VGG-style nn.Sequential stack into layer graphs whose
every tensor, parameter count and shape `modeconn inspect` reports as PyTorch has them; an MLP whose layer names
do not sort into forward order evaluates to PyTorch's float64 loss whether exported with or without --model;
unsupported models and wrong arguments are refused in one line naming the op and the line of the model.

usage: graph_export.py --modeconn BIN --export EXPORT_SCRIPT --work DIR
Exits 77 (reported as skipped) when PyTorch or NumPy is not installed.
"""
import argparse
import json
import os
import re
import struct
import subprocess
import sys

try:
    import numpy as np
    import torch
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "models", "cnns.py")
sys.path.insert(0, os.path.join(HERE, "models"))
import cnns  # noqa: E402

failures = []


def expect(ok, message):
    if not ok:
        failures.append(message)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype=np.float32).reshape(info["shape"])
    return header.get("__metadata__", {}), tensors


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def export(args, ckpt, out, *extra):
    return run([sys.executable, args.export, ckpt, out, *extra])


def randomise_batch_norm(model, seed):
    """Running statistics and affine parameters away from their defaults, so that a swapped tensor shows."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(m.num_features, generator=g))
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g))


def check_graph_file(args, name, model, path):
    meta, tensors = read_safetensors(path)
    expect("modeconn.graph" in meta, f"{name}: no modeconn.graph in the metadata")
    state = model.state_dict()
    for key, value in state.items():
        if key.endswith("num_batches_tracked"):
            continue
        expect(key in tensors, f"{name}: tensor {key} not exported")
        if key in tensors:
            expect(np.array_equal(tensors[key], value.numpy()), f"{name}: tensor {key} differs from PyTorch's")
    r = run([args.modeconn, "inspect", path])
    expect(r.returncode == 0, f"{name}: inspect failed: {r.stderr}")
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for k, b in state.items() if "running_" in k)
    m = re.search(r"parameters\s+(\d+) \(and (\d+) BatchNorm running statistics\)", r.stdout)
    expect(m and int(m.group(1)) == params and int(m.group(2)) == buffers,
           f"{name}: inspect says {m.groups() if m else r.stdout!r}, PyTorch {params} parameters, {buffers} buffers")
    # The table's last row, the output node: the logits.
    last = r.stdout.split("\n\n  permutation groups")[0].strip().splitlines()[-1]
    expect(re.search(r"\s10\s+\d+\s*$", last) is not None, f"{name}: the last node does not output 10: {last}")
    check_symmetries(name, model, r.stdout)


def parse_groups(text):
    """The permutation groups `inspect` lists: [(channels, [(tensor, axis, block), ...]), ...]."""
    groups = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"\s+group\s+\d+\s+(\d+) channels", line)
        if m:
            axes = []
            for token in lines[i + 1].split()[1:]:
                tensor, rest = token.rsplit(":", 1)
                axis, _, block = rest.partition("/")
                axes.append((tensor, int(axis), int(block or 1)))
            groups.append((int(m.group(1)), axes))
    return groups


def permuted(state, groups, perms, skip=None):
    """The state_dict with each group's permutation applied along every axis it lists (but `skip`)."""
    out = {k: v.clone() for k, v in state.items()}
    for (size, axes), perm in zip(groups, perms):
        for a in axes:
            if a == skip:
                continue
            tensor, axis, block = a
            t = out[tensor]
            index = (perm[:, None] * block + torch.arange(block)[None, :]).reshape(-1)
            out[tensor] = t.index_select(axis, index)
    return out


def check_symmetries(name, model, text):
    """The groups modeconn derives from the graph, applied in PyTorch, keep the function; leaving out any one
    axis of a group does not (so every axis listed is needed, and the check can fail)."""
    m = re.search(r"permutation groups\s+(\d+)", text)
    groups = parse_groups(text)
    expect(m is not None and int(m.group(1)) == len(groups) > 0, f"{name}: no permutation groups in {text!r}")
    if not groups:
        return
    g = torch.Generator().manual_seed(5)
    perms = [torch.randperm(size, generator=g) for size, _ in groups]
    x = torch.randn(16, 1, 28, 28, generator=g)
    state = model.state_dict()
    with torch.no_grad():
        reference = model.eval()(x)
        probe = type(model)().eval()
        probe.load_state_dict(permuted(state, groups, perms))
        moved = probe(x)
        expect(torch.allclose(moved, reference, atol=1e-5, rtol=1e-5),
               f"{name}: permuting by the derived groups changed the function by "
               f"{(moved - reference).abs().max().item():.3g}")
        for size, axes in groups:
            for axis in axes:
                probe.load_state_dict(permuted(state, groups, perms, skip=axis))
                expect(not torch.allclose(probe(x), reference, atol=1e-5, rtol=1e-5),
                       f"{name}: leaving {axis} out of its group did not change the function")
    return len(groups)


def load_tensors(model, path):
    """A fresh module of model's class holding the tensors of a modeconn file (buffers it lacks kept)."""
    _, tensors = read_safetensors(path)
    probe = type(model)().eval()
    state = probe.state_dict()
    for k, v in tensors.items():
        state[k] = torch.from_numpy(v.copy())
    probe.load_state_dict(state)
    return probe


def check_alignment(args):
    """`modeconn align` on two ResNets: B's function kept, the objective (recomputed here from the files) raised,
    and a planted permutation of A undone exactly."""
    torch.manual_seed(11)
    a_model, b_model = cnns.ResNet().eval(), cnns.ResNet().eval()
    randomise_batch_norm(a_model, 2)
    randomise_batch_norm(b_model, 3)
    files = {}
    for name, model in (("A", a_model), ("B", b_model)):
        ckpt = os.path.join(args.work, f"align-{name}.pt")
        torch.save(model.state_dict(), ckpt)
        files[name] = os.path.join(args.work, f"align-{name}.safetensors")
        r = export(args, ckpt, files[name], "--model", f"{MODELS}:ResNet", "--input-shape", "1,28,28")
        expect(r.returncode == 0, f"align: export {name}: {r.stderr}")
    groups = parse_groups(run([args.modeconn, "inspect", files["A"]]).stdout)
    moved = sorted({axis[0] for _, axes in groups for axis in axes})
    out, report = os.path.join(args.work, "align-B2.safetensors"), os.path.join(args.work, "align.json")
    r = run([args.modeconn, "align", "-q", "--a", files["A"], "--b", files["B"], "--out", out, "--json", report])
    expect(r.returncode == 0, f"align: {r.stderr}")
    if r.returncode != 0:
        return
    with open(report) as f:
        rep = json.load(f)
    _, ta = read_safetensors(files["A"])
    _, tb = read_safetensors(files["B"])
    _, tb2 = read_safetensors(out)
    before = sum(float(np.dot(ta[k].ravel().astype(np.float64), tb[k].ravel())) for k in moved)
    after = sum(float(np.dot(ta[k].ravel().astype(np.float64), tb2[k].ravel())) for k in moved)
    expect(abs(rep["objective_before"] - before) <= 1e-9 * abs(before) and
           abs(rep["objective_after"] - after) <= 1e-9 * abs(after),
           f"align: reported objective {rep['objective_before']} -> {rep['objective_after']}, "
           f"recomputed {before} -> {after}")
    expect(after > before, f"align: the objective did not rise ({before} -> {after})")
    x = torch.randn(32, 1, 28, 28, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        diff = (load_tensors(b_model, out)(x) - b_model(x)).abs().max().item()
    expect(diff < 1e-5, f"align: the aligned B computes another function (max |diff| {diff:.3g})")

    # B = A with every group permuted at random: aligning it back gives A's tensors exactly.
    g = torch.Generator().manual_seed(6)
    perms = [torch.randperm(size, generator=g) for size, _ in groups]
    planted = cnns.ResNet().eval()
    planted.load_state_dict(permuted(a_model.state_dict(), groups, perms))
    ckpt = os.path.join(args.work, "align-planted.pt")
    torch.save(planted.state_dict(), ckpt)
    pfile = os.path.join(args.work, "align-planted.safetensors")
    export(args, ckpt, pfile, "--model", f"{MODELS}:ResNet", "--input-shape", "1,28,28")
    back = os.path.join(args.work, "align-back.safetensors")
    r = run([args.modeconn, "align", "-q", "--a", files["A"], "--b", pfile, "--out", back])
    _, tback = read_safetensors(back) if r.returncode == 0 else ({}, {})
    expect(r.returncode == 0 and all(np.array_equal(tback[k], ta[k]) for k in ta),
           f"align: a planted permutation was not undone exactly ({r.stderr})")


def float64_loss(model, x, y):
    m = model.double().eval()
    with torch.no_grad():
        logits = m(torch.from_numpy(x).double())
        return torch.nn.functional.cross_entropy(logits, torch.from_numpy(y)).item()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--modeconn", required=True)
    p.add_argument("--export", required=True)
    p.add_argument("--work", required=True)
    args = p.parse_args()
    os.makedirs(args.work, exist_ok=True)
    torch.manual_seed(0)

    # CNNs: one checkpoint as a bare state_dict, one wrapped and saved from DataParallel ("module." prefix).
    for name, wrap in (("ResNet", False), ("VGG", True)):
        model = getattr(cnns, name)()
        randomise_batch_norm(model, 1)
        ckpt = os.path.join(args.work, f"{name}.pt")
        state = model.state_dict()
        if wrap:
            state = {"epoch": 3, "state_dict": {"module." + k: v for k, v in state.items()}}
        torch.save(state, ckpt)
        out = os.path.join(args.work, f"{name}.safetensors")
        r = export(args, ckpt, out, "--model", f"{MODELS}:{name}", "--input-shape", "1,28,28")
        expect(r.returncode == 0, f"{name}: export failed: {r.stderr}")
        if r.returncode == 0:
            check_graph_file(args, name, model, out)
            groups = parse_groups(run([args.modeconn, "inspect", out]).stdout)
            # ResNet: the stem and layer1's stream are one group (identity shortcut), layer1's inner conv one,
            # layer2's inner conv one, layer2's stream with its projection shortcut one. VGG: one per conv.
            expected = {"ResNet": 4, "VGG": 2}[name]
            expect(len(groups) == expected, f"{name}: {len(groups)} permutation groups, not {expected}")

    check_alignment(args)

    # An MLP whose names sort as hidden1, input_layer, output: both exports evaluate as PyTorch does.
    rng = np.random.default_rng(0)
    folder = os.path.join(args.work, "data")
    os.makedirs(folder, exist_ok=True)
    data = {}
    for split, n in (("train", 300), ("test", 200)):
        data[split] = (rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n).astype(np.int64))
        np.save(f"{folder}/x_{split}.npy", data[split][0])
        np.save(f"{folder}/y_{split}.npy", data[split][1])
    mlp = cnns.Unordered()
    ckpt = os.path.join(args.work, "unordered.pt")
    torch.save(mlp.state_dict(), ckpt)
    reference = float64_loss(mlp, *data["test"])  # after saving: this makes it float64
    for label, extra in (("plain", ["--activation", "tanh"]),
                         ("traced", ["--model", f"{MODELS}:Unordered", "--input-shape", "784"])):
        out = os.path.join(args.work, f"unordered-{label}.safetensors")
        r = export(args, ckpt, out, *extra)
        expect(r.returncode == 0, f"unordered {label}: export failed: {r.stderr}")
        i = run([args.modeconn, "inspect", out, "--data", folder])
        m = re.search(r"test\s+loss ([0-9.]+)", i.stdout)
        expect(i.returncode == 0 and m and abs(float(m.group(1)) - reference) <= 1e-4 * reference + 1e-5,
               f"unordered {label}: modeconn {m.group(1) if m else i.stderr!r}, PyTorch float64 {reference}")
        expect("784-32-24-10" in i.stdout, f"unordered {label}: architecture {i.stdout!r}")

    # Refusals: one line each, exit 2, naming what is wrong, and no file written.
    vgg_ckpt = os.path.join(args.work, "VGG.pt")
    for label, cls, ckpt_file, extra, words in (
            ("torch.cat", "Concat", None, ["--input-shape", "1,28,28"], ["cat", "cnns.py:"]),
            ("LeakyReLU slope", "Leaky", None, ["--input-shape", "784"], ["LeakyReLU", "0.2"]),
            ("a wrong input shape", "ResNet", os.path.join(args.work, "ResNet.pt"), ["--input-shape", "3,32,32"],
             ["--input-shape 3,32,32", "cannot run on it"]),
            ("another model's checkpoint", "ResNet", vgg_ckpt, ["--input-shape", "1,28,28"], ["ResNet"]),
            ("no input shape", "ResNet", os.path.join(args.work, "ResNet.pt"), [], ["--input-shape"]),
            ("no such class", "Nothing", os.path.join(args.work, "ResNet.pt"), ["--input-shape", "1,28,28"],
             ["defines no Nothing"])):
        if ckpt_file is None:
            model = getattr(cnns, cls)()
            ckpt_file = os.path.join(args.work, f"{cls}.pt")
            torch.save(model.state_dict(), ckpt_file)
        out = os.path.join(args.work, f"refused-{cls}.safetensors")
        r = export(args, ckpt_file, out, "--model", f"{MODELS}:{cls}", *extra)
        lines = r.stderr.strip().splitlines()
        expect(r.returncode == 2 and len(lines) == 1 and all(w in r.stderr for w in words),
               f"{label}: rc {r.returncode}, stderr {r.stderr!r}")
        expect(not os.path.exists(out), f"{label}: wrote {out}")

    for f in failures:
        print("FAIL", f)
    print(f"graph_export: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
