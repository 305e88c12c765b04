"""Vectorised, seeded bootstrap over examples.

Each model's per-example scores are resampled with replacement; a replicate of a family's curve
is the vector of resampled means.  No Python loop over resamples:

* **Few distinct values** (binary accuracy, integer edit distances): resampling ``n`` scores with
  replacement is *exactly* a multinomial draw of counts over the distinct values, so a replicate
  mean is ``counts @ values / n``.  Cost ``O(B * K)`` instead of ``O(B * n)``.
* **Many distinct values**: index resampling in chunks of bounded memory.

``paired=True`` resamples the *same* example indices for every model (all models scored on the
same test set), keeping the correlation between models; otherwise each model is resampled on its
own.  Percentile intervals come from :func:`percentile_ci`.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from emergence_lens.codes import combine_codes
from emergence_lens.emergence.score import EmergenceScoreError, emergence_scores, prepare_curve

__all__ = ["curve_seed", "bootstrap_means", "bootstrap_column_means", "design_blocks", "percentile_ci",
           "bootstrap_emergence", "BootstrapResult"]

#: Elements of a resampled-index block held in memory at once.
_CHUNK_ELEMENTS = 1 << 24


def curve_seed(seed: int, key: Iterable[str]) -> np.random.Generator:
    """A generator for one curve that depends only on ``seed`` and the curve's key, so adding a
    metric or task never changes another curve's CI."""
    digest = zlib.crc32("\x00".join(key).encode("utf-8"))
    return np.random.default_rng(np.random.SeedSequence([int(seed), digest]))


def _as_scores(s: np.ndarray | Sequence[float], name: str) -> np.ndarray:
    arr = np.asarray(s, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name}: need a non-empty 1-D array of per-example scores")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: per-example scores contain NaN or inf "
                         f"(at index {int(np.flatnonzero(~np.isfinite(arr))[0])})")
    return arr


