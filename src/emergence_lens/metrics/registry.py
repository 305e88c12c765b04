"""A registry of metrics by name, with the properties the paper's argument turns on.

Schaeffer et al. (2023) sort metrics along two axes:

* **linear / nonlinear** in the per-token error rate: exact match over ``L`` tokens scales like
  ``p**L`` (nonlinear), token edit distance like ``L * (1 - p)`` (linear);
* **continuous / discontinuous** in the model's output distribution: multiple-choice grade is an
  argmax step (discontinuous), Brier score moves with every probability (continuous).

A *sharp* metric (nonlinear or discontinuous) is paired with *smooth* partners (linear or
continuous) computed on the same model outputs; :func:`emergence_lens.emergence.compare_metrics`
asks whether emergence under the first survives under the second.

New metrics plug in with :func:`register_metric`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MetricSpec", "register_metric", "get_metric", "list_metrics", "METRICS"]

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
        """E.g. ``"nonlinear, discontinuous"``."""
        return (f"{'linear' if self.linear else 'nonlinear'}, "
                f"{'continuous' if self.continuous else 'discontinuous'}")

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


def get_metric(name: str) -> MetricSpec:
    """Look a metric up by name."""
    try:
        return METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; registered: {sorted(METRICS)}") from None


def list_metrics() -> list[MetricSpec]:
    """All registered metrics, sorted by name."""
    return [METRICS[k] for k in sorted(METRICS)]
