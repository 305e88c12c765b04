"""Resolution: what a finite test set can and cannot tell apart from zero (Sec. 3, Fig. 4).

A model with ``k`` of ``n`` correct has the exact (Clopper-Pearson) interval

    low  = Beta.ppf(alpha/2,     k,     n - k + 1)    (0 when k = 0)
    high = Beta.ppf(1 - alpha/2, k + 1, n - k)        (1 when k = n)

with ``alpha = 1 - confidence``.  With ``k = 0`` the interval is ``[0, 1 - (alpha/2)**(1/n)]``:
any true accuracy below that upper bound is consistent with "zero", so small models look like
0 on small test sets.  That bound is the resolution limit of ``n`` examples.

A whole curve has **no measurable ability** (:func:`measurable_ability`) when it never rises
clearly above chance ``c``: no point's CI lower bound is above ``c``, or its largest rise above
chance is below the minimal detectable effect

    mde = max(min_effect, 2 * resolution_limit(n_min))

(``min_effect`` = 0.01 by default: one point in a hundred; ``n_min`` the smallest test set on the
curve).  The curve 0, 0, 0, 0, 0, 0, 0.002, 0.007 on 500 examples is such a curve (rise 0.007 <
mde 0.0147): its emergence score is the cap (a step from 0), but nothing was measured.
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["clopper_pearson", "resolution_limit", "detection_probability", "min_detectable_accuracy",
           "measurable_ability", "minimal_detectable_effect", "MIN_EFFECT"]

#: Smallest rise above chance (on a [0, 1] metric) called an ability at all.
MIN_EFFECT = 0.01


def _check_conf(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return 1.0 - confidence


def clopper_pearson(k: int | np.ndarray, n: int | np.ndarray,
                    confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact two-sided binomial interval for ``k`` successes in ``n`` trials (vectorised).

    Raises:
        ValueError: ``n < 1``, ``k < 0``, ``k > n`` or non-integer counts.
    """
    alpha = _check_conf(confidence)
    k_arr = np.asarray(k, dtype=float)
    n_arr = np.asarray(n, dtype=float)
    if np.any(n_arr < 1) or np.any(k_arr < 0) or np.any(k_arr > n_arr):
        raise ValueError("need 0 <= k <= n and n >= 1")
    if np.any(np.mod(k_arr, 1) != 0) or np.any(np.mod(n_arr, 1) != 0):
        raise ValueError("k and n must be whole numbers")
    with np.errstate(invalid="ignore"):
        low = np.where(k_arr == 0, 0.0,
                       special.betaincinv(np.maximum(k_arr, 1), n_arr - k_arr + 1, alpha / 2))
        high = np.where(k_arr == n_arr, 1.0,
                        special.betaincinv(k_arr + 1, np.maximum(n_arr - k_arr, 1), 1 - alpha / 2))
    return low, high


def resolution_limit(n: int | np.ndarray, confidence: float = 0.95) -> np.ndarray:
    """Upper Clopper-Pearson bound at ``k = 0``: ``1 - ((1 - confidence)/2) ** (1/n)``.

    True accuracies below this cannot be told apart from 0 with ``n`` examples (roughly ``3.7/n``
    at 95%).
    """
    alpha = _check_conf(confidence)
    n_arr = np.asarray(n, dtype=float)
    if np.any(n_arr < 1):
        raise ValueError("n must be >= 1")
    return 1.0 - (alpha / 2) ** (1.0 / n_arr)


def detection_probability(accuracy: float | np.ndarray, n: int | np.ndarray) -> np.ndarray:
    """Chance of at least one correct answer in ``n`` examples: ``1 - (1 - a)**n``."""
    a = np.asarray(accuracy, dtype=float)
    if np.any((a < 0) | (a > 1)):
        raise ValueError("accuracy must lie in [0, 1]")
    return 1.0 - (1.0 - a) ** np.asarray(n, dtype=float)


def min_detectable_accuracy(n: int | np.ndarray, power: float = 0.95) -> np.ndarray:
    """Smallest accuracy that yields at least one correct answer with probability ``power``:
    ``1 - (1 - power)**(1/n)``."""
    if not 0 < power < 1:
        raise ValueError(f"power must be in (0, 1), got {power!r}")
    n_arr = np.asarray(n, dtype=float)
    if np.any(n_arr < 1):
        raise ValueError("n must be >= 1")
    return 1.0 - (1.0 - power) ** (1.0 / n_arr)


def minimal_detectable_effect(n_min: int, confidence: float = 0.95, min_effect: float = MIN_EFFECT) -> float:
    """``max(min_effect, 2 * resolution_limit(n_min))``: the smallest rise above chance the curve's
    smallest test set can show as an ability."""
    if min_effect < 0:
        raise ValueError("min_effect must be >= 0")
    return float(max(min_effect, 2.0 * float(resolution_limit(max(int(n_min), 1), confidence))))


def measurable_ability(values: np.ndarray, low: np.ndarray, chance: float, n_min: int, *,
                       confidence: float = 0.95, min_effect: float = MIN_EFFECT) -> tuple[bool, str]:
    """Does a curve (points in any order) show an ability above chance at all?

    Args:
        values: the curve's point estimates (a [0, 1] metric, higher is better).
        low: lower CI bound of each point (Clopper-Pearson for 0/1 scores, else bootstrap).
        chance: the task's chance level (NaN: the rule does not apply, returns True).
        n_min: the smallest number of test examples behind a point.

    Returns:
        ``(measurable, reason)``; the reason says which bound failed, with numbers.
    """
    y = np.asarray(values, dtype=float)
    lo = np.asarray(low, dtype=float)
    if not np.isfinite(chance) or y.size == 0:
        return True, ""
    mde = minimal_detectable_effect(n_min, confidence, min_effect)
    rise = float(np.nanmax(y) - chance)
    resolved = bool(np.any(lo > chance))
    if rise < mde:
        return False, (f"largest rise above chance {chance:.3g} is {rise:.3g}, below the minimal detectable "
                       f"effect {mde:.3g} (max of {min_effect:g} and 2x the resolution limit of {n_min} examples)")
    if not resolved:
        return False, f"no point's {confidence:.0%} CI lower bound is above chance {chance:.3g}"
    return True, ""
