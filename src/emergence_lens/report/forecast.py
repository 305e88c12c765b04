"""Forecast figures and report: one figure per curve with every method's fan, and ``report.html``
with the "which method wins" table (the output of ``emergence-lens predict``)."""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import LogLocator, NullFormatter  # noqa: E402

from emergence_lens._io import atomic_write_text  # noqa: E402
from emergence_lens.emergence.forecast import CurveData  # noqa: E402
from emergence_lens.report.figures import STYLE, save_figure  # noqa: E402

__all__ = ["plot_forecast", "plot_emergence_law", "write_forecast_report", "METHOD_COLORS"]

#: One colour per forecast method (the registry's names); others get grey.
METHOD_COLORS = {"transform": "#1f77b4", "two-step": "#2ca02c", "passuntil": "#9467bd", "naive": "#7f7f7f",
                 "observational": "#d62728", "finetune": "#ff7f0e"}


def plot_forecast(observed: pd.DataFrame, predictions: pd.DataFrame, path: str | os.PathLike[str], *, title: str,
                  xlabel: str, log_x: bool, cutoff: float | None = None, level: float | None = None,
                  ylabel: str = "metric") -> Path:
    """One curve: ``observed`` (columns ``scale, observed, observed_low, observed_high``; every model)
    in black with its CI, the fit/held-out boundary (``cutoff``, dotted) and, per method in
    ``predictions`` (the held-out rows of ``predictions.csv``), its point forecast joined to the last
    fitted observation and its calibrated interval as a shaded fan; ``level``: half the metric's
    range (dashed), to read where each method crosses it."""
    obs = observed.sort_values("scale")
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.4, 4.2), constrained_layout=True)
        fitted = obs[obs["scale"] < cutoff] if cutoff is not None else obs.iloc[:0]
        for method, p in predictions.groupby("method", sort=False):
            p = p.sort_values("scale")
            color = METHOD_COLORS.get(str(method), "#bcbd22")
            xs = np.r_[fitted["scale"].to_numpy(float)[-1:], p["scale"].to_numpy(float)]
            ys = np.r_[fitted["observed"].to_numpy(float)[-1:], p["predicted"].to_numpy(float)]
            lo = np.r_[fitted["observed"].to_numpy(float)[-1:], p["calibrated_low"].to_numpy(float)]
            hi = np.r_[fitted["observed"].to_numpy(float)[-1:], p["calibrated_high"].to_numpy(float)]
            ax.fill_between(xs, lo, hi, color=color, alpha=0.13, linewidth=0)
            ax.plot(xs, ys, "-", color=color, lw=1.6, marker="s", ms=3.5, label=str(method))
        yerr = np.vstack([(obs["observed"] - obs["observed_low"]).clip(lower=0).fillna(0),
                          (obs["observed_high"] - obs["observed"]).clip(lower=0).fillna(0)])
        ax.errorbar(obs["scale"], obs["observed"], yerr=yerr, fmt="o", color="black", ms=4, capsize=2,
                    label="observed", zorder=5)
        if cutoff is not None:
            ax.axvline(cutoff, color="black", ls=":", lw=1)
        if level is not None:
            ax.axhline(level, color="#999999", ls="--", lw=0.8)
        if log_x:
            ax.set_xscale("log")
            # one labelled tick per decade: minor ticks unlabelled, so 3e9..6e9 never overlap
            ax.xaxis.set_major_locator(LogLocator(base=10, numticks=12))
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7, loc="best", frameon=False)
        return save_figure(fig, path)


