"""The pipeline behind ``emergence-lens predict``: records / tables -> backtests with every forecast
method -> files (:func:`predict` reads the command's inputs; :func:`run_backtest` backtests curves).

Could the larger models' scores have been predicted from the smaller ones?  Every curve (family,
task, metric) is turned into a :class:`~emergence_lens.emergence.forecast.CurveData` — from
records (a bootstrap over examples, the ingredient and proxy of the metric's transform, PassUntil
pass rates from a ``pass_rates.csv`` beside them) or from a table of aggregates (a parametric redraw
from ``n``/stderr, the ingredient's curve where the table has it) — and every requested predictor
(:mod:`emergence_lens.emergence.forecast.registry`) is fitted on the models below the cut-off:
the ``K`` smallest of the family (``fit_on``) or every model below a scale (``fit_below``, the
same cut for every family).  Intervals are calibrated per (family, metric, method) from
leave-future-out residuals (:mod:`emergence_lens.emergence.forecast.calibrate`).  Writes into
``out``:

* ``predictions.csv`` — per held-out model and method: observed (CI), predicted, bootstrap band,
  calibrated interval, error;
* ``backtest.csv`` — per (family, task, metric, method, fit_on): ``n_heldout, mae, coverage,
  mean_width`` (of the calibrated interval), the bootstrap band's coverage and width, the
  calibration used, and the scale where the method predicts the metric to cross half its range
  next to where it did;
* ``wins.csv`` — "which method wins": per (family, metric, fit_on) each method's error, coverage,
  width, and on how many curves it had the smallest error;
* ``figures/*.png`` — one per curve, every method's fan; ``summary.md`` and ``report.html``.

:func:`predict_sweep` repeats it for several ``K`` (``out/fit_on_K/``, ``out/sweep.csv``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from emergence_lens._io import atomic_write_text, write_csv
from emergence_lens.emergence import X_LABELS, curve_seed, transform_for, x_column, x_position
from emergence_lens.emergence.bootstrap import bootstrap_column_means, percentile_ci
from emergence_lens.emergence.forecast import (
    CurveData,
    Ingredient,
    Pool,
    Series,
    calibrated_interval,
    calibration_quantile,
    curve_from_designs,
    forecast_methods,
    get_predictor,
    half_range_crossing,
    horizon_factor,
    metric_moved,
    resolve_methods,
)
from emergence_lens.emergence.parametric import parametric_replicates
from emergence_lens.emergence.transforms import AGGREGATE_INGREDIENTS, LINKS
from emergence_lens.metrics import get_metric
from emergence_lens.naming import slug
from emergence_lens.report import markdown_table
from emergence_lens.report.forecast import plot_forecast, write_forecast_report
from emergence_lens.sources.sample_size import BINOMIAL_METRICS

__all__ = ["predict", "PredictError", "PredictRun", "records_in", "ForecastCurve", "PredictResult",
           "curves_from_records", "curves_from_table", "attach_pools",
           "run_backtest", "predict_records", "predict_table", "predict_sweep", "FORECAST_PREDICTION_COLUMNS",
           "FORECAST_BACKTEST_COLUMNS", "WINS_COLUMNS", "SWEEP_COLUMNS", "DEFAULT_PREDICT_METRICS"]

DEFAULT_PREDICT_METRICS = ("exact_match", "multiple_choice_grade")
FORECAST_PREDICTION_COLUMNS = ["family", "task", "metric", "method", "model", "scale", "fit_on", "observed",
                               "observed_low", "observed_high", "predicted", "predicted_low", "predicted_high",
                               "calibrated_low", "calibrated_high", "error", "inside"]
FORECAST_BACKTEST_COLUMNS = ["family", "task", "metric", "method", "x_axis", "fit_on", "cutoff", "n_models",
                             "n_heldout", "fit", "mae", "coverage", "mean_width", "band_coverage", "band_mean_width",
                             "n_calibration", "calibration_q", "calibration_rule", "predicted_crossing",
                             "observed_crossing", "status"]
WINS_COLUMNS = ["family", "metric", "fit_on", "method", "n_curves", "n_heldout", "mae", "coverage", "mean_width",
                "n_best", "rank"]
SWEEP_COLUMNS = ["family", "metric", "method", "fit_on", "n_curves", "n_heldout", "mae", "coverage", "mean_width",
                 "band_coverage", "n_foreseen", "n_crossing"]


@dataclass
class ForecastCurve:
    """One curve to backtest: its models (in ``t`` order) and data."""

    family: str
    task: str
    metric: str
    models: list[str]
    data: CurveData


@dataclass
class PredictResult:
    predictions: pd.DataFrame
    summary: pd.DataFrame
    files: list[Path]
    wins: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=WINS_COLUMNS))


# -- inputs -----------------------------------------------------------------------------------


def _pass_series(rates: pd.DataFrame, family: str, task: str, models: Sequence[str], n_boot: int,
                 seed: int) -> Series | None:
    """PassUntil pass rates of ``models`` (``pass_rates.csv`` rows) as a series; replicates
    log-normal with the spread of each rate's CI (NaN where a model has none)."""
    r = rates[(rates["family"].astype(str) == family) & (rates["task"].astype(str) == task)].set_index("model")
    if r.empty:
        return None
    v = np.array([float(r.at[m, "pass_rate"]) if m in r.index else np.nan for m in models])
    lo = np.array([float(r.at[m, "pass_rate_low"]) if m in r.index else np.nan for m in models])
    hi = np.array([float(r.at[m, "pass_rate_high"]) if m in r.index else np.nan for m in models])
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (np.log(hi) - np.log(lo)) / (2 * special.ndtri(0.975))  # pass_rates.csv intervals are 95%
    rng = np.random.default_rng(curve_seed(seed, ("passuntil", family, task)))
    z = rng.standard_normal((n_boot, len(models)))
    with np.errstate(divide="ignore", invalid="ignore"):
        reps = np.exp(np.log(v)[None, :] + np.nan_to_num(s, nan=0.0)[None, :] * z)
    return Series(v, np.clip(reps, 0.0, 1.0), (LINKS["power law"], LINKS["log-linear"]), True, "pass rate")


