#!/usr/bin/env python3
"""Draws loss and error along every path of a modeconn report: train and test, endpoints marked, barriers
annotated. Reads the JSON of `modeconn analyze` (every path) or of `modeconn path` (one path, and the naive
one beside it when it was aligned); for the JSON of `modeconn merge` it draws the N x N barrier matrices as
heatmaps; for the JSON of bench/compare/path_vs_torch.py it draws how time grows with the work, and the ratio.

usage: plot.py REPORT.json -o FIG.png
"""
import argparse
import json
import os
import sys


def fail(message):
    print(f"plot.py: {message}", file=sys.stderr)
    sys.exit(2)


def load_paths(report, path):
    """[(label, splits)] from either kind of report."""
    if "paths" in report:
        # JSON objects carry no order: naive line first, then the aligned line, then the curves.
        rank = {"linear": 0, "linear_aligned": 1}
        items = sorted(report["paths"].items(), key=lambda kv: (rank.get(kv[0], 2), kv[0]))
        return [(p.get("label", name), p["splits"]) for name, p in items]
    if "splits" in report:
        kind = report.get("path", {}).get("kind", "path")
        paths = []
        if "naive" in report:
            paths.append((f"{kind} (naive)", report["naive"]["splits"]))
            paths.append((f"{kind} (aligned)", report["splits"]))
        else:
            paths.append((kind, report["splits"]))
        return paths
    fail(f"{path}: neither an analyze, a path nor a merge report (no 'paths', 'splits' or 'matrices' key)")


def plot_matrices(report, out, plt):
    """Heatmaps: one row per path, columns for the test and train loss gaps and the test error gap."""
    rank = {"linear": 0, "linear_aligned": 1}
    paths = sorted(report["matrices"], key=lambda name: (rank.get(name, 2), name))
    if not paths:
        fail("the merge report holds no finished pair to draw")
    columns = [("test", "loss"), ("train", "loss"), ("test", "error")]
    n = len(report["models"])
    names = [os.path.basename(m).rsplit(".", 1)[0] for m in report["models"]]
    size = max(3.2, 0.45 * n + 1.5)
    fig, axes = plt.subplots(len(paths), len(columns), figsize=(size * len(columns), size * len(paths)), squeeze=False)
    for r, path in enumerate(paths):
        for c, (split, metric) in enumerate(columns):
            ax = axes[r][c]
            m = report["matrices"][path][split][metric]["gap"]
            values = [[float("nan") if v is None else v for v in row] for row in m]
            im = ax.imshow(values, cmap="viridis", vmin=0)
            ax.set_title(f"{path}: {split} {metric} gap", fontsize=9)
            ax.set_xticks(range(n), names, rotation=90, fontsize=7)
            ax.set_yticks(range(n), names, fontsize=7)
            if n <= 12:
                for i in range(n):
                    for j in range(n):
                        if values[i][j] == values[i][j]:
                            ax.text(j, i, f"{values[i][j]:.2f}", ha="center", va="center", fontsize=6, color="w")
            fig.colorbar(im, ax=ax, fraction=0.046)
    missing = report.get("missing", [])
    fig.suptitle(f"{n} models, {len(missing)} pairs missing" if missing else f"{n} models")
    fig.tight_layout()
    return fig


