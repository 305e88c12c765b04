"""The two-step forecast (Llama 3, Dubey et al. 2024 Sec. 3.2.1; the OLMo ladder, Bhagia et al.
2024): scale -> a continuous proxy -> the metric.

1. **Proxy** ``p``: one number per model that moves smoothly — the mean per-token accuracy (the
   ingredient of exact match, subset accuracy) or the mean margin ``mu`` (multiple-choice grade,
   thresholded reconstruction).  Extrapolated in the x position ``t`` from the ``K`` smallest models
   with the same candidate fits and held-out selection as the ingredient
   (:func:`~emergence_lens.emergence.forecast.fits.extrapolate_selected`).
2. **Link**: ``logit(metric) = b0 + b1 g(p)``, least squares on the same ``K`` models, with
   ``g = logit`` for a proxy in (0, 1) and the identity otherwise — a sigmoid of the proxy, as
   Llama 3 maps the correct answer's log-likelihood to accuracy.  Metric values are clipped to
   ``[1e-3, 1 - 1e-3]`` before the logit.

The prediction is ``sigmoid(b0 + b1 g(p_hat))``.  Unlike the transform (the metric's own algebra,
``a**L``), the link is learned from the small models, so where they all sit at the floor it learns
nothing (slope 0) — the failure the comparison is meant to show.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import special

from emergence_lens.emergence.forecast.data import CurveData, Forecast
from emergence_lens.emergence.forecast.fits import choose_link, extrapolate_selected
from emergence_lens.emergence.forecast.registry import PredictorSpec, register_predictor
from emergence_lens.emergence.transforms import Link

__all__ = ["two_step_predict", "proxy_of", "predict_two_step", "EPS", "TWO_STEP"]

#: Clip of the metric before its logit.
EPS = 1e-3


def proxy_of(theta: np.ndarray, kind: str) -> np.ndarray:
    """The proxy from ingredient parameters ``(..., k)``: the mean accuracy over slots (``power``)
    or ``mu`` (``normal``)."""
    theta = np.asarray(theta, dtype=float)
    return theta.mean(axis=-1) if kind == "power" else theta[..., 0]


def _rowwise_lines(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least squares ``y = b0 + b1 x`` per row (rows of ``x`` differ); slope 0 where ``x`` is flat."""
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    sxx = np.sum(xc ** 2, axis=1)
    b1 = np.where(sxx > 0, np.sum(xc * yc, axis=1) / np.where(sxx > 0, sxx, 1.0), 0.0)
    return y.mean(axis=1) - b1 * x.mean(axis=1), b1


def two_step_predict(t: np.ndarray, proxy: np.ndarray, metric: np.ndarray, fit_on: int, t_new: np.ndarray,
                     links: Sequence[Link], unit_proxy: bool) -> np.ndarray:
    """Predicted metric at ``t_new`` for every row (a bootstrap replicate) of ``proxy`` and
    ``metric`` (shape ``(B, M)``, models in ``t`` order), fitted on the first ``fit_on`` models."""
    t = np.asarray(t, dtype=float)
    proxy = np.atleast_2d(np.asarray(proxy, dtype=float))
    metric = np.atleast_2d(np.asarray(metric, dtype=float))
    K = int(fit_on)
    p_hat = extrapolate_selected(links, t[:K], proxy[:, :K], np.asarray(t_new, dtype=float))

    def g(p: np.ndarray) -> np.ndarray:
        return special.logit(np.clip(p, EPS, 1 - EPS)) if unit_proxy else p

    y = special.logit(np.clip(metric[:, :K], EPS, 1 - EPS))
    b0, b1 = _rowwise_lines(g(proxy[:, :K]), y)
    return special.expit(b0[:, None] + b1[:, None] * g(p_hat))


def predict_two_step(d: CurveData, K: int, t_new: np.ndarray, at: np.ndarray) -> Forecast | str:
    px = d.proxy
    if px is None:
        return "no continuous proxy (per-token accuracy, a margin, or a likelihood column)"
    t_new = np.asarray(t_new, dtype=float)
    point = two_step_predict(d.t, px.values[None, :], d.observed[None, :], K, t_new, px.links, px.unit)[0]
    reps = two_step_predict(d.t, px.reps, d.replicates, K, t_new, px.links, px.unit)
    link, _ = choose_link(d.t[:K], px.values[:K], px.links)
    return Forecast(point, reps, f"{px.name}: {link.name}; metric = sigmoid(b0 + b1 {'logit ' if px.unit else ''}"
                                 f"{px.name})")


TWO_STEP = register_predictor(PredictorSpec(
    "two-step", predict_two_step,
    "a continuous proxy extrapolated, mapped to the metric by a sigmoid fitted on the same small models",
    "a proxy: per-token accuracy or a margin in the records, an ingredient or likelihood column in a table",
    "Dubey et al. 2024 (Llama 3), Bhagia et al. 2024 (OLMo ladder)", metric_driven=True))
