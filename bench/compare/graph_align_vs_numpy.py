#!/usr/bin/env python3
"""modeconn align --method weight on layer graphs (the whole process: load, weight matching over the
permutation groups, function check on random probe inputs, write) against the NumPy/SciPy reference of the
same coordinate descent that tests/e2e/graph_rebasin_reference.py checks modeconn against (the descent
alone, timed in process, float64 similarities, scipy's linear_sum_assignment). Two randomly initialised
ResNets of tests/e2e/models/cnns.py exported with scripts/export_torch.py; same threads for both. The
reference visits the groups in modeconn's order for --align-seed 0, so both take the same steps and reach
the same objective; both objectives are printed, with the matching time modeconn reports for itself.
The reference runs in the interpreter --python names (default: this one), e.g. PyPI's NumPy and SciPy in the
virtual environment bench/compare/make-peer-venv.sh makes; it times its descent there, in one process kept
between runs. The header gives its versions as that interpreter reports them.

usage: graph_align_vs_numpy.py [--modeconn BIN] [--width 16] [--runs 3] [--threads N] [--python PATH]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../.."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests/e2e"))
sys.path.insert(0, os.path.join(ROOT, "tests/e2e/models"))
import common  # noqa: E402


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--modeconn", help="the executable (default: build/host/modeconn, built if missing)")
    p.add_argument("--width", type=int, default=16, help="cnns.ResNet's width")
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument("--runs", type=int, default=3)
    common.add_peer_option(p)
    return p.parse_args()


def export_resnets(work, width):
    """Two ResNets of different random inits as layer graph files."""
    import torch
    import cnns
    files = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        ckpt, out = f"{work}/resnet{seed}.pt", f"{work}/resnet{seed}.safetensors"
        torch.save(cnns.ResNet(width=width).state_dict(), ckpt)
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts/export_torch.py"), ckpt, out, "--model",
                        os.path.join(ROOT, "tests/e2e/models/cnns.py") + ":ResNet", "--input-shape", "1,28,28",
                        "--args", json.dumps({"width": width})], check=True)
        files.append(out)
    return files


def peer_reference(files, inspect):
    """The reference's descent alone (the groups `inspect` lists, modeconn's orders for --align-seed 0), then
    its objective: {seconds, sweeps, objective}."""
    import graph_rebasin_reference as ref  # the reference the tests check modeconn against

    groups = ref.parse_groups(inspect)
    ta, tb = ref.float64(files[0]), ref.float64(files[1])
    t0 = time.perf_counter()
    perms, sweeps = ref.weight_matching(groups, ta, tb, orders=ref.modeconn_orders(len(groups), 0))
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "sweeps": sweeps,
            "objective": ref.objective(ta, tb, ref.moves_by_tensor(groups), perms)}


def main():
    a = parse()
    if a.peer_serve:  # its BLAS threads come from the environment the driver started it with
        return common.serve({"reference": peer_reference})
    # OpenBLAS sizes its thread pool when NumPy first loads it, so the variables go into the environment the
    # peer starts with (this process's NumPy does no timed work); modeconn gets the same count through --threads.
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(a.threads)
    from graph_export import parse_groups
    import torch
    torch.set_num_threads(a.threads)

    a.modeconn = a.modeconn or common.built("host/modeconn")
    versions = common.peer_versions(a.python, ("numpy", "scipy"))
    peer = common.Peer(a.python, __file__)
    work = common.workdir()
    files = export_resnets(work, a.width)
    inspect = subprocess.run([a.modeconn, "inspect", files[0]], check=True, capture_output=True, text=True).stdout
    groups = parse_groups(inspect)
    report = f"{work}/report.json"
    cmd = [a.modeconn, "align", "-q", "--threads", str(a.threads), "--a", files[0], "--b", files[1], "--method",
           "weight", "--out", f"{work}/aligned.safetensors", "--json", report]
    reported, result = [], {}

    def modeconn():
        t = common.time_process(cmd)
        with open(report) as f:
            reported.append(json.load(f))
        return t

    def reference():
        result.update(peer("reference", files=files, inspect=inspect))
        return result["seconds"]

    tm, tr = common.alternate(a.runs, modeconn, reference)
    inner = statistics.median(r["seconds"] for r in reported)
    rep = reported[-1]

    print(f"{common.machine()}; threads {a.threads}; median of {a.runs} alternated runs")
    print(f"peer: {versions}")
    print(f"model: cnns.ResNet(width={a.width}), {len(groups)} permutation groups of "
          f"{[n for n, _ in groups]} channels")
    print(f"modeconn align (whole process)       {tm:9.4f} s   ({inner:.4f} s of weight matching, as it reports)")
    print(f"NumPy/SciPy reference (descent only) {tr:9.4f} s")
    print(f"ratio reference / modeconn            {tr / tm:8.2f}x   ({tr / inner:.1f}x against its matching alone)")
    print(f"objective: modeconn {rep['objective_before']:.10g} -> {rep['objective_after']:.10g} in "
          f"{rep['sweeps']} sweeps; reference {result['objective']:.10g} in {result['sweeps']} sweeps")


if __name__ == "__main__":
    main()
