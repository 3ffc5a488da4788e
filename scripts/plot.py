#!/usr/bin/env python3
"""Draws loss and error along every path of a modeconn report: train and test, endpoints marked, barriers
drawn. Reads the JSON of `modeconn analyze` (every path) or of `modeconn path` (one path, and the naive one
beside it when it was aligned); for the JSON of `modeconn merge` it draws the N x N barrier matrices as
heatmaps; for the JSON of `modeconn plane` the loss (contours) and error (heatmap) over the grid with the models
marked; for the JSON of bench/compare/path_vs_torch.py it draws how time grows with the work, and the ratio.

Errors are drawn as modeconn reports them, unscaled: the fraction misclassified (0.1 is 10 %) for
classification, the mean absolute error for regression. A barrier's gap is the largest height of the curve
above the straight line joining its endpoints; each path panel draws that line (dashed) and the gap (a double
arrow at t_peak), and names the gap's value in the legend.

Needs matplotlib (Debian: /usr/bin/python3 with python3-matplotlib).

usage: plot.py REPORT.json -o FIG.png
"""
import argparse
import json
import math
import os
import sys

USAGE = "plot.py REPORT.json -o FIG.png"

GAP_DEFINITION = ("gap: the largest height of the curve above the straight line joining its endpoints "
                  "(dashed), reached at t_peak; drawn as a double arrow")

NON_FINITE = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}


class ReportError(Exception):
    """A report plot.py cannot draw; main() prints it as one line and exits 2."""


def fail(message):
    print(f"plot.py: {message}", file=sys.stderr)
    sys.exit(2)


def numbers(value):
    """modeconn writes a value that is not finite as the string "nan", "inf" or "-inf": read those back as floats."""
    if isinstance(value, dict):
        return {k: numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [numbers(v) for v in value]
    if isinstance(value, str) and value in NON_FINITE:
        return NON_FINITE[value]
    return value


def load_report(path):
    """The report at `path`, non-finite strings read back as floats; ReportError when it cannot be read."""
    try:
        with open(path) as f:
            return numbers(json.load(f))
    except OSError as e:
        raise ReportError(f"{path}: {e.strerror or e}")
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ReportError(f"{path}: not JSON ({e})")


def finite(x):
    return isinstance(x, (int, float)) and math.isfinite(x)


def fmt(x):
    """A value for a legend or a title: four significant digits, 'nan' and 'inf' spelled as modeconn does."""
    if not isinstance(x, (int, float)):
        return "?"
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.4g}"


def base_name(path):
    return os.path.basename(str(path).rstrip("/")) if path else ""


def endpoint_names(report):
    """(basename of A, basename of B): from an analyze report's 'a'/'b' or a path report's 'path'."""
    a, b = report.get("a"), report.get("b")
    path = report.get("path")
    if isinstance(path, dict):
        a, b = a or path.get("a"), b or path.get("b")
    return base_name(a), base_name(b)


def task_of(report):
    """'classification', 'regression' or None when the report does not say. An analyze or path report's
    'model' ends with the task ("784-100-10 relu classification"); a 'task' key, where present, wins."""
    for key in ("task", "model"):
        value = report.get(key)
        if isinstance(value, str):
            words = value.lower().split()
            for task in ("regression", "classification"):
                if task in words:
                    return task
    return None


def axis_label(metric, task):
    if metric == "loss":
        return {"classification": "cross-entropy", "regression": "mean squared error"}.get(task, "loss")
    return {"classification": "error (fraction misclassified)",
            "regression": "error (mean absolute)"}.get(task, "error (fraction misclassified; mean absolute error "
                                                               "for regression)")


def load_paths(report, name="report"):
    """[(label, splits)] from an analyze or a path report, the naive line first."""
    if "paths" in report:
        if not isinstance(report["paths"], dict) or not report["paths"]:
            raise ReportError(f"{name}: 'paths' holds no path")
        # JSON objects carry no order: naive line first, then the aligned line, then the curves.
        rank = {"linear": 0, "linear_aligned": 1}
        items = sorted(report["paths"].items(), key=lambda kv: (rank.get(kv[0], 2), kv[0]))
        return [(p.get("label", key), p["splits"]) for key, p in items]
    if "splits" in report:
        kind = report.get("path", {}).get("kind", "path")
        if "naive" in report:
            return [(f"{kind} (naive)", report["naive"]["splits"]), (f"{kind} (aligned)", report["splits"])]
        return [(kind, report["splits"])]
    raise ReportError(f"{name}: neither an analyze, a path nor a merge report (no 'paths', 'splits' or "
                      "'matrices' key)")


