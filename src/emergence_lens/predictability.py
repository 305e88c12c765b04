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

:func:`predict_table` does the same from a table of aggregates (no examples: approximate).
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
from emergence_lens.emergence.calibrate import calibrated_interval, conformal_quantile, leave_future_out_scores
from emergence_lens.emergence.transforms import AGGREGATE_INGREDIENTS
from emergence_lens.report import markdown_table, plot_verdicts

__all__ = ["BACKTEST_SUMMARY_COLUMNS", "CALIBRATED_COLUMNS", "SWEEP_COLUMNS", "PredictResult", "predict_records",
           "predict_sweep", "predict_table", "DEFAULT_PREDICT_METRICS"]

DEFAULT_PREDICT_METRICS = ("exact_match", "multiple_choice_grade")
BACKTEST_SUMMARY_COLUMNS = ["family", "task", "metric", "x_axis", "fit_on", "n_models", "ingredient", "ingredient_fit",
                            "baseline_fit", "mean_abs_error", "baseline_mean_abs_error", "n_consistent",
                            "baseline_n_consistent", "n_held_out", "coverage", "mean_width", "calibrated_coverage",
                            "calibrated_mean_width", "baseline_calibrated_coverage", "two_step_mean_abs_error",
                            "two_step_coverage", "two_step_calibrated_coverage", "two_step_calibrated_mean_width",
                            "n_calibration", "calibration_q", "status"]
#: predictions.csv of ``predict``: :data:`PREDICTION_COLUMNS` and the calibrated intervals
#: (:mod:`emergence_lens.emergence.calibrate`).
CALIBRATED_COLUMNS = ["calibrated_low", "calibrated_high", "baseline_calibrated_low", "baseline_calibrated_high",
                      "two_step_predicted", "two_step_low", "two_step_high", "two_step_calibrated_low",
                      "two_step_calibrated_high"]


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
    pending: dict[tuple[str, str], list[tuple[int, int, int, dict[str, np.ndarray], pd.DataFrame]]] = {}
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
            cseed = curve_seed(seed, ("backtest", family, task, metric))
            bt = backtest_curve(ts, designs, tr, fit_on=fit_on, x=xs, n_boot=n_boot, confidence=confidence,
                                seed=cseed, paired=paired)
            scores = leave_future_out_scores(ts, designs, tr, fit_on=fit_on, n_boot=n_boot, confidence=confidence,
                                             seed=cseed, paired=paired)
            start = len(rows)
            rows += bt.prediction_rows(family, task, list(models))
            pending.setdefault((family, metric), []).append((start, len(rows), len(summary), scores, bt.table))
            summary.append({**info, "ingredient": tr.ingredient, "ingredient_fit": "; ".join(bt.ingredient_fit),
                            "baseline_fit": bt.baseline_fit, "mean_abs_error": bt.mean_error,
                            "baseline_mean_abs_error": bt.mean_baseline_error,
                            "n_consistent": int(bt.table["consistent"].sum()),
                            "baseline_n_consistent": int(bt.table["baseline_consistent"].sum()),
                            "n_held_out": len(bt.table), "status": "ok"})
    preds = pd.DataFrame(rows, columns=PREDICTION_COLUMNS)
    _calibrate(preds, summary, pending, confidence)
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


SWEEP_COLUMNS = ["family", "metric", "fit_on", "n_curves", "n_held_out", "mean_abs_error", "baseline_mean_abs_error",
                 "two_step_mean_abs_error", "coverage", "mean_width", "calibrated_coverage", "calibrated_mean_width",
                 "baseline_calibrated_coverage", "two_step_calibrated_coverage", "two_step_calibrated_mean_width"]


