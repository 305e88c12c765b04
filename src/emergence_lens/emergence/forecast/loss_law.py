"""``loss-law``: the metric as a function of pretraining loss (:mod:`.loss`, Du et al. 2024), at the
loss forecast from its own scaling law on the fitted models (``log loss`` linear in ``t``: a power
law in the scale, no irreducible term) — nothing about the larger models is looked at.  Needs the
pretraining loss of the fitted models (records' ``pretrain_loss``).
"""

from __future__ import annotations

import numpy as np

from emergence_lens.emergence.forecast.data import CurveData, Forecast
from emergence_lens.emergence.forecast.loss import fit_loss_law, metric_at_loss
from emergence_lens.emergence.forecast.registry import PredictorSpec, register_predictor

__all__ = ["predict_loss_law", "LOSS_LAW"]


def predict_loss_law(d: CurveData, K: int, t_new: np.ndarray, at: np.ndarray) -> Forecast | str:
    law = fit_loss_law(d, K)
    if isinstance(law, str):
        return law
    b0, b1 = law
    loss_new = np.exp(b0 + b1 * np.asarray(t_new, dtype=float))
    return metric_at_loss(d, K, loss_new, f"forecast: log loss = {b0:.3g} + {b1:.3g} t")


LOSS_LAW = register_predictor(PredictorSpec(
    "loss-law", predict_loss_law, "the metric as a function of pretraining loss, at the loss forecast from its own "
    "power law", "the pretraining loss of the fitted models (records' pretrain_loss)", "Du et al. 2024",
    metric_driven=True))
