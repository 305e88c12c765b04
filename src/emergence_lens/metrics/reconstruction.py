"""MSE vs thresholded reconstruction (Schaeffer et al. 2023, Fig. 8).

``Reconstruction_c = (1/N) sum_n 1[MSE_n < c]`` is discontinuous in the reconstruction error;
MSE itself is continuous.  (The paper writes the threshold on the squared L2 norm
``||x - x_hat||**2 = D * MSE`` for ``D`` features, i.e. ``c_paper = D * c``.)
"""

from __future__ import annotations

import numpy as np

__all__ = ["mse", "reconstruction_at"]


def mse(x_true: np.ndarray, x_pred: np.ndarray) -> np.ndarray:
    """Per-item mean squared error ``mean_d (x_true[n, d] - x_pred[n, d])**2`` over all non-leading axes.

    Args:
        x_true, x_pred: arrays of the same shape ``(n, ...)``.

    Returns:
        float array of length ``n``, lower is better.
    """
    a = np.asarray(x_true, dtype=float)
    b = np.asarray(x_pred, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if a.ndim < 1:
        raise ValueError("inputs need a leading item axis")
    for name, arr in (("x_true", a), ("x_pred", b)):
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or inf")
    diff = (a - b).reshape(a.shape[0], -1)
    return np.mean(diff**2, axis=1) if diff.shape[1] else np.zeros(a.shape[0])


def reconstruction_at(x_true: np.ndarray, x_pred: np.ndarray, c: float) -> np.ndarray:
    """Per-item ``1[MSE_n < c]`` (mean = the paper's ``Reconstruction_c``); higher is better."""
    if not np.isfinite(c) or c <= 0:
        raise ValueError(f"threshold c must be finite and > 0, got {c!r}")
    return (mse(x_true, x_pred) < c).astype(float)
