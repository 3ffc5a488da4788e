#!/usr/bin/env python3
"""Draws loss and error along every path of a modeconn report: train and test, endpoints marked, barriers
annotated. Reads the JSON of `modeconn analyze` (every path) or of `modeconn path` (one path, and the naive
one beside it when it was aligned).

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
    fail(f"{path}: neither an analyze nor a path report (no 'paths' or 'splits' key)")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("report")
    p.add_argument("-o", "--out", required=True)
    a = p.parse_args()
    try:
        with open(a.report) as f:
            report = json.load(f)
    except OSError as e:
        fail(f"{a.report}: {e.strerror}")
    except json.JSONDecodeError as e:
        fail(f"{a.report}: not JSON ({e})")
    paths = load_paths(report, a.report)
    ts = report.get("t")
    if not ts:
        fail(f"{a.report}: no 't' values")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    tmp = a.out + ".tmp.png"
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
