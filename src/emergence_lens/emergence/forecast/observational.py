"""``observational``: observational scaling laws (Ruan, Maddison and Hashimoto 2024).

Many models of many families, each scored on many benchmarks: a few principal components of the
benchmark matrix ("capabilities") predict a task's score through a sigmoid.  Backtest: every model
of every family **below the cut-off** (the position of the curve's first held-out model) is a
training row; the features are its scores on the *other* tasks of the table (the curve's own task
is the target), on the logit scale (a sigmoid of a linear capability is linear there; Ruan et al. use
raw accuracies, which saturate and bend the components), standardised on the training rows; ``k = min(3, rows - 2, features)`` components;
``logit(y) = b0 + w . pc`` by least squares (``y`` clipped to ``[1e-3, 1 - 1e-3]``), mapped back
through a sigmoid onto the metric's range.  A held-out model is predicted from its own scores on the
other tasks — the method's premise (those benchmarks are cheap and already measured), so it
answers "does this task follow the model's general capability?", not "what will a model of this
size score?".  The band refits on case-bootstrap resamples of the training models (seeded; the
same data give the same bytes).  Features missing for a training or predicted model are dropped.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from emergence_lens.emergence.forecast.data import CurveData, Forecast
from emergence_lens.emergence.forecast.registry import PredictorSpec, register_predictor
from emergence_lens.emergence.forecast.two_step import EPS

__all__ = ["predict_observational", "capability_components", "OBSERVATIONAL", "MAX_COMPONENTS"]

MAX_COMPONENTS = 3
SEED = 20240610  # Ruan et al.'s arXiv month; any fixed number works


def capability_components(train: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``k`` principal components of ``train`` (rows: models; standardised on ``train``),
    and ``query`` projected on them."""
    mean = train.mean(axis=0)
    sd = train.std(axis=0)
    keep = sd > 0
    zt = (train[:, keep] - mean[keep]) / sd[keep]
    zq = (query[:, keep] - mean[keep]) / sd[keep]
    _, _, vt = np.linalg.svd(zt, full_matrices=False)
    return zt @ vt[:k].T, zq @ vt[:k].T


def _fit(pcs: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    X = np.column_stack([np.ones(len(pcs)), pcs])
    z = special.logit(np.clip(y, EPS, 1 - EPS))
    if w is not None:
        s = np.sqrt(w)
        X, z = X * s[:, None], z * s
    A = X.T @ X + 1e-6 * np.eye(X.shape[1])
    return np.linalg.solve(A, X.T @ z)


def predict_observational(d: CurveData, K: int, t_new: np.ndarray, at: np.ndarray) -> Forecast | str:
    pool = d.pool
    if pool is None:
        return "needs a table (or records) with several tasks: other benchmarks are the features"
    at = np.asarray(at)
    cut = d.t[K] if K < d.n_models else np.inf
    train = (pool.t < cut) & np.isfinite(pool.target)
    qrows = pool.rows[np.where(at >= 0, at, 0)]
    cols = np.isfinite(pool.features[train]).all(axis=0) & np.isfinite(pool.features[qrows]).all(axis=0)
    n_train = int(train.sum())
    if n_train < 4 or not cols.any():
        return f"too few training models ({n_train}) or no other task scored for all of them"
    # scores on the logit scale: a sigmoid of a linear capability is linear there, so components
    # extrapolate past the training models instead of saturating with their raw accuracies
    Xt = special.logit(np.clip(pool.features[train][:, cols], EPS, 1 - EPS))
    Xq = special.logit(np.clip(pool.features[qrows][:, cols], EPS, 1 - EPS))
    if not (Xt.std(axis=0) > 0).any():
        return "the other tasks do not vary over the training models"
    k = max(1, min(MAX_COMPONENTS, n_train - 2, int((Xt.std(axis=0) > 0).sum())))
    pt, pq = capability_components(Xt, Xq, k)
    lo, hi = d.bounds
    y = (pool.target[train] - lo) / (hi - lo)
    beta = _fit(pt, y)
    Q = np.column_stack([np.ones(len(pq)), pq])
    point = lo + (hi - lo) * special.expit(Q @ beta)
    rng = np.random.default_rng(SEED)
    counts = rng.multinomial(n_train, np.full(n_train, 1 / n_train), size=d.n_boot)
    reps = np.stack([lo + (hi - lo) * special.expit(Q @ _fit(pt, y, c.astype(float))) for c in counts])
    point = np.where(at >= 0, point, np.nan)
    reps = np.where(at[None, :] >= 0, reps, np.nan)
    return Forecast(point, reps, f"{k} components of {int(cols.sum())} other tasks, {n_train} models below the cut-off")


OBSERVATIONAL = register_predictor(PredictorSpec(
    "observational", predict_observational,
    "capability components (PCA of the other tasks' scores, models of every family below the cut-off) -> "
    "sigmoid", "several tasks scored on many models (a leaderboard table, or records with several tasks)",
    "Ruan et al. 2024", grid=False))
