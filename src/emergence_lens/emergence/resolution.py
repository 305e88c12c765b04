"""Resolution: what a finite test set can and cannot tell apart from zero (Sec. 3, Fig. 4).

A model with ``k`` of ``n`` correct has the exact (Clopper-Pearson) interval

    low  = Beta.ppf(alpha/2,     k,     n - k + 1)    (0 when k = 0)
    high = Beta.ppf(1 - alpha/2, k + 1, n - k)        (1 when k = n)

with ``alpha = 1 - confidence``.  With ``k = 0`` the interval is ``[0, 1 - (alpha/2)**(1/n)]``:
any true accuracy below that upper bound is consistent with "zero", so small models look like
0 on small test sets.  That bound is the resolution limit of ``n`` examples.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["clopper_pearson", "resolution_limit", "detection_probability", "min_detectable_accuracy"]


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
                       stats.beta.ppf(alpha / 2, np.maximum(k_arr, 1), n_arr - k_arr + 1))
        high = np.where(k_arr == n_arr, 1.0,
                        stats.beta.ppf(1 - alpha / 2, k_arr + 1, np.maximum(n_arr - k_arr, 1)))
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
