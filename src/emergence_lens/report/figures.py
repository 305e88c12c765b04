"""Paper-style figures (matplotlib, Agg backend, deterministic bytes)."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from emergence_lens._io import atomic_write_bytes  # noqa: E402
from emergence_lens.metrics import METRICS  # noqa: E402

__all__ = ["STYLE", "save_figure", "plot_theory", "plot_curves", "plot_resolution", "plot_seed_spread", "metric_label",
           "plot_length_grid"]

STYLE = {"axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
          "grid.alpha": 0.3, "font.size": 9, "axes.titlesize": 10, "legend.fontsize": 7,
          "svg.hashsalt": "emergence-lens"}


def save_figure(fig: plt.Figure, path: str | os.PathLike[str], dpi: int = 150) -> Path:
    """Save as PNG atomically, without timestamps or version metadata (same input, same bytes)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())


def metric_label(name: str) -> str:
    """Axis label: the metric name with its direction and kind."""
    spec = METRICS.get(name)
    if spec is None:
        return name
    arrow = "higher is better" if spec.higher_is_better else "lower is better"
    return f"{name.replace('_', ' ')}\n({spec.kind}; {arrow})"


def plot_theory(table: pd.DataFrame, path: str | os.PathLike[str], *, n_choices: int,
                title: str | None = None) -> Path:
    """Figure 2 of Schaeffer et al. (2023): panels A-F from :func:`emergence_lens.theory.theory_table`."""
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(2, 3, figsize=(12, 6.8), constrained_layout=True)
        first = table[table["target_length"] == table["target_length"].min()]
        ax = axes[0, 0]
        ax.loglog(first["n_params"], first["per_token_ce"], color="k")
        ax.set(title="A  per-token cross-entropy falls as a power law",
               ylabel="CE(N) = (N/c)^alpha  [nats/token]")
        ax = axes[0, 1]
        ax.semilogx(first["n_params"], first["p_token_correct"], color="k")
        ax.set(title="B  p(correct token) = exp(-CE) rises smoothly", ylabel="p(correct token)",
               ylim=(0, 1.02))
        panels = [
            (axes[0, 2], "accuracy", "C  accuracy p^L (nonlinear): sharp", "accuracy (exact match)"),
            (axes[1, 0], "token_edit_distance", "D  token edit distance L(1-p) (linear): smooth",
             "token edit distance"),
            (axes[1, 1], "multiple_choice_grade",
             f"E  multiple-choice grade (discontinuous, K={n_choices}): step", "multiple-choice grade"),
            (axes[1, 2], "brier_score", "F  Brier score (continuous), same choices: smooth",
             "Brier score"),
        ]
        lengths = sorted(table["target_length"].unique())
        cmap = plt.get_cmap("viridis")
        for ax, col, ttl, ylabel in panels:
            for i, L in enumerate(lengths):
                d = table[table["target_length"] == L]
                ax.semilogx(d["n_params"], d[col], color=cmap(i / max(len(lengths) - 1, 1)),
                            label=f"L = {L}")
            ax.set(title=ttl, ylabel=ylabel)
            ax.legend(title="target length", loc="best")
        for ax in axes.ravel():
            ax.set_xlabel("model parameters N (log scale)")
        fig.suptitle(title or "The same smooth per-token improvement under four metrics "
                     "(after Schaeffer et al. 2023, Fig. 2)")
        return save_figure(fig, path)


def plot_curves(table: pd.DataFrame, path: str | os.PathLike[str], *,
                metrics: Sequence[str] | None = None, line_by: str = "task",
                x: str = "scale_params", title: str | None = None,
                annotations: dict[tuple[str, str], str] | None = None) -> Path:
    """One panel per metric (same outputs, different metric), one line per ``line_by`` value,
    bootstrap CIs as error bars, log-scaled x.

    Args:
        table: a curves table (:data:`emergence_lens.curves.CURVE_COLUMNS`).
        metrics: panel order (default: sharp metrics each followed by their partners).
        annotations: ``(metric, line) -> text`` shown in the legend (e.g. the emergence score).
    """
    present = list(dict.fromkeys(table["metric"]))
    if metrics is None:
        metrics = []
        for name in present:
            spec = METRICS.get(name)
            if spec is not None and spec.sharp:
                metrics += [name] + [p for p in spec.partners if p in present]
        metrics += [m for m in present if m not in metrics]
        metrics = list(dict.fromkeys(metrics))
    metrics = [m for m in metrics if m in present]
    if not metrics:
        raise ValueError("no metric to plot")
    ncols = min(3, len(metrics))
    nrows = int(np.ceil(len(metrics) / ncols))
    lines = list(dict.fromkeys(table[line_by]))
    cmap = plt.get_cmap("viridis")
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.4 * nrows),
                                 constrained_layout=True, squeeze=False)
        for ax, metric in zip(axes.ravel(), metrics, strict=False):
            d = table[table["metric"] == metric]
            for i, line in enumerate(lines):
                g = d[d[line_by] == line].sort_values(x)
                if g.empty:
                    continue
                label = str(line)
                if annotations and (metric, str(line)) in annotations:
                    label += f"  ({annotations[(metric, str(line))]})"
                yerr = None
                if g["ci_low"].notna().all():
                    yerr = np.vstack([np.clip(g["value"] - g["ci_low"], 0, None),
                                      np.clip(g["ci_high"] - g["value"], 0, None)])
                ax.errorbar(g[x], g["value"], yerr=yerr, marker="o", ms=3, capsize=2, lw=1.2,
                            color=cmap(i / max(len(lines) - 1, 1)), label=label)
            ax.set_xscale("log")
            if getattr(METRICS.get(metric), "log_scale", False):
                ax.set_yscale("log")
            ax.set(xlabel="model parameters (log scale)" if x == "scale_params" else x,
                   ylabel=metric_label(metric), title=metric.replace("_", " "))
            ax.legend(loc="best")
        for ax in axes.ravel()[len(metrics):]:
            ax.set_visible(False)
        if title:
            fig.suptitle(title)
        return save_figure(fig, path)


