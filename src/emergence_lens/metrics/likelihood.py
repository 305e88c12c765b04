"""Target log-likelihood and per-token target probability: continuous partners of exact match.

With teacher forcing, a model gives ``log p_j`` for each target token ``j = 1..L``.  In the
paper's model ``log p_j = -CE(N)``, so both quantities move smoothly with scale
(Schaeffer et al. 2023, Fig. 2A-B and the per-token probability panel of Fig. 3).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from emergence_lens.metrics.ragged import as_ragged

__all__ = ["target_log_likelihood", "target_token_probability"]


def _segment_ids(lengths: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(lengths.size), lengths)


def _check_nonempty(lengths: np.ndarray, name: str) -> None:
    if (lengths == 0).any():
        i = int(np.flatnonzero(lengths == 0)[0])
        raise ValueError(f"{name}[{i}] is empty: a target needs at least one token")


def target_log_likelihood(target_token_logprobs: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """Per-example log-likelihood of the target: ``sum_j log p_j`` (nats, <= 0, higher is better).

    Args:
        target_token_logprobs: one sequence of per-token log-probabilities per example (ragged
            allowed), or a 2-D array.

    Returns:
        float array; ``-inf`` where some token had probability 0.
    """
    flat, lengths = as_ragged(target_token_logprobs, "target_token_logprobs")
    _check_nonempty(lengths, "target_token_logprobs")
    return np.bincount(_segment_ids(lengths), weights=flat, minlength=lengths.size)


def target_token_probability(target_token_logprobs: Sequence[Sequence[float]] | np.ndarray, *,
                             mean: Literal["arithmetic", "geometric"] = "arithmetic") -> np.ndarray:
    """Per-example mean probability of the target tokens.

    ``arithmetic``: ``(1/L) sum_j p_j``; ``geometric``: ``exp((1/L) sum_j log p_j)``, the ``p`` of
    the paper's model (``exact_match ~ p**L``).

    Returns:
        float array in ``[0, 1]``, higher is better.
    """
    flat, lengths = as_ragged(target_token_logprobs, "target_token_logprobs")
    _check_nonempty(lengths, "target_token_logprobs")
    seg = _segment_ids(lengths)
    if mean == "arithmetic":
        sums = np.bincount(seg, weights=np.exp(flat), minlength=lengths.size)
        return np.clip(sums / lengths, 0.0, 1.0)
    if mean == "geometric":
        total = np.bincount(seg, weights=flat, minlength=lengths.size)
        return np.exp(total / lengths)
    raise ValueError(f"mean must be 'arithmetic' or 'geometric', got {mean!r}")
