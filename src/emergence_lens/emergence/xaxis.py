"""The x-axis of a scaling curve: parameters, training FLOPs, or pretraining loss.

Emergence is claimed against some measure of scale, and the choice matters: Wei et al. (2022)
plot against training FLOPs, Schaeffer et al. (2023) against parameters, Du et al. (2024,
"Understanding Emergent Abilities of Language Models from the Loss Perspective") against
pretraining loss.  Every curve is ordered by its **position** ``t``:

=========  ==================  ========================================  =================
axis       records column      position ``t``                            axis label
=========  ==================  ========================================  =================
params     ``scale_params``    ``log10 N``                               parameters
flops      ``scale_flops``     ``log10 C`` (``C = 6 N D`` where known)   training FLOPs
loss       ``pretrain_loss``   ``-loss`` (lower loss = more capable)     pretraining loss
=========  ==================  ========================================  =================

Fits that extrapolate along the axis (:mod:`emergence_lens.emergence.forecast`) are linear in
``t``; for parameters and FLOPs that is "linear in log-scale".
"""

from __future__ import annotations

import numpy as np

__all__ = ["X_AXES", "X_LABELS", "x_column", "x_position"]

X_AXES = {"params": "scale_params", "flops": "scale_flops", "loss": "pretrain_loss"}
X_LABELS = {"params": "parameters (log scale)", "flops": "training FLOPs (log scale)",
            "loss": "pretraining loss (decreasing)"}


def x_column(axis: str) -> str:
    """Records / curves column of an axis name (``params``, ``flops``, ``loss``)."""
    try:
        return X_AXES[axis]
    except KeyError:
        raise ValueError(f"unknown x-axis {axis!r}; choose one of {sorted(X_AXES)}") from None


def x_position(values: np.ndarray, axis: str) -> np.ndarray:
    """Position ``t`` along the axis (increasing with capability); NaN where the value is missing
    or not positive."""
    x_column(axis)
    v = np.asarray(values, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if axis == "loss":
            return np.where(np.isfinite(v) & (v > 0), -v, np.nan)
        return np.where(np.isfinite(v) & (v > 0), np.log10(np.where(v > 0, v, 1.0)), np.nan)