def curves_from_records(records: pd.DataFrame, *, metrics: Iterable[str] | None = None, x_axis: str = "params",
                        n_boot: int = 1000, seed: int = 0, extra_metrics: Mapping[str, Iterable[str]] | None = None,
                        pass_rates: pd.DataFrame | None = None) -> tuple[list[ForecastCurve], list[dict]]:
    """One :class:`ForecastCurve` per (family, task, metric) of ``records`` (default metrics:
    :data:`DEFAULT_PREDICT_METRICS` where they apply, plus ``extra_metrics`` per family), and a
    status row for each curve that cannot be backtested."""
    xcol = x_column(x_axis)
    explicit = metrics is not None
    base = list(metrics) if explicit else list(DEFAULT_PREDICT_METRICS)
    curves: list[ForecastCurve] = []
    skipped: list[dict] = []
    for (family, task), g in records.groupby(["family", "task"], sort=True):
        family, task = str(family), str(task)
        wanted = list(dict.fromkeys([*base, *(extra_metrics or {}).get(family, ())]))
        per_model = g.groupby("model", sort=False)[xcol].first()
        pos = x_position(per_model.to_numpy(dtype=float), x_axis)
        order = np.argsort(pos, kind="stable")
        models = [str(m) for m in per_model.index.to_numpy()[order]]
        xs = per_model.to_numpy(dtype=float)[order]
        ts = pos[order]
        by_model = {str(m): grp.sort_values("example_id", kind="stable") for m, grp in g.groupby("model")}
        paired = len({frozenset(by_model[m]["example_id"]) for m in models}) == 1
        for metric in wanted:
            info = {"family": family, "task": task, "metric": metric, "x_axis": x_axis, "n_models": len(models)}
            if not np.isfinite(ts).all() or np.unique(ts).size != ts.size:
                skipped.append({**info, "status": f"models lack distinct {xcol} values"})
                continue
            cseed = curve_seed(seed, ("backtest", family, task, metric))
            tr = transform_for(metric, g)
            if tr is not None:
                d = curve_from_designs(ts, [tr.design(by_model[m]) for m in models], tr, x=xs, n_boot=n_boot,
                                       seed=cseed, paired=paired)
            else:
                if not explicit:
                    continue
                try:
                    spec = get_metric(metric)
                    scores = [np.asarray(spec.score_records(by_model[m]), dtype=float)[:, None] for m in models]
                except (KeyError, ValueError, TypeError) as exc:
                    skipped.append({**info, "status": f"cannot score {metric} on these records: {exc}"})
                    continue
                reps = bootstrap_column_means(scores, n_boot, cseed, paired=paired)
                d = CurveData(ts, np.array([s.mean() for s in scores]), np.column_stack([r[:, 0] for r in reps]),
                              x=xs)
            if not (np.nanmin(d.observed) >= 0 and np.nanmax(d.observed) <= 1):
                skipped.append({**info, "status": "values outside [0, 1]: only metrics in [0, 1] are forecast"})
                continue
            if pass_rates is not None and metric == "exact_match":
                d.pass_rate = _pass_series(pass_rates, family, task, models, d.n_boot, seed)
            curves.append(ForecastCurve(family, task, metric, models, d))
    return curves, skipped


