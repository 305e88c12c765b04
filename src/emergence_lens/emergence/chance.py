"""Above chance: Wei et al. (2022)'s definition of an emergent ability, made testable.

Wei et al. call an ability emergent when it is "not present in smaller models but is present in
larger models": performance near chance for the small models, clearly above it for the large.
Per task a **chance level** ``c``:

* multiple choice (``choice_logprobs``): ``c = mean_i 1/K_i`` over the questions (ragged
  ``K_i`` allowed) for multiple-choice grade and the correct option's probability;
* generation (exact match, subset accuracy, per-token / per-item accuracy): ``c = 0``;
* any task: overridable (``chance={"task": value}`` or ``{"task:metric": value}``), e.g. ``0.1``
  per MNIST digit and ``0.1**L`` for all ``L`` digits of a set.

Per curve, ordered by scale, with a lower/upper CI per point:

* ``emerges_at`` — the smallest scale from which the CI lower bound stays above ``c`` at every
  larger scale (NaN when the last point is not above chance);
* ``wei_emergent`` — at least two scales below ``emerges_at`` whose CI contains ``c`` (near
  chance in smaller models), and at least one scale above it: ``near, near, ..., above``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from emergence_lens.metrics.ragged import list_lengths

__all__ = ["chance_level", "chance_levels", "group_chance_levels",
           "emerges_at", "wei_emergent", "CHANCE_METRICS", "MC_CHANCE_METRICS"]

#: Metrics in [0, 1], higher is better, whose chance level on generation tasks is 0.
CHANCE_METRICS = frozenset({"exact_match", "subset_accuracy", "per_item_accuracy", "per_token_accuracy",
                            "multiple_choice_grade", "correct_choice_probability"})
#: Metrics whose chance level on a multiple-choice task is mean 1/K.
MC_CHANCE_METRICS = frozenset({"multiple_choice_grade", "correct_choice_probability"})


def _base(metric: str) -> str:
    return metric.split("[", 1)[0]


def chance_level(metric: str, n_choices: Sequence[int] | np.ndarray | None = None,
                 override: float | None = None) -> float:
    """Chance level of ``metric`` on one task.

    Args:
        metric: registered metric name (parametrised names such as ``reconstruction_at[c=..]``
            use their base: 1[MSE < c] has no chance level, NaN).
        n_choices: number of options of each question (multiple choice), ragged allowed.
        override: a user-given level; wins over everything.

    Returns:
        ``mean_i 1/K_i`` for multiple-choice metrics, 0 for other accuracy-like metrics, NaN for
        metrics without a chance level (edit distance, log-likelihood, Brier, MSE).
    """
    if override is not None:
        if not np.isfinite(override):
            raise ValueError(f"chance level override must be finite, got {override!r}")
        return float(override)
    base = _base(metric)
    if base in MC_CHANCE_METRICS:
        if n_choices is None or len(n_choices) == 0:
            return float("nan")
        k = np.asarray(n_choices, dtype=float)
        if (k < 1).any():
            raise ValueError("every question needs at least one option")
        return float(np.mean(1.0 / np.sort(k)))  # sorted: one value whatever order the questions come in
    if base in CHANCE_METRICS:
        return 0.0
    return float("nan")


def chance_levels(records: pd.DataFrame, metrics: Sequence[str],
                  overrides: Mapping[str, float] | None = None) -> dict[tuple[str, str, str], float]:
    """``(family, task, metric) -> chance level`` for every (family, task) of ``records``.

    ``overrides`` maps a task name to its chance level (applies to every accuracy-like metric of
    the task), or ``"task:metric"`` to the level of one metric (wins over the task's).
    """
    has_mc = "choice_logprobs" in records.columns
    groups: dict[tuple[str, str], np.ndarray | None] = {}
    for (family, task), g in records.groupby(["family", "task"], sort=True):
        ks = None
        if has_mc:
            lengths = list_lengths(g["choice_logprobs"], "choice_logprobs")
            lengths = lengths[lengths >= 0]
            if len(lengths):
                ks = lengths
        groups[(str(family), str(task))] = ks
    return group_chance_levels(groups, metrics, overrides)


def group_chance_levels(n_choices: Mapping[tuple[str, str], np.ndarray | None], metrics: Sequence[str],
                        overrides: Mapping[str, float] | None = None) -> dict[tuple[str, str, str], float]:
    """:func:`chance_levels` from each (family, task)'s options per question (``None``: no
    multiple-choice questions)."""
    overrides = dict(overrides or {})
    out: dict[tuple[str, str, str], float] = {}
    for (family, task), found in sorted(n_choices.items()):
        ks = None if found is None or not len(found) else np.asarray(found, dtype=float)
        for m in metrics:
            specific = overrides.get(f"{task}:{m}")
            if specific is not None:
                level = chance_level(m, ks, specific)
            elif _base(m) in CHANCE_METRICS:  # a task-wide override applies to accuracy-like metrics only
                level = chance_level(m, ks, overrides.get(str(task)))
            else:
                level = float("nan")
            out[(str(family), str(task), m)] = level
    return out


def _validate(low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo = np.asarray(low, dtype=float)
    hi = np.asarray(high, dtype=float)
    if lo.shape != hi.shape or lo.ndim != 1:
        raise ValueError(f"low and high must be 1-D of one length, got {lo.shape} and {hi.shape}")
    return lo, hi


def emerges_at(scales: Sequence[float] | np.ndarray, low: Sequence[float] | np.ndarray, chance: float) -> float:
    """Smallest scale from which every CI lower bound is above ``chance`` (points in scale order).

    NaN when ``chance`` is NaN or the largest scale's lower bound is not above chance.
    """
    x = np.asarray(scales, dtype=float)
    lo = np.asarray(low, dtype=float)
    if x.shape != lo.shape:
        raise ValueError("scales and low differ in shape")
    if not np.isfinite(chance) or x.size == 0:
        return float("nan")
    above = lo > chance
    if not above[-1]:
        return float("nan")
    # first index after the last point that is not above chance
    not_above = np.flatnonzero(~above)
    start = int(not_above[-1]) + 1 if not_above.size else 0
    return float(x[start])


def wei_emergent(low: Sequence[float] | np.ndarray, high: Sequence[float] | np.ndarray, chance: float) -> bool:
    """True when at least two scales before the point of emergence have a CI containing ``chance``
    and at least one scale (the last run) is above it — near chance first, then above.

    Points are in scale order; NaN chance gives False.
    """
    lo, hi = _validate(np.asarray(low), np.asarray(high))
    if not np.isfinite(chance) or lo.size < 3:
        return False
    above = lo > chance
    if not above[-1]:
        return False
    not_above = np.flatnonzero(~above)
    if not not_above.size:
        return False
    start = int(not_above[-1]) + 1
    near = (lo[:start] <= chance) & (hi[:start] >= chance)
    return bool(near.sum() >= 2)
