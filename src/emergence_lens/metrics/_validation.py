"""Input validation shared by the metric functions (sklearn-style: fail early, say where)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["as_text_list", "check_same_length"]


def as_text_list(values: Any, name: str) -> list[str]:
    """Return ``values`` as a list of ``str``; ``None``/NaN entries are an error naming the index."""
    if isinstance(values, str):
        raise TypeError(f"{name} must be a sequence of strings, not a single string")
    out = values if type(values) is list else list(values)
    if set(map(type, out)) <= {str}:  # fast path
        return out
    for i, v in enumerate(out):
        if not isinstance(v, str):
            if v is None or (isinstance(v, float) and np.isnan(v)):
                raise ValueError(f"{name}[{i}] is missing (None/NaN); score a missing output as "
                                 f"the empty string '' if it should count as wrong")
            raise TypeError(f"{name}[{i}] is {type(v).__name__}, expected str")
    return out


def check_same_length(**arrays: Sequence[Any] | np.ndarray) -> int:
    """All arguments have the same length; return it."""
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"inconsistent lengths: {lengths}")
    return next(iter(lengths.values())) if lengths else 0
