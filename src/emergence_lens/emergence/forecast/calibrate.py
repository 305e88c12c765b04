"""Calibrated forecast intervals: leave-future-out widening of each predictor's bootstrap band.

The bootstrap band of a forecast holds only sampling noise: when the fitted law is wrong (per-token
difficulty varies, so ``a**L`` of a power law is not exact) it is far too narrow — measured on the
default simulated family it contains the observation at 20-30% of held-out points
(``scripts/forecast_coverage.py``).  The fix uses only the models a forecaster had:

1. **Leave-future-out residuals.**  Within the ``K`` fitted models, for every origin
   ``j = 2 .. K-1``, the same predictor fits the ``j`` smallest and predicts models ``j+1 .. K``
   (on the same replicates).  Each prediction gives a normalised residual on the logit scale of
   the metric's range, ``s = (logit(observed) - logit(predicted)) / (h g)`` (the logit makes a
   miss near 0 or 1 comparable with one mid-range, where a sigmoid-shaped curve moves fastest):
   ``h`` is half the width of its own band there (floored: :class:`Calibration`), which
   widens linearly with the extrapolation distance, and
   ``g = 1 + delta / span`` (:func:`horizon_factor`: ``delta`` the distance past the last fitted
   model, ``span`` the fitted models' range, both in ``t``) because a misspecified law's error grows
   faster than that — quadratically in the distance for a curved truth fitted by a line — so a
   residual one step ahead says less about five steps ahead than the band alone implies.
2. **Pooled over the family's curves** of the same metric and method, a factor ``q``
   (:func:`calibration_quantile`): the split-conformal quantile of ``|s|`` — the
   ``ceil((n + 1) c)``-th smallest of ``n`` at confidence ``c`` (Vovk et al. 2005; Lei et al.
   2018) — where ``n >= c / (1 - c)`` (19 at 95%); with fewer, the normal prediction interval of a
   new residual from the ``n`` seen, ``|mean| + t_{n-1} sd sqrt(1 + 1/n)`` (needs ``n >= 3``: an
   assumption, stated in ``calibration_rule``); with fewer than 3, no factor — the interval is the
   metric's whole range, an honest "cannot be calibrated from this few models".
3. The calibrated interval is ``logit(predicted) +/- max(q, 1) h g`` mapped back, joined with the band (never narrower
   than it), clipped to the metric's range.

A method that learns the metric's shape from the fitted models' metric values (``naive``, the
link of ``two-step``) has nothing to extrapolate where those values never moved (every fitted
model at the floor, a step still to come): there its interval is the whole range
(:func:`metric_moved`), however small its residuals — they only say the floor stayed flat.

Exchangeability across horizons is assumed, not guaranteed: coverage is measured, not promised
(``scripts/forecast_coverage.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special

from emergence_lens.emergence.bootstrap import percentile_ci
from emergence_lens.emergence.forecast.data import CurveData
from emergence_lens.emergence.forecast.registry import get_predictor

__all__ = ["metric_moved", "conformal_quantile", "calibration_quantile", "leave_future_out_scores",
           "calibrated_interval", "horizon_factor", "Calibration", "DEFAULT_CALIBRATION", "MIN_NORMAL_SCORES",
           "MIN_LOGIT_HALF_WIDTH", "LOGIT_CLIP"]

#: Fewest residuals for the normal prediction interval.
MIN_NORMAL_SCORES = 3
#: Values are clipped to [c, 1 - c] of the metric's range before the logit.
LOGIT_CLIP = 1e-3
#: Floor of a band's half-width on the logit scale: the smallest misfit unit.
MIN_LOGIT_HALF_WIDTH = 0.2


@dataclass(frozen=True)
class Calibration:
    """The calibrator's tuned constants: ``floor``, of a band's half-width on the logit scale (the
    smallest misfit unit), and ``clip``, values held to ``[clip, 1 - clip]`` of the metric's range
    before the logit (how far from 0 or 1 a miss can count).  The defaults
    (:data:`DEFAULT_CALIBRATION`) are chosen by leave-one-family-out cross-validation on simulated
    families, by the mean interval score: ``scripts/calibration_lofo.py``, whose coverage is
    measured only on families that did not choose them."""

    floor: float = MIN_LOGIT_HALF_WIDTH
    clip: float = LOGIT_CLIP

    def __post_init__(self) -> None:
        if not self.floor > 0:
            raise ValueError(f"floor must be > 0, got {self.floor!r}")
        if not 0 < self.clip < 0.5:
            raise ValueError(f"clip must be in (0, 0.5), got {self.clip!r}")

    def logit(self, v: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
        """``v`` as a share of ``bounds``, clipped, on the logit scale."""
        lo, hi = bounds
        u = (np.asarray(v, dtype=float) - lo) / (hi - lo)
        return special.logit(np.clip(u, self.clip, 1 - self.clip))

    def half_width(self, low: np.ndarray, high: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
        """Half the band's width on the logit scale, floored at :attr:`floor`."""
        return np.maximum((self.logit(high, bounds) - self.logit(low, bounds)) / 2, self.floor)