def _task_label(r: pd.Series, multi_shots: bool) -> str:
    task = str(r["task"])
    sub = str(r.get("subtask", "") or "")
    label = f"{task}/{sub}" if sub and sub not in (task, "nan") else task
    return f"{label} ({r['shots']}-shot)" if multi_shots and pd.notna(r.get("shots")) else label


def curves_from_table(table: pd.DataFrame, *, metrics: Iterable[str] | None = None, x_axis: str = "params",
                      n_boot: int = 1000, seed: int = 0) -> tuple[list[ForecastCurve], list[dict]]:
    """One :class:`ForecastCurve` per (family, task, metric) of a long table of aggregates (the
    ``curves.csv`` of ``audit``, or what :func:`~emergence_lens.sources.load_sources` reads from a
    wide or tidy table).  Replicates: a binomial redraw where the metric is a binomial one with
    ``n_examples``, a normal one from ``stderr``, none (the point repeated) otherwise.  Where the
    table has a sharp metric's ingredient curve (:data:`AGGREGATE_INGREDIENTS`) and the target
    length (``target_length``/``subset_size`` column or a task named ``*-L<n>``), the ``transform``
    (``a**L``) and ``two-step`` predictors get it."""
    xcol = x_column(x_axis)
    df = table.copy()
    for col, default in (("family", "family"), ("subtask", ""), ("shots", np.nan), ("n_examples", np.nan),
                         ("stderr", np.nan)):
        if col not in df:
            df[col] = default
    missing = [c for c in ("model", "task", "metric", "value", xcol) if c not in df]
    if missing:
        raise KeyError(f"the table lacks column(s) {', '.join(missing)} (x-axis {x_axis!r} needs {xcol!r})")
    multi = df.groupby("task")["shots"].nunique(dropna=True).gt(1)
    df["_task"] = [_task_label(r, bool(multi.get(r["task"], False))) for _, r in df.iterrows()]
    df["value"] = pd.to_numeric(df["value"], errors="coerce")
    L_col = next((c for c in ("target_length", "subset_size") if c in df), None)
    lengths = (pd.to_numeric(df[L_col], errors="coerce") if L_col else
               df["task"].astype(str).str.extract(r"-L(\d+)$")[0].astype(float))
    df["_L"] = lengths
    wanted = None if metrics is None else set(metrics)
    curves: list[ForecastCurve] = []
    skipped: list[dict] = []
    for (family, task, metric), g in df.groupby(["family", "_task", "metric"], sort=True):
        family, task, metric = str(family), str(task), str(metric)
        if metric in AGGREGATE_INGREDIENTS.values() or (wanted is not None and metric not in wanted):
            continue
        info = {"family": family, "task": task, "metric": metric, "x_axis": x_axis}
        g = g.assign(_t=x_position(pd.to_numeric(g[xcol], errors="coerce").to_numpy(float), x_axis))
        g = g.dropna(subset=["_t", "value"]).drop_duplicates("model").sort_values("_t", kind="stable")
        info["n_models"] = len(g)
        if len(g) < 3 or g["_t"].nunique() != len(g):
            skipped.append({**info, "status": f"needs at least 3 models with distinct {xcol} values"})
            continue
        v = g["value"].to_numpy(float)
        if not (v.min() >= 0 and v.max() <= 1):
            skipped.append({**info, "status": "values outside [0, 1]: only metrics in [0, 1] are forecast"})
            continue
        rng = np.random.default_rng(curve_seed(seed, ("table-backtest", family, task, metric)))
        binomial = np.full(len(g), metric.split("[")[0] in BINOMIAL_METRICS)
        reps = parametric_replicates(v, pd.to_numeric(g["n_examples"], errors="coerce").to_numpy(float),
                                     pd.to_numeric(g["stderr"], errors="coerce").to_numpy(float), binomial, n_boot, rng)
        reps = np.where(np.isfinite(reps), reps, v[None, :])
        models = [str(m) for m in g["model"]]
        d = CurveData(g["_t"].to_numpy(float), v, np.clip(reps, 0.0, 1.0), x=pd.to_numeric(g[xcol]).to_numpy(float))
        ing_name = AGGREGATE_INGREDIENTS.get(metric)
        L = g["_L"].dropna().unique()
        if ing_name is not None and len(L) == 1:
            a = df[(df["family"].astype(str) == family) & (df["_task"] == task) & (df["metric"] == ing_name)]
            a = a.drop_duplicates("model")
            a = a.set_index(a["model"].astype(str))
            if set(models) <= set(a.index):
                av = pd.to_numeric(a.loc[models, "value"], errors="coerce").to_numpy(float)
                arng = np.random.default_rng(curve_seed(seed, ("table-ingredient", family, task, metric)))
                areps = parametric_replicates(av, pd.to_numeric(a.loc[models, "n_examples"], errors="coerce")
                                              .to_numpy(float) * float(L[0]),
                                              pd.to_numeric(a.loc[models, "stderr"], errors="coerce").to_numpy(float),
                                              np.ones(len(models), bool), n_boot, arng)
                areps = np.clip(np.where(np.isfinite(areps), areps, av[None, :]), 0.0, 1.0)
                power = float(L[0])
                links = (LINKS["power law"], LINKS["linear"])
                d.ingredient = Ingredient(av[:, None], areps[:, :, None], (links,), ("a",),
                                          lambda th, i, rep, p=power: np.clip(th[:, 0], 0.0, 1.0) ** p,
                                          f"{ing_name} (aggregate), L = {int(power)}")
                d.proxy = Series(av, areps, links, True, ing_name)
        curves.append(ForecastCurve(family, task, metric, models, d))
    return curves, skipped


