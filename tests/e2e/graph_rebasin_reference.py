#!/usr/bin/env python3
"""Weight matching on layer graphs against an independent NumPy/SciPy implementation of the same algorithm:
Git Re-Basin's coordinate descent (Ainsworth et al. 2023) over the permutation groups `modeconn inspect`
lists, one scipy.optimize.linear_sum_assignment per group step. Two ResNets exported from PyTorch, BatchNorm
statistics randomised so that every tensor a group moves counts. Checks:
  - the objective modeconn reports before and after equals the float64 sum of <A, permuted B> recomputed here
    for the identity and for modeconn's permutations (relative 1e-9), and the aligned file holds B permuted
    by the permutations the report lists;
  - modeconn's permutations are a fixed point of the reference: no group's exact assignment, the others
    held, raises the objective by more than 1e-5 relative. A run stopped after one sweep must fail this
    check, so that it can fail;
  - step for step: the reference visiting the groups in modeconn's order (its SplitMix64 generator, replayed
    here) ends at the same permutations after the same number of sweeps, for --align-seed 0, for a seed
    whose order leads to another local optimum, and for --max-sweeps 1;
  - the reference in its own orders (NumPy's generator, several seeds): coordinate descent stops at a local
    optimum that depends on the order, and this pair of models has more than one, so equal objectives are
    not expected. The check is only that modeconn's objective is not below every one of them (1e-5
    relative); the spread over orders, and how many reach modeconn's optimum, is printed;
  - B = A with every group permuted at random is aligned back exactly by both: both return the inverse
    permutations, modeconn's file holds A's tensors and its objective is <A, A>;
  - a VGG whose classifier reads a flattened feature map (a channel spans 49 columns there): the reported
    objectives, the fixed point and the replay as for the ResNet.
The functions under "the reference" are importable: bench/compare/graph_align_vs_numpy.py times the same ones.

usage: graph_rebasin_reference.py --modeconn BIN --export EXPORT_SCRIPT --work DIR
Exits 77 (reported as skipped) when NumPy, SciPy or PyTorch is not installed.
"""
import argparse
import json
import os
import subprocess
import sys

try:
    import numpy as np
    import torch
    from scipy.optimize import linear_sum_assignment
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "models", "cnns.py")
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "models"))
import cnns  # noqa: E402
from graph_export import parse_groups, permuted, randomise_batch_norm, read_safetensors  # noqa: E402

SEEDS = range(6)  # the reference's group orders
AGREE = 1e-5      # relative: objectives of the descent, and the gain a converged group may still offer
EXACT = 1e-9      # relative: objectives of the same permutations, summed in another order


# --- the reference ---------------------------------------------------------------------------------------

def moves_by_tensor(groups):
    """{tensor: [(group, axis, block), ...]}: every axis of every tensor some group moves."""
    out = {}
    for g, (_, axes) in enumerate(groups):
        for tensor, axis, block in axes:
            out.setdefault(tensor, []).append((g, axis, block))
    return out


def take(t, axis, block, perm):
    """t with channel perm[i] of `axis` (its indices perm[i]*block .. +block-1) moved to position i."""
    index = (perm[:, None] * block + np.arange(block)[None, :]).reshape(-1)
    return np.take(t, index, axis=axis)