#: The constants ``predict`` and ``score --fit-on`` use.
DEFAULT_CALIBRATION = Calibration()


def conformal_quantile(scores: Sequence[float] | np.ndarray, confidence: float = 0.95) -> float:
    """The ``ceil((n + 1) confidence)``-th smallest finite score; ``inf`` when ``n`` is too small."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    s = np.sort(np.asarray(scores, dtype=float)[np.isfinite(np.asarray(scores, dtype=float))])
    k = int(np.ceil((s.size + 1) * confidence))
    return float(s[k - 1]) if 1 <= k <= s.size else float("inf")


def calibration_quantile(residuals: Sequence[float] | np.ndarray, confidence: float = 0.95) -> tuple[float, str]:
    """The widening factor ``q`` from signed normalised residuals and the rule used (module
    docstring, step 2)."""
    s = np.asarray(residuals, dtype=float)
    s = s[np.isfinite(s)]
    q = conformal_quantile(np.abs(s), confidence)
    if np.isfinite(q):
        return q, f"conformal (n={s.size})"
    if s.size >= MIN_NORMAL_SCORES:
        tq = float(special.stdtrit(s.size - 1, (1 + confidence) / 2))
        return float(abs(s.mean()) + tq * s.std(ddof=1) * np.sqrt(1 + 1 / s.size)), f"normal (n={s.size})"
    return float("inf"), f"none (n={s.size}): whole range"


def horizon_factor(t_fit: np.ndarray, t_new: np.ndarray) -> np.ndarray:
    """``1 + delta / span`` (module docstring, step 1) for positions ``t_new`` past the fitted
    positions ``t_fit``."""
    t_fit = np.asarray(t_fit, dtype=float)
    span = float(t_fit.max() - t_fit.min())
    delta = np.maximum(np.asarray(t_new, dtype=float) - t_fit.max(), 0.0)
    return 1.0 + delta / span if span > 0 else np.ones_like(delta)


def metric_moved(d: CurveData, fit_on: int, confidence: float = 0.95) -> bool:
    """Whether the metric measurably changed over the ``fit_on`` smallest models: the replicate
    interval of ``max - min`` over them (at the models where the point curve has its max and min)
    excludes 0."""
    v = d.observed[:fit_on]
    i, j = int(np.argmax(v)), int(np.argmin(v))
    if i == j:
        return False
    lo, _ = percentile_ci(d.replicates[:, [i]] - d.replicates[:, [j]], confidence)
    return bool(lo[0] > 0)


def leave_future_out_scores(d: CurveData, method: str, fit_on: int, confidence: float = 0.95,
                            calibration: Calibration = DEFAULT_CALIBRATION) -> np.ndarray:
    """Signed normalised residuals (module docstring, step 1) of ``method`` from every origin
    ``j = 2 .. fit_on - 1`` within the ``fit_on`` smallest models (no larger model is looked at);
    empty when ``fit_on < 3`` or the method does not apply."""
    c = calibration
    spec = get_predictor(method)
    out = []
    for j in range(2, fit_on):
        idx = np.arange(j, fit_on)
        f = spec.func(d, j, d.t[idx], idx)
        if isinstance(f, str):
            continue
        lo, hi = percentile_ci(f.reps, confidence)
        unit = c.half_width(lo, hi, d.bounds) * horizon_factor(d.t[:j], d.t[idx])
        out.append((c.logit(d.observed[idx], d.bounds) - c.logit(f.point, d.bounds)) / unit)
    return np.concatenate(out) if out else np.array([])


def calibrated_interval(predicted: np.ndarray, low: np.ndarray, high: np.ndarray, q: float,
                        bounds: tuple[float, float] = (0.0, 1.0),
                        horizon: np.ndarray | float = 1.0,
                        calibration: Calibration = DEFAULT_CALIBRATION) -> tuple[np.ndarray, np.ndarray]:
    """On the logit scale, ``predicted +/- max(q, 1) * half-width * horizon`` (the band's
    half-width there, floored: :class:`Calibration`; the :func:`horizon_factor`), mapped back, joined
    with the band and clipped to ``bounds``; the whole range where ``q`` is infinite."""
    p = np.asarray(predicted, dtype=float)
    lo, hi = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    if not np.isfinite(q):
        return np.full(p.shape, bounds[0]), np.full(p.shape, bounds[1])
    half = calibration.half_width(lo, hi, bounds) * max(q, 1.0) * np.asarray(horizon, dtype=float)
    z = calibration.logit(p, bounds)
    span = bounds[1] - bounds[0]
    zl = bounds[0] + span * special.expit(z - half)
    zh = bounds[0] + span * special.expit(z + half)
    return np.clip(np.minimum(lo, zl), *bounds), np.clip(np.maximum(hi, zh), *bounds)
