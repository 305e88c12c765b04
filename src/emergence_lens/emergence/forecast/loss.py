"""``loss``: the metric as a function of pretraining loss (Du et al. 2024, "Understanding Emergent
Abilities of Language Models from the Loss Perspective"), at the larger models' *measured* loss.

Du et al. find that a task's metric follows the pretraining loss across model sizes and token
budgets, and jumps where the loss falls below a threshold.  Here the metric is fitted as a function
of ``u = -log(loss)`` on the ``K`` fitted models (a line on the link scale: linear, power law or
sigmoid, chosen by rolling-origin held-out error, redone on every replicate), then read at each
held-out model's own pretraining loss: a forecast *conditional* on that loss, which a lab knows
early in a larger run (from its first tokens or its loss curve), not on anything about the task.
``loss-law`` (:mod:`.loss_law`) forecasts the loss too.  Needs the pretraining loss of every model
(records' ``pretrain_loss``).
"""

from __future__ import annotations

import numpy as np

from emergence_lens.emergence.forecast.data import CurveData, Forecast
from emergence_lens.emergence.forecast.fits import choose_link, extrapolate, extrapolate_selected, fit_lines
from emergence_lens.emergence.forecast.naive import naive_links
from emergence_lens.emergence.forecast.registry import PredictorSpec, register_predictor

__all__ = ["predict_loss", "metric_at_loss", "fit_loss_law", "LOSS"]


def _fitted_losses(d: CurveData, K: int) -> np.ndarray | str:
    """The pretraining loss of the ``K`` fitted models, or why there is none to fit on."""
    if d.loss is None:
        return "no pretraining loss per model (records' pretrain_loss)"
    loss = d.loss[:K]
    if not np.all(np.isfinite(loss) & (loss > 0)):
        return "a fitted model has no positive pretraining loss"
    return loss


def fit_loss_law(d: CurveData, K: int) -> tuple[float, float] | str:
    """The loss's own scaling law on the ``K`` fitted models: ``log loss = b0 + b1 t`` (a power law
    in the scale), or why it cannot be fitted."""
    loss = _fitted_losses(d, K)
    if isinstance(loss, str):
        return loss
    b0, b1 = fit_lines(d.t[:K], np.log(loss)[None, :])
    return float(b0[0]), float(b1[0])


def metric_at_loss(d: CurveData, K: int, loss_new: np.ndarray, how: str) -> Forecast | str:
    """The metric fitted as a function of ``-log(loss)`` on the ``K`` fitted models, read at
    ``loss_new``; ``how``: where those losses come from, in words."""
    loss = _fitted_losses(d, K)
    if isinstance(loss, str):
        return loss
    u = -np.log(loss)
    if np.unique(u).size < 2:
        return "the fitted models share one pretraining loss"
    u_new = -np.log(np.asarray(loss_new, dtype=float))
    obs = d.observed[:K]
    links = naive_links(obs, d.bounds)
    link, _ = choose_link(u, obs, links)
    point = np.clip(extrapolate(link, u, obs[None, :], u_new)[0], *d.bounds)
    reps = np.clip(extrapolate_selected(links, u, d.replicates[:, :K], u_new), *d.bounds)
    return Forecast(point, reps, f"{link.name} in -log(pretraining loss); loss {how}")


def predict_loss(d: CurveData, K: int, t_new: np.ndarray, at: np.ndarray) -> Forecast | str:
    fitted = _fitted_losses(d, K)
    if isinstance(fitted, str):
        return fitted
    at = np.asarray(at, dtype=int)
    if np.any(at < 0) or not np.all(np.isfinite(d.loss[at]) & (d.loss[at] > 0)):
        return "a model to predict has no measured pretraining loss"
    return metric_at_loss(d, K, d.loss[at], "measured at each predicted model")


LOSS = register_predictor(PredictorSpec(
    "loss", predict_loss, "the metric as a function of pretraining loss, read at the larger models' measured loss "
    "(a forecast conditional on it)", "the pretraining loss of every model (records' pretrain_loss)",
    "Du et al. 2024", grid=False, metric_driven=True))
