"""The ladder's training stream: compact arithmetic, one problem per row, deterministic per step.

Each row is one solved problem in the compact format the ladder is evaluated in
(``"1234+5678=6912\\n"``, :func:`emergence_lens.tasks.arithmetic.format_compact`), starting at
position 0, so a digit's place is where the evaluation prompt puts it.  The loss is taken on the
answer digits and the newline that ends the answer (operands are random and carry nothing to
learn).  A batch is as wide as its longest row.  Batch ``i`` depends only on ``(seed, i)``, so a
resumed run sees exactly the batches an uninterrupted run would.

Held out: the problem space is split in two halves by a hash of ``(op, a, b)``
(:func:`emergence_lens.tasks.arithmetic.is_heldout`); training draws only from the training half
and the evaluation sets only from the held-out half, so no test problem is ever trained on, for
any digit count (1-digit sums included: the model learns them from other problems).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emergence_lens.models.tokenizer import CHARACTERS, SPECIAL_TOKENS
from emergence_lens.tasks.arithmetic import answer_of, format_compact, is_heldout

__all__ = ["TRAIN_MIX", "Batch", "training_batch", "pack_rows", "char_ids", "PAD_ID", "IGNORE"]

#: ((operation, operand digits), weight) in the training mixture; mostly the longer sums the
#: ladder is meant to learn, a quarter multiplication.
TRAIN_MIX: tuple[tuple[tuple[str, int], int], ...] = (
    (("plus", 1), 1), (("plus", 2), 2), (("plus", 3), 3), (("plus", 4), 4),
    (("times", 1), 1), (("times", 2), 3),
)
PAD_ID = SPECIAL_TOKENS.index("<pad>")
IGNORE = -100
_VOCAB = {ch: i for i, ch in enumerate(list(SPECIAL_TOKENS) + list(dict.fromkeys(CHARACTERS)))}


def char_ids(text: str) -> list[int]:
    """Token ids of ``text`` under the character tokenizer (same ids as the HF tokenizer)."""
    unk = _VOCAB["<unk>"]
    return [_VOCAB.get(ch, unk) for ch in text]


@dataclass(frozen=True)
class Batch:
    input_ids: np.ndarray  # (B, T) int64
    labels: np.ndarray  # (B, T) int64, IGNORE where no loss
    n_loss_tokens: int


def _draw(rng: np.random.Generator, op: str, digits: int) -> tuple[int, int]:
    lo, hi = (10 ** (digits - 1) if digits > 1 else 0), 10 ** digits
    while True:
        a, b = (int(v) for v in rng.integers(lo, hi, size=2))
        if not is_heldout(a, b, op):  # type: ignore[arg-type]
            return a, b


def pack_rows(rows: Sequence[tuple[Sequence[int], int]]) -> Batch:
    """One batch from rows ``(token ids, prompt length)``: inputs are each row but its last token,
    labels the next token wherever it belongs to the answer (after the prompt), ``IGNORE`` elsewhere
    and on padding; as wide as the longest row."""
    width = max(len(t) for t, _ in rows) - 1
    ids = np.full((len(rows), width), PAD_ID, dtype=np.int64)
    labels = np.full((len(rows), width), IGNORE, dtype=np.int64)
    n_loss = 0
    for r, (t, nq) in enumerate(rows):
        ids[r, : len(t) - 1] = t[:-1]
        labels[r, nq - 1: len(t) - 1] = t[nq:]
        n_loss += len(t) - nq
    return Batch(ids, labels, n_loss)


def training_batch(step: int, batch_size: int, seq_len: int, *, seed: int = 0,
                   mix: Sequence[tuple[tuple[str, int], int]] = TRAIN_MIX) -> Batch:
    """The training batch for ``step`` (same arguments, same batch); ``seq_len`` is the widest row
    allowed (a row that does not fit raises ``ValueError``)."""
    rng = np.random.default_rng([seed, step])
    kinds = [k for k, _ in mix]
    weights = np.asarray([w for _, w in mix], dtype=float)
    picks = rng.choice(len(kinds), size=batch_size, p=weights / weights.sum())
    rows: list[tuple[Sequence[int], int]] = []
    for r in range(batch_size):
        op, digits = kinds[int(picks[r])]
        a, b = _draw(rng, op, digits)
        q = char_ids(format_compact(a, b, op))  # type: ignore[arg-type]
        ans = char_ids(f"{answer_of(a, b, op)}\n")  # type: ignore[arg-type]
        if len(q) + len(ans) > seq_len + 1:
            raise ValueError(f"seq_len {seq_len} too short for {op} with {digits} digits")
        rows.append((q + ans, len(q)))
    return pack_rows(rows)
