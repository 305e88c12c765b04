"""``per-example``: each example's own per-token cross-entropy extrapolated, then the metric on each
example, then the mean — the transform the paper's argument implies when examples differ in
difficulty.

Exact match over ``L`` tokens is the mean over examples of each example's product,
``E_i[prod_j p_ij]``, not ``(E p)^L``: where difficulty varies across examples (a per-example
factor), the product of the means under-predicts the easy examples' early successes and the mean
transform (``transform``) loses the paper's own mechanism.  Here each example ``i`` carries its
per-token cross-entropy ``CE_i = -mean_j log p_ij`` (from ``target_token_logprobs``) at every model;
``log CE_i`` is fitted linear in ``t`` with one slope for every example and an intercept per example
(a power law of cross-entropy in scale, the paper's premise, with per-example difficulty as a
constant factor), extrapolated, and mapped back per example: ``p_i = exp(-L_i CE_i)``, the
probability that every token of the example is right; the forecast is their mean.

The band: a bootstrap over the examples (the same resample for every model), the slope refitted on
each; its resamples are drawn once per curve (:class:`~emergence_lens.emergence.forecast.data.Examples`).
Needs records with per-token log-probabilities and the same examples for every model.
"""

from __future__ import annotations

import numpy as np

from emergence_lens.emergence.forecast.data import CurveData, Forecast
from emergence_lens.emergence.forecast.registry import PredictorSpec, register_predictor

__all__ = ["predict_per_example", "PER_EXAMPLE", "MIN_CE"]

#: Per-token cross-entropy below this is treated as this (an example every model already gets right).
MIN_CE = 1e-6


def _fit(t: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-example contributions to the shared slope and the per-example means: ``y`` ``(K, n)``.
    Returns ``s_i = sum_k (t_k - mean t)(y_ki - mean_k y_i)`` and ``mean_k y_i``."""
    dt = t - t.mean()
    ybar = y.mean(axis=0)
    return dt @ (y - ybar), ybar


def _curve(c: np.ndarray, b: np.ndarray, lengths: np.ndarray, t_new: np.ndarray) -> np.ndarray:
    """Mean over examples of ``exp(-L_i exp(c_i + b t))`` at each ``t_new``: ``c``, ``lengths`` ``(R, n)``,
    ``b`` ``(R,)`` -> ``(R, len(t_new))``."""
    out = np.empty((c.shape[0], t_new.size))
    for j, t in enumerate(t_new):
        log_ce = np.minimum(c + b[:, None] * t, 50.0)
        out[:, j] = np.exp(-lengths * np.exp(log_ce)).mean(axis=1)
    return out


def predict_per_example(d: CurveData, K: int, t_new: np.ndarray, at: np.ndarray) -> Forecast | str:
    ex = d.examples
    if ex is None:
        return "no per-example log-probabilities (needs target_token_logprobs and the same examples for every model)"
    t = d.t[:K]
    t_new = np.asarray(t_new, dtype=float)
    y = np.log(np.maximum(ex.ce[:K], MIN_CE))                                   # (K, n)
    s, ybar = _fit(t, y)
    sxx = float(np.sum((t - t.mean()) ** 2))
    b = np.array([s.mean() / sxx])
    c = (ybar - b[0] * t.mean())[None, :]
    point = _curve(c, b, ex.lengths[None, :], t_new)[0]
    idx = ex.index                                                               # (B, n)
    b_reps = s[idx].mean(axis=1) / sxx
    c_reps = ybar[idx] - b_reps[:, None] * t.mean()
    reps = _curve(c_reps, b_reps, ex.lengths[idx], t_new)
    per_decade = b[0]
    return Forecast(point, reps, f"per-example CE: power law, one exponent for every example "
                                 f"(log CE changes {per_decade:.3g} per unit of t)")


PER_EXAMPLE = register_predictor(PredictorSpec(
    "per-example", predict_per_example,
    "each example's per-token cross-entropy extrapolated as a power law (one exponent, a difficulty per example), "
    "then exp(-L CE) per example, averaged",
    "records with target_token_logprobs, the same examples for every model", "Schaeffer et al. 2023, Sec. 2, "
    "per example"))
