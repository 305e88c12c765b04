"""Figure per sharp metric: observed curve, the band predicted from its smooth ingredient, and the
backtest from the smallest models next to the naive baseline (cf. Schaeffer et al. 2023, Figs. 3,
7-9; Wei et al. 2022's "cannot be predicted by extrapolating smaller models")."""

from __future__ import annotations

import os
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from emergence_lens.report.figures import STYLE, save_figure  # noqa: E402

__all__ = ["plot_verdicts"]


def _natural(text: str) -> list:
    """Sort key that puts L2 before L10 and c=0.0005 before c=0.001."""
    return [(0, float(t), "") if i % 2 else (1, 0.0, t) for i, t in enumerate(re.split(r"(\d+(?:\.\d+)?)", text))]


def _verdict_of(verdicts: pd.DataFrame, task: str, metric: str) -> str:
    """The verdict against the metric's first partner (its ingredient's curve, best first)."""
    v = verdicts[(verdicts["task"].astype(str) == task) & (verdicts["metric"] == metric)]
    if v.empty:
        return ""
    first = v.iloc[0]
    partner = str(first["partner"]) if "partner" in v and str(first["partner"]) not in ("", "nan") else ""
    return str(first["verdict"]) + (f" (vs {partner})" if partner else "")


def plot_verdicts(predictions: pd.DataFrame, verdicts: pd.DataFrame, path: str | os.PathLike[str], *,
                  title: str, xlabel: str = "parameters (log scale)", log_x: bool = True,
                  max_panels: int = 12) -> Path | None:
    """One panel per (task, sharp metric) of ``predictions`` (first ``max_panels``).

    Each panel: observed values with CIs (black), the prediction from the ingredient at the same
    scale with its joint band (blue, ``fit_on = all``), the backtest's ``transform`` forecast from
    the ``K`` smallest models with its calibrated interval (orange) and the ``naive`` forecast that
    extrapolates the sharp metric itself (grey, dashed); the title carries the verdict against the first partner.  Returns ``None`` when there is nothing to plot.
    """
    if predictions.empty:
        return None
    keys = sorted(dict.fromkeys(zip(predictions["task"].astype(str), predictions["metric"], strict=True)),
                  key=lambda k: (_natural(k[0]), _natural(k[1])))[:max_panels]
    n = len(keys)
    cols = min(4, n)
    rows = int(np.ceil(n / cols))
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.0 * rows), constrained_layout=True, squeeze=False)
        for ax, (task, metric) in zip(axes.ravel(), keys, strict=False):
            p = predictions[(predictions["task"].astype(str) == task) & (predictions["metric"] == metric)]
            same = p[p["fit_on"] == "all"].sort_values("scale")
            if len(same):
                ax.fill_between(same["scale"], same["predicted_low"], same["predicted_high"], color="tab:blue",
                                alpha=0.25, lw=0, label="predicted from ingredient (joint band)")
                ax.plot(same["scale"], same["predicted"], color="tab:blue", lw=1)
                ax.errorbar(same["scale"], same["observed"],
                            yerr=np.vstack([same["observed"] - same["observed_low"],
                                            same["observed_high"] - same["observed"]]).clip(0),
                            fmt="o", ms=3, color="k", capsize=2, label="observed (95% CI)")
            held = p[p["fit_on"] != "all"]
            bt = held[held["method"] == "transform"].sort_values("scale")
            naive = held[held["method"] == "naive"].sort_values("scale")
            if len(bt):
                k = bt["fit_on"].iloc[0]
                ax.fill_between(bt["scale"], bt["calibrated_low"], bt["calibrated_high"], color="tab:orange",
                                alpha=0.25, lw=0)
                ax.plot(bt["scale"], bt["predicted"], color="tab:orange", marker="s", ms=3,
                        label=f"backtest from {k} smallest (calibrated)")
            if len(naive):
                ax.plot(naive["scale"], naive["predicted"], color="grey", ls="--", marker="x", ms=3,
                        label=f"naive: extrapolate metric from {naive['fit_on'].iloc[0]}")
            if len(held):
                if not len(same):
                    held = held.drop_duplicates("model").sort_values("scale")
                    ax.errorbar(held["scale"], held["observed"], fmt="o", ms=3, color="k", label="observed")
            if log_x:
                ax.set_xscale("log")
            ax.set_ylim(-0.03, 1.03)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(metric.replace("_", " "))
            verdict = _verdict_of(verdicts, task, metric)
            ax.set_title(f"{task}: {metric}\n{verdict}", fontsize=8)
        for ax in axes.ravel()[n:]:
            ax.axis("off")
        handles, labels = axes.ravel()[0].get_legend_handles_labels()
        for ax in axes.ravel()[1:n]:
            h, lab = ax.get_legend_handles_labels()
            for hh, ll in zip(h, lab, strict=True):
                if ll not in labels:
                    handles.append(hh)
                    labels.append(ll)
        fig.legend(handles, labels, loc="outside lower center", ncol=4, fontsize=7)
        fig.suptitle(title)
        return save_figure(fig, path)