def predict_sweep(records: pd.DataFrame, out: str | Path, *, fit_ons: Iterable[int], **kwargs: object) -> PredictResult:
    """:func:`predict_records` for each ``K`` in ``fit_ons`` (each into ``out/fit_on_K/``), then
    ``out/predictions.csv`` and ``out/backtest.csv`` over every ``K`` and ``out/sweep.csv``: per
    (family, metric, K) the held-out error of the prediction and of the naive baseline, and the
    coverage and width of the bootstrap and calibrated intervals — how many models it takes."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ks = list(dict.fromkeys(int(k) for k in fit_ons))
    results = [predict_records(records, out / f"fit_on_{k}", fit_on=k, **kwargs) for k in ks]  # type: ignore[arg-type]
    preds = pd.concat([r.predictions for r in results], ignore_index=True)
    summ = pd.concat([r.summary for r in results], ignore_index=True)
    ok = summ[summ["status"] == "ok"]
    rows = []
    for (family, metric, k), g in ok.groupby(["family", "metric", "fit_on"], sort=True):
        w = g["n_held_out"].to_numpy(dtype=float)
        def avg(col: str) -> float:
            return float(np.average(g[col].to_numpy(dtype=float), weights=w))
        rows.append({"family": family, "metric": metric, "fit_on": int(k), "n_curves": len(g), "n_held_out": int(w.sum()),
                     "mean_abs_error": avg("mean_abs_error"), "baseline_mean_abs_error": avg("baseline_mean_abs_error"),
                     "coverage": avg("coverage"), "mean_width": avg("mean_width"),
                     "calibrated_coverage": avg("calibrated_coverage"),
                     "calibrated_mean_width": avg("calibrated_mean_width"),
                     "baseline_calibrated_coverage": avg("baseline_calibrated_coverage"),
                     "two_step_mean_abs_error": avg("two_step_mean_abs_error"),
                     "two_step_calibrated_coverage": avg("two_step_calibrated_coverage"),
                     "two_step_calibrated_mean_width": avg("two_step_calibrated_mean_width")})
    sweep = pd.DataFrame(rows, columns=SWEEP_COLUMNS)
    files = [f for r in results for f in r.files]
    files += [write_csv(preds, out / "predictions.csv"), write_csv(summ, out / "backtest.csv"),
              write_csv(sweep, out / "sweep.csv")]
    files.append(atomic_write_text(out / "summary.md", "\n".join([
        f"# predictability sweep: fit on K = {', '.join(map(str, ks))} smallest models\n",
        "Per family, metric and K (held-out points weighted): error of the prediction and of the naive "
        "baseline; share of held-out observations inside the 95% bootstrap band and inside the calibrated "
        "interval, and their mean widths.\n", markdown_table(sweep)])))
    return PredictResult(preds, summ, files)


def _calibrate(preds: pd.DataFrame, summary: list[dict], pending: Mapping[tuple[str, str], list], confidence: float
               ) -> None:
    """Add the calibrated intervals to ``preds`` (in place) and the coverages to ``summary``: one
    conformal quantile per (family, metric) from the leave-future-out scores of all its curves."""
    for col in CALIBRATED_COLUMNS:
        preds[col] = np.nan
    for curves in pending.values():
        q = {name: conformal_quantile(np.concatenate([c[3][name] for c in curves]), confidence)
             for name in ("predicted", "baseline", "two_step")}
        n_cal = int(sum(c[3]["predicted"].size for c in curves))
        for a, b, k, _, table in curves:
            p = preds.iloc[a:b]
            lo, hi = calibrated_interval(p["predicted"], p["predicted_low"], p["predicted_high"], q["predicted"])
            blo, bhi = calibrated_interval(p["baseline_predicted"], p["baseline_low"], p["baseline_high"],
                                           q["baseline"])
            two, two_lo, two_hi = (table[c].to_numpy(dtype=float) for c in ("two_step_predicted", "two_step_low",
                                                                             "two_step_high"))
            tlo, thi = calibrated_interval(two, two_lo, two_hi, q["two_step"])
            preds.iloc[a:b, preds.columns.get_indexer(CALIBRATED_COLUMNS)] = np.column_stack(
                [lo, hi, blo, bhi, two, two_lo, two_hi, tlo, thi])
            obs = p["observed"].to_numpy(dtype=float)
            summary[k].update(
                two_step_mean_abs_error=float(np.mean(np.abs(obs - two))),
                two_step_coverage=float(np.mean((obs >= two_lo) & (obs <= two_hi))),
                two_step_calibrated_coverage=float(np.mean((obs >= tlo) & (obs <= thi))),
                two_step_calibrated_mean_width=float(np.mean(thi - tlo)))
            summary[k].update(
                coverage=float(np.mean((obs >= p["predicted_low"]) & (obs <= p["predicted_high"]))),
                mean_width=float(np.mean(p["predicted_high"] - p["predicted_low"])),
                calibrated_coverage=float(np.mean((obs >= lo) & (obs <= hi))),
                calibrated_mean_width=float(np.mean(hi - lo)),
                baseline_calibrated_coverage=float(np.mean((obs >= blo) & (obs <= bhi))),
                n_calibration=n_cal, calibration_q=q["predicted"])


def predict_table(curves: pd.DataFrame, out: str | Path, *, fit_on: int, x_axis: str = "params",
                  title: str = "predictability backtest (aggregates)") -> PredictResult:
    """The backtest from a table of aggregates (e.g. a ``summary.csv`` or ``curves.csv``): where a
    sharp metric's ingredient curve is in the table too (exact match with per-token accuracy,
    subset accuracy with per-item accuracy) and the target length is known (a ``target_length`` or
    ``subset_size`` column, or a task named ``*-L<n>``), fit the ingredient ``a`` on the ``fit_on``
    smallest models, extrapolate and predict ``a**L``, next to the naive extrapolation of the
    metric itself.  No examples, so no intervals: rows are flagged ``approximate`` in
    ``backtest.csv`` (``status``) and ``consistent`` uses the observed CI where the table has one.
    """
    import re

    from emergence_lens.emergence.predict import choose_link, extrapolate_selected
    from emergence_lens.emergence.transforms import LINKS

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    xcol = x_column(x_axis)
    df = curves.copy()
    if "family" not in df:
        df["family"] = "family"
    L_col = next((c for c in ("target_length", "subset_size") if c in df), None)
    if L_col is None:
        df["_L"] = df["task"].astype(str).str.extract(r"-L(\d+)$")[0].astype(float)
    else:
        df["_L"] = pd.to_numeric(df[L_col], errors="coerce")
    keys = ["family", "task", "_L"]
    rows, summary = [], []
    for (family, task, L), g in df.groupby(keys, sort=True, dropna=True):
        for metric, ingredient in AGGREGATE_INGREDIENTS.items():
            m = g[g["metric"] == metric].copy()
            a = g[g["metric"] == ingredient].copy()
            if m.empty or a.empty:
                continue
            info = {"family": family, "task": task if re.search(r"-L\d+$", str(task)) else f"{task}-L{int(L)}",
                    "metric": metric, "x_axis": x_axis, "fit_on": fit_on, "ingredient": f"{ingredient} (aggregate)"}
            j = m.merge(a[["model", "value"]].rename(columns={"value": "_a"}), on="model")
            j["_t"] = x_position(pd.to_numeric(j[xcol], errors="coerce").to_numpy(float), x_axis)
            j = j.dropna(subset=["_t"]).sort_values("_t")
            info["n_models"] = len(j)
            if not 2 <= fit_on < len(j):
                summary.append({**info, "status": f"fit_on must be between 2 and {len(j) - 1}"})
                continue
            t = j["_t"].to_numpy(float)
            av = j["_a"].to_numpy(float)
            obs = j["value"].to_numpy(float)
            new = slice(fit_on, None)
            link, _ = choose_link(t[:fit_on], av[:fit_on], [LINKS["power law"], LINKS["linear"]])
            a_hat = extrapolate_selected([link], t[:fit_on], av[None, :fit_on], t[new])[0]
            pred = np.clip(a_hat, 0, 1) ** float(L)
            blinks = [LINKS["linear"], LINKS["log-linear"]] if np.all(obs[:fit_on] > 0) else [LINKS["linear"]]
            blink, _ = choose_link(t[:fit_on], obs[:fit_on], blinks)
            base = np.clip(extrapolate_selected([blink], t[:fit_on], obs[None, :fit_on], t[new])[0], 0, 1)
            lo = j["ci_low"].to_numpy(float)[new] if "ci_low" in j else np.full(len(pred), np.nan)
            hi = j["ci_high"].to_numpy(float)[new] if "ci_high" in j else np.full(len(pred), np.nan)
            held = []
            for k in range(len(pred)):
                r = j.iloc[fit_on + k]
                inside = bool(lo[k] <= pred[k] <= hi[k]) if np.isfinite(lo[k]) else pd.NA
                binside = bool(lo[k] <= base[k] <= hi[k]) if np.isfinite(lo[k]) else pd.NA
                held.append({"family": family, "task": info["task"], "metric": metric, "model": r["model"],
                             "scale": r[xcol], "fit_on": str(fit_on), "observed": obs[fit_on + k],
                             "observed_low": lo[k], "observed_high": hi[k], "predicted": pred[k],
                             "predicted_low": np.nan, "predicted_high": np.nan, "baseline_predicted": base[k],
                             "baseline_low": np.nan, "baseline_high": np.nan, "consistent": inside,
                             "baseline_consistent": binside, "error": obs[fit_on + k] - pred[k],
                             "baseline_error": obs[fit_on + k] - base[k]})
            rows += held
            summary.append({**info, "ingredient_fit": f"a: {link.name}", "baseline_fit": blink.name,
                            "mean_abs_error": float(np.mean(np.abs(obs[new] - pred))),
                            "baseline_mean_abs_error": float(np.mean(np.abs(obs[new] - base))),
                            "n_consistent": int(sum(bool(r["consistent"]) for r in held if r["consistent"] is not pd.NA)),
                            "baseline_n_consistent": int(sum(bool(r["baseline_consistent"]) for r in held
                                                             if r["baseline_consistent"] is not pd.NA)),
                            "n_held_out": len(held), "status": "ok (approximate: aggregates, L = %d)" % L})
    preds = pd.DataFrame(rows, columns=PREDICTION_COLUMNS)  # aggregates: no calibration yet (issue 24)
    summ = pd.DataFrame(summary, columns=BACKTEST_SUMMARY_COLUMNS)
    files = [write_csv(preds, out / "predictions.csv"), write_csv(summ, out / "backtest.csv")]
    ok = summ[summ["status"].astype(str).str.startswith("ok")]
    text = [f"# {title}\n", f"Fit on the {fit_on} smallest models from a table of aggregates; {len(ok)} curves. "
            f"Mean absolute error: prediction {ok['mean_abs_error'].mean():.3g}, naive baseline "
            f"{ok['baseline_mean_abs_error'].mean():.3g}.\n" if len(ok) else "Nothing could be backtested: the table "
            "needs a sharp metric with its ingredient curve and a target length.\n", markdown_table(summ)]
    files.append(atomic_write_text(out / "summary.md", "\n".join(text)))
    return PredictResult(preds, summ, files)