def attach_pools(curves: Sequence[ForecastCurve]) -> None:
    """Give every curve the benchmark matrix of its metric (models of every family x tasks) for the
    ``observational`` predictor: features = the other tasks' values (NaN where a model lacks one)."""
    by_metric: dict[str, list[ForecastCurve]] = {}
    for c in curves:
        by_metric.setdefault(c.metric, []).append(c)
    for group in by_metric.values():
        tasks = sorted({c.task for c in group})
        if len(tasks) < 2:
            continue
        rows: dict[tuple[str, str], int] = {}
        t_of: list[float] = []
        for c in group:
            for m, t in zip(c.models, c.data.t, strict=True):
                if (c.family, m) not in rows:
                    rows[(c.family, m)] = len(t_of)
                    t_of.append(float(t))
        mat = np.full((len(t_of), len(tasks)), np.nan)
        for c in group:
            j = tasks.index(c.task)
            for m, v in zip(c.models, c.data.observed, strict=True):
                mat[rows[(c.family, m)], j] = v
        for c in group:
            j = tasks.index(c.task)
            keep = [k for k in range(len(tasks)) if k != j]
            c.data.pool = Pool(np.array(t_of), mat[:, keep], mat[:, j],
                               np.array([rows[(c.family, m)] for m in c.models]), tuple(tasks[k] for k in keep))


# -- backtest ---------------------------------------------------------------------------------


def _scale_of(t: float, x_axis: str) -> float:
    if not np.isfinite(t):
        return float("nan")
    return float(-t) if x_axis == "loss" else float(10 ** t)


