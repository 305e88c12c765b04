"""OpenAI-compatible completions endpoint with log-probabilities (``pip install '.[openai]'``).

Works with any server that implements ``/v1/completions`` with ``logprobs`` and ``echo``
(vLLM's OpenAI server, llama.cpp server, text-generation-inference, our own
:mod:`emergence_lens.models.openai_server`, ...).

* generation: ``temperature=0``, ``max_tokens``, ``stop``;
* target log-probs: ``prompt + target`` with ``echo=True, max_tokens=0, logprobs=0``; the tokens
  whose text offset is at or after ``len(prompt)`` are the target's (a token straddling the
  boundary counts as a target token).

The key comes from an environment variable (``OPENAI_API_KEY`` by default), never the command line.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from emergence_lens.models.backends.base import BackendError, choice_logprobs_via_targets, cut_at_stop

__all__ = ["OpenAIBackend"]


class OpenAIBackend:
    def __init__(self, model: str, *, base_url: str, api_key_env: str = "OPENAI_API_KEY",
                 batch_size: int = 32, timeout: float = 60.0, max_retries: int = 2) -> None:
        try:
            import openai
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise BackendError(
                "the OpenAI backend needs the openai client: pip install 'emergence-lens[openai]'") from exc
        key = os.environ.get(api_key_env) or "EMPTY"
        self.name = model
        self.model = model
        self.batch_size = batch_size
        self.client = openai.OpenAI(base_url=base_url, api_key=key, timeout=timeout, max_retries=max_retries)
        self._errors = (openai.APIError,)

    def _create(self, **kwargs):
        try:
            return self.client.completions.create(model=self.model, **kwargs)
        except self._errors as exc:
            raise BackendError(f"completions request to {self.client.base_url} failed: {exc}") from exc

    def generate(self, prompts: Sequence[str], max_new_tokens: int, stop: Sequence[str] = ()) -> list[str]:
        out: list[str] = []
        for start in range(0, len(prompts), self.batch_size):
            chunk = list(prompts[start:start + self.batch_size])
            res = self._create(prompt=chunk, max_tokens=max_new_tokens, temperature=0.0,
                               stop=list(stop)[:4] or None)
            texts = [""] * len(chunk)
            for choice in res.choices:
                texts[choice.index] = choice.text or ""
            out += [cut_at_stop(t, stop) for t in texts]
        return out

    def target_logprobs(self, prompts: Sequence[str], targets: Sequence[str]) -> list[list[float]]:
        if len(prompts) != len(targets):
            raise ValueError("prompts and targets differ in length")
        out: list[list[float]] = []
        for start in range(0, len(prompts), self.batch_size):
            ps = list(prompts[start:start + self.batch_size])
            ts = list(targets[start:start + self.batch_size])
            res = self._create(prompt=[p + t for p, t in zip(ps, ts, strict=True)], max_tokens=0,
                               echo=True, logprobs=0, temperature=0.0)
            by_index = {c.index: c for c in res.choices}
            for i, p in enumerate(ps):
                lp = by_index[i].logprobs
                if lp is None or lp.token_logprobs is None or lp.text_offset is None:
                    raise BackendError("the server returned no echoed log-probabilities; it must support "
                                       "echo=True with logprobs")
                vals = [v for off, v, tok in zip(lp.text_offset, lp.token_logprobs, lp.tokens, strict=True)
                        if off + len(tok) > len(p)]
                if not vals or any(v is None for v in vals):
                    raise BackendError(f"no log-probabilities for target {start + i}")
                out.append([float(v) for v in vals])
        return out

    def choice_logprobs(self, prompts: Sequence[str], choices: Sequence[Sequence[str]]) -> list[list[float]]:
        return choice_logprobs_via_targets(self, prompts, choices)
