"""Emergence scores for every curve of a table, with bootstrap CIs where replicates exist."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from emergence_lens.emergence.bootstrap import percentile_ci
from emergence_lens.emergence.paired import orient
from emergence_lens.emergence.score import (
    MIN_POINTS,
    EmergenceScoreError,
    emergence_scores,
    linearity,
    prepare_curve,
)
from emergence_lens.emergence.xaxis import X_AXES, x_position
from emergence_lens.metrics import METRICS

__all__ = ["emergence_table", "EMERGENCE_COLUMNS"]

EMERGENCE_COLUMNS = ["family", "task", "metric", "metric_kind", "higher_is_better", "n_scales",
                     "scale_min", "scale_max", "emergence_score", "ci_low", "ci_high", "sharpness",
                     "linearity", "status"]


def emergence_table(curves: pd.DataFrame,
                    replicates: Mapping[tuple[str, str, str], np.ndarray] | None = None, *,
                    x: str = "scale_params", confidence: float = 0.95,
                    min_step: float | None = None) -> pd.DataFrame:
    """One row per (family, task, metric) curve.

    The score is computed on the curve *oriented so that higher is better* (lower-is-better
    metrics are negated), so a positive score always means "improves with scale" and scores of
    different metrics can be compared.  ``sharpness = emergence_score / (n_scales - 1)``: 1 for a
    curve that climbs in equal steps, much larger for one concentrated jump.  Metrics registered
    with ``log_scale`` (MSE) are scored on ``log10`` of their values and replicates.

    Args:
        curves: columns ``family, task, metric, value, higher_is_better`` and ``x``
            (e.g. :attr:`emergence_lens.curves.CurveSet.table`).
        replicates: optional bootstrap replicate curves per key, models in ``x`` order.
        x: the scale column (``scale_params``, ``scale_flops`` or ``pretrain_loss``); points are
            ordered by :func:`~emergence_lens.emergence.xaxis.x_position` (log scale; loss
            decreasing), and a model without a value on that axis leaves the curve unscored.

    Returns:
        :data:`EMERGENCE_COLUMNS`; ``status`` is ``"ok"`` or says why the score is NaN (e.g. fewer
        than 3 scales).
    """
    axis = {v: k for k, v in X_AXES.items()}.get(x)
    if axis is None:
        raise ValueError(f"x must be one of {sorted(X_AXES.values())}, got {x!r}")
    rows = []
    for (family, task, metric), g in curves.groupby(["family", "task", "metric"], sort=True):
        # rows arrive in curve order (that of the replicates); reorder both by position on the axis
        pos = x_position(g[x].to_numpy(dtype=float), axis)
        order = np.argsort(pos, kind="stable")
        g = g.iloc[order].assign(_pos=pos[order])
        hib = bool(g["higher_is_better"].iloc[0]) if "higher_is_better" in g else True
        spec = METRICS.get(str(metric))
        log = spec is not None and spec.log_scale
        xs = g["_pos"].to_numpy(dtype=float)
        ys = orient(g["value"].to_numpy(dtype=float), hib, log)
        row = {"family": family, "task": task, "metric": metric,
               "metric_kind": g["metric_kind"].iloc[0] if "metric_kind" in g else "",
               "higher_is_better": hib, "n_scales": int(np.unique(xs[np.isfinite(xs)]).size),
               "scale_min": float(np.nanmin(g[x])) if xs.size and g[x].notna().any() else np.nan,
               "scale_max": float(np.nanmax(g[x])) if xs.size and g[x].notna().any() else np.nan,
               "emergence_score": np.nan, "ci_low": np.nan, "ci_high": np.nan,
               "sharpness": np.nan, "linearity": np.nan, "status": "ok"}
        try:
            _, ys_sorted = prepare_curve(xs, ys)
        except EmergenceScoreError as exc:
            row["status"] = str(exc)
            rows.append(row)
            continue
        score = float(emergence_scores(ys_sorted[None, :], min_step=min_step)[0])
        row["emergence_score"] = score
        row["sharpness"] = score / (ys_sorted.size - 1)
        row["linearity"] = linearity(xs, ys)
        key = (str(family), str(task), str(metric))
        if replicates is not None and key in replicates:
            reps = orient(np.asarray(replicates[key], dtype=float), hib, log)
            if reps.shape[1] == order.size:
                reps = reps[:, order]
            if reps.shape[1] == ys_sorted.size and reps.shape[1] >= MIN_POINTS:
                lo, hi = percentile_ci(emergence_scores(reps, min_step=min_step), confidence)
                row["ci_low"], row["ci_high"] = float(lo), float(hi)
        rows.append(row)
    return pd.DataFrame(rows, columns=EMERGENCE_COLUMNS)
