"""A registry of metrics by name, with the properties the paper's argument turns on.

Schaeffer et al. (2023) sort metrics along two axes:

* **linear / nonlinear** in the per-token error rate: exact match over ``L`` tokens scales like
  ``p**L`` (nonlinear), token edit distance like ``L * (1 - p)`` (linear);
* **continuous / discontinuous** in the model's output distribution: multiple-choice grade is an
  argmax step (discontinuous), Brier score moves with every probability (continuous).

A *sharp* metric (nonlinear or discontinuous) is paired with *smooth* partners (linear or
continuous) computed on the same model outputs; :func:`emergence_lens.emergence.compare_metrics`
asks whether emergence under the first survives under the second.

New metrics plug in with :func:`register_metric`.  A metric with a parameter (the threshold ``c``
of ``reconstruction_at``) is named ``base[key=value,...]``: :func:`get_metric` builds and
registers it on first use from the factory given to :func:`register_metric_factory`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MetricSpec", "register_metric", "register_metric_factory", "get_metric", "list_metrics",
           "metric_name", "METRICS"]

RecordScorer = Callable[[pd.DataFrame, Mapping[str, Any]], np.ndarray]


@dataclass(frozen=True)
class MetricSpec:
    """A registered metric.

    Attributes:
        name: registry key.
        func: the vectorised per-example function.
        linear: linear in the per-token (per-item) error rate.
        continuous: a continuous function of the model's output probabilities.
        higher_is_better: direction of improvement.
        partners: smooth metrics to contrast with (for sharp metrics), best first.
        description: one line, with the formula.
        paper: figure of Schaeffer et al. (2023) the contrast reproduces.
        requires: record columns the record scorer needs (all non-null within a task).
        record_scorer: ``f(records, options) -> per-row scores``, or ``None`` for array-only metrics.
        binary: per-example scores are 0/1 (Clopper-Pearson resolution applies).
        log_scale: a positive error that falls like a power law in scale (MSE): emergence scores
            use ``log10`` of its curve, as the paper plots it (Fig. 8).  On the raw scale the
            breakthroughness score calls any power-law decay "sharp", because its first steps
            dwarf the median step.
        default: scored when no metric list is given (off for metrics that only make sense on
            records built for them, e.g. per-item accuracy over space-separated label sequences).
    """

    name: str
    func: Callable[..., np.ndarray]
    linear: bool
    continuous: bool
    higher_is_better: bool
    description: str
    partners: tuple[str, ...] = ()
    paper: str = ""
    requires: tuple[str, ...] = ()
    record_scorer: RecordScorer | None = field(default=None, compare=False)
    binary: bool = False
    log_scale: bool = False
    default: bool = True

    @property
    def sharp(self) -> bool:
        """Neither linear nor continuous: the kind of metric that can manufacture emergence.

        A metric that is linear in the per-token error (token edit distance, per-item accuracy)
        or continuous in the output probabilities (Brier score, MSE) tracks smooth per-token
        improvement smoothly; exact match, multiple-choice grade, subset accuracy and
        thresholded reconstruction are neither.
        """
        return not self.linear and not self.continuous

    @property
    def kind(self) -> str:
        """E.g. ``"nonlinear, discontinuous"``; ``"..., log scale"`` for :attr:`log_scale` metrics."""
        return (f"{'linear' if self.linear else 'nonlinear'}, "
                f"{'continuous' if self.continuous else 'discontinuous'}{', log scale' if self.log_scale else ''}")

    def score_records(self, records: pd.DataFrame, **options: Any) -> np.ndarray:
        """Per-row scores for a records DataFrame."""
        if self.record_scorer is None:
            raise TypeError(f"metric {self.name!r} has no record scorer; call it on arrays")
        missing = [c for c in self.requires if c not in records.columns]
        if missing:
            raise KeyError(f"metric {self.name!r} needs record column(s) {missing}")
        for col in self.requires:
            isnull = records[col].isna().to_numpy()
            if isnull.any():
                i = int(np.flatnonzero(isnull)[0])
                raise ValueError(
                    f"metric {self.name!r} needs column {col!r}, which is null at row "
                    f"{records.index[i]!r} (example {records['example_id'].iat[i]!r})")
        return np.asarray(self.record_scorer(records, options), dtype=float)


METRICS: dict[str, MetricSpec] = {}


def register_metric(spec: MetricSpec, *, overwrite: bool = False) -> MetricSpec:
    """Add ``spec`` to the registry (error on a duplicate name unless ``overwrite``)."""
    if spec.name in METRICS and not overwrite:
        raise ValueError(f"metric {spec.name!r} is already registered")
    METRICS[spec.name] = spec
    return spec


MetricFactory = Callable[[dict[str, float]], MetricSpec]
FACTORIES: dict[str, MetricFactory] = {}
_PARAMETRISED = re.compile(r"^(?P<base>[A-Za-z_][A-Za-z0-9_]*)\[(?P<params>[^\[\]]*)\]$")


def register_metric_factory(base: str, factory: MetricFactory) -> None:
    """Let ``get_metric("base[k=v,...]")`` build a metric from float parameters ``{k: v}``."""
    FACTORIES[base] = factory


def metric_name(base: str, **params: float) -> str:
    """The canonical name of a parametrised metric, e.g. ``reconstruction_at[c=0.01]``."""
    return f"{base}[{','.join(f'{k}={float(v):g}' for k, v in sorted(params.items()))}]"


def _parse_params(name: str, text: str) -> dict[str, float]:
    params: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        try:
            if not sep or not key.strip().isidentifier():
                raise ValueError
            params[key.strip()] = float(value)
        except ValueError:
            raise KeyError(f"metric {name!r}: parameter {part!r} is not of the form key=number") from None
    return params


def get_metric(name: str) -> MetricSpec:
    """Look a metric up by name; ``base[k=v]`` names are built by the base's factory."""
    if name in METRICS:
        return METRICS[name]
    m = _PARAMETRISED.match(name.strip())
    if m and m["base"] in FACTORIES:
        params = _parse_params(name, m["params"])
        spec = FACTORIES[m["base"]](params)
        canonical = metric_name(m["base"], **params)
        if spec.name != canonical:
            raise ValueError(f"factory for {m['base']!r} named its metric {spec.name!r}, expected {canonical!r}")
        return METRICS.setdefault(canonical, spec)
    hint = f"; parametrised: {', '.join(f'{b}[...]' for b in sorted(FACTORIES))}" if FACTORIES else ""
    raise KeyError(f"unknown metric {name!r}; registered: {sorted(n for n in METRICS if '[' not in n)}{hint}")


def list_metrics() -> list[MetricSpec]:
    """All registered metrics, sorted by name."""
    return [METRICS[k] for k in sorted(METRICS)]
