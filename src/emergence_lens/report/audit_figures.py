"""Figures of an audit (paper Figs. 5-6): the emergence score of every curve by metric, and
multiple-choice grade beside the Brier score of the same outputs for one family."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emergence_lens.outputs import current_run
from emergence_lens.metrics.reported import metric_kind, metric_properties

__all__ = ["draw_audit_figures", "is_high"]


def is_high(t: pd.DataFrame, threshold: float) -> pd.Series:
    """Curves whose sharpness (emergence score / (n_scales - 1)) reaches ``threshold``."""
    return (t["emergence_score"] / (t["n_scales"] - 1)) >= threshold


def draw_audit_figures(t: pd.DataFrame, curves: pd.DataFrame, rescored: pd.DataFrame | None, out: Path,
             threshold: float, executor: Executor | None = None, pending: list[Future[None]] | None = None) -> None:
    """Figures 5 and 6 (cf. the paper's) of an audit table ``t``, from its results-only ``curves`` and
    ``rescored`` curves, each drawn by ``executor``'s workers when given (then waited for here, or
    their futures appended to ``pending``).  The files are claimed for the open run before a worker
    writes them (:mod:`emergence_lens.outputs`)."""
    jobs: list[tuple[Callable[..., None], tuple[Any, ...]]] = []
    # a group's aggregate re-counts its subtasks' examples: it is never in the meta-analysis
    scored = t[np.isfinite(t["emergence_score"]) & ~t["aggregate"].astype(bool)]
    if scored.empty:
        return
    jobs.append((_fig5, (scored[["metric", "emergence_score", "n_scales"]], threshold,
                         out / "fig5_scores_by_metric.png")))
    # Figure 6 analog: multiple-choice grade vs Brier for one family, same tasks.
    cur = curves
    pairs = [("multiple_choice_grade", "calibration_multiple_choice_brier_score"), ("acc", "brier_score")]
    src = cur
    if rescored is not None:
        rescored = rescored.assign(subtask=rescored.task, shots=np.nan)
        src = pd.concat([cur, rescored[cur.columns.intersection(rescored.columns)]], ignore_index=True)
        pairs.insert(0, ("multiple_choice_grade", "brier_score"))
    for a, b in pairs:
        fam = src[src.metric.isin([a, b])].groupby("family")["metric"].nunique()
        fam = fam[fam == 2]
        if fam.empty:
            continue
        family = fam.index[0]
        d = src[(src.family == family) & src.metric.isin([a, b])]
        tasks = sorted(set(d[d.metric == a].subtask) & set(d[d.metric == b].subtask))[:8]
        if not tasks:
            continue
        d = d[d.subtask.isin(tasks)][["metric", "subtask", "scale_params", "value"]]
        jobs.append((_fig6, (d, tasks, a, b, str(family), out / "fig6_mcg_vs_brier.png")))
        break
    if executor is None or (len(jobs) < 2 and pending is None):
        for fn, args in jobs:
            fn(*args)
        return
    run = current_run()
    for _fn, args in jobs:  # the worker writes the file: this process claims it for the run first
        if run is not None:
            run.claim(args[-1])
    futures = [executor.submit(fn, *args) for fn, args in jobs]
    if pending is not None:
        pending.extend(futures)
    else:
        for fut in futures:
            fut.result()


def _fig5(scored: pd.DataFrame, threshold: float, path: Path) -> None:
    import matplotlib.pyplot as plt

    from emergence_lens.report.figures import STYLE, save_figure

    metrics = scored.groupby("metric")["emergence_score"].median().sort_values().index.tolist()
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(8, 0.45 * len(metrics) + 1.8), constrained_layout=True)
        rng = np.random.default_rng(0)
        for i, m in enumerate(metrics):
            d = scored[scored.metric == m]
            high = is_high(d, threshold)
            ax.scatter(d.emergence_score, i + rng.uniform(-0.15, 0.15, len(d)), s=14,
                       c=np.where(high, "tab:red", "tab:blue"), alpha=0.7)
        ax.set_yticks(range(len(metrics)), [f"{m} ({metric_kind(m)})" for m in metrics])
        ax.set_xscale("symlog", linthresh=1.0)
        lo, hi = float(scored.emergence_score.min()), float(scored.emergence_score.max())
        ax.set_xlim(min(-1.0, lo * 1.6), max(1.0, hi * 1.6))
        ax.set_xlabel("emergence score (oriented: higher = improves with scale; symlog scale)")
        ax.set_title(f"Emergence score of every curve, by metric (cf. Fig. 5); red: sharpness >= {threshold:g}")
        save_figure(fig, path)


def _fig6(d: pd.DataFrame, tasks: list[str], a: str, b: str, family: str, path: Path) -> None:
    import matplotlib.pyplot as plt

    from emergence_lens.report.figures import STYLE, save_figure

    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
        cmap = plt.get_cmap("viridis")
        for ax, m in zip(axes, (a, b), strict=True):
            for i, task in enumerate(tasks):
                g = d[(d.metric == m) & (d.subtask == task)].groupby("scale_params")["value"].mean()
                ax.plot(g.index, g.values, marker="o", ms=3, color=cmap(i / max(len(tasks) - 1, 1)),
                        label=str(task))
            props = metric_properties(m)
            better = ("" if props is None else " (higher is better)" if props.higher_is_better
                      else " (lower is better)")
            ax.set(xscale="log", xlabel="parameters (log scale)", ylabel=m.replace("_", " ") + better,
                   title=f"{family}: {m}")
            ax.legend(fontsize=6)
        fig.suptitle("Same outputs: multiple-choice grade vs Brier score (cf. Fig. 6)")
        save_figure(fig, path)
