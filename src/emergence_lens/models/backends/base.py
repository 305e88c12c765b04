"""One interface for every way of running a model: the records it yields are the same."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

__all__ = ["Backend", "BackendError", "cut_at_stop", "choice_logprobs_via_targets"]


class BackendError(RuntimeError):
    """A backend could not load a model or answer a request (message says what to do)."""


@runtime_checkable
class Backend(Protocol):
    """A language model that can generate greedily and score continuations.

    All methods are batched; the i-th output answers the i-th input.
    """

    name: str

    def generate(self, prompts: Sequence[str], max_new_tokens: int,
                 stop: Sequence[str] = ()) -> list[str]:
        """Greedy completion of each prompt, cut before the first stop string."""
        ...

    def target_logprobs(self, prompts: Sequence[str], targets: Sequence[str]) -> list[list[float]]:
        """Teacher-forced ``log p`` of each token of ``target`` given ``prompt``."""
        ...

    def choice_logprobs(self, prompts: Sequence[str],
                        choices: Sequence[Sequence[str]]) -> list[list[float]]:
        """Summed log-likelihood of each answer option given its prompt."""
        ...


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """``text`` up to (not including) the earliest stop string."""
    cut = len(text)
    for s in stop:
        if s:
            i = text.find(s)
            if i != -1:
                cut = min(cut, i)
    return text[:cut]


def choice_logprobs_via_targets(backend: Backend, prompts: Sequence[str],
                                choices: Sequence[Sequence[str]]) -> list[list[float]]:
    """Score every option as a target (one flat batch) and sum its token log-probs."""
    flat_p = [p for p, cs in zip(prompts, choices, strict=True) for _ in cs]
    flat_c = [c for cs in choices for c in cs]
    sums = [sum(v) for v in backend.target_logprobs(flat_p, flat_c)]
    out, k = [], 0
    for cs in choices:
        out.append(sums[k:k + len(cs)])
        k += len(cs)
    return out
