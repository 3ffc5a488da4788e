#!/usr/bin/env python3
"""Draws the studies' CSVs: `width` (scripts/studies/width.sh: the loss and error gaps, naive and aligned,
against the width, mean ± standard deviation over the pairs) or `instability` (scripts/studies/instability.sh:
the gaps between the two children against the step k they were spawned at).

Needs matplotlib (Debian: /usr/bin/python3 with python3-matplotlib).

usage: plot_study.py width|instability STUDY.csv -o FIG.png
"""
import argparse
import csv
import math
import os
import sys


def fail(message):
    print(f"plot_study.py: {message}", file=sys.stderr)
    sys.exit(2)


def read(path):
    try:
        with open(path, newline="") as f:
            return list(csv.DictReader(f))
    except OSError as e:
        fail(f"{path}: {e.strerror or e}")


def width_figure(rows, plt):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, metric in zip(axes, ("loss", "error")):
        for split, style in (("test", "-"), ("train", "--")):
            for path, colour in (("naive", "tab:red"), ("aligned", "tab:blue")):
                pts = sorted((int(r["width"]), float(r[f"{metric}_gap_mean"]), float(r[f"{metric}_gap_sd"]))
                             for r in rows if r["split"] == split and r["path"] == path)
                if not pts:
                    continue
                w, m, sd = zip(*pts)
                ax.errorbar(w, m, yerr=sd, linestyle=style, marker="o", color=colour, capsize=3,
                            label=f"{path}, {split}")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("hidden width")
        ax.set_ylabel(f"{metric} barrier (gap)" + (" (fraction misclassified)" if metric == "error" else ""))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    pairs = {r["pairs"] for r in rows}
    fig.suptitle(f"barrier between independently trained MLPs against width, before and after weight matching "
                 f"(mean ± sd over {', '.join(sorted(pairs))} pairs)", fontsize=10)
    fig.tight_layout()
    return fig


def instability_figure(rows, plt):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    total = rows[0]["total_steps"] if rows else "?"
    for ax, metric in zip(axes, ("error", "loss")):
        for split, style in (("test", "-"), ("train", "--")):
            pts = sorted((int(r["k"]), float(r[f"{metric}_gap"]), float(r[f"{metric}_gap_sd"])) for r in rows
                         if r["split"] == split)
            if not pts:
                continue
            k, g, sd = zip(*pts)
            ax.errorbar([max(x, 0.5) for x in k], g, yerr=sd, linestyle=style, marker="o", capsize=3,
                        label=split)  # k = 0 drawn at 0.5 on the log axis
        ax.set_xscale("log")
        ax.set_xlabel("k: the step the two copies were spawned at (k = 0 drawn at 0.5)")
        ax.set_ylabel(f"{metric} barrier between the copies" + (" (fraction)" if metric == "error" else ""))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    pairs = rows[0].get("pairs", "?") if rows else "?"
    fig.suptitle(f"instability analysis: copies from step k trained to step {total} on different data orders "
                 f"(mean ± sd over {pairs} pairs)", fontsize=10)
    fig.tight_layout()
    return fig


def main():
    p = argparse.ArgumentParser(usage="plot_study.py width|instability STUDY.csv -o FIG.png")
    p.add_argument("study", choices=("width", "instability"))
    p.add_argument("csv")
    p.add_argument("-o", "--out", required=True)
    a = p.parse_args()
    rows = read(a.csv)
    if not rows:
        fail(f"{a.csv}: no rows")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        fail(f"matplotlib is missing ({e}); run it with Debian's /usr/bin/python3")
    try:
        fig = (width_figure if a.study == "width" else instability_figure)(rows, plt)
    except (KeyError, ValueError) as e:
        fail(f"{a.csv}: not a {a.study} study's CSV ({type(e).__name__}: {e})")
    tmp = a.out + ".tmp.png"
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
