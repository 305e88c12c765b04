"""``naive``: the sharp metric itself extrapolated from the ``K`` smallest models — what Wei et al.
(2022) say cannot predict an emergent ability.

Candidates, chosen by rolling-origin held-out error (on every replicate for the band): linear in
``t`` ("linear in log-scale"), a power law (``log y`` linear in ``t``; where every fitted value is
> 0) and a sigmoid (``logit y`` linear in ``t``; where every fitted value lies strictly inside the
metric's range).  The prediction is clipped to the metric's range.
"""

from __future__ import annotations

import numpy as np

from emergence_lens.emergence.forecast.data import CurveData, Forecast
from emergence_lens.emergence.forecast.fits import choose_link, extrapolate, extrapolate_selected
from emergence_lens.emergence.forecast.registry import PredictorSpec, register_predictor
from emergence_lens.emergence.transforms import LINKS, Link

__all__ = ["predict_naive", "naive_links", "NAIVE"]


def naive_links(values: np.ndarray, bounds: tuple[float, float] = (0.0, 1.0)) -> list[Link]:
    """The candidates that can take ``values`` (module docstring)."""
    links = [LINKS["linear"]]
    if np.all(values > 0):
        links.append(LINKS["log-linear"])
    if bounds == (0.0, 1.0) and np.all((values > 0) & (values < 1)):
        links.append(LINKS["logit"])
    return links


def predict_naive(d: CurveData, K: int, t_new: np.ndarray, at: np.ndarray) -> Forecast | str:
    ts, obs = d.t, d.observed
    links = naive_links(obs[:K], d.bounds)
    link, _ = choose_link(ts[:K], obs[:K], links)
    point = np.clip(extrapolate(link, ts[:K], obs[None, :K], t_new)[0], *d.bounds)
    reps = np.clip(extrapolate_selected(links, ts[:K], d.replicates[:, :K], t_new), *d.bounds)
    return Forecast(point, reps, link.name)


NAIVE = register_predictor(PredictorSpec(
    "naive", predict_naive, "the metric itself extrapolated in log-scale (linear, power law or sigmoid)",
    "only the metric", "Wei et al. 2022 (the extrapolation they say fails)", metric_driven=True))
