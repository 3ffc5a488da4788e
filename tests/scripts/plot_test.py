#!/usr/bin/env python3
"""scripts/plot.py on synthetic reports: analyze, aligned path, merge, benchmark and reports holding values
that are not finite. Runs the script as a command (exit status, the PNG it writes, its one-line errors) and
imports its figure builders to check what the figures say: the line joining the endpoints, the gap and its
arrow, the legend, the title, errors drawn as fractions, the heatmaps' shared colour scales.

Exit 0 when every check passes, 1 when one fails, 77 (skipped) without matplotlib.

usage: plot_test.py [--plot scripts/plot.py]
"""
import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
import unittest

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy
except ImportError:
    print(f"matplotlib missing for {sys.executable}: skipped (Debian: /usr/bin/python3 with python3-matplotlib)")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
PLOT = os.path.normpath(os.path.join(HERE, "..", "..", "scripts", "plot.py"))

T = [i / 10 for i in range(11)]
A_PATH = "/runs/sweep/seed-1.safetensors"
B_PATH = "/runs/sweep/seed-2.safetensors"


def barrier(ts, f):
    """The barrier definitions of one profile, as modeconn computes them, or NaN without a finite line."""
    if any(math.isnan(v) for v in f) or not (math.isfinite(f[0]) and math.isfinite(f[-1])):
        return {"gap": "nan", "mean": "nan", "midpoint": "nan", "t_peak": "nan"}
    excess = [v - ((1 - t) * f[0] + t * f[-1]) for t, v in zip(ts, f)]
    k = max(range(len(ts)), key=lambda i: excess[i])
    ends = 0.5 * (f[0] + f[-1])
    return {"gap": excess[k], "mean": max(f) - ends, "midpoint": f[ts.index(0.5)] - ends, "t_peak": ts[k]}


def expected_gap(ts, f):
    """The gap worked out here from the values alone: the most the curve rises above the endpoints' line."""
    return max(v - ((1 - t) * f[0] + t * f[-1]) for t, v in zip(ts, f))


def profile(loss, error):
    return {"loss": loss, "error": error,
            "barrier": {"loss": barrier(T, loss), "error": barrier(T, error)}}


def bump(start, end, height):
    """A profile from `start` to `end` with a hump of `height` above the straight line at t = 0.5."""
    return [(1 - t) * start + t * end + height * 4 * t * (1 - t) for t in T]


# The naive line: a loss barrier of 0.9 and an error barrier of 0.35 (fractions: 35 % more misclassified).
NAIVE = {"test": profile(bump(0.30, 0.34, 0.9), bump(0.08, 0.09, 0.35)),
         "train": profile(bump(0.20, 0.22, 0.8), bump(0.05, 0.06, 0.30))}
ALIGNED = {"test": profile(bump(0.30, 0.34, 0.12), bump(0.08, 0.09, 0.04)),
           "train": profile(bump(0.20, 0.22, 0.10), bump(0.05, 0.06, 0.03))}


def analyze_report():
    return {"a": A_PATH, "b": B_PATH, "data": "fashion", "model": "784-32-10 relu classification",
            "device": "cpu", "seconds": 1.0, "t": T,
            "paths": {"linear": {"kind": "linear", "label": "linear", "splits": NAIVE},
                      "linear_aligned": {"kind": "linear", "label": "linear (aligned)", "splits": ALIGNED}}}


def path_report():
    """An aligned regression path: the naive line beside it."""
    return {"path": {"kind": "linear", "points": len(T), "a": "/m/reg-a.safetensors", "b": "/m/reg-b.safetensors",
                     "align": "weight"},
            "data": "synthetic", "model": "8-16-1 tanh regression", "device": "cpu", "seconds": 0.5, "t": T,
            "splits": ALIGNED, "naive": {"splits": NAIVE}}


def nan_report():
    """Values that are not finite, written as modeconn writes them: strings."""
    loss = bump(0.3, 0.3, 0.5)
    loss[4] = float("nan")
    overflow = bump(0.2, 0.25, 0.4)
    overflow[5] = float("inf")
    error = bump(0.1, 0.1, 0.2)
    splits = {"test": {"loss": loss, "error": error,
                       "barrier": {"loss": barrier(T, loss), "error": barrier(T, error)}},
              "train": {"loss": overflow, "error": error,
                        "barrier": {"loss": {"gap": "inf", "mean": "inf", "midpoint": 0.1, "t_peak": 0.5},
                                    "error": barrier(T, error)}}}

    def strings(v):
        if isinstance(v, dict):
            return {k: strings(x) for k, x in v.items()}
        if isinstance(v, list):
            return [strings(x) for x in v]
        if isinstance(v, float) and not math.isfinite(v):
            return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
        return v

    return {"a": A_PATH, "b": B_PATH, "model": "784-32-10 relu classification", "t": T,
            "paths": {"linear": {"kind": "linear", "label": "linear", "splits": strings(splits)}}}


