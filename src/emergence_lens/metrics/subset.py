"""Subset accuracy vs per-item accuracy (Schaeffer et al. 2023, Fig. 7 and 9).

Subset accuracy groups ``L`` items and counts a group only if *all* of them are right:
``E = a**L`` for per-item accuracy ``a`` — the vision analog of exact match, nonlinear and
discontinuous; per-item accuracy is its linear partner.

In records, a group is one example whose ``target`` and ``prediction`` are its ``L`` labels
separated by spaces (``"7 2 1"``); :func:`label_sequence_scores` scores such pairs position by
position (a Hamming comparison, not an edit distance: ``"1 2 3"`` vs ``"2 3 1"`` has 3 wrong
items, though its Levenshtein distance is 2).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emergence_lens.metrics._validation import check_same_length

__all__ = ["per_item_accuracy", "subset_accuracy", "label_sequence_scores"]


def _as_labels(values: Sequence[object] | np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ValueError(f"{name}[{int(np.flatnonzero(np.isnan(arr))[0])}] is NaN")
    return arr


def per_item_accuracy(y_true: Sequence[object] | np.ndarray, y_pred: Sequence[object] | np.ndarray) -> np.ndarray:
    """Per-item correctness ``1[y_true_i == y_pred_i]`` as floats (mean = accuracy)."""
    t, p = _as_labels(y_true, "y_true"), _as_labels(y_pred, "y_pred")
    check_same_length(y_true=t, y_pred=p)
    return (t == p).astype(float)


def subset_accuracy(y_true: Sequence[object] | np.ndarray, y_pred: Sequence[object] | np.ndarray, *,
                    groups: Sequence[object] | np.ndarray | None = None,
                    subset_size: int | None = None) -> np.ndarray:
    """Per-group score: 1 if every item of the group is right, else 0.

    Give exactly one of:

    Args:
        groups: a group id per item; groups are returned in order of first appearance.
        subset_size: ``L``; consecutive items form groups of ``L`` (the item count must be a
            multiple of ``L`` — nothing is silently dropped).

    Returns:
        float array of 0.0/1.0, one per group.
    """
    correct = per_item_accuracy(y_true, y_pred)
    if (groups is None) == (subset_size is None):
        raise ValueError("give exactly one of groups= or subset_size=")
    if subset_size is not None:
        if int(subset_size) != subset_size or subset_size < 1:
            raise ValueError(f"subset_size must be a positive integer, got {subset_size!r}")
        if correct.size % subset_size:
            raise ValueError(f"{correct.size} items do not split into groups of {subset_size}")
        return correct.reshape(-1, int(subset_size)).min(axis=1)
    g = np.asarray(groups)
    check_same_length(items=correct, groups=g)
    _, first, inverse = np.unique(g, return_index=True, return_inverse=True)
    n_groups = first.size
    wrong = np.bincount(inverse, weights=1.0 - correct, minlength=n_groups)
    order = np.argsort(first, kind="stable")
    return (wrong == 0).astype(float)[order]


def label_sequence_scores(targets: Sequence[str], predictions: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per-group (per-item accuracy, subset accuracy) for space-separated label sequences.

    For a target of ``L`` labels ``t`` and predicted labels ``p``: per-item accuracy
    ``(1/L) sum_i 1[p_i == t_i]`` (positions ``p`` lacks count as wrong); subset accuracy
    ``1[p == t]`` (all ``L`` right and no extra labels).

    Args:
        targets, predictions: one string per group, labels separated by whitespace.

    Returns:
        two float arrays, one value per group.
    """
    check_same_length(targets=targets, predictions=predictions)
    item = np.empty(len(targets))
    subset = np.empty(len(targets))
    for i, (t_text, p_text) in enumerate(zip(targets, predictions, strict=True)):
        if not isinstance(t_text, str) or not isinstance(p_text, str):
            raise TypeError(f"row {i}: target and prediction must be strings, got "
                            f"{type(t_text).__name__} and {type(p_text).__name__}")
        t, p = t_text.split(), p_text.split()
        if not t:
            raise ValueError(f"row {i}: target has no labels")
        item[i] = sum(a == b for a, b in zip(t, p, strict=False)) / len(t)
        subset[i] = float(t == p)
    return item, subset
