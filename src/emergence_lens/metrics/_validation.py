"""Input validation shared by the metric functions (sklearn-style: fail early, say where)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["as_text_list", "check_same_length", "ragged_to_padded", "as_ragged"]


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


def as_ragged(values: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Flatten a ragged sequence of 1-D float sequences.

    Returns ``(flat, lengths)``.  A 2-D array is accepted as equal-length rows.  NaN and missing
    rows are errors naming the index.
    """
    if isinstance(values, np.ndarray) and values.ndim == 2 and values.dtype != object:
        flat = values.astype(float, copy=False).ravel()
        lengths = np.full(values.shape[0], values.shape[1], dtype=np.int64)
    else:
        rows = list(values)
        lengths = np.empty(len(rows), dtype=np.int64)
        parts = []
        for i, row in enumerate(rows):
            if row is None:
                raise ValueError(f"{name}[{i}] is missing (None)")
            arr = np.asarray(row, dtype=float)
            if arr.ndim != 1:
                raise ValueError(f"{name}[{i}] must be 1-D, got shape {arr.shape}")
            lengths[i] = arr.size
            parts.append(arr)
        flat = np.concatenate(parts) if parts else np.empty(0)
    if np.isnan(flat).any():
        pos = int(np.flatnonzero(np.isnan(flat))[0])
        row = int(np.searchsorted(np.cumsum(lengths), pos, side="right"))
        raise ValueError(f"{name}[{row}] contains NaN")
    return flat, lengths


def ragged_to_padded(flat: np.ndarray, lengths: np.ndarray, fill: float) -> tuple[np.ndarray, np.ndarray]:
    """Turn ``(flat, lengths)`` into a padded ``(n, max_len)`` array and its validity mask."""
    n = lengths.size
    width = int(lengths.max()) if n else 0
    mask = np.arange(width)[None, :] < lengths[:, None]
    padded = np.full((n, width), fill, dtype=float)
    padded[mask] = flat
    return padded, mask
