"""Multiple-choice grade and Brier score (Schaeffer et al. 2023, Fig. 2E-F and Fig. 6).

Both are computed from the same per-option log-likelihoods ``l_ik`` (e.g. the summed log-prob
of each answer continuation).  The option distribution is their softmax over the example's
options, ``q_ik = exp(l_ik) / sum_k' exp(l_ik')``.

* ``multiple_choice_grade``: 1 if the correct option has the largest ``q`` (a step: discontinuous).
* ``brier_score``: the standard multiclass Brier score ``sum_k (q_ik - y_ik)**2`` in ``[0, 2]``,
  continuous in ``q``; lower is better.
* ``bigbench_brier_score``: BIG-bench's ``calibration_multiple_choice_brier_score``, which treats
  every (example, option) pair as a binary forecast and averages ``(q_ik - y_ik)**2`` over
  *options*; per example this is the multiclass score divided by the number of options ``K_i``
  (range ``[0, 2/K_i]``).  BIG-bench pools option pairs, so an example with more options weighs
  more: its registry entry carries the weights ``K_i``, and a curve's value is
  ``sum_i K_i b_i / sum_i K_i`` — BIG-bench's own number on ragged options too (tested against
  BIG-bench's ``task_metrics.py``); with a constant ``K`` that is the plain mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emergence_lens.metrics.ragged import as_ragged, ragged_to_padded

__all__ = ["multiple_choice_grade", "brier_score", "bigbench_brier_score", "choice_probabilities",
           "correct_choice_probability", "choice_scores"]


@dataclass
class _Choices:
    """Prepared inputs: option log-likelihoods padded with ``-inf`` to ``(n, max_options)``, their
    mask, the gold options and option counts; the softmax computed once, on first use."""

    padded: np.ndarray
    mask: np.ndarray
    correct: np.ndarray
    lengths: np.ndarray
    _q: np.ndarray | None = None

    @property
    def q(self) -> np.ndarray:
        if self._q is None:
            self._q = _softmax(self.padded, self.mask)
        return self._q


def _prepare(choice_logprobs: Sequence[Sequence[float]] | np.ndarray,
             correct_choice: Sequence[int] | np.ndarray) -> _Choices:
    flat, lengths = as_ragged(choice_logprobs, "choice_logprobs")
    if (lengths == 0).any():
        raise ValueError(f"choice_logprobs[{int(np.flatnonzero(lengths == 0)[0])}] has no options")
    correct = np.asarray(correct_choice)
    if correct.shape != (lengths.size,):
        raise ValueError(f"correct_choice has shape {correct.shape}, expected ({lengths.size},)")
    if correct.size and not np.issubdtype(correct.dtype, np.integer):
        as_int = correct.astype(np.int64)
        if not np.array_equal(as_int, correct):
            raise ValueError("correct_choice must hold integer option indices")
        correct = as_int
    correct = correct.astype(np.int64)
    bad = (correct < 0) | (correct >= lengths)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"correct_choice[{i}] = {correct[i]} is out of range for {lengths[i]} options")
    if (flat == np.inf).any():
        raise ValueError("choice_logprobs contains +inf")
    padded, mask = ragged_to_padded(flat, lengths, fill=-np.inf)
    return _Choices(padded, mask, correct, lengths)


def choice_probabilities(choice_logprobs: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """Softmax of each example's option log-likelihoods, padded with 0 to ``(n, max_options)``.

    A row whose options are all ``-inf`` gets the uniform distribution.
    """
    flat, lengths = as_ragged(choice_logprobs, "choice_logprobs")
    padded, mask = ragged_to_padded(flat, lengths, fill=-np.inf)
    return _softmax(padded, mask)


def _row_max(padded: np.ndarray) -> np.ndarray:
    """Each row's maximum, shape ``(n, 1)``: ``np.max(padded, axis=1)``, exactly (a maximum rounds
    nothing), as a running ``np.maximum`` over the few option columns — numpy reduces a short last
    axis row by row, ten times slower."""
    width = padded.shape[1]
    if width == 0 or width > 32:
        return np.max(padded, axis=1, keepdims=True)
    out = padded[:, 0].copy()
    for j in range(1, width):
        np.maximum(out, padded[:, j], out=out)
    return out[:, None]


def _softmax(padded: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Softmax of the rows of ``padded`` over ``mask`` (padding ``-inf``): ``exp(l - max)`` is 0 at the
    padding and at a ``-inf`` option; a row with no finite maximum (all ``-inf``, or NaN) is uniform."""
    row_max = _row_max(padded) if padded.size else padded
    no_max = ~np.isfinite(row_max)
    if no_max.any():
        padded = np.where(no_max & mask, 0.0, padded)
        row_max = np.where(no_max, 0.0, row_max)
    e = np.exp(padded - row_max)
    return e / e.sum(axis=1, keepdims=True)


