"""Generate n-digit arithmetic problems in the GPT-3 few-shot format or the compact format.

* ``"gpt3"``: ``"\\n\\nQ: What is 95 times 45?\\n\\nA: 4275"`` — with ``k`` solved shots before the
  question (the paper used 2-shot); the answer follows one space.
* ``"compact"``: ``"95*45="`` -> ``"4275"`` (shots are whole lines before it, ``"12+34=46\\n"``);
  the ladder trained here (:mod:`emergence_lens.models.ladder`) reads and writes this format.

Both are a plain prompt -> answer completion (lm-evaluation-harness runs either).  Seeded: same
arguments, same problems.
"""

from __future__ import annotations

import hashlib
from typing import Literal

import numpy as np

from emergence_lens.tasks.example import TaskExample

__all__ = ["generate_arithmetic", "format_question", "format_compact", "FORMATS", "answer_of", "is_heldout"]

Op = Literal["plus", "times"]
Format = Literal["gpt3", "compact"]
#: Prompt formats :func:`generate_arithmetic` writes.
FORMATS: tuple[str, ...] = ("gpt3", "compact")
_SYMBOL = {"plus": "+", "times": "*"}


def format_question(a: int, b: int, op: Op) -> str:
    return f"\n\nQ: What is {a} {op} {b}?\n\nA:"


def format_compact(a: int, b: int, op: Op) -> str:
    """``"95*45="``: the compact question (the answer follows directly, then a newline)."""
    return f"{a}{_SYMBOL[op]}{b}="


def answer_of(a: int, b: int, op: Op) -> int:
    """``a + b`` or ``a * b``."""
    return a + b if op == "plus" else a * b




def is_heldout(a: int, b: int, op: Op) -> bool:
    """Whether ``a op b`` is in the held-out half of the problem space: a fixed hash of the problem
    (BLAKE2b, so the same on every machine and Python).  The ladder trains only on the other half;
    ``generate_arithmetic(..., heldout=True)`` draws only from this one."""
    digest = hashlib.blake2b(f"{op}:{a}:{b}".encode(), digest_size=1).digest()
    return bool(digest[0] & 1)


def generate_arithmetic(op: Op, n_digits: int, n: int, *, seed: int = 0, k_shot: int = 2,
                        target_length: int | None = None, max_tries: int = 1000,
                        format: Format = "gpt3", heldout: bool = False,
                        training_half: bool = False) -> list[TaskExample]:
    """``n`` problems on two ``n_digits``-digit operands (leading digit non-zero).

    Args:
        op: ``"plus"`` or ``"times"``.
        n_digits: digits per operand.
        n: number of problems (distinct questions when the space allows).
        seed: RNG seed.
        k_shot: solved examples prepended to each prompt (drawn from the same distribution,
            never the question itself).
        target_length: if set, keep only problems whose answer has exactly this many digits.
        max_tries: draws per problem before giving up on ``target_length``.
        format: ``"gpt3"`` (default) or ``"compact"`` (see the module docstring).
        heldout: draw questions and shots only from the held-out half of the problem space
            (:func:`is_heldout`), the half the ladder never trains on.
        training_half: draw only from the other half (finetuning data that no evaluation set
            of ``heldout=True`` ever contains).

    Raises:
        ValueError: bad arguments, or ``target_length`` unreachable for these operands.
    """
    if op not in ("plus", "times"):
        raise ValueError(f"op must be 'plus' or 'times', got {op!r}")
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
    if heldout and training_half:
        raise ValueError("heldout and training_half exclude each other")
    if n_digits < 1 or n < 1 or k_shot < 0:
        raise ValueError("need n_digits >= 1, n >= 1, k_shot >= 0")
    lo, hi = 10 ** (n_digits - 1), 10 ** n_digits
    rng = np.random.default_rng(seed)

    def draw() -> tuple[int, int]:
        for _ in range(max_tries):
            a, b = (int(v) for v in rng.integers(lo, hi, size=2))
            if target_length is not None and len(str(answer_of(a, b, op))) != target_length:
                continue
            if (heldout or training_half) and is_heldout(a, b, op) != heldout:
                continue
            return a, b
        raise ValueError(f"no {n_digits}-digit {op} problem has a {target_length}-digit answer "
                         f"in {max_tries} draws")

    seen: set[tuple[int, int]] = set()
    out = []
    task = f"{n_digits}digit_{op}" + (f"_L{target_length}" if target_length else "")
    repeats = 0
    exhausted = False
    while len(out) < n:
        a, b = draw()
        # Distinct questions while the space allows; once max_tries draws in a row repeat,
        # the space is (nearly) exhausted and from then on repeats are accepted.
        if (a, b) in seen and not exhausted:
            repeats += 1
            exhausted = repeats >= max_tries
            continue
        repeats = 0
        seen.add((a, b))
        shots = []
        while len(shots) < k_shot:
            c, d = draw()
            if (c, d) != (a, b):
                shots.append(format_question(c, d, op) + f" {answer_of(c, d, op)}" if format == "gpt3"
                             else format_compact(c, d, op) + f"{answer_of(c, d, op)}\n")
        prompt = "".join(shots) + (format_question(a, b, op) if format == "gpt3" else format_compact(a, b, op))
        out.append(TaskExample(task, str(len(out)), prompt, str(answer_of(a, b, op))))
    return out