def plot_resolution(small: pd.DataFrame, large: pd.DataFrame, path: str | os.PathLike[str], *,
                    labels: tuple[str, str], title: str | None = None,
                    xlabel: str = "model parameters (log scale)", pass_rates: pd.DataFrame | None = None,
                    pass_label: str = "sampled until K passes (PassUntil)") -> Path:
    """Accuracy with Clopper-Pearson intervals on a small and a large test set (cf. Fig. 4).

    Zero accuracies are drawn at the bottom of the log axis with their CP upper bound, so what
    the small set cannot resolve is visible.  With ``pass_rates`` (rows of
    :func:`emergence_lens.emergence.pass_rate_table`) a third panel shows the pass rate measured by
    sampling until K passes, with its CI, and as a dashed line the per-token prediction
    (``target_probability``, the probability of drawing the target).
    """
    with plt.rc_context(STYLE):
        n_panels = 3 if pass_rates is not None and len(pass_rates) else 2
        fig, axes = plt.subplots(1, n_panels, figsize=(5 * n_panels, 3.8), constrained_layout=True, sharey=True)
        lows = [small["cp_high"], large["cp_high"]]
        if n_panels == 3:
            lows.append(pass_rates["pass_rate_low"][pass_rates["pass_rate_low"] > 0])
        floor = 0.3 * float(np.nanmin(pd.concat(lows)))
        for ax, d, lab in zip(axes[:2], (small, large), labels, strict=True):
            lines = list(dict.fromkeys(d["task"]))
            cmap = plt.get_cmap("viridis")
            for i, task in enumerate(lines):
                g = d[d["task"] == task].sort_values("scale_params")
                # small multiplicative x offsets keep overlapping lines (e.g. all-zero) visible
                shift = 10 ** (0.025 * (i - (len(lines) - 1) / 2))
                g = g.assign(scale_params=g["scale_params"] * shift)
                y = np.maximum(g["value"].to_numpy(dtype=float), floor)
                lo = np.maximum(g["cp_low"].to_numpy(dtype=float), floor)
                hi = g["cp_high"].to_numpy(dtype=float)
                color = cmap(i / max(len(lines) - 1, 1))
                ax.errorbar(g["scale_params"], y, yerr=np.vstack([y - lo, hi - y]), marker="o",
                            ms=3, capsize=2, color=color, label=str(task))
                zero = g["value"].to_numpy() == 0
                ax.scatter(g["scale_params"][zero], y[zero], marker="v", color=color, zorder=3)
            ax.set(xscale="log", yscale="log", xlabel=xlabel, title=lab)
            ax.legend(loc="lower right")
        axes[0].set_ylabel("accuracy (log scale), 95% Clopper-Pearson\n(triangles: observed 0)")
        if n_panels == 3:
            ax = axes[2]
            assert pass_rates is not None
            tasks = list(dict.fromkeys(large["task"]))
            tasks += [t for t in dict.fromkeys(pass_rates["task"]) if t not in tasks]
            cmap = plt.get_cmap("viridis")
            for i, task in enumerate(tasks):
                g = pass_rates[pass_rates["task"] == task].sort_values("scale_params")
                if not len(g):
                    continue
                color = cmap(i / max(len(tasks) - 1, 1))
                y = np.maximum(g["pass_rate"].to_numpy(dtype=float), floor)
                lo = np.maximum(g["pass_rate_low"].to_numpy(dtype=float), floor)
                hi = g["pass_rate_high"].to_numpy(dtype=float)
                ax.errorbar(g["scale_params"], y, yerr=np.vstack([y - lo, hi - y]), marker="o", ms=3, capsize=2,
                            color=color, label=str(task))
                pred = np.maximum(g["target_probability"].to_numpy(dtype=float), floor)
                ax.plot(g["scale_params"], pred, ls="--", lw=1, color=color)
                greedy_zero = g["greedy_correct"].to_numpy() == 0
                ax.scatter(g["scale_params"][greedy_zero], y[greedy_zero], marker="s", facecolors="none",
                           edgecolors="red", zorder=4, s=28)
            ax.plot([], [], ls="--", color="gray", label="per-token prediction (prod of p)")
            ax.scatter([], [], marker="s", facecolors="none", edgecolors="red", label="greedy exact match = 0")
            ax.set(xscale="log", yscale="log", xlabel=xlabel, title=pass_label)
            ax.legend(loc="lower right", fontsize=6)
        if title:
            fig.suptitle(title)
        return save_figure(fig, path)


