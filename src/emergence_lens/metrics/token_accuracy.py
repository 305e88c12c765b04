"""Per-token (greedy) accuracy: the linear partner of greedy exact match.

With teacher forcing, a model's argmax at target position ``j`` either is the target token or
not (lm-evaluation-harness records the same thing per continuation as ``is_greedy``).  Greedy
exact match over ``L`` tokens is right only if all ``L`` are, so with per-token greedy accuracy
``a`` and independent tokens ``E[exact_match] = a**L`` (Schaeffer et al. 2023, Fig. 2C-D, 3):
this is the ingredient that predicts *greedy* exact match, where the per-token target
*probability* predicts *sampled* exact match.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["per_token_accuracy"]


def per_token_accuracy(target_token_greedy: Sequence[Sequence[bool]] | np.ndarray) -> np.ndarray:
    """Per-example share of target tokens that are the teacher-forced argmax:
    ``(1/L_i) sum_j 1[argmax_v p(v | prefix_j) == t_j]``.

    Args:
        target_token_greedy: one sequence of booleans per example (ragged allowed).

    Returns:
        float array in ``[0, 1]``, one per example.

    Raises:
        ValueError: an example has no tokens or a flag is missing (index named).
    """
    out = np.empty(len(target_token_greedy))
    for i, flags in enumerate(target_token_greedy):
        if flags is None:
            raise ValueError(f"target_token_greedy[{i}] is missing")
        arr = np.asarray(flags, dtype=float)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"target_token_greedy[{i}] is empty: a target needs at least one token")
        if np.isnan(arr).any():
            raise ValueError(f"target_token_greedy[{i}] has a missing flag")
        out[i] = arr.mean()
    return out