def matrix(n, cells):
    """N x N, 0 on the diagonal, null where `cells` has no pair, symmetric."""
    m = [[0.0 if i == j else None for j in range(n)] for i in range(n)]
    for (i, j), v in cells.items():
        m[i][j] = m[j][i] = v
    return m


def merge_report():
    """3 models, pair (0, 2) missing. The test loss gaps of the two paths have different ranges (2.0 and 0.5);
    the aligned test error gaps are all zero; the train loss gaps are all zero on both paths."""
    n = 3
    gaps = {"linear": {("test", "loss"): {(0, 1): 2.0, (1, 2): 1.5}, ("train", "loss"): {(0, 1): 0.0, (1, 2): 0.0},
                       ("test", "error"): {(0, 1): 0.25, (1, 2): 0.125}, ("train", "error"): {(0, 1): 0.2, (1, 2): 0.1}},
            "linear_aligned": {("test", "loss"): {(0, 1): 0.5, (1, 2): 0.25},
                               ("train", "loss"): {(0, 1): 0.0, (1, 2): 0.0},
                               ("test", "error"): {(0, 1): 0.0, (1, 2): 0.0},
                               ("train", "error"): {(0, 1): 0.0, (1, 2): 0.0}}}
    matrices = {}
    for path, by in gaps.items():
        matrices[path] = {}
        for (split, metric), cells in by.items():
            g = matrix(n, cells)
            matrices[path].setdefault(split, {})[metric] = {"gap": g, "mean": g, "midpoint": matrix(n, {})}
    return {"models": [f"/runs/m{i}.safetensors" for i in range(n)], "data": "fashion", "options": {}, "pairs": 3,
            "missing": [[0, 2]], "matrices": matrices}


def benchmark_report():
    rows = [{"model": "mlp", "widths": [784, 100, 10], "samples": 10000, "points": 25, "modeconn_s": 0.5,
             "peer_s": 1.5, "ratio": 3.0},
            {"model": "mlp", "widths": [784, 400, 10], "samples": 60000, "points": 25, "modeconn_s": 2.0,
             "peer_s": 5.0, "ratio": 2.5}]
    return {"benchmark": "path_vs_torch (cpu, float32)", "peer": "PyTorch loop", "machine": "test", "threads": 2,
            "runs": 1, "rows": rows}


def plane_report(loss_nan=False):
    """A 4 x 3 plane through three models: loss a bowl around A, one value not finite when asked."""
    alpha, beta = [-1.0, 0.0, 1.0, 2.0], [-1.0, 0.0, 1.5]
    loss = [[0.3 + 0.2 * (a * a + b * b) for a in alpha] for b in beta]
    error = [[min(1.0, 0.1 + 0.05 * (a * a + b * b)) for a in alpha] for b in beta]
    if loss_nan:
        loss[2][3] = "nan"
    markers = [{"name": "A", "file": "/x/a.safetensors", "alpha": 0.0, "beta": 0.0},
               {"name": "B", "file": "/x/b.safetensors", "alpha": 1.7, "beta": 0.0},
               {"name": "C", "file": "/x/c.safetensors", "alpha": 0.4, "beta": 1.2}]
    split = {"rows": 10, "loss": loss, "error": error}
    return {"plane": {"kind": "models", "grid": [4, 3], "alpha": alpha, "beta": beta, "markers": markers},
            "model": "6-8-3 relu classification", "data": "d", "device": "cpu", "seconds": 0.1,
            "splits": {"test": split, "train": split}}


def load_plot_module():
    spec = importlib.util.spec_from_file_location("modeconn_plot", PLOT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def legend_texts(fig):
    texts = []
    for legend in list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]:
        texts += [t.get_text() for t in legend.get_texts()]
        texts.append(legend.get_title().get_text())
    return texts


def panel(fig, split, metric):
    """The axes of one path panel, found by its legend's title ("test loss")."""
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend and legend.get_title().get_text() == f"{split} {metric}":
            return ax
    raise AssertionError(f"no panel for {split} {metric}")


def line(ax, gid):
    found = [ln for ln in ax.get_lines() if ln.get_gid() == gid]
    if not found:
        raise AssertionError(f"no line {gid!r} among {[ln.get_gid() for ln in ax.get_lines()]}")
    return found[0]