def plot_seed_spread(spread: pd.DataFrame, path: str | os.PathLike[str], *, metrics: list[str],
                     evaluated: int | None = None, title: str | None = None,
                     xlabel: str = "model parameters (log scale)") -> Path:
    """One panel per (task, metric): each training seed's curve (thin; the ``evaluated`` seed solid),
    and their mean (thick) — the Fig. 3 curves with the seed noise they carry.

    Args:
        spread: rows of ``seed_spread.csv`` (``task``, ``target_length``, ``metric``, ``scale_params``,
            one ``seed_K`` column per seed, ``seed_mean``).
        metrics: the metrics to draw, one column of panels each.
        evaluated: the seed whose ladder the run evaluated in full.
    """
    seeds = sorted((c for c in spread.columns if c.startswith("seed_") and c[5:].isdigit()), key=lambda c: int(c[5:]))
    tasks = list(dict.fromkeys(zip(spread["task"], spread["target_length"], strict=True)))
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(len(tasks), len(metrics), figsize=(4.2 * len(metrics), 3.0 * len(tasks)),
                                 constrained_layout=True, squeeze=False)
        for r, (task, L) in enumerate(tasks):
            for c, metric in enumerate(metrics):
                ax = axes[r, c]
                g = spread[(spread["task"] == task) & (spread["target_length"] == L) & (spread["metric"] == metric)]
                g = g.sort_values("scale_params")
                for col in seeds:
                    mine = evaluated is not None and int(col[5:]) == evaluated
                    ax.plot(g["scale_params"], g[col], color="0.55", lw=0.9, marker="o" if mine else ".",
                            ms=3, ls="-" if mine else ":", label=f"seed {col[5:]}" + (" (this run)" if mine else ""))
                ax.plot(g["scale_params"], g["seed_mean"], color="C3", lw=2.2, marker="o", ms=4,
                        label=f"mean of {len(seeds)} seeds")
                ax.set(xscale="log", xlabel=xlabel, ylabel=metric_label(metric),
                       title=f"{task}, L={L}: {metric.replace('_', ' ')}")
                if r == 0 and c == 0:
                    ax.legend(fontsize=6)
        if title:
            fig.suptitle(title)
        return save_figure(fig, path)


def plot_length_grid(t: pd.DataFrame, em: pd.DataFrame, path: str | os.PathLike[str], *, tasks: list[str],
                     metrics: list[str], title: str) -> Path:
    """Paper Fig. 3's layout: one row per task, one panel per metric, one line per target length
    (``t``: curves with ``task_name`` and ``target_length``; ``em``: emergence scores for the legend)."""
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(len(tasks), len(metrics), figsize=(13, 7), constrained_layout=True)
        cmap = plt.get_cmap("viridis")
        for r, task_name in enumerate(tasks):
            lengths = sorted(t[t.task_name == task_name].target_length.unique())
            for c, metric in enumerate(metrics):
                ax = axes[r, c]
                for i, L in enumerate(lengths):
                    sel = (t.task_name == task_name) & (t.metric == metric) & (t.target_length == L)
                    g = t[sel].sort_values("scale_params")
                    es = em[(em.task == f"{task_name}-L{L}") & (em.metric == metric)].emergence_score
                    label = f"L={L}" + (f" (ES {es.iloc[0]:.3g})" if len(es) and np.isfinite(es.iloc[0]) else "")
                    ax.errorbar(g.scale_params, g.value, yerr=np.vstack([g.value - g.ci_low, g.ci_high - g.value]),
                                marker="o", ms=3, capsize=2, color=cmap(i / max(len(lengths) - 1, 1)), label=label)
                ax.set(xscale="log", xlabel="non-embedding parameters (log scale)", ylabel=metric_label(metric),
                       title=f"{task_name}: {metric.replace('_', ' ')}")
                ax.legend(title="target length", fontsize=6)
        fig.suptitle(title)
        return save_figure(fig, path)
