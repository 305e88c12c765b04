"""Paired sharpness: is the sharp metric sharper than its partner *on the same resampled examples*?

Two separate CIs (one per metric) ignore that both metrics are computed on the same outputs: a
test set that happens to be easy moves both.  Here each bootstrap replicate resamples a model's
examples once and scores both metrics on that one resample
(:func:`~emergence_lens.emergence.bootstrap.bootstrap_column_means`), so the replicate
difference

    diff* = sharpness(metric)* - sharpness(partner)*,   sharpness = emergence score / (n - 1)

(each curve oriented so that higher is better; ``log_scale`` metrics such as MSE on log10) has
the right, positively correlated distribution.  ``diff`` CI entirely above 0: the metric jumps
more sharply than its partner on the same outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emergence_lens.emergence.bootstrap import bootstrap_column_means, design_blocks, percentile_ci
from emergence_lens.emergence.score import emergence_scores

__all__ = ["PairedSharpness", "paired_sharpness", "orient"]


@dataclass(frozen=True)
class PairedSharpness:
    """``diff = metric_sharpness - partner_sharpness`` with its paired bootstrap CI."""

    metric_sharpness: float
    partner_sharpness: float
    diff: float
    diff_low: float
    diff_high: float
    replicates: np.ndarray

    @property
    def state(self) -> str:
        """``"sharper"`` (CI above 0), ``"less sharp"`` (below 0) or ``"not different"``."""
        if self.diff_low > 0:
            return "sharper"
        if self.diff_high < 0:
            return "less sharp"
        return "not different"


def orient(values: np.ndarray, higher_is_better: bool | np.ndarray, log_scale: bool | np.ndarray) -> np.ndarray:
    """A curve (or replicate curves) as the emergence score reads it: log10 for ``log_scale``
    metrics (non-positive values become NaN), then negated when lower is better, so a positive score
    always means "improves with scale".  ``higher_is_better`` and ``log_scale`` are one flag for the
    whole array or one per value (broadcast): the one orientation of every curve, with records or
    results only."""
    v = np.asarray(values, dtype=float)
    log = np.asarray(log_scale, dtype=bool)
    if log.any():
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.where(log, np.where(v > 0, np.log10(np.where(v > 0, v, 1.0)), np.nan), v)
    hib = np.asarray(higher_is_better, dtype=bool)
    return v if hib.all() else np.where(hib, v, -v)


def paired_sharpness(metric_scores: Sequence[np.ndarray], partner_scores: Sequence[np.ndarray], *,
                     metric_higher_is_better: bool = True, partner_higher_is_better: bool = True,
                     metric_log_scale: bool = False, partner_log_scale: bool = False,
                     n_boot: int = 1000, confidence: float = 0.95,
                     seed: int | np.random.Generator = 0, paired_models: bool = False) -> PairedSharpness:
    """Sharpness difference of two metrics scored on the same examples, models in curve order.

    Args:
        metric_scores, partner_scores: per model, per-example scores; ``metric_scores[j][i]`` and
            ``partner_scores[j][i]`` are the same example of model ``j``.
        paired_models: every model has the same examples in the same order (resampled jointly).

    Raises:
        ValueError: fewer than 3 models, or a model's two arrays differ in length.
    """
    if len(metric_scores) != len(partner_scores):
        raise ValueError("metric and partner need the same models")
    n = len(metric_scores)
    if n < 3:
        raise ValueError(f"need at least 3 models, got {n}")
    pairs = []
    for j, (a, b) in enumerate(zip(metric_scores, partner_scores, strict=True)):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        if a.shape != b.shape:
            raise ValueError(f"model {j}: {a.size} metric scores but {b.size} partner scores")
        pairs.append((a, b))
    stacked = (np.column_stack(pair) for pair in pairs)
    designs = design_blocks(stacked, n) if paired_models else list(stacked)
    full = np.array([[d[:, 0].mean(), d[:, 1].mean()] for d in designs])
    reps = bootstrap_column_means(designs, n_boot, seed, paired=paired_models)
    rep_a = np.column_stack([r[:, 0] for r in reps])
    rep_b = np.column_stack([r[:, 1] for r in reps])

    def sharp(curves: np.ndarray, hib: bool, log: bool) -> np.ndarray:
        y = orient(curves, hib, log)
        out = np.full(y.shape[0], np.nan)
        ok = np.isfinite(y).all(axis=1)
        if ok.any():
            out[ok] = emergence_scores(y[ok]) / (n - 1)
        return out

    sa = sharp(full[None, :, 0], metric_higher_is_better, metric_log_scale)[0]
    sb = sharp(full[None, :, 1], partner_higher_is_better, partner_log_scale)[0]
    diff_reps = (sharp(rep_a, metric_higher_is_better, metric_log_scale)
                 - sharp(rep_b, partner_higher_is_better, partner_log_scale))
    finite = diff_reps[np.isfinite(diff_reps)]
    if finite.size:
        lo, hi = percentile_ci(finite, confidence)
    else:
        lo = hi = np.nan
    return PairedSharpness(float(sa), float(sb), float(sa - sb), float(lo), float(hi), diff_reps)
