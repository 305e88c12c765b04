"""``transform``: the ingredient extrapolated, then the metric's own algebra (Schaeffer et al.
2023, Sec. 2 and Fig. 2: exact match ``= a**L`` with per-token accuracy ``a``; a multiple-choice
grade or thresholded score ``= Phi((mu - t0) / sigma)`` of a margin).

Each ingredient component is fitted on the ``K`` smallest models against ``t`` with the candidate
fits of :attr:`~emergence_lens.emergence.transforms.Transform.links` (for ``a``: the per-token
cross-entropy as a power law, ``log(-log a)`` linear in ``t``, or ``a`` linear in ``t``), chosen by
rolling-origin held-out error (on every replicate for the band), extrapolated and mapped through
the transform with the target model's length mix.  Needs the ingredient: records with per-token
successes or per-example margins, or a table with the ingredient's curve and the target length.
"""

from __future__ import annotations

import numpy as np

from emergence_lens.emergence.forecast.data import CurveData, Forecast
from emergence_lens.emergence.forecast.fits import choose_link, extrapolate, extrapolate_selected
from emergence_lens.emergence.forecast.registry import PredictorSpec, register_predictor

__all__ = ["predict_transform", "TRANSFORM"]


def predict_transform(d: CurveData, K: int, t_new: np.ndarray, at: np.ndarray) -> Forecast | str:
    ing = d.ingredient
    if ing is None:
        return "no ingredient (needs per-token successes, margins, or an ingredient curve and target length)"
    ts = d.t
    t_new = np.asarray(t_new, dtype=float)
    at = np.where(np.asarray(at) < 0, d.n_models - 1, np.asarray(at))
    k = ing.theta.shape[1]
    theta_hat = np.empty((t_new.size, k))
    theta_hat_b = np.empty((ing.theta_reps.shape[0], t_new.size, k))
    chosen = []
    for j, links in enumerate(ing.links):
        link, _ = choose_link(ts[:K], ing.theta[:K, j], links)
        chosen.append(f"{ing.names[j]}: {link.name}")
        theta_hat[:, j] = extrapolate(link, ts[:K], ing.theta[None, :K, j], t_new)[0]
        theta_hat_b[:, :, j] = extrapolate_selected(links, ts[:K], ing.theta_reps[:, :K, j], t_new)
    point = np.array([ing.to_metric(theta_hat[i:i + 1], int(at[i]), False)[0] for i in range(t_new.size)])
    reps = np.column_stack([ing.to_metric(theta_hat_b[:, i], int(at[i]), True) for i in range(t_new.size)]) \
        if t_new.size else np.empty((ing.theta_reps.shape[0], 0))
    return Forecast(point, reps, "; ".join(chosen))


TRANSFORM = register_predictor(PredictorSpec(
    "transform", predict_transform,
    "the ingredient (per-token accuracy a, or a margin's mu and sigma) extrapolated, then the metric's transform "
    "(a**L, Phi((mu - t0)/sigma))",
    "per-token successes or margins in the records, or an ingredient curve and target length in a table",
    "Schaeffer et al. 2023, Sec. 2"))
