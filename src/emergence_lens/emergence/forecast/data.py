"""What a predictor sees of one curve: :class:`CurveData`, and what it returns: :class:`Forecast`.

One curve is one (family, task, metric) along the x position ``t`` (increasing; the models are in
that order).  Every array that carries uncertainty comes with ``B`` replicates drawn once per curve
(a bootstrap over examples for records, a parametric redraw from ``n``/stderr for tables): every
predictor is refitted on the same replicates, so their bands are comparable and a backtest draws
no random numbers of its own.  What a predictor needs beyond the metric itself is optional:

* :class:`Ingredient` — the smooth quantity the metric is a transform of (``a`` of ``a**L``,
  ``mu, sigma`` of a margin), with the map back to the metric (``transform``);
* :class:`Series` — a continuous proxy (``two-step``), or PassUntil pass rates (``passuntil``);
* :class:`Pool` — a benchmark matrix of many models, possibly of several families
  (``observational``);
* :class:`Examples` — each example's per-token cross-entropy at each model (``per-example``);
* ``loss`` — each model's pretraining loss (``loss``, ``loss-law``, ``finetune``);
* :class:`Finetuned` — the metric after finetuning on ``k`` task examples (``finetune``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from emergence_lens.emergence.transforms import Link

__all__ = ["CurveData", "Forecast", "Ingredient", "Series", "Pool", "Examples", "Finetuned"]


@dataclass
class Ingredient:
    """The metric's smooth ingredient per model.

    Attributes:
        theta: ``(M, k)`` point values; ``theta_reps``: ``(B, M, k)`` replicates.
        links: candidate fit scales per component; ``names``: one per component.
        to_metric: ``f(theta (n, k), model index, replicate) -> metric (n,)``: the transform, with
            the design (length mix) of the given model; ``replicate`` selects that model's
            replicate design means (``n = B``) instead of its point means.
        description: what it is, in words.
    """

    theta: np.ndarray
    theta_reps: np.ndarray
    links: tuple[tuple[Link, ...], ...]
    names: tuple[str, ...]
    to_metric: Callable[[np.ndarray, int, bool], np.ndarray]
    description: str


@dataclass
class Series:
    """A per-model series other than the metric (``values`` ``(M,)``, ``reps`` ``(B, M)``), fitted
    on the candidate ``links``; ``unit``: its values lie in (0, 1)."""

    values: np.ndarray
    reps: np.ndarray
    links: tuple[Link, ...]
    unit: bool
    name: str


@dataclass
class Pool:
    """A benchmark matrix for the observational predictor: ``features`` ``(P, F)`` (other tasks'
    scores; NaN where missing), ``target`` ``(P,)`` (this metric on this task), ``t`` ``(P,)``
    positions of the ``P`` models (every family), and ``rows`` ``(M,)``: the pool row of each model
    of the curve."""

    t: np.ndarray
    features: np.ndarray
    target: np.ndarray
    rows: np.ndarray
    feature_names: tuple[str, ...] = ()


@dataclass
class Examples:
    """Per-example data for the ``per-example`` predictor: ``ce`` ``(M, n)`` each example's
    per-token cross-entropy at each model (``-mean_j log p_ij``), ``lengths`` ``(n,)`` its number of
    target tokens, ``index`` ``(B, n)`` bootstrap resamples of the examples (drawn once per curve,
    the same for every model)."""

    ce: np.ndarray
    lengths: np.ndarray
    index: np.ndarray


@dataclass
class Finetuned:
    """The metric after finetuning each model on ``k`` task examples (``emergence-lens finetune``):
    ``ks`` ``(m,)`` the finetuning sizes, ``values`` ``(m, M)`` the metric per size and model (NaN
    where that model was not finetuned), ``reps`` ``(B, m, M)`` their replicates."""

    ks: np.ndarray
    values: np.ndarray
    reps: np.ndarray

    def __post_init__(self) -> None:
        self.ks = np.asarray(self.ks, dtype=float)
        self.values = np.atleast_2d(np.asarray(self.values, dtype=float))
        self.reps = np.asarray(self.reps, dtype=float)
        m, n_models = self.values.shape
        if self.ks.shape != (m,) or self.reps.ndim != 3 or self.reps.shape[1:] != (m, n_models):
            raise ValueError(f"{self.ks.size} finetuning sizes, values {self.values.shape}, replicates "
                             f"{self.reps.shape}")
        if not np.all(self.ks > 0):
            raise ValueError("finetuning sizes must be > 0 (no finetuning is the curve itself)")


@dataclass
class CurveData:
    """One curve's inputs (module docstring); ``bounds``: the metric's range."""

    t: np.ndarray
    observed: np.ndarray
    replicates: np.ndarray
    x: np.ndarray | None = None
    ingredient: Ingredient | None = None
    proxy: Series | None = None
    pass_rate: Series | None = None
    pool: Pool | None = None
    examples: Examples | None = None
    #: Each model's pretraining loss ``(M,)``, NaN where unknown (``None``: none known).
    loss: np.ndarray | None = None
    finetuned: Finetuned | None = None
    bounds: tuple[float, float] = (0.0, 1.0)
    notes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.t = np.asarray(self.t, dtype=float)
        self.observed = np.asarray(self.observed, dtype=float)
        self.replicates = np.atleast_2d(np.asarray(self.replicates, dtype=float))
        if self.observed.shape != self.t.shape or self.replicates.shape[1] != self.t.size:
            raise ValueError(f"{self.t.size} positions, {self.observed.size} observed values and replicates of "
                             f"shape {self.replicates.shape}")
        if np.any(np.diff(self.t) <= 0):
            raise ValueError("x positions must be strictly increasing (one model per scale)")
        if self.x is None:
            self.x = self.t.copy()
        if self.loss is not None:
            self.loss = np.asarray(self.loss, dtype=float)
            if self.loss.shape != self.t.shape:
                raise ValueError(f"{self.t.size} positions and {self.loss.size} pretraining losses")
        if self.finetuned is not None and self.finetuned.values.shape[1] != self.t.size:
            raise ValueError(f"{self.t.size} positions and finetuned values of {self.finetuned.values.shape[1]} models")

    @property
    def n_models(self) -> int:
        return int(self.t.size)

    @property
    def n_boot(self) -> int:
        return int(self.replicates.shape[0])


@dataclass
class Forecast:
    """A predictor's answer at ``n`` positions: ``point`` ``(n,)`` (from the point data) and
    ``reps`` ``(B, n)`` (refitted on every replicate); ``fit``: what was fitted, in words."""

    point: np.ndarray
    reps: np.ndarray
    fit: str
