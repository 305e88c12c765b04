"""Predictability backtest: could the jump have been predicted from the smaller models?

Wei et al. (2022) define an emergent ability as one that "cannot be predicted simply by
extrapolating the performance of smaller models".  Schaeffer et al. (2023) argue that the
smooth, continuous quantity *does* extrapolate and the sharp metric follows through its
transform.  This module tests both on one family:

1. Fit the ingredient of the sharp metric (per-token accuracy ``a``; a margin's ``mu, sigma``;
   :mod:`~emergence_lens.emergence.transforms`) on the ``K`` smallest models against the x
   position ``t`` (:mod:`~emergence_lens.emergence.xaxis`).  Candidate fits, chosen per
   component by **held-out error** (rolling origin: fit on the ``j`` smallest, predict the
   ``j+1``-th, for the last two of the ``K``; the choice is redone on every bootstrap replicate so
   that model-selection uncertainty is in the interval):

   * linear in ``t`` ("linear in log-scale" for parameters/FLOPs);
   * a power law: for ``a``, the per-token cross-entropy ``-log a = C x**alpha`` (the paper's
     model, Sec. 2), i.e. ``log(-log a)`` linear in ``t``; for ``sigma``, ``log sigma`` linear.

2. Extrapolate to the larger models and map through the metric's transform: the **prediction**.
3. The naive **baseline**: extrapolate the sharp metric itself from the same ``K`` models with
   the same candidates (linear, or a power law ``log y`` linear in ``t`` where every ``y > 0``),
   chosen the same way; clipped to ``[0, 1]``.
4. The **two-step** forecast (Llama 3 / OLMo ladder): a proxy extrapolated, then mapped to the
   metric by a sigmoid learned on the same ``K`` models
   (:mod:`~emergence_lens.emergence.two_step`).

Uncertainty: one bootstrap over examples (:func:`bootstrap_column_means`), refitting on every
replicate; percentile intervals per held-out model.  ``consistent`` says whether the interval of
``observed - predicted`` (same replicates) contains 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from emergence_lens.emergence.bootstrap import bootstrap_column_means, percentile_ci
from emergence_lens.emergence.transforms import LINKS, Link, Transform

__all__ = ["Backtest", "backtest_curve", "choose_link", "extrapolate_selected", "fit_lines", "BACKTEST_COLUMNS"]

BACKTEST_COLUMNS = ["scale", "position", "observed", "observed_low", "observed_high", "predicted",
                    "predicted_low", "predicted_high", "consistent", "error", "baseline_predicted",
                    "baseline_low", "baseline_high", "baseline_consistent", "baseline_error",
                    "two_step_predicted", "two_step_low", "two_step_high", "two_step_error"]


def fit_lines(t: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares lines ``z = b0 + b1 t`` for every row of ``z`` (shape ``(B, K)``)."""
    t = np.asarray(t, dtype=float)
    z = np.atleast_2d(np.asarray(z, dtype=float))
    tc = t - t.mean()
    denom = float(np.sum(tc ** 2))
    if denom == 0:
        raise ValueError("need at least two distinct x positions to fit a line")
    b1 = (z - z.mean(axis=1, keepdims=True)) @ tc / denom
    b0 = z.mean(axis=1) - b1 * t.mean()
    return b0, b1


def _extrapolate(link: Link, t_fit: np.ndarray, v_fit: np.ndarray, t_new: np.ndarray) -> np.ndarray:
    """Fit ``link(v) = b0 + b1 t`` per row of ``v_fit`` and return ``link^-1`` at ``t_new``."""
    z = link.apply(v_fit)
    z = np.where(np.isfinite(z), z, np.nan)
    b0, b1 = fit_lines(t_fit, np.nan_to_num(z, nan=0.0))
    return link.invert(b0[:, None] + b1[:, None] * np.asarray(t_new, dtype=float)[None, :])