def run_backtest(curves: Sequence[ForecastCurve], out: str | Path, *, fit_on: int | None = None,
                 fit_below: float | None = None, methods: str | Iterable[str] | None = None, x_axis: str = "params",
                 confidence: float = 0.95, title: str = "forecast backtest", skipped: Sequence[dict] = (),
                 figures: bool = True) -> PredictResult:
    """Backtest every curve with every method (module docstring) and write the files."""
    if (fit_on is None) == (fit_below is None):
        raise ValueError("give exactly one of fit_on (the K smallest models) and fit_below (a scale cut-off)")
    names = resolve_methods(methods)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    label = str(fit_on) if fit_on is not None else f"below {fit_below:g}"
    t_cut = None if fit_below is None else float(x_position(np.array([fit_below]), x_axis)[0])
    if t_cut is not None and not np.isfinite(t_cut):
        raise ValueError(f"--fit-below {fit_below!r}: not a valid {x_axis} value")
    rows: list[dict] = []
    summary: list[dict] = [{**s, "fit_on": label} for s in skipped]
    pending: dict[tuple[str, str, str], list] = {}
    per_curve: list[tuple[ForecastCurve, int, np.ndarray, np.ndarray]] = []
    for c in curves:
        d = c.data
        K = int(fit_on) if fit_on is not None else int(np.sum(d.t < t_cut))
        info = {"family": c.family, "task": c.task, "metric": c.metric, "x_axis": x_axis, "fit_on": label,
                "cutoff": fit_below if fit_below is not None else (float(d.x[K - 1]) if 1 <= K <= d.n_models else
                                                                   np.nan),
                "n_models": d.n_models}
        if not 2 <= K < d.n_models:
            summary.append({**info, "status": f"{K} model(s) below the cut-off of {d.n_models}: needs 2 .. "
                                              f"{d.n_models - 1}"})
            continue
        level = d.bounds[0] + (d.bounds[1] - d.bounds[0]) / 2
        obs_cross = _scale_of(half_range_crossing(d.t, d.observed, level), x_axis)
        o_lo, o_hi = percentile_ci(d.replicates, confidence)
        per_curve.append((c, K, o_lo, o_hi))
        for f in forecast_methods(d, K, names, confidence=confidence):
            base = {**info, "method": f.method, "n_heldout": d.n_models - K}
            if f.status != "ok":
                summary.append({**base, "status": f.status})
                continue
            start = len(rows)
            for i, j in enumerate(range(K, d.n_models)):
                rows.append({"family": c.family, "task": c.task, "metric": c.metric, "method": f.method,
                             "model": c.models[j], "scale": float(d.x[j]), "fit_on": label,
                             "observed": float(d.observed[j]), "observed_low": float(o_lo[j]),
                             "observed_high": float(o_hi[j]), "predicted": float(f.point[i]),
                             "predicted_low": float(f.low[i]), "predicted_high": float(f.high[i])})
            hz = horizon_factor(d.t[:K], d.t[K:])
            flat = get_predictor(f.method).metric_driven and not metric_moved(d, K, confidence)
            pending.setdefault((c.family, c.metric, f.method), []).append((start, len(rows), len(summary), f, hz,
                                                                           flat))
            summary.append({**base, "fit": f.fit, "predicted_crossing": _scale_of(f.crossing, x_axis),
                            "observed_crossing": obs_cross, "status": "ok"})
    preds = pd.DataFrame(rows, columns=FORECAST_PREDICTION_COLUMNS)
    for col in ("calibrated_low", "calibrated_high", "error"):
        preds[col] = preds[col].astype(float)
    preds["inside"] = False
    for group in pending.values():
        q, rule = calibration_quantile(np.concatenate([g[3].residuals for g in group]), confidence)
        n_cal = int(sum(g[3].residuals.size for g in group))
        for a, b, k, f, hz, flat in group:
            p = preds.iloc[a:b]
            lo, hi = calibrated_interval(p["predicted"], p["predicted_low"], p["predicted_high"],
                                         np.inf if flat else q, horizon=hz)
            obs = p["observed"].to_numpy(float)
            inside = (obs >= lo) & (obs <= hi)
            idx = preds.index[a:b]
            preds.loc[idx, "calibrated_low"] = lo
            preds.loc[idx, "calibrated_high"] = hi
            preds.loc[idx, "error"] = obs - p["predicted"].to_numpy(float)
            preds.loc[idx, "inside"] = inside
            band = (obs >= p["predicted_low"]) & (obs <= p["predicted_high"])
            summary[k].update(mae=float(np.mean(np.abs(obs - p["predicted"]))), coverage=float(np.mean(inside)),
                              mean_width=float(np.mean(hi - lo)), band_coverage=float(np.mean(band)),
                              band_mean_width=float(np.mean(p["predicted_high"] - p["predicted_low"])),
                              n_calibration=n_cal, calibration_q=q,
                              calibration_rule="whole range: the metric did not move over the fitted models"
                              if flat else rule)
    summ = pd.DataFrame(summary, columns=FORECAST_BACKTEST_COLUMNS)
    wins = _wins(summ)
    files = [write_csv(preds, out / "predictions.csv"), write_csv(summ, out / "backtest.csv"),
             write_csv(wins, out / "wins.csv")]
    figs: list[Path] = []
    if figures:
        for c, K, o_lo, o_hi in per_curve:
            p = preds[(preds["family"] == c.family) & (preds["task"] == c.task) & (preds["metric"] == c.metric)]
            if p.empty:
                continue
            d = c.data
            obs = pd.DataFrame({"scale": d.x, "observed": d.observed, "observed_low": o_lo, "observed_high": o_hi})
            cut = (float(fit_below) if fit_below is not None else
                   float(np.sqrt(d.x[K - 1] * d.x[K])) if x_axis != "loss" else float((d.x[K - 1] + d.x[K]) / 2))
            name = slug(f"{c.family}__{c.task}__{c.metric}", limit=120)
            figs.append(plot_forecast(obs, p, out / "figures" / f"{name}.png",
                                      title=f"{c.family} / {c.task} / {c.metric}: fit on {K} models"
                                      + (f" below {fit_below:g}" if fit_below is not None else ""),
                                      xlabel=X_LABELS[x_axis], ylabel=c.metric, log_x=x_axis != "loss", cutoff=cut,
                                      level=d.bounds[0] + (d.bounds[1] - d.bounds[0]) / 2))
    files += figs
    ok = summ[summ["status"] == "ok"]
    how = (f"the {fit_on} smallest models of each family" if fit_on is not None else
           f"every model below {fit_below:g} ({x_axis}), across families")
    intro = (f"Fit on {how}; {ok[['family', 'task', 'metric']].drop_duplicates().shape[0]} curves, methods "
             f"{', '.join(names)}. Coverage is the share of held-out observations inside the calibrated "
             f"{confidence:.0%} interval (nominal {confidence:.0%}); crossing = the scale where the metric reaches "
             "half its range, predicted vs observed." if len(ok) else "Nothing could be backtested.")
    text = [f"# {title}\n", intro + "\n", "## Which method wins\n", markdown_table(wins) if len(wins) else "(none)\n",
            "\n## Every curve and method\n", markdown_table(summ.drop(columns=["x_axis"]))]
    files.append(atomic_write_text(out / "summary.md", "\n".join(text)))
    files.append(write_forecast_report(out, title=title, intro=intro, wins=wins, backtest=summ.drop(columns=["x_axis"]),
                                       figures=figs))
    return PredictResult(preds, summ, files, wins)


