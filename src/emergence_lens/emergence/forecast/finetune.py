"""``finetune``: an emergence law fitted on finetuned models (Snell et al. 2024, "Predicting Emergent
Capabilities by Finetuning"), read at the larger models' measured pretraining loss.

Finetuning on a task moves the point where it emerges toward less capable models, the further the
more examples it sees.  On the ``K`` fitted models (pretraining loss ``L``, ``u = -log L``), with
``k = 0`` the curve itself and ``k > 0`` the same models finetuned on ``k`` examples
(:class:`~emergence_lens.emergence.forecast.data.Finetuned`, from ``emergence-lens finetune``)::

    y(u, k) = lo + (hi - lo) * sigmoid((u - E(k)) / w),      E(k) = E0 - b * log(1 + k),  b >= 0

one width ``w`` for every ``k`` (finetuning shifts the curve, it does not reshape it), fitted by
least squares to every (model, ``k``) value at once.  ``E(k)`` is the emergence point: the ``u``
where the metric is half way.  The finetuned curves, which emerge on the fitted models, fix ``w``
and how far ``E`` moves per ``log(1 + k)``; the law carries that back to ``k = 0``, ``E0``, where
the curve itself has not emerged yet.  (Snell et al. fit the emergence point against the amount of
finetuning data and extrapolate it to the few-shot setting; ``log(1 + k)`` is our choice of a
function that is log-linear for many examples and equals the curve itself at none.)  The larger
models are read at their *measured* pretraining loss, so the forecast is conditional on it, as
``loss``'s is.  Each replicate refits the law on replicate values of the curve and of every
finetuned curve.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from emergence_lens.emergence.forecast.data import CurveData, Forecast
from emergence_lens.emergence.forecast.registry import PredictorSpec, register_predictor

__all__ = ["predict_finetune", "fit_emergence_law", "emergence_law", "law_points", "FINETUNE"]

#: A finetuned value must reach this fraction of the metric's range on some fitted model, or the
#: law has nothing that emerged to fit on.
MIN_RISE = 0.1
_LOG_W = (np.log(1e-3), np.log(10.0))


def emergence_law(params: np.ndarray, u: np.ndarray, k: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    """``y(u, k)`` (module docstring) for ``params = (E0, b, log w)``."""
    e0, b, log_w = params
    lo, hi = bounds
    return lo + (hi - lo) * special.expit((u - (e0 - b * np.log1p(k))) / np.exp(log_w))


def fit_emergence_law(u: np.ndarray, k: np.ndarray, y: np.ndarray, bounds: tuple[float, float],
                      start: np.ndarray | None = None) -> np.ndarray:
    """Least-squares ``(E0, b, log w)`` of :func:`emergence_law` on points ``(u, k, y)``; from
    ``start`` if given, else the best of a small grid of starts."""
    span = float(np.ptp(u)) or 1.0
    lower = [float(u.min()) - 5 * span, 0.0, _LOG_W[0]]
    upper = [float(u.max()) + 5 * span, 10 * span + 1.0, _LOG_W[1]]

    def residual(p: np.ndarray) -> np.ndarray:
        return emergence_law(p, u, k, bounds) - y

    if start is not None:
        x0s = [np.clip(start, lower, upper)]
    else:
        x0s = [np.array([e0, b, np.log(w)]) for e0 in np.linspace(u.min(), u.max() + span, 4)
               for b in (0.0, 0.05 * span, 0.2 * span) for w in (0.05 * span, 0.3 * span)]
    from scipy import optimize  # here: 0.12 s to import, and only this fit needs it

    best = None
    for x0 in x0s:
        res = optimize.least_squares(residual, x0, bounds=(lower, upper), method="trf", x_scale="jac", max_nfev=200)
        if best is None or res.cost < best.cost:
            best = res
    return best.x  # type: ignore[union-attr]


def law_points(d: CurveData, K: int, base: np.ndarray | None = None, fine: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every finite ``(u, k, y)`` on the ``K`` fitted models: the curve (``k = 0``; ``base``, default
    its observed values) and each finetuned curve (``fine``, default their values)."""
    base = d.observed if base is None else base
    fine = d.finetuned.values if fine is None else fine  # type: ignore[union-attr]
    u = -np.log(d.loss[:K])  # type: ignore[index]
    ks = d.finetuned.ks  # type: ignore[union-attr]
    uu = np.concatenate([u, np.tile(u, ks.size)])
    kk = np.concatenate([np.zeros(K), np.repeat(ks, K)])
    yy = np.concatenate([base[:K], fine[:, :K].ravel()])
    ok = np.isfinite(yy)
    return uu[ok], kk[ok], yy[ok]


def predict_finetune(d: CurveData, K: int, t_new: np.ndarray, at: np.ndarray) -> Forecast | str:
    ft = d.finetuned
    if ft is None:
        return "no finetuned models (emergence-lens finetune, then predict --finetuned)"
    if d.loss is None or not np.all(np.isfinite(d.loss[:K]) & (d.loss[:K] > 0)):
        return "a fitted model has no positive pretraining loss"
    at = np.asarray(at, dtype=int)
    if np.any(at < 0) or not np.all(np.isfinite(d.loss[at]) & (d.loss[at] > 0)):
        return "a model to predict has no measured pretraining loss"
    fitted = np.isfinite(ft.values[:, :K])
    if fitted.any(axis=0).sum() < 2:
        return "fewer than 2 fitted models were finetuned"
    lo, hi = d.bounds
    if not np.nanmax(ft.values[:, :K]) >= lo + MIN_RISE * (hi - lo):
        return (f"no finetuned fitted model reached {MIN_RISE:.0%} of the metric's range: nothing emerged to fit "
                "the emergence law on (finetune on more examples)")
    u, k, y = law_points(d, K)
    point = fit_emergence_law(u, k, y, d.bounds)
    u_new = -np.log(d.loss[at])
    zeros = np.zeros(u_new.size)
    reps = np.empty((d.n_boot, u_new.size))
    for b in range(d.n_boot):
        ub, kb, yb = law_points(d, K, d.replicates[b], ft.reps[b])
        reps[b] = emergence_law(fit_emergence_law(ub, kb, yb, d.bounds, start=point), u_new, zeros, d.bounds)
    e0, slope, log_w = point
    return Forecast(emergence_law(point, u_new, zeros, d.bounds), reps,
                    f"emergence law on finetuned models (k = {', '.join(f'{v:g}' for v in ft.ks)}): E(k) = "
                    f"{e0:.3g} - {slope:.3g} log(1 + k) in -log(pretraining loss), width {np.exp(log_w):.3g}; "
                    "loss measured at each predicted model")


FINETUNE = register_predictor(PredictorSpec(
    "finetune", predict_finetune, "an emergence law fitted on the fitted models finetuned on k task examples, "
    "extrapolated to no finetuning, read at the larger models' measured loss", "finetuned evaluations of the "
    "fitted models (emergence-lens finetune; predict --finetuned) and every model's pretraining loss",
    "Snell et al. 2024", grid=False))
