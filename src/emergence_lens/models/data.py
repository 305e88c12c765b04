"""The ladder's training stream: GPT-3-format arithmetic, deterministic per step.

Each sequence is ``k_shot + 1`` solved problems of one (operation, digits) kind, exactly as the
evaluation prompts look (``"\\n\\nQ: What is 12 plus 34?\\n\\nA: 46"``), so a model sees the
2-shot format it is tested in.  The loss is taken on the answer digits and the newline that ends
each answer (operands are random and carry nothing to learn).  Batch ``i`` depends only on
``(seed, i)``, so a resumed run sees exactly the batches an uninterrupted run would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emergence_lens.models.tokenizer import CHARACTERS, SPECIAL_TOKENS
from emergence_lens.tasks.arithmetic import format_question

__all__ = ["TRAIN_MIX", "Batch", "training_batch", "char_ids", "PAD_ID", "IGNORE"]

#: (operation, operand digits) kinds in the training mixture, sampled uniformly.
TRAIN_MIX: tuple[tuple[str, int], ...] = (("plus", 1), ("plus", 2), ("plus", 3), ("plus", 4),
                                          ("times", 1), ("times", 2))
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


def _problem(rng: np.random.Generator, op: str, digits: int) -> tuple[str, str]:
    lo, hi = 10 ** (digits - 1) if digits > 1 else 0, 10 ** digits
    a, b = (int(v) for v in rng.integers(lo, hi, size=2))
    return format_question(a, b, op) + " ", str(a + b if op == "plus" else a * b)  # type: ignore[arg-type]


def training_batch(step: int, batch_size: int, seq_len: int, *, seed: int = 0, k_shot: int = 2,
                   mix: Sequence[tuple[str, int]] = TRAIN_MIX) -> Batch:
    """The training batch for ``step`` (same arguments, same batch)."""
    rng = np.random.default_rng([seed, step])
    ids = np.full((batch_size, seq_len), PAD_ID, dtype=np.int64)
    labels = np.full((batch_size, seq_len), IGNORE, dtype=np.int64)
    n_loss = 0
    for r in range(batch_size):
        op, digits = mix[int(rng.integers(len(mix)))]
        toks: list[int] = []
        mask: list[bool] = []
        for j in range(k_shot + 1):
            q, ans = _problem(rng, op, digits)
            qi, ai = char_ids(q), char_ids(ans)
            # The newline that ends an answer is the first character of the next question
            # ("\n\nQ: ..."), exactly as in GPT-3-format prompts; it is a loss token.
            toks += qi + ai
            mask += [j > 0] + [False] * (len(qi) - 1) + [True] * len(ai)
        toks += char_ids("\n")
        mask += [True]
        if len(toks) > seq_len + 1:
            raise ValueError(f"seq_len {seq_len} too short for {op} with {digits} digits")
        t = np.asarray(toks)
        m = np.asarray(mask)
        ids[r, : len(t) - 1] = t[:-1]
        lab = np.where(m[1:], t[1:], IGNORE)
        labels[r, : len(t) - 1] = lab
        n_loss += int(m[1:].sum())
    return Batch(ids, labels, n_loss)