def _many_distinct(column: np.ndarray) -> bool:
    """Whether the first quarter of ``column`` alone has more than ``n/8`` distinct values (then the
    whole has too): a sort of a quarter of a continuous score's values, not an argsort of them all."""
    n = len(column)
    return np.unique(column[:n // 4 + 1]).size * 8 > n


def _unique_rows(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``np.unique(values, axis=0, return_inverse=True)`` for rows of few distinct values, without
    sorting them; ``None`` when there are more than ``n/8`` distinct rows (too many for the counts
    path), as soon as one column's first quarter shows it (:func:`_many_distinct`).

    Each row is hashed to one integer (its columns' bits, ``-0.0`` read as ``0.0``, weighted by
    :func:`_hash_weights`), the hashes given codes by a hash table, and every row checked to equal
    its code's first row, so the distinct rows are exact; only if two distinct rows shared a hash are
    they told apart by per-column codes (:func:`_unique_rows_by_codes`).  The distinct rows are then
    sorted as ``np.unique`` sorts them, each the first of its kind.  Rows are read in blocks of about
    a megabyte."""
    n, m = values.shape
    if any(_many_distinct(values[:, j]) for j in range(m)):
        return None
    weights, step = _hash_weights(m), max(1, (1 << 17) // m)
    h = np.empty(n, dtype=np.uint64)
    for start in range(0, n, step):
        h[start:start + step] = _bits(values[start:start + step]) @ weights  # modulo 2**64
    codes, hashes = pd.factorize(h)
    if len(hashes) * 8 > n:
        return None
    first = _first_rows(codes)
    kinds = _bits(values[first])
    if not all(np.array_equal(kinds[codes[start:start + step]], _bits(values[start:start + step]))
               for start in range(0, n, step)):
        return _unique_rows_by_codes(values)  # two distinct rows with one hash: exact codes instead
    order = np.lexsort([values[first, j] for j in range(m - 1, -1, -1)])  # the first column sorts first
    rank = np.empty(len(hashes), dtype=np.intp)
    rank[order] = np.arange(len(hashes))
    return values[first[order]], rank[codes]


def _hash_weights(m: int) -> np.ndarray:
    """``m`` fixed odd 64-bit weights of the rows' hash (:func:`_unique_rows`)."""
    return np.random.default_rng(0x5EED).integers(0, 2**63, m, dtype=np.uint64) * np.uint64(2) + np.uint64(1)


def _bits(values: np.ndarray) -> np.ndarray:
    """Floats' bits as integers, ``-0.0`` as ``0.0`` (one value to ``np.unique``)."""
    return (values + 0.0).view(np.uint64)


def _first_rows(codes: np.ndarray) -> np.ndarray:
    """Each code's first row, for codes numbered in order of first appearance (``pd.factorize``'s):
    the rows where a code first exceeds every code before it."""
    return np.flatnonzero(np.r_[True, codes[1:] > np.maximum.accumulate(codes)[:-1]])


def _unique_rows_by_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`_unique_rows` from each column's sorted codes combined in mixed radix (one int64 key per
    row whose order is the rows' lexicographic order): exact whatever the hashes, one hash table per
    column."""
    n, m = values.shape
    columns = []
    for j in range(m):
        codes, u = pd.factorize(values[:, j], sort=True)  # np.unique's codes (-0.0 is 0.0), by a hash table
        if len(u) * 8 > n:
            return None
        columns.append((codes.astype(np.min_scalar_type(len(u)), copy=False), len(u)))  # a byte or two a row
    key = combine_codes(columns, n)
    codes, keys = pd.factorize(key)
    if len(keys) * 8 > n:
        return None
    first = _first_rows(codes)
    order = np.argsort(keys, kind="stable")
    rank = np.empty(len(keys), dtype=np.intp)
    rank[order] = np.arange(len(keys))
    return values[first[order]], rank[codes]


def _resample_matrix(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap means of the columns of ``values`` (shape ``(n, m)``), resampling rows jointly.

    Returns shape ``(n_boot, m)``.
    """
    n, m = values.shape
    # Few distinct rows (binary or graded scores): resample their counts instead of the rows.  A
    # column with more than n/8 distinct values rules that out without sorting whole rows.
    k = n + 1
    if m == 1 and not _many_distinct(values[:, 0]):  # 1-D unique is much faster than unique rows
        u, inverse = np.unique(values[:, 0], return_inverse=True)
        uniq, k = u[:, None], len(u)
    elif m > 1:
        rows = _unique_rows(values)
        if rows is not None:
            uniq, inverse = rows
            k = uniq.shape[0]
    if k * 8 <= n:
        counts = np.bincount(inverse.ravel(), minlength=k)
        draws = rng.multinomial(n, counts / n, size=n_boot)
        return (draws @ uniq) / n
    out = np.empty((n_boot, m))
    step = max(1, _CHUNK_ELEMENTS // (n * m))
    flat = values[:, 0] if m == 1 else None
    for start in range(0, n_boot, step):
        b = min(step, n_boot - start)
        idx = rng.integers(0, n, size=(b, n))
        if flat is not None:
            out[start:start + b] = flat[idx].mean(axis=1)[:, None]
        else:  # counts of each example per resample, then one matrix product (no (b, n, m) gather)
            counts = np.bincount((idx + (np.arange(b) * n)[:, None]).ravel(), minlength=b * n).reshape(b, n)
            out[start:start + b] = (counts @ values) / n
    return out


def bootstrap_means(scores: Sequence[np.ndarray | Sequence[float]], n_boot: int = 1000,
                    seed: int | np.random.Generator = 0, *, paired: bool = False) -> np.ndarray:
    """Bootstrap replicates of each model's mean score.

    Args:
        scores: one array of per-example scores per model (in curve order).
        n_boot: number of resamples ``B``.
        seed: seed or generator; same seed and input, same replicates.
        paired: resample the same example indices for every model (arrays must align).

    Returns:
        array of shape ``(B, n_models)``.
    """
    if n_boot < 1:
        raise ValueError("n_boot must be >= 1")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    arrays = [_as_scores(s, f"scores[{i}]") for i, s in enumerate(scores)]
    if not arrays:
        raise ValueError("need at least one model")
    if paired:
        sizes = {a.size for a in arrays}
        if len(sizes) != 1:
            raise ValueError(f"paired bootstrap needs equal example counts, got {sorted(sizes)}")
        return _resample_matrix(np.column_stack(arrays), n_boot, rng)
    return np.column_stack([_resample_matrix(a[:, None], n_boot, rng)[:, 0] for a in arrays])


def bootstrap_column_means(designs: Sequence[np.ndarray], n_boot: int = 1000,
                           seed: int | np.random.Generator = 0, *, paired: bool = False) -> list[np.ndarray]:
    """Bootstrap means of every column of each model's per-example design matrix, with the *same*
    resampled examples for all columns of a model (and, ``paired``, for all models).

    This is what pairs resamples across metrics: put a sharp metric's per-example scores and its
    partner's (or the ingredient that predicts it) in columns of one matrix, and every replicate
    of one is computed on exactly the examples of the other.

    Args:
        designs: one ``(n_examples, m)`` float array per model (curve order), same ``m``.
        paired: the models share their test examples, row ``i`` being the same example for every
            model (then the rows are resampled jointly across models too).

    Returns:
        one ``(n_boot, m)`` array of replicate column means per model.
    """
    if n_boot < 1:
        raise ValueError("n_boot must be >= 1")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    mats = [np.asarray(d, dtype=float) for d in designs]
    if not mats:
        raise ValueError("need at least one model")
    for i, d in enumerate(mats):
        if d.ndim != 2 or d.shape[0] == 0:
            raise ValueError(f"designs[{i}]: need a non-empty (n_examples, m) array, got shape {d.shape}")
        if not np.isfinite(d).all():
            raise ValueError(f"designs[{i}]: contains NaN or inf")
    m = mats[0].shape[1]
    if any(d.shape[1] != m for d in mats):
        raise ValueError("every design needs the same number of columns")
    if paired:
        if len({d.shape[0] for d in mats}) != 1:
            raise ValueError("paired resampling needs the same examples for every model")
        joined = _blocks_of(mats)
        both = _resample_matrix(np.hstack(mats) if joined is None else joined, n_boot, rng)
        return [both[:, i * m:(i + 1) * m] for i in range(len(mats))]
    return [_resample_matrix(d, n_boot, rng) for d in mats]


def design_blocks(designs: Iterable[np.ndarray], count: int) -> list[np.ndarray]:
    """``count`` models' ``(n, m)`` design matrices (rows: the examples every model shares) as the
    consecutive column blocks of one array, filled one design at a time as ``designs`` yields them:
    the paired bootstrap (:func:`bootstrap_column_means`) resamples that array as it is instead of
    stacking a copy of them all, and no design is held apart from it for longer than its copy.

    Raises:
        ValueError: the designs differ in shape (then the models do not share their examples).
    """
    out: list[np.ndarray] = []
    joint = np.empty((0, 0))
    for i, d in enumerate(designs):
        if i == 0:
            joint = np.empty((d.shape[0], d.shape[1] * count))
        m = d.shape[1]
        if d.shape != (joint.shape[0], joint.shape[1] // count):
            raise ValueError("paired resampling needs the same examples for every model")
        joint[:, i * m:(i + 1) * m] = d
        out.append(joint[:, i * m:(i + 1) * m])
    return out


def _blocks_of(mats: Sequence[np.ndarray]) -> np.ndarray | None:
    """The one array whose consecutive column blocks ``mats`` are, in order (what ``np.hstack(mats)``
    would copy), or ``None``: a caller that builds its designs in one array spares that copy."""
    base = mats[0].base
    if not isinstance(base, np.ndarray) or base.ndim != 2 or base.dtype != np.float64:
        return None
    m = mats[0].shape[1]
    if base.shape != (mats[0].shape[0], m * len(mats)):
        return None
    width = base.strides[1] * m
    for i, d in enumerate(mats):
        if (d.base is not base or d.strides != base.strides
                or d.__array_interface__["data"][0] != base.__array_interface__["data"][0] + i * width):
            return None
    return base


def percentile_ci(replicates: np.ndarray, confidence: float = 0.95, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval ``[q_(alpha/2), q_(1-alpha/2)]`` of bootstrap replicates along ``axis``."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    a = (1 - confidence) / 2
    lo, hi = np.quantile(replicates, [a, 1 - a], axis=axis)
    return lo, hi


@dataclass(frozen=True)
class BootstrapResult:
    """An emergence score with its bootstrap distribution.

    Attributes:
        score: emergence score of the observed curve.
        ci_low, ci_high: percentile interval.
        replicates: emergence score of each resampled curve, shape ``(B,)``.
        curve_replicates: the resampled curves, shape ``(B, n_models)``, ordered by scale.
    """

    score: float
    ci_low: float
    ci_high: float
    replicates: np.ndarray
    curve_replicates: np.ndarray


def bootstrap_emergence(x: Sequence[float] | np.ndarray, scores: Sequence[np.ndarray | Sequence[float]], *,
                        n_boot: int = 1000, confidence: float = 0.95,
                        seed: int | np.random.Generator = 0, paired: bool = False,
                        higher_is_better: bool = True, min_step: float | None = None) -> BootstrapResult:
    """Emergence score of a family's curve with a bootstrap CI over examples.

    Args:
        x: scale of each model.
        scores: per-example scores of each model (same order as ``x``).
        higher_is_better: if False the curve is negated first, so a positive score always means
            improvement with scale.

    Raises:
        EmergenceScoreError: fewer than 3 models or duplicate scales.
    """
    xa = np.asarray(x, dtype=float)
    if xa.size != len(scores):
        raise EmergenceScoreError(f"{xa.size} scales but {len(scores)} score arrays")
    order = np.argsort(xa, kind="stable")
    sign = 1.0 if higher_is_better else -1.0
    observed = np.array([np.mean(_as_scores(scores[i], f"scores[{i}]")) for i in order]) * sign
    prepare_curve(xa[order], observed)  # validates: >= 3 points, no duplicate scale
    reps = bootstrap_means([scores[i] for i in order], n_boot, seed, paired=paired) * sign
    dist = emergence_scores(reps, min_step=min_step)
    score = float(emergence_scores(observed[None, :], min_step=min_step)[0])
    lo, hi = percentile_ci(dist, confidence)
    return BootstrapResult(score, float(lo), float(hi), dist, reps)
