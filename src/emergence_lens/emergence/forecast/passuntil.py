"""``passuntil``: the PassUntil pass rate extrapolated (Hu et al. 2023, "Predicting Emergent
Abilities with Infinite Resolution Evaluation").

Sampling until ``K`` passes (:mod:`emergence_lens.emergence.passuntil`) measures pass rates far
below ``1/n`` where greedy exact match reads 0, so the small models carry a signal.  Hu et al. find
``log(-log PU)`` linear in ``log N`` (their "loss-like" law); the candidates here are that and
``log PU`` linear in ``t``, chosen by rolling-origin held-out error on the ``K`` smallest models.
The extrapolated pass rate is the forecast of the metric (a greedy decode is right at least as
often as one sample where the model's top token is the right one, so it tends to be an
underestimate — measured, not assumed).  Needs records with ``attempts``/``passes`` for every
fitted model, all with a positive pass rate.
"""

from __future__ import annotations

import numpy as np

from emergence_lens.emergence.forecast.data import CurveData, Forecast
from emergence_lens.emergence.forecast.fits import choose_link, extrapolate, extrapolate_selected
from emergence_lens.emergence.forecast.registry import PredictorSpec, register_predictor

__all__ = ["predict_passuntil", "PASSUNTIL"]


def predict_passuntil(d: CurveData, K: int, t_new: np.ndarray, at: np.ndarray) -> Forecast | str:
    pr = d.pass_rate
    if pr is None:
        return "no PassUntil pass rates (records with attempts/passes)"
    v = pr.values[:K]
    if not np.all(np.isfinite(v) & (v > 0) & (v < 1)):
        return "a fitted model has no PassUntil pass rate strictly between 0 and 1"
    link, _ = choose_link(d.t[:K], v, pr.links)
    point = np.clip(extrapolate(link, d.t[:K], v[None, :], t_new)[0], *d.bounds)
    reps = np.clip(extrapolate_selected(pr.links, d.t[:K], np.clip(pr.reps[:, :K], 1e-300, 1 - 1e-12), t_new),
                   *d.bounds)
    return Forecast(point, reps, f"pass rate: {link.name}")


PASSUNTIL = register_predictor(PredictorSpec(
    "passuntil", predict_passuntil, "the PassUntil pass rate (sampled until K passes) extrapolated in log-scale",
    "records with attempts/passes (sampling until K passes) for the fitted models", "Hu et al. 2023"))