def _wins(summ: pd.DataFrame) -> pd.DataFrame:
    """Per (family, metric, fit_on) and method: held-out-weighted error, coverage and width, and on
    how many curves the method had the smallest error; ``rank`` by error (1 = wins)."""
    ok = summ[summ["status"] == "ok"]
    if ok.empty:
        return pd.DataFrame(columns=WINS_COLUMNS)
    best = ok.loc[ok.groupby(["family", "task", "metric", "fit_on"], sort=False)["mae"].idxmin()]
    n_best = best.groupby(["family", "metric", "fit_on", "method"]).size()
    rows = []
    for (family, metric, fit_on, method), g in ok.groupby(["family", "metric", "fit_on", "method"], sort=True):
        w = g["n_heldout"].to_numpy(float)
        rows.append({"family": family, "metric": metric, "fit_on": fit_on, "method": method, "n_curves": len(g),
                     "n_heldout": int(w.sum()), "mae": float(np.average(g["mae"], weights=w)),
                     "coverage": float(np.average(g["coverage"], weights=w)),
                     "mean_width": float(np.average(g["mean_width"], weights=w)),
                     "n_best": int(n_best.get((family, metric, fit_on, method), 0))})
    wins = pd.DataFrame(rows)
    wins["rank"] = wins.groupby(["family", "metric", "fit_on"])["mae"].rank(method="min").astype(int)
    return wins.sort_values(["family", "metric", "fit_on", "rank", "method"], kind="stable")[WINS_COLUMNS] \
        .reset_index(drop=True)


# -- entry points -----------------------------------------------------------------------------


def predict_records(records: pd.DataFrame, out: str | Path, *, fit_on: int | None = 4, fit_below: float | None = None,
                    methods: str | Iterable[str] | None = None, metrics: Iterable[str] | None = None,
                    x_axis: str = "params", n_boot: int = 1000, confidence: float = 0.95, seed: int = 0,
                    title: str = "forecast backtest", extra_metrics: Mapping[str, Iterable[str]] | None = None,
                    pass_rates: pd.DataFrame | None = None, figures: bool = True) -> PredictResult:
    """Backtest the curves of ``records`` (:func:`curves_from_records`) with every method."""
    curves, skipped = curves_from_records(records, metrics=metrics, x_axis=x_axis, n_boot=n_boot, seed=seed,
                                          extra_metrics=extra_metrics, pass_rates=pass_rates)
    attach_pools(curves)
    return run_backtest(curves, out, fit_on=None if fit_below is not None else fit_on, fit_below=fit_below,
                        methods=methods, x_axis=x_axis, confidence=confidence, title=title, skipped=skipped,
                        figures=figures)


def predict_table(table: pd.DataFrame, out: str | Path, *, fit_on: int | None = 4, fit_below: float | None = None,
                  methods: str | Iterable[str] | None = None, metrics: Iterable[str] | None = None,
                  x_axis: str = "params", n_boot: int = 1000, confidence: float = 0.95, seed: int = 0,
                  title: str = "forecast backtest (aggregates)", figures: bool = True) -> PredictResult:
    """Backtest the curves of a table of aggregates (:func:`curves_from_table`) with every method."""
    curves, skipped = curves_from_table(table, metrics=metrics, x_axis=x_axis, n_boot=n_boot, seed=seed)
    attach_pools(curves)
    return run_backtest(curves, out, fit_on=None if fit_below is not None else fit_on, fit_below=fit_below,
                        methods=methods, x_axis=x_axis, confidence=confidence, title=title, skipped=skipped,
                        figures=figures)