def _heldout_errors(link: Link, t: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rolling-origin error of ``link`` for every row of ``v`` (shape ``(B, K)``): fit on the first
    ``j`` points, predict point ``j``, for ``j`` = max(2, K-2) .. K-1; mean ``|error|`` on the
    original scale (``inf`` where the link cannot take the values)."""
    v = np.atleast_2d(v)
    K = v.shape[1]
    errs = []
    for j in range(max(2, K - 2), K):
        z = link.apply(v[:, :j])
        pred = _extrapolate(link, t[:j], v[:, :j], t[j:j + 1])[:, 0]
        e = np.abs(pred - v[:, j])
        errs.append(np.where(np.isfinite(z).all(axis=1) & np.isfinite(e), e, np.inf))
    return np.mean(errs, axis=0) if errs else np.zeros(v.shape[0])


def choose_link(t: np.ndarray, v: np.ndarray, links: Sequence[Link]) -> tuple[Link, dict[str, float]]:
    """The candidate with the smallest held-out error (rolling origin: fit on the first ``j``
    points, predict point ``j``, over the last two points), on the original scale.  With fewer than
    3 points the first candidate.  Returns the link and every candidate's error."""
    t = np.asarray(t, dtype=float)
    v = np.asarray(v, dtype=float)
    if t.size < 3:
        return links[0], {}
    errors = {link.name: float(_heldout_errors(link, t, v[None, :])[0]) for link in links}
    best = min(links, key=lambda lk: (errors[lk.name], links.index(lk)))
    return best, errors


def extrapolate_selected(links: Sequence[Link], t_fit: np.ndarray, v_fit: np.ndarray,
                          t_new: np.ndarray) -> np.ndarray:
    """Per row of ``v_fit``, the extrapolation of the link with the smallest held-out error on
    that row: model selection is redone on every bootstrap replicate, so its uncertainty is in
    the interval."""
    v_fit = np.atleast_2d(v_fit)
    preds = np.stack([_extrapolate(lk, t_fit, v_fit, t_new) for lk in links])           # (n_links, B, new)
    if len(links) == 1 or t_fit.size < 3:
        return preds[0]
    errs = np.stack([_heldout_errors(lk, t_fit, v_fit) for lk in links])              # (n_links, B)
    best = np.argmin(errs, axis=0)
    return preds[best, np.arange(v_fit.shape[0])]


@dataclass
class Backtest:
    """Per held-out model (rows of :attr:`table`), predicted vs observed; the fits chosen."""

    metric: str
    fit_on: int
    table: pd.DataFrame
    ingredient_fit: list[str]
    baseline_fit: str

    def prediction_rows(self, family: str, task: str, models: Sequence[str]) -> list[dict]:
        """Rows of ``predictions.csv`` (the held-out models, ``fit_on = K``); ``models`` in x order."""
        return [{"family": family, "task": task, "metric": self.metric, "model": models[self.fit_on + j],
                 "scale": r.scale, "fit_on": str(self.fit_on), "observed": r.observed,
                 "observed_low": r.observed_low, "observed_high": r.observed_high, "predicted": r.predicted,
                 "predicted_low": r.predicted_low, "predicted_high": r.predicted_high,
                 "baseline_predicted": r.baseline_predicted, "baseline_low": r.baseline_low,
                 "baseline_high": r.baseline_high, "consistent": bool(r.consistent),
                 "baseline_consistent": bool(r.baseline_consistent), "error": r.error,
                 "baseline_error": r.baseline_error}
                for j, r in enumerate(self.table.itertuples(index=False))]

    @property
    def mean_error(self) -> float:
        return float(self.table["error"].abs().mean())

    @property
    def mean_baseline_error(self) -> float:
        return float(self.table["baseline_error"].abs().mean())


def backtest_curve(t: Sequence[float] | np.ndarray, designs: Sequence[np.ndarray], transform: Transform, *,
                   fit_on: int, x: Sequence[float] | np.ndarray | None = None, n_boot: int = 1000,
                   confidence: float = 0.95, seed: int | np.random.Generator = 0,
                   paired: bool = False) -> Backtest:
    """Fit on the ``fit_on`` smallest models, predict the rest (see the module docstring).

    Args:
        t: x position of each model (increasing), :func:`~emergence_lens.emergence.xaxis.x_position`.
        designs: each model's :meth:`Transform.design` matrix, same order.
        fit_on: ``K``, at least 2 and fewer than the number of models.
        x: the scales to report (default: ``t``).
    """
    ts = np.asarray(t, dtype=float)
    M = ts.size
    if M != len(designs):
        raise ValueError(f"{M} positions but {len(designs)} designs")
    if not 2 <= fit_on < M:
        raise ValueError(f"fit_on must be between 2 and {M - 1} (the number of models - 1), got {fit_on}")
    if np.any(np.diff(ts) <= 0):
        raise ValueError("x positions must be strictly increasing (one model per scale)")
    xs = ts if x is None else np.asarray(x, dtype=float)
    K = fit_on
    full = np.vstack([np.asarray(d, dtype=float).mean(axis=0) for d in designs])
    reps = bootstrap_column_means(designs, n_boot, seed, paired=paired)
    theta_full = transform.theta(full)                                   # (M, k)
    theta_b = np.stack([transform.theta(r) for r in reps], axis=1)        # (B, M, k)
    new = np.arange(K, M)

    # ingredient: choose a link per component on the full data, refit on every replicate
    theta_hat = np.empty((M - K, theta_full.shape[1]))
    theta_hat_b = np.empty((theta_b.shape[0], M - K, theta_full.shape[1]))
    chosen = []
    for j, links in enumerate(transform.links):
        link, _ = choose_link(ts[:K], theta_full[:K, j], links)
        chosen.append(f"{transform.theta_names[j]}: {link.name}")
        theta_hat[:, j] = _extrapolate(link, ts[:K], theta_full[None, :K, j], ts[new])[0]
        theta_hat_b[:, :, j] = extrapolate_selected(links, ts[:K], theta_b[:, :K, j], ts[new])
    pred = np.array([transform.predict_theta(theta_hat[i:i + 1], full[K + i])[0] for i in range(M - K)])
    pred_b = np.column_stack([transform.predict_theta(theta_hat_b[:, i], reps[K + i]) for i in range(M - K)])

    # baseline: the sharp metric itself
    obs = full[:, 0]
    obs_b = np.column_stack([r[:, 0] for r in reps])
    base_links = [LINKS["linear"], LINKS["log-linear"]]
    if not np.all(obs[:K] > 0):  # a power law needs every y > 0
        base_links = [LINKS["linear"]]
    blink, _ = choose_link(ts[:K], obs[:K], base_links)
    base = np.clip(_extrapolate(blink, ts[:K], obs[None, :K], ts[new])[0], 0.0, 1.0)
    base_b = np.clip(extrapolate_selected(base_links, ts[:K], obs_b[:, :K], ts[new]), 0.0, 1.0)

    # two-step (scale -> proxy -> metric through a sigmoid learned on the same K models)
    from emergence_lens.emergence.two_step import proxy_of, two_step_predict

    unit = transform.kind == "power"
    plinks = transform.links[0]
    two = two_step_predict(ts, proxy_of(theta_full, transform.kind)[None, :], obs[None, :], K, ts[new], plinks,
                           unit)[0]
    two_b = two_step_predict(ts, proxy_of(theta_b, transform.kind), obs_b, K, ts[new], plinks, unit)

    p_lo, p_hi = percentile_ci(pred_b, confidence)
    t_lo, t_hi = percentile_ci(two_b, confidence)
    b_lo, b_hi = percentile_ci(base_b, confidence)
    o_lo, o_hi = percentile_ci(obs_b[:, new], confidence)
    d_lo, d_hi = percentile_ci(obs_b[:, new] - pred_b, confidence)
    db_lo, db_hi = percentile_ci(obs_b[:, new] - base_b, confidence)
    table = pd.DataFrame({
        "scale": xs[new], "position": ts[new], "observed": obs[new], "observed_low": o_lo, "observed_high": o_hi,
        "predicted": pred, "predicted_low": p_lo, "predicted_high": p_hi,
        "consistent": (d_lo <= 0) & (d_hi >= 0), "error": obs[new] - pred,
        "baseline_predicted": base, "baseline_low": b_lo, "baseline_high": b_hi,
        "baseline_consistent": (db_lo <= 0) & (db_hi >= 0), "baseline_error": obs[new] - base,
        "two_step_predicted": two, "two_step_low": t_lo, "two_step_high": t_hi, "two_step_error": obs[new] - two,
    }, columns=BACKTEST_COLUMNS)
    return Backtest(transform.metric, K, table, chosen, blink.name)
