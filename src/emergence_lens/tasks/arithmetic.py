"""Generate n-digit arithmetic problems in the GPT-3 few-shot format.

``"\\n\\nQ: What is 95 times 45?\\n\\nA: 4275"`` — with ``k`` solved shots before the question
(the paper used 2-shot).  Seeded: same arguments, same problems.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from emergence_lens.tasks.example import TaskExample

__all__ = ["generate_arithmetic", "format_question"]

Op = Literal["plus", "times"]


def format_question(a: int, b: int, op: Op) -> str:
    return f"\n\nQ: What is {a} {op} {b}?\n\nA:"


def _answer(a: int, b: int, op: Op) -> int:
    return a + b if op == "plus" else a * b


def generate_arithmetic(op: Op, n_digits: int, n: int, *, seed: int = 0, k_shot: int = 2,
                        target_length: int | None = None, max_tries: int = 1000) -> list[TaskExample]:
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

    Raises:
        ValueError: bad arguments, or ``target_length`` unreachable for these operands.
    """
    if op not in ("plus", "times"):
        raise ValueError(f"op must be 'plus' or 'times', got {op!r}")
    if n_digits < 1 or n < 1 or k_shot < 0:
        raise ValueError("need n_digits >= 1, n >= 1, k_shot >= 0")
    lo, hi = 10 ** (n_digits - 1), 10 ** n_digits
    rng = np.random.default_rng(seed)

    def draw() -> tuple[int, int]:
        for _ in range(max_tries):
            a, b = (int(v) for v in rng.integers(lo, hi, size=2))
            if target_length is None or len(str(_answer(a, b, op))) == target_length:
                return a, b
        raise ValueError(f"no {n_digits}-digit {op} problem has a {target_length}-digit answer "
                         f"in {max_tries} draws")

    seen: set[tuple[int, int]] = set()
    out = []
    task = f"{n_digits}digit_{op}" + (f"_L{target_length}" if target_length else "")
    repeats = 0
    while len(out) < n:
        a, b = draw()
        # Distinct questions while the space allows; once max_tries draws in a row repeat,
        # the space is (nearly) exhausted and repeats are accepted.
        if (a, b) in seen and repeats < max_tries:
            repeats += 1
            continue
        repeats = 0
        seen.add((a, b))
        shots = []
        while len(shots) < k_shot:
            c, d = draw()
            if (c, d) != (a, b):
                shots.append(format_question(c, d, op) + f" {_answer(c, d, op)}")
        prompt = "".join(shots) + format_question(a, b, op)
        out.append(TaskExample(task, str(len(out)), prompt, str(_answer(a, b, op))))
    return out