def plot_benchmark(report, plt):
    """Left: seconds against the FLOPs a per-point loop does (log-log), modeconn and the peer. Right: the ratio
    per case."""
    rows = report.get("rows")
    if not rows:
        fail("benchmark report without rows")
    peer = report.get("peer", "peer")

    def loop_gflop(r):
        w = r["widths"]
        return 2e-9 * r["points"] * r["samples"] * sum(w[i] * w[i + 1] for i in range(len(w) - 1))

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 0.32 * len(rows) + 3.2),
                                      gridspec_kw={"width_ratios": [1.1, 1]})
    x = [loop_gflop(r) for r in rows]
    left.loglog(x, [r["modeconn_s"] for r in rows], "o", label="modeconn (whole process)")
    left.loglog(x, [r["peer_s"] for r in rows], "s", label=f"{peer} (loop alone)")
    for xi, r in zip(x, rows):
        left.plot([xi, xi], [r["modeconn_s"], r["peer_s"]], color="grey", lw=0.6, zorder=0)
    left.set_xlabel("GFLOP of the per-point loop (points x samples x 2 x weights)")
    left.set_ylabel("seconds")
    left.grid(alpha=0.3, which="both")
    left.legend()
    labels = [f"{r['model']}  {r['samples'] // 1000}k x {r['points']}" for r in rows]
    y = list(range(len(rows)))[::-1]
    right.barh(y, [r["ratio"] for r in rows], color="tab:green")
    right.set_yticks(y)
    right.set_yticklabels(labels, fontsize=8)
    right.axvline(1, color="black", lw=0.8)
    for yi, r in zip(y, rows):
        right.annotate(f"{r['ratio']:.2f}x", (r["ratio"], yi), xytext=(3, -3), textcoords="offset points", fontsize=8)
    right.set_xlabel(f"speed-up over the {peer}")
    fig.suptitle(f"{report.get('benchmark', '')}: {report.get('machine', '')}, {report.get('threads', '?')} threads")
    fig.tight_layout()
    return fig


NON_FINITE = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}


def numbers(value):
    """modeconn writes a value that is not finite as the string "nan", "inf" or "-inf": read those back as floats."""
    if isinstance(value, dict):
        return {k: numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [numbers(v) for v in value]
    if isinstance(value, str) and value in NON_FINITE:
        return NON_FINITE[value]
    return value


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("report")
    p.add_argument("-o", "--out", required=True)
    a = p.parse_args()
    try:
        with open(a.report) as f:
            report = numbers(json.load(f))
    except OSError as e:
        fail(f"{a.report}: {e.strerror}")
    except json.JSONDecodeError as e:
        fail(f"{a.report}: not JSON ({e})")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if "matrices" in report:
        save(plot_matrices(report, a.out, plt), a.out)
        return
    if "benchmark" in report:
        save(plot_benchmark(report, plt), a.out)
        return
    paths = load_paths(report, a.report)
    ts = report.get("t")
    if not ts:
        fail(f"{a.report}: no 't' values")

    splits = [s for s in ("train", "test") if any(s in sp for _, sp in paths)]
    fig, axes = plt.subplots(2, len(splits), figsize=(6.2 * len(splits), 7.5), squeeze=False, sharex=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for col, split in enumerate(splits):
        for row, metric in enumerate(("loss", "error")):
            ax = axes[row][col]
            for k, (label, sp) in enumerate(paths):
                if split not in sp:
                    continue
                values = sp[split][metric]
                scale = 100.0 if metric == "error" else 1.0
                y = [v * scale for v in values]
                gap = sp[split]["barrier"][metric]["gap"] * scale
                t_peak = sp[split]["barrier"][metric]["t_peak"]
                unit = " pp" if metric == "error" else ""
                color = colors[k % len(colors)]
                ax.plot(ts, y, color=color, marker=".", label=f"{label}: gap {gap:.3f}{unit}")
                if gap > 0:
                    # The barrier: from the line joining the endpoints up to the peak.
                    base = (1 - t_peak) * y[0] + t_peak * y[-1]
                    ax.annotate("", xy=(t_peak, base + gap), xytext=(t_peak, base),
                                arrowprops=dict(arrowstyle="<->", color=color, lw=1))
            first = paths[0][1][split][metric]
            scale = 100.0 if metric == "error" else 1.0
            ax.plot([0, 1], [first[0] * scale, first[-1] * scale], "o", color="black", zorder=5)
            ax.annotate("A", (0, first[0] * scale), textcoords="offset points", xytext=(6, -12))
            ax.annotate("B", (1, first[-1] * scale), textcoords="offset points", xytext=(-14, -12))
            ax.set_title(f"{split} {metric}")
            ax.set_ylabel("cross-entropy" if metric == "loss" else "error (%)")
            if row == 1:
                ax.set_xlabel("t along the path")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    title = report.get("model", "")
    if report.get("a") and report.get("b"):
        title = f"{os.path.basename(report['a'])} -> {os.path.basename(report['b'])}   {title}"
    fig.suptitle(title)
    fig.tight_layout()
    save(fig, a.out)


def save(fig, out):
    tmp = out + ".tmp.png"  # written whole, then renamed: no partial picture
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
