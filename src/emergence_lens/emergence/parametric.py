"""Parametric bootstrap of published aggregate curves (results only, no per-example data).

A results file gives one value per model; its uncertainty is known only through the number of
examples ``n`` or a reported standard error.  Each replicate redraws **every point of the curve at
once** (so emergence-score CIs exist, like the per-example bootstrap of
:mod:`emergence_lens.emergence.bootstrap`):

* a binomial metric (accuracy: 0/1 per example) with ``n`` known: ``k* ~ Binomial(n, p)``,
  value ``k*/n``;
* otherwise, with a standard error ``se``: ``p + se * z``, ``z ~ N(0, 1)`` (the caller may pass
  a conservative bound as ``se``, e.g. Bhatia-Davis ``sqrt((p - lo)(hi - p) / n)`` for a metric
  bounded in ``[lo, hi]`` whose source gives ``n`` but no stderr);
* neither: no replicate (NaN), and the curve gets no CI.

The points of one curve are independent draws (different models); a value of exactly 0 (or 1)
redraws as itself under the binomial, which is honest: nothing resolves it from 0 but more data.
"""

from __future__ import annotations

import numpy as np

__all__ = ["parametric_replicates", "curve_score_ci"]


def parametric_replicates(value: np.ndarray, n: np.ndarray, stderr: np.ndarray, binomial: np.ndarray,
                          n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_boot, n_points)`` redraws of ``value`` (see the module docstring); NaN columns where a
    point has neither ``n`` (binomial) nor a standard error."""
    v = np.asarray(value, dtype=float)
    n = np.asarray(n, dtype=float)
    se = np.asarray(stderr, dtype=float)
    binomial = np.asarray(binomial, dtype=bool)
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    out = np.full((n_boot, v.size), np.nan)
    use_n = binomial & np.isfinite(n) & (n >= 1) & np.isfinite(v) & (v >= 0) & (v <= 1)
    if use_n.any():
        nn = np.round(n[use_n]).astype(np.int64)
        out[:, use_n] = rng.binomial(nn[None, :], v[use_n][None, :], size=(n_boot, int(use_n.sum()))) / nn
    use_se = ~use_n & np.isfinite(se) & (se >= 0) & np.isfinite(v)
    if use_se.any():
        out[:, use_se] = v[use_se] + se[use_se] * rng.standard_normal((n_boot, int(use_se.sum())))
    return out


def curve_score_ci(replicate_scores: np.ndarray, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of each curve's emergence score over its replicates
    (``replicate_scores``: ``(n_boot, n_curves)``, NaN where a replicate is not scorable; a curve
    with fewer than half its replicates finite gets NaN)."""
    r = np.asarray(replicate_scores, dtype=float)
    a = (1 - confidence) / 2
    ok = np.isfinite(r).sum(axis=0) >= max(1, r.shape[0] // 2)
    lo = np.full(r.shape[1], np.nan)
    hi = np.full(r.shape[1], np.nan)
    if ok.any():
        lo[ok], hi[ok] = np.nanquantile(r[:, ok], [a, 1 - a], axis=0)
    return lo, hi
