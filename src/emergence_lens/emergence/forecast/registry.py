"""Predictors by name (like :mod:`emergence_lens.metrics.registry`).

A predictor is ``f(data, K, t_new, at) -> Forecast | str``: fit on the ``K`` smallest models of
``data`` (:class:`~emergence_lens.emergence.forecast.data.CurveData`) and predict the metric at the
positions ``t_new``; ``at[i]`` is the model whose design (length mix) or benchmark row belongs to
``t_new[i]`` (-1: a position with no model, e.g. a grid point beyond the family).  A string answer
says why the predictor does not apply to this curve.  Each predictor lives in its own module and
registers itself there; :func:`resolve_methods` turns ``--methods`` into names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from emergence_lens.emergence.forecast.data import CurveData, Forecast
from emergence_lens.registry import Registry

__all__ = ["PredictorSpec", "PREDICTORS", "register_predictor", "get_predictor", "predictor_names",
           "resolve_methods"]

PredictorFunc = Callable[[CurveData, int, np.ndarray, np.ndarray], "Forecast | str"]


@dataclass(frozen=True)
class PredictorSpec:
    """A registered predictor.

    Attributes:
        name: registry key (``--methods``).
        func: the predictor (module docstring).
        description: one line: what is extrapolated and how it becomes the metric.
        needs: what the curve must carry, in words.
        anchor: the paper it follows.
        grid: it can predict at positions without a model (so the scale where it crosses half the
            metric's range can be read beyond the family).
        metric_driven: it learns the metric's shape from the fitted models' metric values (naive,
            two-step's link): where those never moved, it has nothing to extrapolate and its interval
            is the metric's whole range (:func:`~emergence_lens.emergence.forecast.calibrate.metric_moved`).
    """

    name: str
    func: PredictorFunc
    description: str
    needs: str
    anchor: str
    grid: bool = True
    metric_driven: bool = False


PREDICTORS: Registry[PredictorSpec] = Registry("predictor")


def register_predictor(spec: PredictorSpec) -> PredictorSpec:
    """Add ``spec`` to :data:`PREDICTORS` (a name can be registered once)."""
    return PREDICTORS.register(spec.name, spec)


def get_predictor(name: str) -> PredictorSpec:
    try:
        return PREDICTORS[name]
    except KeyError:
        raise KeyError(f"unknown forecast method {name!r}; choose from {', '.join(PREDICTORS)}") from None


def predictor_names() -> list[str]:
    """Registered names, in registration order."""
    return list(PREDICTORS)


def resolve_methods(methods: str | Iterable[str] | None) -> list[str]:
    """``"all"`` / ``None`` -> every predictor; ``"naive,two-step"`` or a list -> those, validated."""
    if methods is None:
        return predictor_names()
    items = [m.strip() for m in (methods.split(",") if isinstance(methods, str) else methods) if m.strip()]
    if not items or items == ["all"]:
        return predictor_names()
    for m in items:
        get_predictor(m)
    return list(dict.fromkeys(items))