def _plotted(values):
    """Values to draw: infinite ones become gaps in the line (NaN), as NaN ones already are."""
    return [v if finite(v) else float("nan") for v in values]


def _title(report):
    a, b = endpoint_names(report)
    path = report.get("path") if isinstance(report.get("path"), dict) else {}
    if "paths" in report:
        what = "paths"
    else:
        what = f"{path.get('kind', '')} path".strip()
    line = f"{what} from A = {a or '?'} (t = 0) to B = {b or '?'} (t = 1)"
    align = path.get("align") or (report.get("align") or {}).get("method")
    if align:
        line += f", B aligned to A by {align} matching"
    details = ", ".join(str(report[k]) for k in ("model", "data") if report.get(k))
    return line + ("\n" + details if details else "")


def plot_paths(report, name, plt):
    """Loss (top row) and error (bottom row) against t, one column per split, every path of an analyze or
    path report. Returns the Figure."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch

    paths = load_paths(report, name)
    ts = report.get("t")
    if not ts:
        raise ReportError(f"{name}: no 't' values")
    if ts[0] != 0 or ts[-1] != 1:
        raise ReportError(f"{name}: 't' must run from 0 to 1")
    splits = [s for s in ("train", "test") if any(s in sp for _, sp in paths)]
    if not splits:
        raise ReportError(f"{name}: no train or test profile")
    task = task_of(report)
    a_name, b_name = endpoint_names(report)

    # Two rows of panels (loss, error), one column per split, and a strip below for the key: constrained
    # layout makes room for each panel's legend above it and for the footnote.
    fig = plt.figure(figsize=(6.6 * len(splits), 10.2), layout="constrained")
    grid = fig.add_gridspec(3, len(splits), height_ratios=[1, 1, 0.1])
    axes = [[None] * len(splits) for _ in range(2)]
    for row in range(2):
        for col in range(len(splits)):
            axes[row][col] = fig.add_subplot(grid[row, col], sharex=axes[0][0])
            if row == 0:
                axes[row][col].tick_params(labelbottom=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for col, split in enumerate(splits):
        for row, metric in enumerate(("loss", "error")):
            ax = axes[row][col]
            first = None
            for k, (label, sp) in enumerate(paths):
                if split not in sp:
                    continue
                values = sp[split][metric]
                if len(values) != len(ts):
                    raise ReportError(f"{name}: {label} {split} {metric} holds {len(values)} values for "
                                      f"{len(ts)} t")
                if first is None:
                    first = values
                barrier = sp[split].get("barrier", {}).get(metric, {})
                gap, t_peak = barrier.get("gap", float("nan")), barrier.get("t_peak", float("nan"))
                color = colors[k % len(colors)]
                entry = f"{label}: gap {fmt(gap)}"
                if isinstance(gap, (int, float)) and not math.isnan(gap) and finite(t_peak):
                    entry += f" at t = {t_peak:.3g}"
                left_out = sum(1 for v in values if not finite(v))
                if left_out:
                    entry += f"; {left_out} value{'s' if left_out > 1 else ''} not finite, left out"
                ax.plot(ts, _plotted(values), color=color, marker=".", ms=4, lw=1.6, label=entry, zorder=3,
                        gid=f"curve:{label}")
                y0, y1 = values[0], values[-1]
                if finite(y0) and finite(y1):
                    # The line the gap is measured from: the endpoints' values joined straight.
                    ax.plot([0, 1], [y0, y1], ls="--", lw=1.1, color=color, alpha=0.9, zorder=2,
                            label="_endpoint line", gid=f"endpoint-line:{label}")
                    if finite(gap) and gap > 0 and finite(t_peak):
                        base = (1 - t_peak) * y0 + t_peak * y1
                        ax.add_patch(FancyArrowPatch((t_peak, base), (t_peak, base + gap), arrowstyle="<->",
                                                     mutation_scale=10, color=color, lw=1.3, zorder=4,
                                                     shrinkA=0, shrinkB=0, gid=f"gap-arrow:{label}"))
            if first is not None:
                if finite(first[0]):
                    ax.plot([0], [first[0]], "o", color="black", ms=7, zorder=5, label="_A", gid="endpoint:A")
                if finite(first[-1]):
                    ax.plot([1], [first[-1]], "s", color="black", ms=7, zorder=5, label="_B", gid="endpoint:B")
            ax.set_ylabel(axis_label(metric, task))
            ax.grid(alpha=0.3)
            # Above the panel, naming it: off the curves.
            ax.legend(loc="lower left", bbox_to_anchor=(0, 1.01), fontsize=8, title=f"{split} {metric}",
                      title_fontproperties={"weight": "bold", "size": 9}, frameon=False, borderaxespad=0)
            if row == 1:
                ax.set_xlabel("t along the path")
        axes[1][col].set_xticks([0, 0.25, 0.5, 0.75, 1], ["0\nA", "0.25", "0.5", "0.75", "1\nB"])
    key = [Line2D([], [], ls="none", marker="o", color="black", ms=7,
                  label=f"A: {a_name or 'first model'} (t = 0)"),
           Line2D([], [], ls="none", marker="s", color="black", ms=7,
                  label=f"B: {b_name or 'second model'} (t = 1)"),
           Line2D([], [], ls="--", color="grey", lw=1.1,
                  label="line joining the endpoints (gap measured from it), in each path's colour"),
           Line2D([], [], ls="none", marker=r"$\updownarrow$", color="grey", ms=13,
                  label="gap, at t_peak (value in each panel's legend)")]
    key_ax = fig.add_subplot(grid[2, :], gid="key")
    key_ax.axis("off")
    key_ax.legend(handles=key, loc="center", ncol=2, fontsize=8, frameon=False)
    fig.supxlabel(GAP_DEFINITION, fontsize=8, style="italic")
    fig.suptitle(_title(report), fontsize=11)
    return fig


MATRIX_COLUMNS = [("test", "loss"), ("train", "loss"), ("test", "error")]


def _shared_scale(report, paths, split, metric):
    """(vmin, vmax): one colour scale for every path's matrix of one split and metric."""
    seen = [v for p in paths for row in report["matrices"][p][split][metric]["gap"] for v in row if finite(v)]
    top = max(seen, default=0.0)
    low = min(min(seen, default=0.0), 0.0)
    # All zero, or nothing finite: 0 to 1, not matplotlib's default of -0.1 to 0.1 around a constant.
    return low, top if top > low else low + 1.0


