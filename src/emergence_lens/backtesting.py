"""The one backtest: curves of a family -> every forecast method fitted on the smaller models ->
calibrated predictions of the larger ones, scored by a proper score.

Could the larger models' scores have been predicted from the smaller ones (Wei et al. 2022's test
of emergence; Schaeffer et al. 2023, Fig. 3)?  Both ``emergence-lens predict`` and ``score
--fit-on`` run this module; neither writes anything here.

* :func:`curves_from_records` / :func:`curves_from_table` — one :class:`ForecastCurve` per (family,
  task, metric): from records a bootstrap over examples with the ingredient and proxy of the
  metric's transform (PassUntil pass rates where given); from a table of aggregates a parametric
  redraw from ``n``/stderr, with the ingredient's curve where the table has it;
* :func:`attach_pools` — the benchmark matrix for the ``observational`` predictor;
  :func:`attach_finetuned` — finetuned evaluations (``emergence-lens finetune``) for ``finetune``;
* :func:`backtest_curves` — every requested predictor
  (:mod:`emergence_lens.emergence.forecast.registry`) fitted below the cut-off (the ``K`` smallest
  models of a family, or every model below a scale), its interval calibrated per (family, metric,
  method) from leave-future-out residuals (:mod:`emergence_lens.emergence.forecast.calibrate`);
* :func:`wins_table` — "which method wins", ranked by the mean interval score of the calibrated
  interval (:func:`interval_score`, a proper score: width plus ``2/alpha`` times the miss); a
  method whose intervals span the metric's whole range on every curve says nothing and ranks after
  every method that says something.

Table schemas: :data:`PREDICTION_COLUMNS` (``predictions.csv``, shared with the verdicts' band
rows), :data:`BACKTEST_COLUMNS` (``backtest.csv``), :data:`WINS_COLUMNS` (``wins.csv``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from emergence_lens.emergence import curve_seed, transform_for, x_column, x_position
from emergence_lens.emergence.bootstrap import bootstrap_column_means, percentile_ci
from emergence_lens.emergence.forecast import (
    DEFAULT_CALIBRATION,
    PREDICTION_COLUMNS,
    Calibration,
    CurveData,
    Examples,
    Finetuned,
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
from emergence_lens.sources.sample_size import BINOMIAL_METRICS

__all__ = ["ForecastCurve", "Backtested", "curves_from_records", "per_example_data", "curves_from_table",
           "finetune_rows",
           "attach_pools", "attach_finetuned", "backtest_curves", "wins_table", "interval_score", "side_by_side",
           "PREDICTION_COLUMNS",
           "BACKTEST_COLUMNS", "WINS_COLUMNS", "DEFAULT_PREDICT_METRICS", "WHOLE_RANGE", "foresight_table",
           "FORESIGHT_COLUMNS"]

DEFAULT_PREDICT_METRICS = ("exact_match", "multiple_choice_grade")
BACKTEST_COLUMNS = ["family", "task", "metric", "method", "x_axis", "fit_on", "cutoff", "n_models",
                    "n_heldout", "fit", "mae", "interval_score", "coverage", "mean_width", "informative",
                    "band_coverage", "band_mean_width", "n_calibration", "calibration_q", "calibration_rule",
                    "predicted_crossing", "observed_crossing", "status"]
WINS_COLUMNS = ["family", "metric", "fit_on", "method", "n_curves", "n_heldout", "interval_score", "mae",
                "coverage", "mean_width", "n_uninformative", "n_best", "rank"]
#: A calibrated interval at least this share of the metric's range wide says nothing ("uninformative").
WHOLE_RANGE = 0.99
FORESIGHT_COLUMNS = ["family", "task", "metric", "foreseen_at", "method", "predicted_crossing", "observed_crossing",
                     "mean_width", "foresight"]


@dataclass
class ForecastCurve:
    """One curve to backtest: its models (in ``t`` order) and data."""

    family: str
    task: str
    metric: str
    models: list[str]
    data: CurveData


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
        losses = (g.groupby("model", sort=False)["pretrain_loss"].first().to_numpy(dtype=float)[order]
                  if "pretrain_loss" in g else np.full(len(models), np.nan))
        loss = losses if np.isfinite(losses).any() else None
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
                d.examples = per_example_data([by_model[m] for m in models], metric, n_boot,
                                              curve_seed(seed, ("per-example", family, task, metric)))
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
            d.loss = loss
            curves.append(ForecastCurve(family, task, metric, models, d))
    return curves, skipped


def per_example_data(frames: Sequence[pd.DataFrame], metric: str, n_boot: int, seed: int) -> Examples | None:
    """Each example's per-token cross-entropy at each model (``-mean_j`` of its
    ``target_token_logprobs``) for the ``per-example`` predictor, with ``n_boot`` resamples of the
    examples; ``None`` unless the metric is exact match and every model (``frames``, in ``t``
    order, each sorted by ``example_id``) has the same examples with finite log-probabilities of
    the same lengths."""
    if metric.split("[", 1)[0] != "exact_match" or not frames or "target_token_logprobs" not in frames[0]:
        return None
    ids = frames[0]["example_id"].to_numpy()
    if any(len(f) != len(ids) or not np.array_equal(f["example_id"].to_numpy(), ids) for f in frames[1:]):
        return None
    rows, lengths = [], None
    for f in frames:
        logprobs = f["target_token_logprobs"].tolist()
        if any(v is None for v in logprobs):
            return None
        n_tokens = np.array([len(v) for v in logprobs], dtype=float)
        if (n_tokens == 0).any() or (lengths is not None and not np.array_equal(n_tokens, lengths)):
            return None
        lengths = n_tokens
        rows.append(-np.array([float(np.sum(v)) for v in logprobs]) / n_tokens)
    ce = np.vstack(rows)
    if not np.isfinite(ce).all():
        return None
    index = np.random.default_rng(seed).integers(0, len(ids), size=(n_boot, len(ids)))
    return Examples(ce, lengths, index)


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
        loss = (pd.to_numeric(g["pretrain_loss"], errors="coerce").to_numpy(float) if "pretrain_loss" in g
                else np.full(len(g), np.nan))
        d = CurveData(g["_t"].to_numpy(float), v, np.clip(reps, 0.0, 1.0), x=pd.to_numeric(g[xcol]).to_numpy(float),
                      loss=loss if np.isfinite(loss).any() else None)
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


def finetune_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a finetuning table (``finetune.csv``) as numbers, each finetuning run once: a row
    repeated whole (the same run twice) counts once.  Raises ``KeyError`` for a missing column and
    ``ValueError`` naming the line (of the CSV: the header is line 1), field and what was found for a
    value or ``finetune_examples`` that is not a finite number, two rows of one run (model, ``k``,
    ``seed``) with different values, or several rows of one (model, ``k``) with no ``seed`` column to
    tell them apart."""
    key = ["family", "task", "metric", "model", "finetune_examples"]
    missing = [c for c in (*key, "value") if c not in table]
    if missing:
        raise KeyError(f"the finetuning table lacks column(s) {', '.join(missing)}")
    t = table.reset_index(drop=True)
    for col in ("finetune_examples", "value"):
        num = pd.to_numeric(t[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(num)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"line {i + 2}, field {col}: expected a finite number, found {t[col].iloc[i]!r}")
        t[col] = num
    seeded = "seed" in t
    run = key + (["seed"] if seeded else [])
    names = t[run].astype(str).assign(value=t["value"])
    t = t[~names.duplicated(keep="first")]  # one run's value twice (a file joined twice): counted once
    names = names.loc[t.index].drop(columns="value")
    twice = names.duplicated(keep=False).to_numpy()
    if twice.any():
        first = names.iloc[int(np.flatnonzero(twice)[0])]
        same = np.flatnonzero((names == first).all(axis=1).to_numpy())
        lines = ", ".join(str(int(t.index[j]) + 2) for j in same)
        what = f"model {first['model']!r} at finetune_examples={first['finetune_examples']}"
        raise ValueError(f"lines {lines}: {same.size} rows for {what}" + (f", seed {first['seed']}" if seeded else "")
                         + f" ({first['metric']} on {first['task']}) "
                         + ("with different values" if seeded else "and no seed column to tell the runs apart"))
    return t


def attach_finetuned(curves: Sequence[ForecastCurve], table: pd.DataFrame, *, seed: int = 0,
                     confidence: float = 0.95) -> int:
    """Give every curve of ``table`` (``finetune.csv`` of ``emergence-lens finetune``: value per
    (family, task, metric, model, ``finetune_examples``)) its finetuned values for the ``finetune``
    predictor, matched by model name (NaN for a model not finetuned), the mean over finetuning
    seeds (``seed``) where there are several.  Replicates: per seed a binomial redraw from
    ``n_examples`` for binomial metrics, else a normal one with the standard error of the CI; then the
    mean over a resample of the seeds, so the spread between finetuning runs is in the band too.
    Returns how many curves got them."""
    from scipy import stats

    t = finetune_rows(table)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    attached = 0
    for c in curves:
        g = t[(t["family"].astype(str) == c.family) & (t["task"].astype(str) == c.task)
              & (t["metric"].astype(str) == c.metric) & t["model"].astype(str).isin(c.models)]
        if g.empty:
            continue
        ks = np.sort(g["finetune_examples"].unique())
        values = np.full((ks.size, len(c.models)), np.nan)
        reps = np.full((c.data.n_boot, ks.size, len(c.models)), np.nan)
        col = {m: j for j, m in enumerate(c.models)}
        for i, k in enumerate(ks):
            for model, cell in g[g["finetune_examples"] == k].groupby(g["model"].astype(str), sort=False):
                v = cell["value"].to_numpy(float)
                n = (pd.to_numeric(cell["n_examples"], errors="coerce").to_numpy(float) if "n_examples" in cell
                     else np.full(v.size, np.nan))
                se = ((pd.to_numeric(cell["ci_high"], errors="coerce") - pd.to_numeric(cell["ci_low"], errors="coerce"))
                      .to_numpy(float) / (2 * z)) if {"ci_low", "ci_high"} <= set(cell) else np.full(v.size, np.nan)
                rng = np.random.default_rng(curve_seed(seed, ("finetune", c.family, c.task, c.metric, f"{k:g}", model)))
                binomial = np.full(v.size, c.metric.split("[")[0] in BINOMIAL_METRICS)
                r = parametric_replicates(v, n, se, binomial, c.data.n_boot, rng)
                r = np.where(np.isfinite(r), r, v[None, :])
                pick = rng.integers(0, v.size, size=(c.data.n_boot, v.size))  # the seeds, resampled
                values[i, col[model]] = v.mean()
                reps[:, i, col[model]] = np.clip(np.take_along_axis(r, pick, axis=1).mean(axis=1), *c.data.bounds)
        c.data.finetuned = Finetuned(ks, values, reps)
        attached += 1
    return attached


def _scale_of(t: float, x_axis: str) -> float:
    if not np.isfinite(t):
        return float("nan")
    return float(-t) if x_axis == "loss" else float(10 ** t)


@dataclass
class Backtested:
    """What :func:`backtest_curves` found.

    Attributes:
        predictions: per held-out model and method (:data:`PREDICTION_COLUMNS`).
        summary: per curve and method, or why it could not be backtested (:data:`BACKTEST_COLUMNS`).
        wins: "which method wins" (:func:`wins_table`).
        fitted: the curves backtested, each with the number of models fitted on.
    """

    predictions: pd.DataFrame
    summary: pd.DataFrame
    wins: pd.DataFrame
    fitted: list[tuple[ForecastCurve, int]]

    @staticmethod
    def concat(runs: Sequence[Backtested]) -> Backtested:
        """Backtests of the same curves at several ``K``, one after the other."""
        return Backtested(*(pd.concat([getattr(r, f) for r in runs], ignore_index=True)
                            for f in ("predictions", "summary", "wins")),
                          [fit for r in runs for fit in r.fitted])


def interval_score(observed: np.ndarray, low: np.ndarray, high: np.ndarray, confidence: float) -> np.ndarray:
    """The interval score of central ``confidence`` intervals (Gneiting & Raftery 2007, eq. 43):
    ``(high - low) + 2/alpha * (low - y)_+ + 2/alpha * (y - high)_+`` with ``alpha = 1 - confidence``;
    lower is better, and no interval gains by being other than the forecaster's honest one."""
    y, lo, hi = (np.asarray(a, dtype=float) for a in (observed, low, high))
    alpha = 1.0 - confidence
    return (hi - lo) + 2.0 / alpha * (np.maximum(lo - y, 0.0) + np.maximum(y - hi, 0.0))


def backtest_curves(curves: Sequence[ForecastCurve], *, fit_on: int | None = None, fit_below: float | None = None,
                    methods: str | Iterable[str] | None = None, x_axis: str = "params", confidence: float = 0.95,
                    skipped: Sequence[dict] = (), calibration: Calibration = DEFAULT_CALIBRATION) -> Backtested:
    """Fit every method on the models below the cut-off of each curve and predict the rest.

    Args:
        curves: from :func:`curves_from_records` or :func:`curves_from_table`.
        fit_on: the ``K`` smallest models of each curve; or
        fit_below: every model below this scale (the same cut for every family).
        methods: predictor names, ``"all"`` or ``None`` (every registered one).
        skipped: status rows of curves that could not be built (kept in the summary).
        calibration: the calibrator's constants (default: those chosen out of sample by
            ``scripts/calibration_lofo.py``).

    Returns:
        :class:`Backtested`.  Intervals are calibrated per (family, metric, method), pooling the
        leave-future-out residuals of the family's curves.
    """
    if (fit_on is None) == (fit_below is None):
        raise ValueError("give exactly one of fit_on (the K smallest models) and fit_below (a scale cut-off)")
    names = resolve_methods(methods)
    label = str(fit_on) if fit_on is not None else f"below {fit_below:g}"
    t_cut = None if fit_below is None else float(x_position(np.array([fit_below]), x_axis)[0])
    if t_cut is not None and not np.isfinite(t_cut):
        raise ValueError(f"--fit-below {fit_below!r}: not a valid {x_axis} value")
    rows: list[dict] = []
    summary: list[dict] = [{**s, "fit_on": label} for s in skipped]
    pending: dict[tuple[str, str, str], list] = {}
    fitted: list[tuple[ForecastCurve, int]] = []
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
        fitted.append((c, K))
        for f in forecast_methods(d, K, names, confidence=confidence, calibration=calibration):
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
            pending.setdefault((c.family, c.metric, f.method), []).append(
                _Pending(start, len(rows), len(summary), f.residuals, hz, flat, d.bounds))
            summary.append({**base, "fit": f.fit, "predicted_crossing": _scale_of(f.crossing, x_axis),
                            "observed_crossing": obs_cross, "status": "ok"})
    preds = pd.DataFrame(rows, columns=PREDICTION_COLUMNS)
    for col in ("calibrated_low", "calibrated_high", "error"):
        preds[col] = preds[col].astype(float)
    preds["inside"] = False
    for group in pending.values():
        q, rule = calibration_quantile(np.concatenate([g.residuals for g in group]), confidence)
        n_cal = int(sum(g.residuals.size for g in group))
        for g in group:
            p = preds.iloc[g.start:g.stop]
            lo, hi = calibrated_interval(p["predicted"], p["predicted_low"], p["predicted_high"],
                                         np.inf if g.flat else q, horizon=g.horizon,
                                         calibration=calibration)
            obs = p["observed"].to_numpy(float)
            inside = (obs >= lo) & (obs <= hi)
            idx = preds.index[g.start:g.stop]
            preds.loc[idx, "calibrated_low"] = lo
            preds.loc[idx, "calibrated_high"] = hi
            preds.loc[idx, "error"] = obs - p["predicted"].to_numpy(float)
            preds.loc[idx, "inside"] = inside
            band = (obs >= p["predicted_low"]) & (obs <= p["predicted_high"])
            width = float(np.mean(hi - lo))
            summary[g.row].update(
                mae=float(np.mean(np.abs(obs - p["predicted"]))),
                interval_score=float(np.mean(interval_score(obs, lo, hi, confidence))),
                coverage=float(np.mean(inside)), mean_width=width,
                informative=bool(width < WHOLE_RANGE * (g.bounds[1] - g.bounds[0])),
                band_coverage=float(np.mean(band)), band_mean_width=float(np.mean(p["predicted_high"]
                                                                                  - p["predicted_low"])),
                n_calibration=n_cal, calibration_q=q,
                calibration_rule="whole range: the metric did not move over the fitted models" if g.flat else rule)
    summ = pd.DataFrame(summary, columns=BACKTEST_COLUMNS)
    return Backtested(preds, summ, wins_table(summ), fitted)


@dataclass(frozen=True)
class _Pending:
    """A method's rows on one curve, waiting for its (family, metric, method) calibration."""

    start: int
    stop: int
    row: int
    residuals: np.ndarray
    horizon: np.ndarray
    flat: bool
    bounds: tuple[float, float]


def wins_table(summary: pd.DataFrame) -> pd.DataFrame:
    """"Which method wins": per (family, metric, fit_on) and method, the held-out-weighted interval
    score, error, coverage and width, on how many curves its interval spans the whole range (says
    nothing: ``n_uninformative``), and on how many curves it had the best interval score among the
    intervals that say something (``n_best``).  ``rank`` orders by interval score, except that a
    whole-range interval is a forecast not made: a method that gives one on most of its curves ranks
    after every method that forecast most of theirs, so it never wins by saying nothing."""
    ok = summary[summary["status"] == "ok"]
    if ok.empty:
        return pd.DataFrame(columns=WINS_COLUMNS)
    said = ok[ok["informative"].astype(bool)]
    best = said.loc[said.groupby(["family", "task", "metric", "fit_on"], sort=False)["interval_score"].idxmin()]
    n_best = best.groupby(["family", "metric", "fit_on", "method"]).size()
    rows = []
    for (family, metric, fit_on, method), g in ok.groupby(["family", "metric", "fit_on", "method"], sort=True):
        w = g["n_heldout"].to_numpy(float)
        n_uninformative = int((~g["informative"].astype(bool)).sum())
        rows.append({"family": family, "metric": metric, "fit_on": fit_on, "method": method, "n_curves": len(g),
                     "n_heldout": int(w.sum()),
                     "interval_score": float(np.average(g["interval_score"], weights=w)),
                     "mae": float(np.average(g["mae"], weights=w)),
                     "coverage": float(np.average(g["coverage"], weights=w)),
                     "mean_width": float(np.average(g["mean_width"], weights=w)),
                     "n_uninformative": n_uninformative,
                     "n_best": int(n_best.get((family, metric, fit_on, method), 0))})
    wins = pd.DataFrame(rows)
    group = ["family", "metric", "fit_on"]
    order = wins.assign(_silent=(2 * wins["n_uninformative"] > wins["n_curves"]).astype(int)) \
        .sort_values([*group, "_silent", "interval_score"], kind="stable")
    order["_pos"] = order.groupby(group, sort=False).cumcount() + 1
    order["rank"] = order.groupby([*group, "_silent", "interval_score"], sort=False)["_pos"].transform("min")
    wins = order.drop(columns=["_silent", "_pos"])
    return wins.sort_values(["family", "metric", "fit_on", "rank", "method"], kind="stable")[WINS_COLUMNS] \
        .reset_index(drop=True)


def side_by_side(summary: pd.DataFrame, methods: Sequence[str] = ("transform", "naive")) -> pd.DataFrame:
    """Per backtested (task, metric), ``methods`` side by side: mean absolute error, interval score,
    coverage and mean width of the calibrated interval (``<method>_mae`` and so on), and the held-out
    count (the paper's "predicted from the ingredient vs extrapolated from the metric")."""
    ok = summary[(summary["status"] == "ok") & summary["method"].isin(methods)]
    if ok.empty:
        return pd.DataFrame(columns=["task", "metric", "n_heldout"])
    wide = ok.pivot_table(index=["task", "metric"], columns="method", aggfunc="first",
                          values=["mae", "interval_score", "coverage", "mean_width"])
    out = pd.DataFrame(index=wide.index)
    for m in methods:
        for col in ("mae", "interval_score", "coverage", "mean_width"):
            if (col, m) in wide:
                out[f"{m}_{col}"] = wide[(col, m)]
    out["n_heldout"] = ok.groupby(["task", "metric"])["n_heldout"].first()
    return out.reset_index()


def foresight_table(summary: pd.DataFrame, max_width: float = 0.5) -> pd.DataFrame:
    """One line per curve of backtests at several ``K`` (``summary``: :data:`BACKTEST_COLUMNS`): the
    earliest ``K`` at which a method placed the scale where the metric crosses half its range within a
    factor 2 of where it did, beyond the fitted models, with a calibrated interval narrower than
    ``max_width`` of the range (of such methods, the best by interval score) — or why it was not
    foreseen: the curve never crossed, crossed within the fitted models, or no method saw it coming."""
    ok = summary[(summary["status"] == "ok") & summary["fit_on"].astype(str).str.fullmatch(r"\d+")]
    rows = []
    for (family, task, metric), g in ok.groupby(["family", "task", "metric"], sort=True):
        g = g.assign(K=g["fit_on"].astype(int))
        observed = g["observed_crossing"].astype(float)
        ks = ", ".join(map(str, sorted(g["K"].unique())))
        row = {"family": family, "task": task, "metric": metric, "foreseen_at": np.nan, "method": "",
               "predicted_crossing": np.nan, "observed_crossing": float(observed.max()), "mean_width": np.nan}
        beyond = g[np.isfinite(observed) & (observed > g["cutoff"].astype(float))]
        if not np.isfinite(observed).any():
            row["foresight"] = "never crosses half its range: no jump to foresee"
        elif beyond.empty:
            row["foresight"] = f"crosses half its range within the fitted models at every K ({ks})"
        elif (g["x_axis"] == "loss").any():
            row["foresight"] = "not judged on the loss axis (a factor 2 is a rule for scales)"
        else:
            ratio = beyond["predicted_crossing"].astype(float) / beyond["observed_crossing"].astype(float)
            hit = beyond[(ratio >= 0.5) & (ratio <= 2) & (beyond["mean_width"].astype(float) < max_width)]
            if hit.empty:
                row["foresight"] = (f"not foreseen at K = {ks}: no method put the crossing within a factor 2 "
                                    f"with an interval narrower than {max_width:g} of the range")
            else:
                first = hit[hit["K"] == hit["K"].min()].sort_values(["interval_score", "method"]).iloc[0]
                row.update(foreseen_at=int(first["K"]), method=str(first["method"]),
                           predicted_crossing=float(first["predicted_crossing"]),
                           observed_crossing=float(first["observed_crossing"]),
                           mean_width=float(first["mean_width"]))
                row["foresight"] = (f"foreseen from K = {int(first['K'])} by {first['method']}: crossing "
                                    f"predicted at {first['predicted_crossing']:.3g}, observed at "
                                    f"{first['observed_crossing']:.3g}, calibrated width {first['mean_width']:.2f}")
        rows.append(row)
    return pd.DataFrame(rows, columns=FORESIGHT_COLUMNS)
