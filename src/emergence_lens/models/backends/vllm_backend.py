"""vLLM backend (optional extra: ``pip install 'emergence-lens[vllm]'``, needs a GPU).

This is how runs go past one machine: vLLM shards a model over GPUs with tensor parallelism,
e.g. on a node with 8 GPUs::

    emergence-lens evaluate --backend vllm --model EleutherAI/pythia-12b \\
        --tensor-parallel-size 8 --task gpt3:two_digit_multiplication.jsonl --out runs/pythia-12b

(or serve it with ``vllm serve MODEL --tensor-parallel-size 8`` and use ``--backend openai``).
"""

from __future__ import annotations

from collections.abc import Sequence

from emergence_lens.models.backends.base import BackendError, cut_at_stop

__all__ = ["VLLMBackend"]


class VLLMBackend:
    def __init__(self, model: str, *, tensor_parallel_size: int = 1, dtype: str = "auto",
                 max_model_len: int | None = None) -> None:
        try:
            from vllm import LLM, SamplingParams
        except ImportError as exc:
            raise BackendError("the vLLM backend needs vllm (and a GPU): pip install 'emergence-lens[vllm]'") from exc
        self.name = model
        self._SamplingParams = SamplingParams
        self.llm = LLM(model=model, tensor_parallel_size=tensor_parallel_size, dtype=dtype,
                       max_model_len=max_model_len)
        self.tokenizer = self.llm.get_tokenizer()

    def generate(self, prompts: Sequence[str], max_new_tokens: int, stop: Sequence[str] = ()) -> list[str]:
        params = self._SamplingParams(temperature=0.0, max_tokens=max_new_tokens, stop=list(stop) or None)
        outs = self.llm.generate(list(prompts), params, use_tqdm=False)
        return [cut_at_stop(o.outputs[0].text, stop) for o in outs]

    def target_logprobs(self, prompts: Sequence[str], targets: Sequence[str]) -> list[list[float]]:
        params = self._SamplingParams(temperature=0.0, max_tokens=1, prompt_logprobs=0)
        result = []
        for p, t in zip(prompts, targets, strict=True):
            p_ids = self.tokenizer(p, add_special_tokens=False)["input_ids"]
            t_ids = self.tokenizer(t, add_special_tokens=False)["input_ids"]
            out = self.llm.generate({"prompt_token_ids": p_ids + t_ids}, params, use_tqdm=False)[0]
            lps = out.prompt_logprobs[len(p_ids):]
            result.append([float(d[tok].logprob) for d, tok in zip(lps, t_ids, strict=True)])
        return result

    def choice_logprobs(self, prompts: Sequence[str], choices: Sequence[Sequence[str]]) -> list[list[float]]:
        return [[sum(v) for v in self.target_logprobs([p] * len(cs), list(cs))]
                for p, cs in zip(prompts, choices, strict=True)]