def plot_matrices(report, plt):
    """Heatmaps: one row per path, columns for the test and train loss gaps and the test error gap; the panels
    of one column share one colour scale. Returns the Figure."""
    import matplotlib

    rank = {"linear": 0, "linear_aligned": 1}
    paths = sorted(report["matrices"], key=lambda p: (rank.get(p, 2), p))
    if not paths:
        raise ReportError("the merge report holds no finished pair to draw")
    n = len(report["models"])
    names = [base_name(m).rsplit(".", 1)[0] for m in report["models"]]
    size = max(3.4, 0.45 * n + 1.8)
    height = size * len(paths) + 1.2
    fig, axes = plt.subplots(len(paths), len(MATRIX_COLUMNS), figsize=(size * len(MATRIX_COLUMNS) + 1.2, height),
                             squeeze=False, layout="constrained")
    cmap = matplotlib.colormaps["viridis"].copy()
    cmap.set_bad("lightgrey")
    cmap.set_over("tab:red")
    for c, (split, metric) in enumerate(MATRIX_COLUMNS):
        vmin, vmax = _shared_scale(report, paths, split, metric)
        im = None
        for r, path in enumerate(paths):
            ax = axes[r][c]
            m = report["matrices"][path][split][metric]["gap"]
            values = [[float("nan") if v is None else v for v in row] for row in m]
            present = [v for row in values for v in row if not math.isnan(v)]
            # imshow hides what is not finite, as it does a missing pair (NaN): draw infinity above the scale.
            above = vmax + (vmax - vmin)
            shown = [[above if v == float("inf") else v if finite(v) else float("nan") for v in row] for row in values]
            im = ax.imshow(shown, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
            note = ""
            if not present:
                note = " (no value)"
            elif all(v == 0 for v in present):
                note = " (all zero)"
            ax.set_title(f"{path}: {split} {metric} gap{note}", fontsize=9)
            ax.set_xticks(range(n), names, rotation=90, fontsize=7)
            ax.set_yticks(range(n), names, fontsize=7)
            if n <= 12:
                for i in range(n):
                    for j in range(n):
                        v = values[i][j]
                        if m[i][j] is None:
                            continue  # a pair not finished: grey, no text
                        light = math.isnan(v) or (finite(v) and (v - vmin) / (vmax - vmin) > 0.6)
                        ax.text(j, i, fmt(v) if not finite(v) else f"{v:.2g}", ha="center", va="center",
                                fontsize=7, color="black" if light else "white")
        unit = " (fraction)" if metric == "error" else ""
        fig.colorbar(im, ax=list(axes[:, c]), shrink=0.9, label=f"{split} {metric} gap{unit}", extend="neither")
    missing = report.get("missing", [])
    title = f"barrier gaps between {n} models; each column one colour scale"
    if missing:
        title += f"; grey: {len(missing)} pair{'s' if len(missing) != 1 else ''} not finished"
    fig.suptitle(title, fontsize=11)
    notes = [GAP_DEFINITION.split(" (dashed)")[0]]
    if any(v == float("inf") for p in paths for s, k in MATRIX_COLUMNS
           for row in report["matrices"][p][s][k]["gap"] for v in row):
        notes.append("red: infinite")
    if any(isinstance(v, float) and math.isnan(v) for p in paths for s, k in MATRIX_COLUMNS
           for row in report["matrices"][p][s][k]["gap"] for v in row):
        notes.append("grey with 'nan': no gap (a value on the path not finite)")
    fig.supxlabel("; ".join(notes), fontsize=8, style="italic")
    return fig


def plot_benchmark(report, plt):
    """Left: seconds against the FLOPs a per-point loop does (log-log), modeconn and the peer. Right: the ratio
    per case. Returns the Figure."""
    rows = report.get("rows")
    if not rows:
        raise ReportError("benchmark report without rows")
    peer = report.get("peer", "peer")
    if isinstance(peer, dict):  # path_vs_torch.py's description of the peer: its name and version label the plot
        peer = peer.get("name", "peer") + (f" (torch {peer['torch']})" if "torch" in peer else "")

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


def plot_plane(report, plt):
    """A `modeconn plane` grid: per split, the loss as filled contours on a logarithmic scale and the error as a
    heatmap, the models (and a projected path, when the report has one) marked."""
    import numpy as np
    from matplotlib.colors import LogNorm

    plane = report["plane"]
    alpha, beta = np.array(plane["alpha"], dtype=float), np.array(plane["beta"], dtype=float)
    splits = [s for s in ("test", "train") if s in report["splits"]] or list(report["splits"])
    if not splits:
        raise ReportError("the plane report has no splits")
    task = task_of(report)
    fig, axes = plt.subplots(len(splits), 2, figsize=(11, 4.6 * len(splits)), squeeze=False)
    for row, split in enumerate(splits):
        for col, metric in enumerate(("loss", "error")):
            ax = axes[row][col]
            z = np.array(report["splits"][split][metric], dtype=float)  # [beta][alpha]
            if z.shape != (len(beta), len(alpha)):
                raise ReportError(f"{split} {metric} is {z.shape}, not {len(beta)} x {len(alpha)}")
            shown = np.where(np.isfinite(z), z, np.nan)
            positive = shown[np.isfinite(shown) & (shown > 0)]
            if metric == "loss" and positive.size and len(alpha) > 1 and len(beta) > 1:
                lo = positive.min()
                hi = max(positive.max(), lo * 1.0001)
                levels = np.geomspace(lo, hi, 24)
                cs = ax.contourf(alpha, beta, np.clip(shown, lo, hi), levels=levels, norm=LogNorm(lo, hi),
                                 cmap="viridis")
                ax.contour(alpha, beta, np.clip(shown, lo, hi), levels=levels[::3], colors="white",
                           linewidths=0.5, alpha=0.6)
            else:
                cs = ax.pcolormesh(alpha, beta, shown, shading="nearest", cmap="magma")
            fig.colorbar(cs, ax=ax, label=axis_label(metric, task), format="%.3g")
            path = plane.get("path")
            if isinstance(path, dict) and path.get("alpha"):
                ax.plot(path["alpha"], path["beta"], color="white", linewidth=1.8, label=path.get("name", "path"))
            for m in plane.get("markers", []):
                ax.plot([m["alpha"]], [m["beta"]], marker="o", color="white", markeredgecolor="black",
                        markersize=8)
                right_half = m["alpha"] > (alpha[0] + alpha[-1]) / 2  # labels lean inwards, off the edge
                ax.annotate(f"{m['name']}: {base_name(m.get('file'))}", (m["alpha"], m["beta"]),
                            textcoords="offset points", xytext=(-6 if right_half else 6, 6),
                            ha="right" if right_half else "left", color="white", fontsize=8,
                            bbox={"boxstyle": "round,pad=0.2", "fc": "black", "alpha": 0.5})
            ax.set_title(f"{split} {metric}")
            ax.set_xlabel("alpha" + (" (distance from A towards B)" if plane.get("kind") == "models" else
                                     " (first direction)"))
            ax.set_ylabel("beta" + (" (towards C, orthogonal)" if plane.get("kind") == "models" else
                                    " (second direction)"))
            # Distances in parameter space drawn to scale, unless that would flatten the panel to a strip.
            spans = (alpha[-1] - alpha[0], beta[-1] - beta[0])
            to_scale = plane.get("kind") == "models" and min(spans) > 0 and max(spans) / min(spans) <= 3
            ax.set_aspect("equal" if to_scale else "auto")
    what = ("the plane through three models" if plane.get("kind") == "models" else
            "the plane around " + base_name((plane.get("markers") or [{}])[0].get("file")) + " along " +
            str(plane.get("directions", {}).get("norm", "")) + "-normalised directions")
    fig.suptitle(f"{what}\n{report.get('model', '')}", fontsize=10)
    fig.tight_layout()
    return fig


def build_figure(report, name, plt):
    """The Figure for any report plot.py knows."""
    if "plane" in report:
        return plot_plane(report, plt)
    if "matrices" in report:
        return plot_matrices(report, plt)
    if "benchmark" in report:
        return plot_benchmark(report, plt)
    return plot_paths(report, name, plt)


def import_pyplot():
    """matplotlib.pyplot on the Agg backend; ReportError (one line) when matplotlib cannot be imported."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        detail = (str(e).strip().splitlines() or [""])[0]
        raise ReportError(f"matplotlib is missing ({detail}); run it with Debian's /usr/bin/python3 "
                          "(apt-get install python3-matplotlib) or pip install matplotlib")
    return plt


def save(fig, out):
    tmp = out + ".tmp.png"  # written whole, then renamed: no partial picture
    try:
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, out)
    except OSError as e:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise ReportError(f"{out}: {e.strerror or e}")


def main(argv=None):
    p = argparse.ArgumentParser(usage=USAGE, description=__doc__.split("\n\n")[0])
    p.add_argument("report", metavar="REPORT.json")
    p.add_argument("-o", "--out", metavar="FIG.png", required=True)
    a = p.parse_args(argv)
    try:
        report = load_report(a.report)
        if not isinstance(report, dict):
            raise ReportError(f"{a.report}: not a modeconn report (a JSON object)")
        plt = import_pyplot()
        try:
            fig = build_figure(report, a.report, plt)
        except (KeyError, TypeError, IndexError, AttributeError) as e:
            raise ReportError(f"{a.report}: malformed report ({type(e).__name__}: {e})")
        save(fig, a.out)
    except ReportError as e:
        fail(str(e))


if __name__ == "__main__":
    main()