def arrows(ax):
    return {p.get_gid(): p for p in ax.patches if (p.get_gid() or "").startswith("gap-arrow:")}


class PlotTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.plot = load_plot_module()
        cls.tmp = tempfile.TemporaryDirectory(prefix="plot-test-")
        cls.dir = cls.tmp.name

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def tearDown(self):
        plt.close("all")

    def write(self, name, report):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            json.dump(report, f)
        return path

    def run_plot(self, report_path, out, env=None):
        return subprocess.run([sys.executable, PLOT, report_path, "-o", out], capture_output=True, text=True,
                              env=env, timeout=300)

    def figure(self, report):
        """The figure plot.py builds for a report, read back as the script reads it (strings to floats)."""
        return self.plot.build_figure(self.plot.numbers(json.loads(json.dumps(report))), "report", plt)

    # The command line.

    def test_every_report_draws_a_png(self):
        for name, report in [("analyze", analyze_report()), ("path", path_report()), ("merge", merge_report()),
                             ("nan", nan_report()), ("bench", benchmark_report()), ("plane", plane_report()),
                             ("plane-nan", plane_report(loss_nan=True))]:
            with self.subTest(report=name):
                src = self.write(f"{name}.json", report)
                out = os.path.join(self.dir, f"{name}.png")
                r = self.run_plot(src, out)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertGreater(os.path.getsize(out), 1000)
                with open(out, "rb") as f:
                    self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
                self.assertFalse(os.path.exists(out + ".tmp.png"), "temporary file left behind")

    def assert_one_line_exit_2(self, r, mentioning):
        self.assertEqual(r.returncode, 2, r.stderr)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, f"expected one line, got: {r.stderr!r}")
        self.assertIn(mentioning, lines[0])
        self.assertNotIn("Traceback", r.stderr)

    def test_not_json_is_one_line_and_exit_2(self):
        src = os.path.join(self.dir, "bad.json")
        with open(src, "w") as f:
            f.write("{ this is not json")
        out = os.path.join(self.dir, "bad.png")
        self.assert_one_line_exit_2(self.run_plot(src, out), "not JSON")
        self.assertFalse(os.path.exists(out))

    def test_missing_file_is_one_line_and_exit_2(self):
        self.assert_one_line_exit_2(self.run_plot(os.path.join(self.dir, "absent.json"),
                                                  os.path.join(self.dir, "absent.png")), "absent.json")

    def test_unknown_report_is_one_line_and_exit_2(self):
        src = self.write("other.json", {"something": 1})
        self.assert_one_line_exit_2(self.run_plot(src, os.path.join(self.dir, "other.png")), "neither")

    def test_without_matplotlib_one_line_and_exit_2(self):
        shim = os.path.join(self.dir, "no-matplotlib")
        os.makedirs(shim, exist_ok=True)
        with open(os.path.join(shim, "matplotlib.py"), "w") as f:
            f.write('raise ImportError("No module named \'matplotlib\'")\n')
        env = dict(os.environ, PYTHONPATH=shim)
        src = self.write("analyze-nompl.json", analyze_report())
        out = os.path.join(self.dir, "nompl.png")
        r = self.run_plot(src, out, env=env)
        self.assert_one_line_exit_2(r, "matplotlib")
        self.assertIn("/usr/bin/python3", r.stderr)
        self.assertFalse(os.path.exists(out))

    # What the figures say.

    def test_path_panels_draw_endpoint_line_gap_and_legend(self):
        fig = self.figure(analyze_report())
        texts = legend_texts(fig)
        joined = "\n".join(texts)
        self.assertIn("line joining the endpoints", joined)
        self.assertTrue(any(t.startswith("A: seed-1.safetensors") for t in texts), texts)
        self.assertTrue(any(t.startswith("B: seed-2.safetensors") for t in texts), texts)
        self.assertTrue(any("gap" in t and "t_peak" in t for t in texts), "the arrow is not in the legend")
        for split in ("train", "test"):
            for metric in ("loss", "error"):
                ax = panel(fig, split, metric)
                ax_texts = [t.get_text() for t in legend_texts_of(ax)]
                for label, splits in (("linear", NAIVE), ("linear (aligned)", ALIGNED)):
                    f = splits[split][metric]
                    dashed = line(ax, f"endpoint-line:{label}")
                    self.assertIn(dashed.get_linestyle(), ("--", "dashed"))
                    self.assertEqual(list(dashed.get_xdata()), [0, 1])
                    self.assertAlmostEqual(dashed.get_ydata()[0], f[0], places=12)
                    self.assertAlmostEqual(dashed.get_ydata()[1], f[-1], places=12)
                    gap = expected_gap(T, f)
                    self.assertIn(f"{label}: gap {gap:.4g}", "\n".join(ax_texts))
                    # The arrow stands at t_peak, from the line up to the curve.
                    arrow = arrows(ax)[f"gap-arrow:{label}"]
                    (x0, y0), (x1, y1) = arrow._posA_posB
                    peak = max(range(len(T)), key=lambda i: f[i] - ((1 - T[i]) * f[0] + T[i] * f[-1]))
                    self.assertAlmostEqual(x0, T[peak])
                    self.assertAlmostEqual(x1, T[peak])
                    self.assertAlmostEqual(y0, (1 - T[peak]) * f[0] + T[peak] * f[-1], places=12)
                    self.assertAlmostEqual(y1, f[peak], places=12)
                    self.assertAlmostEqual(y1 - y0, gap, places=12)
                self.assertEqual(list(line(ax, "endpoint:A").get_xdata()), [0])
                self.assertEqual(list(line(ax, "endpoint:B").get_xdata()), [1])

    def test_the_known_barrier(self):
        # 0.9 above the line at t = 0.5 by construction.
        self.assertAlmostEqual(expected_gap(T, NAIVE["test"]["loss"]), 0.9, places=12)
        fig = self.figure(analyze_report())
        ax = panel(fig, "test", "loss")
        self.assertIn("linear: gap 0.9 at t = 0.5", [t.get_text() for t in legend_texts_of(ax)])

    def test_no_text_over_the_curves(self):
        for report in (analyze_report(), path_report(), nan_report()):
            fig = self.figure(report)
            for ax in fig.axes:
                self.assertEqual([t.get_text() for t in ax.texts], [], "text annotations over the data")
            self.assertIn("gap: the largest height of the curve above the straight line joining its endpoints",
                          " ".join(t.get_text() for t in fig.texts))

    def test_title_names_both_models(self):
        title = self.figure(analyze_report())._suptitle.get_text()
        self.assertIn("seed-1.safetensors", title)
        self.assertIn("seed-2.safetensors", title)
        title = self.figure(path_report())._suptitle.get_text()
        self.assertIn("reg-a.safetensors", title)
        self.assertIn("reg-b.safetensors", title)

    def test_errors_are_unscaled_fractions(self):
        fig = self.figure(analyze_report())
        ax = panel(fig, "test", "error")
        curve = line(ax, "curve:linear")
        self.assertAlmostEqual(max(curve.get_ydata()), max(NAIVE["test"]["error"]), places=12)
        self.assertLess(ax.get_ylim()[1], 1.0)
        self.assertEqual(ax.get_ylabel(), "error (fraction misclassified)")
        self.assertEqual(panel(fig, "test", "loss").get_ylabel(), "cross-entropy")
        for t in legend_texts(fig):
            self.assertNotIn("pp", t.split())
            self.assertNotIn("%", t)

    def test_regression_labels(self):
        fig = self.figure(path_report())
        self.assertEqual(panel(fig, "train", "error").get_ylabel(), "error (mean absolute)")
        self.assertEqual(panel(fig, "train", "loss").get_ylabel(), "mean squared error")
        # The naive line beside the aligned one.
        ax = panel(fig, "test", "loss")
        line(ax, "endpoint-line:linear (naive)")
        line(ax, "endpoint-line:linear (aligned)")

    def test_unknown_task_label_says_both(self):
        report = analyze_report()
        del report["model"]
        fig = self.figure(report)
        self.assertEqual(panel(fig, "test", "error").get_ylabel(),
                         "error (fraction misclassified; mean absolute error for regression)")
        self.assertEqual(panel(fig, "test", "loss").get_ylabel(), "loss")

    def test_values_that_are_not_finite(self):
        fig = self.figure(nan_report())
        test_loss = panel(fig, "test", "loss")
        self.assertIn("linear: gap nan; 1 value not finite, left out",
                      [t.get_text() for t in legend_texts_of(test_loss)])
        self.assertEqual(arrows(test_loss), {}, "an arrow for a gap that is NaN")
        train_loss = panel(fig, "train", "loss")
        self.assertIn("linear: gap inf at t = 0.5; 1 value not finite, left out",
                      [t.get_text() for t in legend_texts_of(train_loss)])
        self.assertEqual(arrows(train_loss), {}, "an arrow for an infinite gap")
        self.assertTrue(math.isnan(line(train_loss, "curve:linear").get_ydata()[5]))

    def test_heatmaps_share_a_scale_per_quantity(self):
        fig = self.figure(merge_report())
        by_title = {ax.get_title(): ax for ax in fig.axes if ax.images}
        clim = {title: ax.images[0].get_clim() for title, ax in by_title.items()}

        def find(prefix):
            hits = [t for t in clim if t.startswith(prefix)]
            self.assertEqual(len(hits), 1, (prefix, list(clim)))
            return hits[0]

        naive, aligned = find("linear: test loss gap"), find("linear_aligned: test loss gap")
        self.assertEqual(clim[naive], clim[aligned])
        self.assertEqual(tuple(clim[naive]), (0.0, 2.0))
        naive, aligned = find("linear: test error gap"), find("linear_aligned: test error gap")
        self.assertEqual(clim[naive], clim[aligned])
        self.assertIn("all zero", aligned)
        self.assertNotIn("all zero", naive)
        for path in ("linear", "linear_aligned"):
            title = find(f"{path}: train loss gap")
            self.assertIn("all zero", title)
            low, high = clim[title]
            self.assertNotEqual((low, high), (-0.1, 0.1))
            self.assertEqual(low, 0.0)
            self.assertGreater(high, low)
        self.assertIn("not finished", fig._suptitle.get_text())

    def test_heatmap_with_values_that_are_not_finite(self):
        report = merge_report()
        report["matrices"]["linear_aligned"]["test"]["loss"]["gap"][1][2] = "inf"
        report["matrices"]["linear_aligned"]["test"]["loss"]["gap"][2][1] = "inf"
        report["matrices"]["linear"]["test"]["error"]["gap"][1][2] = "nan"
        src = self.write("merge-inf.json", report)
        r = self.run_plot(src, os.path.join(self.dir, "merge-inf.png"))
        self.assertEqual(r.returncode, 0, r.stderr)
        fig = self.figure(report)
        clim = {ax.get_title(): tuple(ax.images[0].get_clim()) for ax in fig.axes if ax.images}
        # The scale is the finite values': infinity does not stretch it.
        self.assertEqual(clim["linear: test loss gap"], (0.0, 2.0))
        self.assertEqual(clim["linear_aligned: test loss gap"], (0.0, 2.0))
        self.assertIn("infinite", fig._supxlabel.get_text())
        # Drawn in the colour above the scale, not hidden like a missing pair.
        aligned = next(ax for ax in fig.axes if ax.get_title() == "linear_aligned: test loss gap")
        cell = aligned.images[0].get_array()[1][2]
        self.assertFalse(cell is numpy.ma.masked)
        self.assertGreater(cell, 2.0)
        # A finished pair without a gap says so; a pair not finished is left blank.
        naive = next(ax for ax in fig.axes if ax.get_title() == "linear: test error gap")
        self.assertIn("nan", [t.get_text() for t in naive.texts])
        self.assertIn("'nan'", fig._supxlabel.get_text())
        self.assertEqual(len(naive.texts), 9 - 2)  # 9 cells, pair (0, 2) blank both ways


