"""Exact match (accuracy): the paper's nonlinear metric (Schaeffer et al. 2023, Fig. 2C, 3).

For a target of ``L`` tokens each right with probability ``p``, ``E[exact_match] = p**L``: near
zero, then sharp, as ``p`` rises smoothly with scale.
"""

from __future__ import annotations

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
    if strip and ignore_case:
        same = (a.strip().casefold() == b.strip().casefold() for a, b in zip(t, p, strict=True))
    elif strip:
        same = (a.strip() == b.strip() for a, b in zip(t, p, strict=True))
    elif ignore_case:
        same = (a.casefold() == b.casefold() for a, b in zip(t, p, strict=True))
    else:
        same = (a == b for a, b in zip(t, p, strict=True))
    return np.fromiter(same, dtype=bool, count=n).astype(float)
