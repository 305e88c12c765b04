"""Ragged columns (one variable-length list per example: token log-probs, option log-likelihoods,
greedy flags) as ``(flat, lengths)`` arrays — straight from Arrow buffers when the column is an Arrow
list (a records frame's), so no Python object is made per example."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["as_ragged", "ragged_to_padded", "list_lengths"]


def as_ragged(values: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Flatten a ragged sequence of 1-D float sequences.

    Returns ``(flat, lengths)``.  A 2-D array is accepted as equal-length rows.  NaN and missing
    rows are errors naming the index.
    """
    arrow = _arrow_lists(values)
    if arrow is not None:
        flat, lengths = _flatten_arrow(arrow, name)
    elif isinstance(values, np.ndarray) and values.ndim == 2 and values.dtype != object:
        flat = values.astype(float, copy=False).ravel()
        lengths = np.full(values.shape[0], values.shape[1], dtype=np.int64)
    else:
        rows = values if type(values) is list else list(values)
        fast = _flatten_arrays(rows)
        if fast is not None:
            flat, lengths = fast
        else:
            flat, lengths = _flatten_rows(rows, name)
    if np.isnan(flat).any():
        pos = int(np.flatnonzero(np.isnan(flat))[0])
        row = int(np.searchsorted(np.cumsum(lengths), pos, side="right"))
        raise ValueError(f"{name}[{row}] contains NaN")
    return flat, lengths


def _arrow_lists(values: Any) -> pa.ChunkedArray | None:
    """An Arrow list column (a records frame's ``pd.ArrowDtype`` list column, or Arrow itself)."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.ArrowDtype):
        values = pa.chunked_array(pa.array(values))
    elif isinstance(values, pa.Array):
        values = pa.chunked_array([values])
    if isinstance(values, pa.ChunkedArray) and (pa.types.is_list(values.type) or pa.types.is_large_list(values.type)):
        return values
    return None


def _flatten_arrow(values: pa.ChunkedArray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(flat, lengths)`` straight from the Arrow buffers: no Python object per row."""
    if values.null_count:
        i = int(np.flatnonzero(values.is_null().to_numpy(zero_copy_only=False))[0])
        raise ValueError(f"{name}[{i}] is missing (None)")
    lengths = pc.list_value_length(values).to_numpy().astype(np.int64, copy=False)
    flat = pc.list_flatten(values)
    flat = pc.cast(flat, pa.float64()) if not pa.types.is_floating(flat.type) else flat
    return flat.to_numpy().astype(float, copy=False) if flat.null_count == 0 else \
        np.where(flat.is_null().to_numpy(zero_copy_only=False), np.nan,
                 pc.fill_null(flat, 0.0).to_numpy()), lengths


def _flatten_arrays(rows: list[Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """Fast path: every row already a 1-D float ndarray (as records columns are); else ``None``."""
    if not rows or set(map(type, rows)) != {np.ndarray}:
        return None
    if set(map(np.ndim, rows)) != {1}:
        return None
    flat = np.concatenate(rows)
    if flat.dtype.kind not in "fiub":
        return None
    return flat.astype(float, copy=False), np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))


def _flatten_rows(rows: list[Any], name: str) -> tuple[np.ndarray, np.ndarray]:
    """The general path: each row converted and checked on its own, errors naming the row."""
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
    return flat, lengths


def list_lengths(values: Any, name: str) -> np.ndarray:
    """Per-example list lengths (``-1`` where the list is missing), without flattening the values."""
    arrow = _arrow_lists(values)
    if arrow is not None:
        lengths = pc.list_value_length(arrow).to_numpy(zero_copy_only=False)
        return np.where(np.isnan(lengths.astype(float)), -1, lengths).astype(np.int64)
    return np.fromiter((-1 if v is None else len(v) for v in values), dtype=np.int64)


def ragged_to_padded(flat: np.ndarray, lengths: np.ndarray, fill: float) -> tuple[np.ndarray, np.ndarray]:
    """Turn ``(flat, lengths)`` into a padded ``(n, max_len)`` array and its validity mask."""
    n = lengths.size
    width = int(lengths.max()) if n else 0
    mask = np.arange(width)[None, :] < lengths[:, None]
    padded = np.full((n, width), fill, dtype=float)
    padded[mask] = flat
    return padded, mask
