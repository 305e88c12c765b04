"""records -> backtest -> files: the pipeline behind ``emergence-lens predict``.

Was the jump predictable from the smaller models?  For every (family, task) and every sharp
metric with a transform (:mod:`emergence_lens.emergence.transforms`), fit its smooth ingredient on
the ``K`` smallest models, extrapolate, map through the metric's transform and compare with the
observed values of the larger models, next to the naive baseline that extrapolates the sharp
metric itself (:mod:`emergence_lens.emergence.predict`).  Writes into ``out``:

* ``predictions.csv`` — per held-out model: observed (CI), predicted (CI), baseline (CI), whether
  each is consistent with the observation;
* ``backtest.csv`` — per curve: the fits chosen, mean absolute error of the prediction and of the
  baseline, how many held-out models each gets right;
* ``backtest_<family>.png`` — the panels;
* ``summary.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from emergence_lens._io import atomic_write_text
from emergence_lens.analysis import write_csv
from emergence_lens.emergence import (
    PREDICTION_COLUMNS,
    X_LABELS,
    backtest_curve,
    curve_seed,
    transform_for,
    x_column,
    x_position,
)
from emergence_lens.report import markdown_table, plot_verdicts

__all__ = ["BACKTEST_SUMMARY_COLUMNS", "PredictResult", "predict_records", "DEFAULT_PREDICT_METRICS"]

DEFAULT_PREDICT_METRICS = ("exact_match", "multiple_choice_grade")
BACKTEST_SUMMARY_COLUMNS = ["family", "task", "metric", "x_axis", "fit_on", "n_models", "ingredient", "ingredient_fit",
                            "baseline_fit", "mean_abs_error", "baseline_mean_abs_error", "n_consistent",
                            "baseline_n_consistent", "n_held_out", "status"]


@dataclass
class PredictResult:
    predictions: pd.DataFrame
    summary: pd.DataFrame
    files: list[Path]


def predict_records(records: pd.DataFrame, out: str | Path, *, fit_on: int, metrics: Iterable[str] | None = None,
                    x_axis: str = "params", n_boot: int = 1000, confidence: float = 0.95,
                    seed: int = 0, title: str = "predictability backtest",
                    extra_metrics: Mapping[str, Iterable[str]] | None = None) -> PredictResult:
    """Backtest every sharp metric of ``records`` from its ``fit_on`` smallest models.

    Args:
        metrics: sharp metrics to backtest (default :data:`DEFAULT_PREDICT_METRICS`, those that apply).
        extra_metrics: per family, more metrics (e.g. the ones a ``verdicts.csv`` beside the
            records names, such as ``subset_accuracy`` or ``reconstruction_at[c=0.001]``).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    xcol = x_column(x_axis)
    base_metrics = list(metrics) if metrics is not None else list(DEFAULT_PREDICT_METRICS)
    rows: list[dict] = []
    summary: list[dict] = []
    for (family, task), g in records.groupby(["family", "task"], sort=True):
        family, task = str(family), str(task)
        wanted = list(dict.fromkeys([*base_metrics, *(extra_metrics or {}).get(family, ())]))
        per_model = g.groupby("model", sort=False)[xcol].first()
        pos = x_position(per_model.to_numpy(dtype=float), x_axis)
        order = np.argsort(pos, kind="stable")
        models = per_model.index.to_numpy()[order]
        xs = per_model.to_numpy(dtype=float)[order]
        ts = pos[order]
        for metric in wanted:
            info = {"family": family, "task": task, "metric": metric, "x_axis": x_axis, "fit_on": fit_on,
                    "n_models": len(models)}
            tr = transform_for(metric, g)
            if tr is None:
                if metrics is not None:
                    summary.append({**info, "status": "no transform for this metric on these records"})
                continue
            if not np.isfinite(ts).all() or np.unique(ts).size != ts.size:
                summary.append({**info, "status": f"models lack distinct {xcol} values"})
                continue
            if not 2 <= fit_on < len(models):
                summary.append({**info, "status": f"fit_on must be between 2 and {len(models) - 1}"})
                continue
            by_model = {m: grp.sort_values("example_id", kind="stable") for m, grp in g.groupby("model")}
            designs = [tr.design(by_model[m]) for m in models]
            paired = len({frozenset(by_model[m]["example_id"]) for m in models}) == 1
            bt = backtest_curve(ts, designs, tr, fit_on=fit_on, x=xs, n_boot=n_boot, confidence=confidence,
                                seed=curve_seed(seed, ("backtest", family, task, metric)), paired=paired)
            for j, r in enumerate(bt.table.itertuples(index=False)):
                rows.append({"family": family, "task": task, "metric": metric, "model": models[fit_on + j],
                             "scale": r.scale, "fit_on": str(fit_on), "observed": r.observed,
                             "observed_low": r.observed_low, "observed_high": r.observed_high,
                             "predicted": r.predicted, "predicted_low": r.predicted_low,
                             "predicted_high": r.predicted_high, "baseline_predicted": r.baseline_predicted,
                             "baseline_low": r.baseline_low, "baseline_high": r.baseline_high,
                             "consistent": bool(r.consistent), "baseline_consistent": bool(r.baseline_consistent)})
            summary.append({**info, "ingredient": tr.ingredient, "ingredient_fit": "; ".join(bt.ingredient_fit),
                            "baseline_fit": bt.baseline_fit, "mean_abs_error": bt.mean_error,
                            "baseline_mean_abs_error": bt.mean_baseline_error,
                            "n_consistent": int(bt.table["consistent"].sum()),
                            "baseline_n_consistent": int(bt.table["baseline_consistent"].sum()),
                            "n_held_out": len(bt.table), "status": "ok"})
    preds = pd.DataFrame(rows, columns=PREDICTION_COLUMNS)
    summ = pd.DataFrame(summary, columns=BACKTEST_SUMMARY_COLUMNS)
    files = [write_csv(preds, out / "predictions.csv"), write_csv(summ, out / "backtest.csv")]
    verdict_stub = pd.DataFrame({"task": summ["task"], "metric": summ["metric"],
                                 "verdict": [f"prediction right at {a}/{n}, baseline at {b}/{n}" if s == "ok" else s
                                             for a, b, n, s in zip(summ["n_consistent"], summ["baseline_n_consistent"],
                                                                   summ["n_held_out"], summ["status"], strict=True)]})
    for family, p in preds.groupby("family", sort=True):
        f = plot_verdicts(p, verdict_stub[summ["family"] == family], out / f"backtest_{family}.png",
                          xlabel=X_LABELS[x_axis], log_x=x_axis != "loss",
                          title=f"{family}: fit on the {fit_on} smallest models, predict the rest")
        if f is not None:
            files.append(f)
    ok = summ[summ["status"] == "ok"]
    text = [f"# {title}\n",
            f"Fit on the {fit_on} smallest models of each family (x-axis: {x_axis}); {len(ok)} curves backtested. "
            f"Prediction consistent with the observation at {int(ok['n_consistent'].sum())} of "
            f"{int(ok['n_held_out'].sum())} held-out points; naive baseline at "
            f"{int(ok['baseline_n_consistent'].sum())}. Mean absolute error: prediction "
            f"{ok['mean_abs_error'].mean():.3g}, baseline {ok['baseline_mean_abs_error'].mean():.3g}.\n"
            if len(ok) else "Nothing could be backtested.\n",
            markdown_table(summ.drop(columns=["x_axis"]))]
    files.append(atomic_write_text(out / "summary.md", "\n".join(text)))
    return PredictResult(preds, summ, files)