def multiple_choice_grade(choice_logprobs: Sequence[Sequence[float]] | np.ndarray,
                          correct_choice: Sequence[int] | np.ndarray) -> np.ndarray:
    """Per-example multiple-choice grade: ``1[argmax_k l_ik == correct_i]``.

    Ties for the maximum share the credit: an example whose correct option ties with ``m - 1``
    others scores ``1/m`` (the expected grade under a random tie-break).

    Args:
        choice_logprobs: per-example option log-likelihoods (ragged allowed).
        correct_choice: index of the correct option per example.

    Returns:
        float array in ``[0, 1]``, higher is better.
    """
    return _grade(_prepare(choice_logprobs, correct_choice))


def _grade(c: _Choices) -> np.ndarray:
    if c.padded.shape[0] == 0:
        return np.empty(0)
    is_max = c.mask & (c.padded == _row_max(c.padded))
    n_max = is_max.sum(axis=1)
    return is_max[np.arange(c.padded.shape[0]), c.correct] / n_max


def brier_score(choice_logprobs: Sequence[Sequence[float]] | np.ndarray,
                correct_choice: Sequence[int] | np.ndarray) -> np.ndarray:
    """Per-example multiclass Brier score ``sum_k (q_ik - 1[k == correct_i])**2``.

    ``q`` is the softmax of the option log-likelihoods.  Range ``[0, 2]``; lower is better; a
    uniform guess over ``K`` options scores ``1 - 1/K``.
    """
    return _brier(_prepare(choice_logprobs, correct_choice))


def _brier(c: _Choices) -> np.ndarray:
    if c.padded.shape[0] == 0:
        return np.empty(0)
    q = c.q
    y = np.zeros_like(q)
    y[np.arange(q.shape[0]), c.correct] = 1.0
    return np.where(c.mask, (q - y) ** 2, 0.0).sum(axis=1)


def bigbench_brier_score(choice_logprobs: Sequence[Sequence[float]] | np.ndarray,
                         correct_choice: Sequence[int] | np.ndarray) -> np.ndarray:
    """Per-example BIG-bench ``calibration_multiple_choice_brier_score``: the per-option form.

    ``(1/K_i) sum_k (q_ik - 1[k == correct_i])**2`` = :func:`brier_score` / ``K_i``.  Lower is
    better; see the module docstring for how BIG-bench pools it.
    """
    c = _prepare(choice_logprobs, correct_choice)
    return _brier(c) / c.lengths


def correct_choice_probability(choice_logprobs: Sequence[Sequence[float]] | np.ndarray,
                               correct_choice: Sequence[int] | np.ndarray) -> np.ndarray:
    """Per-example probability mass on the correct option, ``q_i,correct`` (softmax over options).

    Linear in ``q`` and continuous: the smooth reading of the same option distribution whose argmax
    is the multiple-choice grade.  Range ``[0, 1]``, higher is better.
    """
    return _correct_probability(_prepare(choice_logprobs, correct_choice))


def _correct_probability(c: _Choices) -> np.ndarray:
    if c.padded.shape[0] == 0:
        return np.empty(0)
    return c.q[np.arange(c.padded.shape[0]), c.correct]


def choice_scores(choice_logprobs: Sequence[Sequence[float]] | np.ndarray,
                  correct_choice: Sequence[int] | np.ndarray) -> dict[str, np.ndarray]:
    """Every multiple-choice metric of this module at once, by name, from one preparation and one
    softmax: each equals its own function's result exactly (the same operations on the same
    arrays), for a caller that scores them all (the audit, one model's examples at a time)."""
    c = _prepare(choice_logprobs, correct_choice)
    brier = _brier(c)
    return {"multiple_choice_grade": _grade(c), "brier_score": brier, "bigbench_brier_score": brier / c.lengths,
            "correct_choice_probability": _correct_probability(c)}