def predict_sweep(curves: Sequence[ForecastCurve], out: str | Path, *, fit_ons: Iterable[int],
                  skipped: Sequence[dict] = (), **kwargs: object) -> PredictResult:
    """:func:`run_backtest` for each ``K`` in ``fit_ons`` (each into ``out/fit_on_K/``), then
    ``out/predictions.csv``, ``out/backtest.csv`` and ``out/wins.csv`` over every ``K`` and
    ``out/sweep.csv``: per (family, metric, method, K) the error, the coverage and width of the
    calibrated interval, and on how many curves the method foresaw the crossing of half the range
    (predicted within a factor 2 of where it happened; ``n_crossing``: curves that crossed beyond the
    fitted models) — how many models each method needs."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ks = list(dict.fromkeys(int(k) for k in fit_ons))
    results = [run_backtest(curves, out / f"fit_on_{k}", fit_on=k, skipped=skipped, **kwargs)  # type: ignore[arg-type]
               for k in ks]
    preds = pd.concat([r.predictions for r in results], ignore_index=True)
    summ = pd.concat([r.summary for r in results], ignore_index=True)
    wins = pd.concat([r.wins for r in results], ignore_index=True)
    ok = summ[summ["status"] == "ok"].copy()
    rows = []
    for (family, metric, method, k), g in ok.groupby(["family", "metric", "method", "fit_on"], sort=True):
        w = g["n_heldout"].to_numpy(float)
        # curves whose metric crossed half its range beyond the fitted models: the jumps to foresee
        oc = g["observed_crossing"].astype(float)
        crossed = g[np.isfinite(oc) & (oc > g["cutoff"].astype(float))]
        ratio = crossed["predicted_crossing"].astype(float) / crossed["observed_crossing"].astype(float)
        rows.append({"family": family, "metric": metric, "method": method, "fit_on": int(k), "n_curves": len(g),
                     "n_heldout": int(w.sum()), "mae": float(np.average(g["mae"], weights=w)),
                     "coverage": float(np.average(g["coverage"], weights=w)),
                     "mean_width": float(np.average(g["mean_width"], weights=w)),
                     "band_coverage": float(np.average(g["band_coverage"], weights=w)),
                     "n_foreseen": int(((ratio >= 0.5) & (ratio <= 2)).sum()), "n_crossing": len(crossed)})
    sweep = pd.DataFrame(rows, columns=SWEEP_COLUMNS).sort_values(["family", "metric", "fit_on", "method"],
                                                                   kind="stable")
    files = [f for r in results for f in r.files]
    files += [write_csv(preds, out / "predictions.csv"), write_csv(summ, out / "backtest.csv"),
              write_csv(wins, out / "wins.csv"), write_csv(sweep, out / "sweep.csv")]
    files.append(atomic_write_text(out / "summary.md", "\n".join([
        f"# forecast sweep: fit on K = {', '.join(map(str, ks))} smallest models\n",
        "Per family, metric, method and K (held-out points weighted): error; share of held-out observations "
        "inside the calibrated interval and its mean width; share inside the bootstrap band alone; on how many "
        "curves that crossed half the metric's range the method put the crossing within a factor 2.\n",
        markdown_table(sweep), "\n## Which method wins\n", markdown_table(wins)])))
    return PredictResult(preds, summ, files, wins)


class PredictError(ValueError):
    """Options or inputs that cannot be backtested (one line)."""


@dataclass
class PredictRun:
    """Attributes:
        result: the backtest (its ``wins`` is "which method wins"; empty when nothing could be
            backtested) and the files written.
        issues: the input problems of tables read (file, line, field), as ``issues.csv`` lists them.
        tables: whether tables of aggregates were read (``issues.csv`` and ``inputs.csv`` written).
    """

    result: PredictResult
    issues: list[Any]
    tables: bool


def records_in(paths: Sequence[Path]) -> tuple[list[Path], dict[str, list[str]]]:
    """Records files under ``paths`` (files as given; folders: every ``records.parquet`` inside), and per
    family the sharp metrics a ``verdicts.csv`` beside them names."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found += sorted(p.rglob("records.parquet"))
        elif p.exists():
            found.append(p)
        else:
            raise FileNotFoundError(f"not found: {p}")
    if not found:
        raise FileNotFoundError(f"no records.parquet under {', '.join(map(str, paths))}")
    extra: dict[str, list[str]] = {}
    for f in found:
        v = f.parent / "verdicts.csv"
        if v.exists():
            t = pd.read_csv(v, usecols=["family", "metric", "partner"], keep_default_na=False)
            for fam, g in t[t["partner"] != ""].groupby("family"):
                extra.setdefault(str(fam), []).extend(sorted(set(g["metric"])))
    return found, extra