def plot_emergence_law(d: CurveData, K: int, path: str | os.PathLike[str], *, title: str, ylabel: str = "metric"
                       ) -> Path:
    """The ``finetune`` method's emergence law (Snell et al. 2024) on one curve: the metric against
    pretraining loss (falling to the right) after finetuning the ``K`` fitted models on each ``k``
    (colours, the law's curve through them), and the curve itself (black; filled: fitted, open: the
    larger models) with the law carried back to no finetuning (dashed)."""
    from matplotlib import colormaps

    from emergence_lens.emergence.forecast.finetune import emergence_law, fit_emergence_law, law_points

    ft = d.finetuned
    if ft is None or d.loss is None:
        raise ValueError("the curve has no finetuned values or no pretraining loss")
    params = fit_emergence_law(*law_points(d, K), d.bounds)
    loss = d.loss
    ok = np.isfinite(loss) & (loss > 0)
    grid = np.linspace(-np.log(loss[ok].max()), -np.log(loss[ok].min()), 200)
    colors = colormaps["viridis"](np.linspace(0.15, 0.85, ft.ks.size))
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.4, 4.2), constrained_layout=True)
        for i, k in enumerate(ft.ks):
            e_k = params[0] - params[1] * np.log1p(k)
            ax.plot(np.exp(-grid), emergence_law(params, grid, np.full(grid.size, k), d.bounds), "-", color=colors[i],
                    lw=1.2)
            ax.plot(loss[:K], ft.values[i, :K], "s", color=colors[i], ms=4,
                    label=f"finetuned on k = {k:g} (E = {e_k:.2f})")
        ax.plot(np.exp(-grid), emergence_law(params, grid, np.zeros(grid.size), d.bounds), "--", color="black", lw=1.2,
                label=f"law at k = 0 (E0 = {params[0]:.2f})")
        ax.plot(loss[:K], d.observed[:K], "o", color="black", ms=4.5, label="no finetuning: fitted")
        ax.plot(loss[K:], d.observed[K:], "o", mfc="white", mec="black", ms=5, label="no finetuning: held out")
        ax.set_xscale("log")
        ax.invert_xaxis()
        ax.set_xlabel("pretraining loss (falling to the right)")
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7, loc="best", frameon=False)
        return save_figure(fig, path)


def _table(frame: pd.DataFrame, digits: int = 3) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for r in frame.itertuples(index=False):
        cells = []
        for v in r:
            if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
                cells.append(f"<td>{v}</td>")
            elif isinstance(v, (float, np.floating)):
                cells.append("<td>" + ("" if np.isnan(v) else f"{v:.{digits}g}") + "</td>")
            else:
                cells.append(f'<td class="text">{html.escape(str(v))}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def write_forecast_report(out: str | os.PathLike[str], *, title: str, intro: str, wins: pd.DataFrame,
                          backtest: pd.DataFrame, figures: Sequence[Path],
                          foresight: pd.DataFrame | None = None) -> Path:
    """``out/report.html``: the intro, the foresight line of every curve (a sweep over K), the "which
    method wins" table, the per-curve backtest and the figures (relative links; every text from the
    data is escaped)."""
    out = Path(out)
    figs = "".join(f'<figure><img src="{html.escape(os.path.relpath(f, out))}" alt="{html.escape(f.stem)}" '
                   f'loading="lazy"><figcaption>{html.escape(f.stem)}</figcaption></figure>' for f in figures)
    doc = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:80em}}table{{border-collapse:collapse;
font-size:0.85em}}td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right;vertical-align:top}}
th{{background:#f3f3f3}}td.text{{text-align:left;max-width:28em}}.scroll{{overflow-x:auto}}
figure{{display:inline-block;margin:0.5em;width:30em}}img{{width:100%}}figcaption{{font-size:0.8em}}</style>
</head><body><h1>{html.escape(title)}</h1><p>{html.escape(intro)}</p>
{"" if foresight is None else '<h2 id="foresight">Could the jump have been seen coming?</h2>' + _table(foresight)}
<h2 id="wins">Which method wins</h2>{_table(wins)}
<h2 id="backtest">Every curve and method</h2>{_table(backtest)}
<h2 id="figures">Figures</h2>{figs}</body></html>
"""
    return atomic_write_text(out / "report.html", doc)
