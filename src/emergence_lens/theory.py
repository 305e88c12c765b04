"""The paper's mathematical model of apparent emergence (Schaeffer et al. 2023, Sec. 2, Fig. 2).

Per-token cross-entropy falls as a power law in the parameter count ``N``::

    CE(N) = (N / c) ** alpha            (alpha < 0)
    p(N)  = exp(-CE(N))                 probability of the right token

Scored on a target of ``L`` tokens (tokens independent), the *same* model looks different:

* accuracy (exact match, nonlinear):         ``p ** L``              -> sharp, "emergent"
* token edit distance (linear):              ``L * (1 - p)``         -> smooth
* multiple-choice grade (discontinuous):     ``1[q > (1 - q)/(K-1)]``  with ``q = p ** L`` the
  probability of the correct option and the rest spread evenly over ``K - 1`` distractors -> step
* Brier score (continuous), same distribution: ``(1 - q)**2 + (K - 1) * ((1 - q)/(K - 1))**2
  = (1 - q)**2 * K / (K - 1)`` -> smooth

The paper's three predictions, each a function here:

1. Changing a nonlinear/discontinuous metric to a linear/continuous one on the same outputs
   reveals smooth, predictable change (:func:`accuracy` vs :func:`token_edit_distance`,
   :func:`multiple_choice_grade` vs :func:`brier_score`).
2. More test data resolves small but non-zero accuracies: a model with accuracy ``a`` shows *zero*
   correct on ``n`` examples with probability ``(1 - a)**n`` (:func:`prob_all_wrong`).
3. Target length: accuracy falls geometrically, ``a_L = a_1 ** L``, and edit distance
   quasi-linearly, ``d_L = L * d_1`` (:func:`accuracy_at_length`, :func:`edit_distance_at_length`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "ScalingModel",
    "per_token_ce",
    "p_token_correct",
    "accuracy",
    "token_edit_distance",
    "correct_choice_probability",
    "multiple_choice_grade",
    "brier_score",
    "prob_all_wrong",
    "accuracy_at_length",
    "edit_distance_at_length",
    "theory_table",
    "THEORY_COLUMNS",
    "DEFAULT_MODEL",
]

THEORY_COLUMNS = ["n_params", "per_token_ce", "p_token_correct", "target_length", "accuracy",
                  "token_edit_distance", "multiple_choice_grade", "brier_score"]


def _check(c: float, alpha: float) -> None:
    if not (np.isfinite(c) and c > 0):
        raise ValueError(f"c must be finite and > 0, got {c!r}")
    if not (np.isfinite(alpha) and alpha < 0):
        raise ValueError(f"alpha must be finite and < 0 (loss falls with scale), got {alpha!r}")


def _length(L: int | np.ndarray) -> np.ndarray:
    arr = np.asarray(L)
    if np.any(arr < 1) or not np.all(np.equal(np.mod(arr, 1), 0)):
        raise ValueError(f"target length must be a positive integer, got {L!r}")
    return arr


def per_token_ce(n_params: float | np.ndarray, c: float, alpha: float) -> np.ndarray:
    """``CE(N) = (N / c) ** alpha`` in nats per token (Fig. 2A)."""
    _check(c, alpha)
    n = np.asarray(n_params, dtype=float)
    if np.any(~np.isfinite(n) | (n <= 0)):
        raise ValueError("n_params must be finite and > 0")
    return (n / c) ** alpha


def p_token_correct(n_params: float | np.ndarray, c: float, alpha: float) -> np.ndarray:
    """``p(N) = exp(-CE(N))`` (Fig. 2B)."""
    return np.exp(-per_token_ce(n_params, c, alpha))


def accuracy(p: float | np.ndarray, L: int | np.ndarray) -> np.ndarray:
    """Exact-match accuracy on ``L`` independent tokens: ``p ** L`` (Fig. 2C)."""
    return np.asarray(p, dtype=float) ** _length(L)


def token_edit_distance(p: float | np.ndarray, L: int | np.ndarray) -> np.ndarray:
    """Expected token edit distance with only substitutions: ``L * (1 - p)`` (Fig. 2D)."""
    return _length(L) * (1.0 - np.asarray(p, dtype=float))


def correct_choice_probability(p: float | np.ndarray, L: int | np.ndarray) -> np.ndarray:
    """Probability mass on the correct option when it is an ``L``-token string: ``q = p ** L``."""
    return accuracy(p, L)


def _check_k(n_choices: int) -> None:
    if int(n_choices) != n_choices or n_choices < 2:
        raise ValueError(f"n_choices must be an integer >= 2, got {n_choices!r}")


def multiple_choice_grade(q: float | np.ndarray, n_choices: int) -> np.ndarray:
    """Argmax grade when the correct option has mass ``q`` and ``K - 1`` distractors share ``1 - q``.

    ``1`` if ``q > (1 - q)/(K - 1)`` (i.e. ``q > 1/K``), ``1/K`` at the tie ``q = 1/K``, else ``0``
    (Fig. 2E): a step at ``q = 1/K``.
    """
    _check_k(n_choices)
    q = np.asarray(q, dtype=float)
    other = (1.0 - q) / (n_choices - 1)
    return np.where(q > other, 1.0, np.where(np.isclose(q, other), 1.0 / n_choices, 0.0))


def brier_score(q: float | np.ndarray, n_choices: int) -> np.ndarray:
    """Multiclass Brier score of the same distribution: ``(1 - q)**2 * K / (K - 1)`` (Fig. 2F)."""
    _check_k(n_choices)
    q = np.asarray(q, dtype=float)
    return (1.0 - q) ** 2 * n_choices / (n_choices - 1)


def prob_all_wrong(acc: float | np.ndarray, n_examples: int | np.ndarray) -> np.ndarray:
    """Prediction 2: chance that a model of accuracy ``a`` gets all ``n`` test examples wrong,
    ``(1 - a) ** n`` — and so is reported as exactly 0."""
    a = np.asarray(acc, dtype=float)
    if np.any((a < 0) | (a > 1)):
        raise ValueError("accuracy must lie in [0, 1]")
    return (1.0 - a) ** np.asarray(n_examples, dtype=float)


def accuracy_at_length(acc_length_1: float | np.ndarray, L: int | np.ndarray) -> np.ndarray:
    """Prediction 3: ``a_L = a_1 ** L`` (geometric in target length)."""
    return accuracy(acc_length_1, L)


def edit_distance_at_length(ted_length_1: float | np.ndarray, L: int | np.ndarray) -> np.ndarray:
    """Prediction 3: ``d_L = L * d_1`` (linear in target length)."""
    return _length(L) * np.asarray(ted_length_1, dtype=float)


@dataclass(frozen=True)
class ScalingModel:
    """Parameters of the model.  Defaults put the per-token probability's rise inside
    ``[n_min, n_max]`` so that every panel of Fig. 2 shows its whole shape.

    Attributes:
        c: scale constant of ``CE(N) = (N/c)**alpha``.
        alpha: power-law exponent (< 0).
        n_choices: options per multiple-choice question (for panels E-F).
        n_min, n_max, n_points: the ``N`` grid (log-spaced).
    """

    c: float = 1e9
    alpha: float = -0.3
    n_choices: int = 4
    n_min: float = 1e7
    n_max: float = 1e14
    n_points: int = 141

    def __post_init__(self) -> None:
        _check(self.c, self.alpha)
        _check_k(self.n_choices)
        if not (0 < self.n_min < self.n_max) or self.n_points < 2:
            raise ValueError("need 0 < n_min < n_max and n_points >= 2")

    def grid(self) -> np.ndarray:
        return np.logspace(np.log10(self.n_min), np.log10(self.n_max), self.n_points)


#: The default parameters (module-level so that it can serve as a default argument).
DEFAULT_MODEL = ScalingModel()


def theory_table(model: ScalingModel = DEFAULT_MODEL, lengths: Sequence[int] = (1, 2, 3, 4, 5),
                 n_params: np.ndarray | None = None) -> pd.DataFrame:
    """One row per (N, target length) with every closed form (columns :data:`THEORY_COLUMNS`)."""
    if not len(lengths):
        raise ValueError("need at least one target length")
    Ls = _length(np.asarray(sorted(set(int(v) for v in lengths))))
    n = model.grid() if n_params is None else np.asarray(n_params, dtype=float)
    ce = per_token_ce(n, model.c, model.alpha)
    p = np.exp(-ce)
    NN, LL = np.meshgrid(n, Ls, indexing="ij")
    PP = np.broadcast_to(p[:, None], NN.shape)
    q = accuracy(PP, LL)
    df = pd.DataFrame({
        "n_params": NN.ravel(),
        "per_token_ce": np.broadcast_to(ce[:, None], NN.shape).ravel(),
        "p_token_correct": PP.ravel(),
        "target_length": LL.ravel().astype(np.int64),
        "accuracy": q.ravel(),
        "token_edit_distance": token_edit_distance(PP, LL).ravel(),
        "multiple_choice_grade": multiple_choice_grade(q, model.n_choices).ravel(),
        "brier_score": brier_score(q, model.n_choices).ravel(),
    })
    return df[THEORY_COLUMNS]