def predict(paths: Sequence[str | Path], out: str | Path, *, fit_on: Sequence[int] = (4,),
            fit_below: float | None = None, methods: str | Iterable[str] = "all", metric: Sequence[str] | None = None,
            x: str = "params", models: str | Path | None = None, n_boot: int = 1000, confidence: float = 0.95,
            seed: int = 0, figures: bool = True) -> PredictRun:
    """Backtest forecasts of every curve under ``paths`` (records files or folders, an audit folder,
    or tables of aggregates) into ``out``; the options are the command's (``emergence-lens predict
    --help``): one ``fit_on`` value, several (a sweep: ``out/fit_on_K/`` per K), or ``fit_below``.

    Raises:
        PredictError: bad options or unreadable inputs; :class:`emergence_lens.outputs.OutputConflict`:
            an output folder or file this run must not write.
    """
    from emergence_lens.emergence.forecast import resolve_methods
    from emergence_lens.outputs import OutputConflict, output_run
    from emergence_lens.records import RecordsError, read_records
    from emergence_lens.sources import load_sources, read_metadata

    ks = list(fit_on)
    if not ks or min(ks) < 2:
        raise PredictError(f"--fit-on {','.join(map(str, ks))}: expected K or a list K1,K2,... of whole numbers >= 2")
    if fit_below is not None and len(ks) > 1:
        raise PredictError("--fit-below and a list of --fit-on exclude each other: give one")
    try:
        resolve_methods(methods)
    except KeyError as exc:
        raise PredictError(str(exc.args[0])) from None
    paths = [Path(p) for p in paths]
    out = Path(out)
    tables = [p for p in paths if p.is_file() and p.suffix.lower() in (".csv", ".tsv")]
    audits = [p for p in paths if p.is_dir() and not any(p.rglob("records.parquet"))]
    issues: list[Any] = []
    with output_run(out, [*paths, models], "predict"):
        try:
            if tables or audits:
                # an audit's results-only curves and its curves re-scored from samples (per-example n)
                frames = [pd.read_csv(c) for a in audits for c in sorted([*a.rglob("curves.csv"),
                                                                          *a.rglob("rescored_curves.csv")])]
                if audits and not frames:
                    raise FileNotFoundError(f"no records.parquet and no curves.csv under {', '.join(map(str, audits))}")
                if tables:
                    bundle = load_sources(tables, metadata=read_metadata(models) if models else None)
                    # as audit: every input file accounted for, every problem with its file, line, field
                    out.mkdir(parents=True, exist_ok=True)
                    write_csv(bundle.issues.frame(), out / "issues.csv")
                    write_csv(bundle.inputs, out / "inputs.csv")
                    issues = list(bundle.issues)
                    frames.append(bundle.curves)
                curves, skipped = curves_from_table(pd.concat(frames, ignore_index=True), metrics=metric, x_axis=x,
                                                    n_boot=n_boot, seed=seed)
                title = "forecast backtest (aggregates)"
            else:
                files, extra = records_in(paths)
                df = pd.concat([read_records(f) for f in files], ignore_index=True)
                rates = [pd.read_csv(f.parent / "pass_rates.csv") for f in files
                         if (f.parent / "pass_rates.csv").exists()]
                curves, skipped = curves_from_records(df, metrics=metric, x_axis=x, n_boot=n_boot, seed=seed,
                                                      extra_metrics=None if metric else extra,
                                                      pass_rates=pd.concat(rates, ignore_index=True) if rates else None)
                title = "forecast backtest"
            attach_pools(curves)
            kw = dict(methods=methods, x_axis=x, confidence=confidence, title=title, figures=figures)
            if fit_below is not None:
                res = run_backtest(curves, out, fit_below=fit_below, skipped=skipped, **kw)  # type: ignore[arg-type]
            elif len(ks) == 1:
                res = run_backtest(curves, out, fit_on=ks[0], skipped=skipped, **kw)  # type: ignore[arg-type]
            else:
                res = predict_sweep(curves, out, fit_ons=ks, skipped=skipped, **kw)
        except OutputConflict:
            raise
        except (RecordsError, FileNotFoundError, KeyError, ValueError, OSError, pd.errors.ParserError) as exc:
            raise PredictError(str(exc)) from exc
    return PredictRun(res, issues, bool(tables))
