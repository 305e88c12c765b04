"""PassUntil sampling (Hu et al. 2023): draw completions per problem until K are right or M are drawn.

Greedy exact match on n problems cannot see a pass rate below ~1/n; sampling at temperature ``T``
until ``K`` passes measures it.  :func:`sample_until_pass` records, per problem, the attempts made
and the passes seen; :func:`emergence_lens.emergence.pass_rate` turns them into a pass rate with a CI.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["sample_until_pass"]


def sample_until_pass(backend, prompts: Sequence[str], targets: Sequence[str], *, k: int, max_samples: int,
                      temperature: float = 1.0, seed: int = 0, per_round: int = 8,
                      max_per_round: int = 256, max_new_tokens: int | None = None,
                      stop: Sequence[str] = ("\n",)) -> tuple[np.ndarray, np.ndarray]:
    """Per problem: ``(attempts, passes)``.  Sampling stops at the K-th pass (``attempts`` is then the
    index of that pass, so the count follows inverse binomial sampling exactly) or after
    ``max_samples`` draws.  Draws are batched across problems: ``per_round`` per unfinished problem
    in the first round, doubling each round up to ``max_per_round`` (a hard problem reaches its cap
    in few large batches; an easy one stops after a small one).  The backend's ``sample`` is seeded
    per round, so the same seed gives the same counts."""
    if k < 1 or max_samples < k:
        raise ValueError(f"need 1 <= K <= max_samples, got K={k}, max_samples={max_samples}")
    if temperature <= 0:
        raise ValueError("sampling until a pass needs temperature > 0 (greedy draws are all the same)")
    sample = getattr(backend, "sample", None)
    if not callable(sample):
        raise ValueError(f"backend {getattr(backend, 'name', backend)!r} cannot sample; use the hf backend")
    n = len(prompts)
    if len(targets) != n:
        raise ValueError("prompts and targets differ in length")
    budget = max_new_tokens or max(len(t) for t in targets) + 2
    attempts = np.zeros(n, dtype=np.int64)
    passes = np.zeros(n, dtype=np.int64)
    wanted = [t.strip() for t in targets]
    rnd = 0
    while True:
        active = np.flatnonzero((passes < k) & (attempts < max_samples))
        if not len(active):
            break
        size = min(per_round * 2 ** rnd, max(per_round, max_per_round))
        draws = {int(i): int(min(size, max_samples - attempts[i])) for i in active}
        batch_p = [prompts[i] for i in active for _ in range(draws[int(i)])]
        outs = sample(batch_p, budget, stop, temperature=temperature, seed=seed * 1_000_003 + rnd)
        pos = 0
        for i in active:
            for _ in range(draws[int(i)]):
                ok = outs[pos].strip() == wanted[i]
                pos += 1
                if passes[i] >= k:
                    continue  # the K-th pass already ended this problem's count
                attempts[i] += 1
                passes[i] += ok
        rnd += 1
    return attempts, passes
