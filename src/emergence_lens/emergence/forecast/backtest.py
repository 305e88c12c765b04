"""Backtests: fit on the smallest models, predict the rest, with every predictor.

Wei et al. (2022) define an emergent ability as one that "cannot be predicted simply by
extrapolating the performance of smaller models".  Schaeffer et al. (2023) argue that the smooth,
continuous quantity *does* extrapolate and the sharp metric follows through its transform.  A
backtest answers it on one family: fit on the ``K`` smallest models, predict the larger ones, and
compare with what they scored.

* :func:`curve_from_designs` — a curve's :class:`~emergence_lens.emergence.forecast.data.CurveData`
  from per-example design matrices: one bootstrap over examples, shared by every predictor;
* :func:`forecast_methods` — every requested predictor (:mod:`~emergence_lens.emergence.forecast.registry`)
  on one curve: its prediction and band at the held-out models, its leave-future-out residuals
  (:mod:`~emergence_lens.emergence.forecast.calibrate`) and the position where it predicts the
  metric to cross half its range;

:mod:`emergence_lens.backtesting` runs them over a family's curves and calibrates the intervals.
Uncertainty: percentile intervals over the replicates, refitting on every one (model selection
included).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from emergence_lens.emergence.bootstrap import bootstrap_column_means, percentile_ci
from emergence_lens.emergence.forecast.calibrate import (
    DEFAULT_CALIBRATION,
    Calibration,
    leave_future_out_scores,
)
from emergence_lens.emergence.forecast.data import CurveData, Forecast, Ingredient, Series
from emergence_lens.emergence.forecast.registry import get_predictor
from emergence_lens.emergence.forecast.two_step import proxy_of
from emergence_lens.emergence.transforms import Transform

__all__ = ["curve_from_designs", "forecast_methods", "MethodForecast", "half_range_crossing", "PREDICTION_COLUMNS",
           "GRID_POINTS"]

#: ``predictions.csv`` of ``predict`` and ``score`` alike: per model and method, observed (CI),
#: predicted with its bootstrap band and calibrated interval, ``error = observed - predicted`` and
#: whether the observation lies ``inside`` the calibrated interval.  Rows with ``fit_on = all`` are
#: the verdicts' band (the metric's transform of its ingredient fitted at every model): no
#: calibration there, and ``inside`` means inside the band.
PREDICTION_COLUMNS = ["family", "task", "metric", "method", "model", "scale", "fit_on", "observed", "observed_low",
                      "observed_high", "predicted", "predicted_low", "predicted_high", "calibrated_low",
                      "calibrated_high", "error", "inside"]
#: Positions at which a predictor is evaluated beyond the fitted models to find its crossing.
GRID_POINTS = 121


def curve_from_designs(t: Sequence[float] | np.ndarray, designs: Sequence[np.ndarray], transform: Transform, *,
                       x: Sequence[float] | np.ndarray | None = None, n_boot: int = 1000,
                       seed: int | np.random.Generator = 0, paired: bool = False) -> CurveData:
    """One bootstrap over examples (:func:`bootstrap_column_means`) of each model's
    :meth:`Transform.design`, and the curve it gives: the metric, its ingredient and the proxy
    (mean per-token accuracy, or the margin's mean ``mu``)."""
    ts = np.asarray(t, dtype=float)
    if ts.size != len(designs):
        raise ValueError(f"{ts.size} positions but {len(designs)} designs")
    full = np.vstack([np.asarray(d, dtype=float).mean(axis=0) for d in designs])
    reps = bootstrap_column_means(designs, n_boot, seed, paired=paired)
    theta_full = transform.theta(full)                                   # (M, k)
    theta_b = np.stack([transform.theta(r) for r in reps], axis=1)        # (B, M, k)

    def to_metric(theta: np.ndarray, i: int, replicate: bool) -> np.ndarray:
        return transform.predict_theta(theta, reps[i] if replicate else full[i])

    unit = transform.kind == "power"
    return CurveData(
        ts, full[:, 0], np.column_stack([r[:, 0] for r in reps]), x=None if x is None else np.asarray(x, float),
        ingredient=Ingredient(theta_full, theta_b, transform.links, transform.theta_names, to_metric,
                              transform.ingredient),
        proxy=Series(proxy_of(theta_full, transform.kind), proxy_of(theta_b, transform.kind), transform.links[0],
                     unit, "mean per-token accuracy" if unit else "mu"))


def half_range_crossing(t: np.ndarray, values: np.ndarray, level: float) -> float:
    """First position where ``values`` (in ``t`` order) reach ``level`` from below, linearly
    interpolated in ``t``; the first position if it starts there; NaN if never."""
    t = np.asarray(t, dtype=float)
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    t, v = t[ok], v[ok]
    above = np.flatnonzero(v >= level)
    if above.size == 0:
        return float("nan")
    i = int(above[0])
    if i == 0:
        return float(t[0])
    return float(t[i - 1] + (level - v[i - 1]) / (v[i] - v[i - 1]) * (t[i] - t[i - 1]))


@dataclass
class MethodForecast:
    """One predictor on one curve fitted on ``fit_on`` models: ``status`` is ``"ok"`` or why it
    does not apply; at the held-out models ``point`` and its band ``low``/``high``; ``residuals``
    from within the fitted models (for calibration); ``crossing``: the position where it predicts
    the metric to cross half its range (NaN: not within the horizon)."""

    method: str
    fit_on: int
    status: str
    fit: str = ""
    point: np.ndarray = field(default_factory=lambda: np.array([]))
    low: np.ndarray = field(default_factory=lambda: np.array([]))
    high: np.ndarray = field(default_factory=lambda: np.array([]))
    residuals: np.ndarray = field(default_factory=lambda: np.array([]))
    crossing: float = float("nan")


def forecast_methods(d: CurveData, fit_on: int, methods: Sequence[str], *, confidence: float = 0.95,
                     calibrate: bool = True, horizon: float | None = None,
                     calibration: Calibration = DEFAULT_CALIBRATION) -> list[MethodForecast]:
    """Every predictor in ``methods`` on ``d`` fitted on its ``fit_on`` smallest models.

    ``horizon``: how far past the largest model (in ``t`` units) a predictor's curve is searched for
    its half-range crossing (default: the family's own span).  ``calibration``: the calibrator's
    constants (:class:`~emergence_lens.emergence.forecast.calibrate.Calibration`).
    """
    K = int(fit_on)
    M = d.n_models
    if not 2 <= K < M:
        raise ValueError(f"fit_on must be between 2 and {M - 1} (the number of models - 1), got {K}")
    new = np.arange(K, M)
    level = d.bounds[0] + (d.bounds[1] - d.bounds[0]) / 2
    span = float(d.t[-1] - d.t[0]) if horizon is None else float(horizon)
    grid = np.linspace(d.t[K - 1], d.t[-1] + span, GRID_POINTS)[1:]
    out = []
    for name in methods:
        spec = get_predictor(name)
        f: Forecast | str = spec.func(d, K, d.t[new], new)
        if isinstance(f, str):
            out.append(MethodForecast(name, K, f))
            continue
        lo, hi = percentile_ci(f.reps, confidence)
        if spec.grid:
            g = spec.func(d, K, grid, np.full(grid.size, -1))
            tt, vv = np.r_[d.t[:K], grid], np.r_[d.observed[:K], g.point if isinstance(g, Forecast) else np.nan]
        else:
            tt, vv = d.t, np.r_[d.observed[:K], f.point]
        res = leave_future_out_scores(d, name, K, confidence, calibration) if calibrate else np.array([])
        out.append(MethodForecast(name, K, "ok", f.fit, f.point, lo, hi, res, half_range_crossing(tt, vv, level)))
    return out
