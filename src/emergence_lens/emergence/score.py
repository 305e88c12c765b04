"""The emergence score (BIG-bench "breakthroughness") and a linearity score.

For a curve sorted by scale ``x_1 < ... < x_n`` with values ``y``::

    I(y)      = sign(argmax y - argmin y) * (max y - min y)
    emergence = I(y) / sqrt(median_i (y_i - y_{i-1})**2)          (Schaeffer et al. 2023, Sec. 4)
    linearity = I(y) / sqrt(sum_i    (y_i - y_{i-1})**2)

A curve that climbs in equal steps scores ``n - 1``; one that climbs in a single jump scores far
more, because the median step is ~0.  ``linearity`` is in ``[-sqrt(n-1), sqrt(n-1)]``, largest
in magnitude for equal steps and ``±1`` for a single jump.

Degenerate input has documented behaviour — never a crash, ``inf`` or silent NaN:

=======================================  =================================================
input                                    result
=======================================  =================================================
fewer than 3 points                      :class:`EmergenceScoreError`
NaN or inf in ``y`` / ``x``              error, or dropped with ``nan_policy="omit"``
                                         (a warning names how many)
duplicate ``x``                          error, or ``duplicates="mean"`` averages them
constant curve (max == min)              ``0.0``
zero median step, non-zero range         denominator floored at ``max(min_step,
(a pure step)                            REL_FLOOR * (max y - min y))``: the score is
                                         then ``±1/REL_FLOOR = ±1000`` at most
=======================================  =================================================
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np

__all__ = ["EmergenceScoreError", "emergence_score", "emergence_scores", "linearity",
           "prepare_curve", "REL_FLOOR", "MIN_POINTS"]

#: Relative floor on the root-median step: scores are bounded by 1/REL_FLOOR in magnitude.
REL_FLOOR = 1e-3
MIN_POINTS = 3


class EmergenceScoreError(ValueError):
    """The curve cannot be given an emergence score (too few points, NaN, duplicate scales)."""


def prepare_curve(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, *,
                  nan_policy: Literal["raise", "omit"] = "raise",
                  duplicates: Literal["raise", "mean"] = "raise") -> tuple[np.ndarray, np.ndarray]:
    """Validate a curve and return it sorted by ``x``."""
    xa = np.asarray(x, dtype=float).ravel()
    ya = np.asarray(y, dtype=float).ravel()
    if xa.shape != ya.shape:
        raise EmergenceScoreError(f"x and y differ in length: {xa.size} vs {ya.size}")
    bad = ~np.isfinite(xa) | ~np.isfinite(ya)
    if bad.any():
        if nan_policy == "omit":
            warnings.warn(f"emergence score: omitting {int(bad.sum())} point(s) with NaN/inf",
                          RuntimeWarning, stacklevel=3)
            xa, ya = xa[~bad], ya[~bad]
        else:
            i = int(np.flatnonzero(bad)[0])
            raise EmergenceScoreError(f"non-finite value at point {i}: x={xa[i]!r}, y={ya[i]!r} "
                                      f"(pass nan_policy='omit' to drop such points)")
    order = np.argsort(xa, kind="stable")
    xa, ya = xa[order], ya[order]
    if xa.size > 1 and (np.diff(xa) == 0).any():
        if duplicates == "mean":
            ux, inv = np.unique(xa, return_inverse=True)
            ya = np.bincount(inv, weights=ya) / np.bincount(inv)
            xa = ux
        else:
            dup = xa[1:][np.diff(xa) == 0][0]
            raise EmergenceScoreError(f"duplicate scale x={dup!r} (pass duplicates='mean' to average)")
    if xa.size < MIN_POINTS:
        raise EmergenceScoreError(f"need at least {MIN_POINTS} distinct scales, got {xa.size}")
    return xa, ya


def emergence_scores(Y: np.ndarray, *, min_step: float | None = None) -> np.ndarray:
    """Vectorised emergence score of many curves sharing one sorted ``x`` (rows of ``Y``).

    ``Y`` has shape ``(n_curves, n_points)``, already ordered by scale and finite.  Used by the
    bootstrap, where each row is one resample of the same family.
    """
    Y = np.asarray(Y, dtype=float)
    if Y.ndim != 2 or Y.shape[1] < MIN_POINTS:
        raise EmergenceScoreError(f"need shape (n_curves, >= {MIN_POINTS}), got {Y.shape}")
    if not np.isfinite(Y).all():
        raise EmergenceScoreError("Y contains NaN or inf")
    rng = Y.max(axis=1) - Y.min(axis=1)
    sign = np.where(Y.argmax(axis=1) >= Y.argmin(axis=1), 1.0, -1.0)
    root_median = np.sqrt(np.median(np.diff(Y, axis=1) ** 2, axis=1))
    floor = np.maximum(REL_FLOOR * rng, 0.0 if min_step is None else float(min_step))
    denom = np.maximum(root_median, floor)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(rng > 0, sign * rng / np.where(denom > 0, denom, 1.0), 0.0)
    # REL_FLOOR * rng rounds below its exact value for subnormal ranges (~1e-313); keep the bound exact.
    out = np.clip(out, -1.0 / REL_FLOOR, 1.0 / REL_FLOOR)
    return out


def emergence_score(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, *,
                    min_step: float | None = None,
                    nan_policy: Literal["raise", "omit"] = "raise",
                    duplicates: Literal["raise", "mean"] = "raise") -> float:
    """Emergence score of one curve (see the module docstring for the formula and edge cases).

    Args:
        x: scales (parameters or FLOPs); any order, sorted internally.
        y: metric values (orient them so that higher is better to read the sign as direction).
        min_step: optional absolute floor on the root-median step, e.g. a metric's resolution
            ``1/n_examples``; steps smaller than the noise then cannot inflate the score.
        nan_policy: ``"raise"`` or ``"omit"`` (drop non-finite points, with a warning).
        duplicates: ``"raise"`` or ``"mean"`` (average y over repeated x).

    Returns:
        The score; positive when the maximum comes after the minimum.

    Raises:
        EmergenceScoreError: fewer than 3 usable points, NaN (by default), duplicate scales.
    """
    _, ya = prepare_curve(x, y, nan_policy=nan_policy, duplicates=duplicates)
    return float(emergence_scores(ya[None, :], min_step=min_step)[0])


def linearity(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, *,
              nan_policy: Literal["raise", "omit"] = "raise",
              duplicates: Literal["raise", "mean"] = "raise") -> float:
    """``I(y) / sqrt(sum_i (y_i - y_{i-1})**2)``: ``±sqrt(n-1)`` for equal steps, ``±1`` for one jump,
    ``0`` for a constant curve.  The root-sum analogue of the emergence score's root-median, in
    the form of BIG-bench's linearity score (Srivastava et al. 2022)."""
    _, ya = prepare_curve(x, y, nan_policy=nan_policy, duplicates=duplicates)
    rng = ya.max() - ya.min()
    if rng == 0:
        return 0.0
    sign = 1.0 if ya.argmax() >= ya.argmin() else -1.0
    return float(sign * rng / np.sqrt(np.sum(np.diff(ya) ** 2)))