def channel_rows(t, axis, block):
    """t as one row per channel of `axis`: the values it spans, in an order the same for A and B."""
    moved = np.moveaxis(t, axis, 0)
    return moved.reshape(moved.shape[0] // block, -1)


def permuted_b(b, moves, perms, skip=None):
    """B's tensor with every axis in `moves` permuted by its group's permutation, but moves[skip]."""
    for k, (g, axis, block) in enumerate(moves):
        if k != skip:
            b = take(b, axis, block, perms[g])
    return b


def objective(a, b, moves, perms):
    """Σ over the moved tensors of <A, B permuted> in float64."""
    return sum(float(np.vdot(a[t], permuted_b(b[t], m, perms))) for t, m in moves.items())


def similarity(a, b, moves, perms, g, n):
    """s[i, j]: Σ over the axes group g moves of <A's channel i, B's channel j>, B's other axes permuted."""
    s = np.zeros((n, n))
    for t, m in moves.items():
        for k, (h, axis, block) in enumerate(m):
            if h == g:
                s += channel_rows(a[t], axis, block) @ channel_rows(permuted_b(b[t], m, perms, k), axis, block).T
    return s


def best_for_group(a, b, moves, perms, g, n):
    """Group g's exact assignment, the others held: (perm, its value, the value of perms[g])."""
    s = similarity(a, b, moves, perms, g, n)
    _, cols = linear_sum_assignment(s, maximize=True)
    rows = np.arange(n)
    return cols, float(s[rows, cols].sum()), float(s[rows, perms[g]].sum())


def numpy_orders(count, seed):
    """The reference's group orders: a fresh permutation from NumPy's generator each sweep."""
    rng = np.random.default_rng(seed)
    while True:
        yield rng.permutation(count)


class SplitMix64:
    """modeconn's generator (include/modeconn/rng.hpp), which it specifies to give the same stream
    everywhere: replaying its group orders makes the two descents comparable step for step."""
    MASK = (1 << 64) - 1

    def __init__(self, seed):
        self.state = seed & self.MASK

    def next_u64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & self.MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self.MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self.MASK
        return z ^ (z >> 31)

    def below(self, n):
        limit = self.MASK - self.MASK % n  # rejection of the short last block, as rng.hpp does
        while True:
            x = self.next_u64()
            if x < limit:
                return x % n


def modeconn_orders(count, seed):
    """The group orders of `modeconn align --align-seed seed`: one list shuffled in place each sweep
    (Fisher-Yates from the end)."""
    rng = SplitMix64(seed)
    order = list(range(count))
    while True:
        for i in range(count, 1, -1):
            j = rng.below(i)
            order[i - 1], order[j] = order[j], order[i - 1]
        yield list(order)


def weight_matching(groups, a, b, seed=0, max_sweeps=100, orders=None):
    """Coordinate descent from the identity: each sweep visits the groups in the next order of `orders`
    (default numpy_orders(seed)), keeps an assignment only if it gains more than 1e-12 relative, and the
    descent stops after a sweep that kept none. a, b: {tensor: float64 array}. Returns (perms, sweeps);
    perms[g][i] is B's channel that goes to position i."""
    moves = moves_by_tensor(groups)
    orders = orders or numpy_orders(len(groups), seed)
    perms = [np.arange(n) for n, _ in groups]
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        improved = False
        for g in next(orders):
            cols, value, old = best_for_group(a, b, moves, perms, g, groups[g][0])
            if value > old + 1e-12 * max(1.0, abs(old)):
                perms[g] = cols
                improved = True
        if not improved:
            break
    return perms, sweeps


def largest_gain(groups, a, b, perms):
    """The most any one group's exact assignment, the others held, raises the objective, and that group."""
    moves = moves_by_tensor(groups)
    base = objective(a, b, moves, perms)
    best = (0.0, None)
    for g, (n, _) in enumerate(groups):
        cols, _, _ = best_for_group(a, b, moves, perms, g, n)
        trial = perms[:g] + [cols] + perms[g + 1:]
        best = max(best, (objective(a, b, moves, trial) - base, g), key=lambda x: x[0])
    return best


# --- the test --------------------------------------------------------------------------------------------

failures = []


def expect(ok, message):
    if not ok:
        failures.append(message)


def close(x, y, rel):
    return abs(x - y) <= rel * max(1.0, abs(x), abs(y))


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def export(args, model, name):
    """model (a class of cnns.py) as a layer graph file in the work folder."""
    ckpt = os.path.join(args.work, f"{name}.pt")
    torch.save(model.state_dict(), ckpt)
    out = os.path.join(args.work, f"{name}.safetensors")
    r = run([sys.executable, args.export, ckpt, out, "--model", f"{MODELS}:{type(model).__name__}",
             "--input-shape", "1,28,28"])
    if r.returncode != 0:
        raise SystemExit(f"export {name} failed: {r.stderr}")
    return out


def float64(path):
    """A file's tensors as float64, the precision both implementations compute similarities in."""
    return {k: v.astype(np.float64) for k, v in read_safetensors(path)[1].items()}


def align(args, a_file, b_file, name, *extra):
    """modeconn align's report, and the aligned file's tensors."""
    out, report = (os.path.join(args.work, f"{name}.{ext}") for ext in ("safetensors", "json"))
    r = run([args.modeconn, "align", "-q", "--a", a_file, "--b", b_file, "--method", "weight", "--out", out,
             "--json", report, *extra])
    if r.returncode != 0:
        raise SystemExit(f"modeconn align ({name}) failed: {r.stderr}")
    with open(report) as f:
        rep = json.load(f)
    return rep, read_safetensors(out)[1]


def report_perms(rep, groups):
    """The report's permutations, one per group in inspect's order."""
    perms = [np.asarray(g["perm"], dtype=np.int64) for g in rep["groups"]]
    expect([len(p) for p in perms] == [n for n, _ in groups],
           f"the report's groups {[len(p) for p in perms]} are not inspect's {[n for n, _ in groups]}")
    return perms


def check_reported(label, rep, perms, groups, a, b, aligned):
    """The reported objectives are the reference's for the identity and for the reported permutations, and
    the aligned file is B permuted by them."""
    moves = moves_by_tensor(groups)
    before = objective(a, b, moves, [np.arange(n) for n, _ in groups])
    after = objective(a, b, moves, perms)
    print(f"{label}: objective before: modeconn {rep['objective_before']:.12g}, reference {before:.12g}")
    print(f"{label}: objective after:  modeconn {rep['objective_after']:.12g}, reference {after:.12g}")
    expect(close(rep["objective_before"], before, EXACT),
           f"{label}: objective before {rep['objective_before']} != {before}")
    expect(close(rep["objective_after"], after, EXACT), f"{label}: objective after {rep['objective_after']} != {after}")
    expect(after > before, f"{label}: the objective did not rise ({before} -> {after})")
    wrong = [t for t in b if not np.array_equal(aligned[t].astype(np.float64),
                                                permuted_b(b[t], moves.get(t, []), perms))]
    expect(not wrong, f"{label}: the aligned file is not B permuted by the reported permutations: {wrong}")


def check_fixed_point(label, groups, a, b, perms, objective_value):
    """Whether no group's exact assignment gains more than AGREE relative; prints the largest gain."""
    gain, g = largest_gain(groups, a, b, perms)
    rel = gain / max(1.0, abs(objective_value))
    where = f" (group {g + 1})" if g is not None else ""
    print(f"{label}: the largest gain of one group's exact assignment is {gain:.3g}, {rel:.3g} relative{where}")
    return rel <= AGREE


def check_replay(label, groups, a, b, rep, seed, max_sweeps=100):
    """The reference, visiting the groups in modeconn's order for `seed`, takes the same steps: the same
    permutations after the same number of sweeps, and the objective reported for them."""
    perms, sweeps = weight_matching(groups, a, b, max_sweeps=max_sweeps, orders=modeconn_orders(len(groups), seed))
    same = all(np.array_equal(p, q) for p, q in zip(perms, report_perms(rep, groups)))
    value = objective(a, b, moves_by_tensor(groups), perms)
    print(f"{label}: the reference in modeconn's group order (seed {seed}) ends after {sweeps} sweeps "
          f"(modeconn {rep['sweeps']}) at {'the same' if same else 'other'} permutations, objective "
          f"{value:.12g} (modeconn {rep['objective_after']:.12g})")
    expect(same and sweeps == rep["sweeps"],
           f"{label}: in modeconn's group order the reference ends after {sweeps} sweeps at other permutations")
    expect(close(value, rep["objective_after"], EXACT),
           f"{label}: objective {rep['objective_after']}, the reference's {value}")


def check_own_orders(groups, a, b, modeconn_value):
    """The reference's descent in its own orders: local optima may differ from modeconn's, so the check is
    that modeconn's objective is not below every one of them; how many reach it is printed."""
    moves = moves_by_tensor(groups)
    values = []
    for seed in SEEDS:
        perms, sweeps = weight_matching(groups, a, b, seed=seed)
        values.append(objective(a, b, moves, perms))
        print(f"reference, NumPy order seed {seed}: {sweeps} sweeps, objective {values[-1]:.12g}")
    lo, hi = min(values), max(values)
    same = sum(close(v, modeconn_value, AGREE) for v in values)
    print(f"reference objectives over {len(values)} orders: {lo:.12g} .. {hi:.12g} "
          f"(spread {(hi - lo) / abs(hi):.3g} relative), {same} of {len(values)} within {AGREE:g} of "
          f"modeconn's {modeconn_value:.12g}")
    expect(modeconn_value >= lo - AGREE * abs(lo),
           f"modeconn's objective {modeconn_value} is below every reference order's: {values}")


def check_planted(args, a_model, a_file, groups, a):
    """B = A permuted at random per group: both implementations return the inverse permutations."""
    failed = len(failures)
    g = torch.Generator().manual_seed(6)
    planted = [torch.randperm(n, generator=g) for n, _ in groups]
    model = cnns.ResNet().eval()
    model.load_state_dict(permuted(a_model.state_dict(), groups, planted))
    b_file = export(args, model, "planted")
    b = float64(b_file)
    inverse = [np.argsort(p.numpy()) for p in planted]
    rep, aligned = align(args, a_file, b_file, "planted-aligned")
    moves = moves_by_tensor(groups)
    expect(all(np.array_equal(p, q) for p, q in zip(report_perms(rep, groups), inverse)),
           "modeconn did not recover the planted permutations")
    expect(all(np.array_equal(aligned[t].astype(np.float64), a[t]) for t in moves),
           "modeconn's aligned planted model is not A")
    expect(close(rep["objective_after"], objective(a, a, moves, [np.arange(n) for n, _ in groups]), EXACT),
           f"modeconn's objective after undoing a planted permutation {rep['objective_after']} is not <A, A>")
    for seed in SEEDS[:2]:
        perms, _ = weight_matching(groups, a, b, seed=seed)
        expect(all(np.array_equal(p, q) for p, q in zip(perms, inverse)),
               f"the reference (seed {seed}) did not recover the planted permutations")
    print(f"planted permutations of {len(groups)} groups: "
          f"{'recovered exactly by both' if len(failures) == failed else 'failed (see below)'}")


def check_flattened(args):
    """A VGG whose classifier reads the flattened feature map, so that a channel there spans 7x7 columns
    (block 49), which the ResNet's pooled head has not: reported objectives, fixed point and replay."""
    files = []
    for seed in (7, 8):
        torch.manual_seed(seed)
        model = cnns.VGG().eval()
        randomise_batch_norm(model, seed)
        files.append(export(args, model, f"vgg-{seed}"))
    groups = parse_groups(run([args.modeconn, "inspect", files[0]]).stdout)
    expect(any(block > 1 for _, axes in groups for _, _, block in axes), "VGG: no group moves a flattened axis")
    a, b = float64(files[0]), float64(files[1])
    rep, aligned = align(args, files[0], files[1], "vgg-aligned")
    check_reported("VGG", rep, report_perms(rep, groups), groups, a, b, aligned)
    expect(check_fixed_point("VGG", groups, a, b, report_perms(rep, groups), rep["objective_after"]),
           "VGG: modeconn's permutations are not a fixed point of the reference's coordinate descent")
    check_replay("VGG", groups, a, b, rep, 0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--modeconn", required=True)
    p.add_argument("--export", required=True)
    p.add_argument("--work", required=True)
    args = p.parse_args()
    os.makedirs(args.work, exist_ok=True)

    models = {}
    # A pair whose local optimum depends on the group order (seed 2 of modeconn's orders finds another one),
    # so that replaying an order is a check that the order was followed.
    for name, seed in (("A", 100), ("B", 101)):
        torch.manual_seed(seed)
        models[name] = cnns.ResNet().eval()
        randomise_batch_norm(models[name], seed)
    files = {name: export(args, m, name) for name, m in models.items()}
    groups = parse_groups(run([args.modeconn, "inspect", files["A"]]).stdout)
    if not groups:
        raise SystemExit("inspect lists no permutation groups")
    a, b = float64(files["A"]), float64(files["B"])
    print(f"ResNet: {len(groups)} groups of {[n for n, _ in groups]} channels over "
          f"{len(moves_by_tensor(groups))} tensors")

    rep, aligned = align(args, files["A"], files["B"], "aligned")
    perms = report_perms(rep, groups)
    print(f"modeconn: {rep['sweeps']} sweeps")
    check_reported("modeconn", rep, perms, groups, a, b, aligned)
    expect(check_fixed_point("modeconn", groups, a, b, perms, rep["objective_after"]),
           "modeconn's permutations are not a fixed point of the reference's coordinate descent")
    check_replay("modeconn", groups, a, b, rep, 0)
    other, _ = align(args, files["A"], files["B"], "seed-2", "--align-seed", "2")
    check_replay("modeconn --align-seed 2", groups, a, b, other, 2)
    check_own_orders(groups, a, b, rep["objective_after"])

    # One sweep short of convergence: the fixed-point check must see a gain, or it could not fail.
    if rep["sweeps"] > 2:
        short, _ = align(args, files["A"], files["B"], "one-sweep", "--max-sweeps", "1")
        check_replay("modeconn --max-sweeps 1", groups, a, b, short, 0, max_sweeps=1)
        expect(not check_fixed_point("modeconn --max-sweeps 1", groups, a, b, report_perms(short, groups),
                                     short["objective_after"]),
               "the fixed-point check passed a descent stopped after one sweep")
    else:
        print(f"modeconn converged within {rep['sweeps']} sweeps: no unconverged run to check the check on")

    check_planted(args, models["A"], files["A"], groups, a)
    check_flattened(args)

    for f in failures:
        print("FAIL", f)
    print(f"graph_rebasin_reference: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
