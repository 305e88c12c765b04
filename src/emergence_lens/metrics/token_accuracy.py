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

from emergence_lens.metrics.ragged import as_ragged

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
    flat, lengths = as_ragged(target_token_greedy, "target_token_greedy")
    if (lengths == 0).any():
        i = int(np.flatnonzero(lengths == 0)[0])
        raise ValueError(f"target_token_greedy[{i}] is empty: a target needs at least one token")
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return np.add.reduceat(flat, starts) / lengths if len(lengths) else np.empty(0)
