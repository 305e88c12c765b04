"""Exact match (accuracy): the paper's nonlinear metric (Schaeffer et al. 2023, Fig. 2C, 3).

For a target of ``L`` tokens each right with probability ``p``, ``E[exact_match] = p**L``: near
zero, then sharp, as ``p`` rises smoothly with scale.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

import numpy as np

from emergence_lens.metrics._validation import as_text_list, check_same_length

__all__ = ["exact_match"]


def exact_match(y_true: Sequence[str], y_pred: Sequence[str], *, strip: bool = True,
                ignore_case: bool = False) -> np.ndarray:
    """Per-example exact string match.

    ``score_i = 1[norm(y_true_i) == norm(y_pred_i)]`` where ``norm`` strips surrounding
    whitespace (``strip``) and case-folds (``ignore_case``).

    Args:
        y_true: reference strings.
        y_pred: model outputs; an empty string is a valid (wrong) output.
        strip: strip surrounding whitespace before comparing (GPT-3 targets start with a space).
        ignore_case: compare case-insensitively.

    Returns:
        float array of 0.0/1.0, one per example.

    Raises:
        ValueError: lengths differ, or an entry is None/NaN (named by index).
    """
    t = as_text_list(y_true, "y_true")
    p = as_text_list(y_pred, "y_pred")
    check_same_length(y_true=t, y_pred=p)
    n = len(t)
    for norm in ((str.strip,) if strip else ()) + ((str.casefold,) if ignore_case else ()):
        t, p = map(norm, t), map(norm, p)  # mapped in C, no Python frame per row
    return np.fromiter(map(operator.eq, t, p), dtype=bool, count=n).astype(float)