class PlaneTest(unittest.TestCase):
    def tearDown(self):
        plt.close("all")

    def test_a_loss_and_an_error_panel_per_split_with_the_models_marked(self):
        plot = load_plot_module()
        fig = plot.build_figure(plot.numbers(plane_report()), "plane", plt)
        panels = [ax for ax in fig.axes if ax.get_title()]
        self.assertEqual(sorted(ax.get_title() for ax in panels),
                         ["test error", "test loss", "train error", "train loss"])
        for ax in panels:
            marked = sorted((round(l.get_xdata()[0], 6), round(l.get_ydata()[0], 6)) for l in ax.lines
                            if len(l.get_xdata()) == 1)
            self.assertEqual(marked, [(0.0, 0.0), (0.4, 1.2), (1.7, 0.0)], ax.get_title())
            names = {t.get_text() for t in ax.texts}
            self.assertIn("B: b.safetensors", names)

    def test_a_grid_of_the_wrong_shape_is_one_line_and_exit_2(self):
        report = plane_report()
        report["splits"]["test"]["loss"] = report["splits"]["test"]["loss"][:2]
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "bad-plane.json")
            with open(src, "w") as f:
                json.dump(report, f)
            r = subprocess.run([sys.executable, PLOT, src, "-o", os.path.join(d, "x.png")], capture_output=True,
                               text=True, timeout=300)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("test loss", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(d, "x.png")))


def legend_texts_of(ax):
    legend = ax.get_legend()
    return list(legend.get_texts()) if legend else []


def main():
    global PLOT
    args = sys.argv[1:]
    if args[:1] == ["--plot"] and len(args) >= 2:
        PLOT = os.path.abspath(args[1])
        args = args[2:]
    result = unittest.main(argv=[sys.argv[0]] + args, exit=False, verbosity=2).result
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
