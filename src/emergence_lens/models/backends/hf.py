"""Hugging Face transformers backend: a local path or a hub id, CPU or GPU.

Greedy decoding is our own loop (left padding, position ids from the attention mask, KV cache),
so it behaves the same for every causal LM; scoring is one teacher-forced forward pass per batch.
Hub ids need the network or a populated cache; offline, loading fails with a clear message.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from emergence_lens.models.backends.base import BackendError, choice_logprobs_via_targets, cut_at_stop

__all__ = ["HFBackend", "cache_keyword", "load_tokenizer"]


def cache_keyword(model) -> str:
    """The name under which ``model.forward`` takes (and its output returns) the KV cache.

    transformers renamed ``past_key_values`` to ``cache`` (5.x warns on the old name and drops it in
    5.40); older releases know only ``past_key_values``.  The forward's signature says which.
    """
    import inspect

    params = inspect.signature(model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def load_tokenizer(model: str | os.PathLike[str], *, revision: str | None = None,
                   local_files_only: bool = False):
    """``AutoTokenizer.from_pretrained``, or -- where a transformers 4.x meets a checkpoint saved by 5.x,
    whose ``tokenizer_config.json`` names the 5.x class ``TokenizersBackend`` -- the same
    ``tokenizer.json`` read as the ``PreTrainedTokenizerFast`` it is (5.x's class is that one renamed)."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    try:
        return AutoTokenizer.from_pretrained(str(model), revision=revision, local_files_only=local_files_only)
    except ValueError as exc:
        if "TokenizersBackend" not in str(exc):
            raise
        return PreTrainedTokenizerFast.from_pretrained(str(model), revision=revision,
                                                       local_files_only=local_files_only)


class HFBackend:
    """Args:
        model: local directory or hub id.
        device: ``"auto"`` (CUDA if available), ``"cpu"``, ``"cuda"``, ...
        batch_size: sequences per forward pass.
        revision: hub revision.
    """

    def __init__(self, model: str | os.PathLike[str], *, device: str = "auto", batch_size: int = 64,
                 revision: str | None = None, dtype: str | None = None) -> None:
        import torch
        from transformers import AutoModelForCausalLM
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        self.name = str(model)
        # HF_HUB_OFFLINE is read here, at call time (huggingface_hub reads it once, at import).
        offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
        local = Path(model).exists() or offline
        try:
            self.tokenizer = load_tokenizer(model, revision=revision, local_files_only=local)
            self.model = AutoModelForCausalLM.from_pretrained(
                str(model), revision=revision, local_files_only=local,
                dtype=getattr(torch, dtype) if dtype else None)
        except OSError as exc:
            hint = ("it is not a local directory; downloading it needs network access to the "
                    "Hugging Face hub (or HF_HUB_OFFLINE=1 with the model already in the cache)")
            raise BackendError(f"cannot load model {str(model)!r}: {hint}. ({exc})") from exc
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        self.model.to(self.device).eval()
        self.batch_size = batch_size
        tok = self.tokenizer
        self.pad_id = tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0)
        self.eos_id = tok.eos_token_id
        self._contains_cache: dict[str, list[int]] = {}
        self.max_positions: int | None = getattr(self.model.config, "max_position_embeddings", None)
        self._cache_kw = cache_keyword(self.model)

    def _check_length(self, n_tokens: int, what: str) -> None:
        if self.max_positions is not None and n_tokens > self.max_positions:
            raise BackendError(f"{self.name}: {what} needs {n_tokens} positions but the model has "
                               f"{self.max_positions} (max_position_embeddings); shorten the prompt or use a "
                               "model trained on this format")

    def _encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def token_count(self, text: str) -> int:
        """Tokens ``text`` encodes to (no special tokens), as every method here encodes it."""
        return len(self._encode(text))

    def _ids_containing(self, text: str) -> list[int]:
        """Vocabulary ids whose decoded text contains ``text`` (cached per string)."""
        cache = self._contains_cache
        if text not in cache:
            size = len(self.tokenizer)
            decoded = self.tokenizer.batch_decode([[i] for i in range(size)])
            cache[text] = [i for i, d in enumerate(decoded) if text in d]
        return cache[text]

    def _encode_many(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text; each distinct text is encoded once (sampling repeats prompts)."""
        if not texts:
            return []
        distinct = list(dict.fromkeys(texts))
        ids = dict(zip(distinct, self.tokenizer(distinct, add_special_tokens=False)["input_ids"], strict=True))
        return [ids[t] for t in texts]

    def generate(self, prompts: Sequence[str], max_new_tokens: int, stop: Sequence[str] = ()) -> list[str]:
        """Greedy completions (KV cache, batched, stop strings honoured)."""
        return self._decode(prompts, max_new_tokens, stop, temperature=0.0, seed=None)

    def sample(self, prompts: Sequence[str], max_new_tokens: int, stop: Sequence[str] = (), *,
               temperature: float = 1.0, seed: int = 0) -> list[str]:
        """Completions sampled at ``temperature`` from a generator seeded with ``seed`` (same seed,
        same batch: same completions); PassUntil draws these (:mod:`emergence_lens.models.sampling`)."""
        if temperature <= 0:
            raise ValueError("sampling needs temperature > 0; use generate for greedy")
        return self._decode(prompts, max_new_tokens, stop, temperature=temperature, seed=seed)

    def _decode(self, prompts: Sequence[str], max_new_tokens: int, stop: Sequence[str], *, temperature: float,
                seed: int | None) -> list[str]:
        import torch

        gen = None
        if temperature > 0:
            gen = torch.Generator(device=self.device).manual_seed(int(seed or 0) % (2**63))
        # A one-character ASCII stop string (the "\n" that ends an answer) cannot span tokens: it is
        # checked on the ids, for the whole batch at once, against every vocabulary entry that
        # contains it.  Longer stop strings are checked by decoding each row's tail.
        single_chars = [st for st in stop if len(st) == 1 and st.isascii()]
        single = torch.tensor(sorted({i for st in single_chars for i in self._ids_containing(st)}),
                              dtype=torch.long, device=self.device)
        multi = [st for st in stop if st not in single_chars]
        out: list[str] = []
        for start in range(0, len(prompts), self.batch_size):
            chunk = self._encode_many(prompts[start:start + self.batch_size])
            n = len(chunk)
            width = max(len(c) for c in chunk)
            self._check_length(width + max_new_tokens, f"a prompt of {width} tokens plus {max_new_tokens} new ones")
            ids = torch.full((n, width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((n, width), dtype=torch.long)
            for i, c in enumerate(chunk):
                if c:
                    ids[i, width - len(c):] = torch.tensor(c)
                    mask[i, width - len(c):] = 1
            ids, mask = ids.to(self.device), mask.to(self.device)
            generated = torch.full((n, max(max_new_tokens, 1)), self.pad_id, dtype=torch.long, device=self.device)
            length = torch.zeros(n, dtype=torch.long, device=self.device)
            rows = torch.arange(n, device=self.device)
            done = torch.zeros(n, dtype=torch.bool, device=self.device)
            past = None
            step_ids = ids
            with torch.no_grad():
                for _ in range(max_new_tokens):
                    pos = (mask.cumsum(-1) - 1).clamp(min=0)
                    if past is not None:
                        pos = pos[:, -1:]
                    res = self.model(input_ids=step_ids, attention_mask=mask, position_ids=pos,
                                     use_cache=True, **{self._cache_kw: past})
                    past = getattr(res, self._cache_kw)
                    logits = res.logits[:, -1, :]
                    if gen is None:
                        nxt = logits.argmax(-1)
                    else:
                        # inverse CDF: one uniform per row (torch.multinomial is several times slower here)
                        cdf = torch.softmax(logits.float() / temperature, dim=-1).cumsum(-1)
                        u = torch.rand((n, 1), generator=gen, device=self.device) * cdf[:, -1:]
                        nxt = torch.searchsorted(cdf, u).clamp(max=cdf.shape[-1] - 1).squeeze(-1)
                    is_eos = nxt == self.eos_id if self.eos_id is not None else torch.zeros_like(done)
                    keep = ~done & ~is_eos
                    generated[rows[keep], length[keep]] = nxt[keep]
                    length += keep.long()
                    done |= is_eos
                    if len(single):
                        done |= keep & torch.isin(nxt, single)
                    if multi:
                        for i in torch.nonzero(keep & ~done).flatten().tolist():
                            tail = self.tokenizer.decode(generated[i, max(0, int(length[i]) - 8):int(length[i])].tolist())
                            if any(st in tail for st in multi):
                                done[i] = True
                    if bool(done.all()):
                        break
                    step_ids = nxt[:, None]
                    mask = torch.cat([mask, torch.ones((n, 1), dtype=mask.dtype, device=self.device)], 1)
            gen_rows = generated.cpu().tolist()
            lens = length.cpu().tolist()
            out += [cut_at_stop(self.tokenizer.decode(g[:k]), stop) for g, k in zip(gen_rows, lens, strict=True)]
        return out

    def _score(self, prompts: Sequence[str], targets: Sequence[str]) -> list[list[float]]:
        return self.target_scores(prompts, targets)[0]

    def target_scores(self, prompts: Sequence[str], targets: Sequence[str]) -> tuple[list[list[float]], list[list[bool]]]:
        """Teacher-forced ``log p`` of each target token and whether it is the argmax there
        (per-token greedy correctness; lm-eval's ``is_greedy`` per token), in one forward pass."""
        import torch

        if len(prompts) != len(targets):
            raise ValueError("prompts and targets differ in length")
        out: list[list[float]] = []
        greedy: list[list[bool]] = []
        for start in range(0, len(prompts), self.batch_size):
            pairs = [(self._encode(p), self._encode(t)) for p, t in
                     zip(prompts[start:start + self.batch_size], targets[start:start + self.batch_size], strict=True)]
            for i, (p, t) in enumerate(pairs):
                if not t:
                    raise ValueError(f"target {start + i} encodes to no tokens")
                if not p:  # score the first target token against nothing: prepend EOS as BOS
                    pairs[i] = ([self.eos_id if self.eos_id is not None else self.pad_id], t)
            width = max(len(p) + len(t) for p, t in pairs)
            self._check_length(width, f"prompt plus target of {width} tokens")
            ids = torch.full((len(pairs), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for i, (p, t) in enumerate(pairs):
                ids[i, : len(p) + len(t)] = torch.tensor(p + t)
                mask[i, : len(p) + len(t)] = 1
            with torch.no_grad():
                logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits
                logp = torch.log_softmax(logits.float(), dim=-1).cpu()
            for i, (p, t) in enumerate(pairs):
                rows = torch.arange(len(p) - 1, len(p) + len(t) - 1)
                tt = torch.tensor(t)
                out.append(logp[i, rows, tt].tolist())
                greedy.append((logp[i, rows].argmax(-1) == tt).tolist())
        return out, greedy

    def text_logprobs(self, text: str, top: int = 0) -> tuple[list[str], list[int], list[float | None],
                                                          list[dict[str, float] | None]]:
        """Tokens of ``text``, their character offsets, teacher-forced log-probs (the first token has
        none) and, per position, the ``top`` most likely tokens with their log-probs — what an
        OpenAI-style ``echo=True, logprobs=top`` request returns.  One forward pass over the text's own
        tokens."""
        import torch

        ids = self._encode(text)
        if not ids:
            return [], [], [], []
        self._check_length(len(ids), f"a text of {len(ids)} tokens")
        toks = [self.tokenizer.decode([i]) for i in ids]
        offsets, pos = [], 0
        for t in toks:
            offsets.append(pos)
            pos += len(t)
        vals: list[float | None] = [None]
        tops: list[dict[str, float] | None] = [None]
        if len(ids) > 1:
            with torch.no_grad():
                logits = self.model(input_ids=torch.tensor([ids], device=self.device)).logits[0]
                logp = torch.log_softmax(logits.float(), dim=-1).cpu()
            target = torch.tensor(ids[1:])
            vals += logp[torch.arange(len(ids) - 1), target].tolist()
            if top > 0:
                best_v, best_i = logp[:-1].topk(min(top, logp.shape[-1]), dim=-1)
                for v_row, i_row in zip(best_v.tolist(), best_i.tolist(), strict=True):
                    tops.append({self.tokenizer.decode([i]): v for i, v in zip(i_row, v_row, strict=True)})
            else:
                tops += [{} for _ in ids[1:]]
        return toks, offsets, vals, tops

    def target_logprobs(self, prompts: Sequence[str], targets: Sequence[str]) -> list[list[float]]:
        return self._score(prompts, targets)

    def choice_logprobs(self, prompts: Sequence[str], choices: Sequence[Sequence[str]]) -> list[list[float]]:
        return choice_logprobs_via_targets(self, prompts, choices)
