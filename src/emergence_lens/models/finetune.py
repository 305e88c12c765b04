"""Finetune one Hugging Face-format causal LM on ``k`` task examples (Snell et al. 2024, "Predicting
Emergent Capabilities by Finetuning").

Finetuning on a task moves the point where the task emerges toward less capable models, the more
so the more examples it sees; the ``finetune`` predictor
(:mod:`emergence_lens.emergence.forecast.finetune`) fits that shift and extrapolates it back to
no finetuning.  One recipe for every (model, ``k``): the same number of optimizer steps and batch
size (so each finetune costs the same compute per model, and ``k`` changes only how many distinct
examples those steps cycle through), AdamW, a linear warmup on a cosine decay to a tenth, gradient
clipping at 1.  The loss is taken on the answer's tokens and the stop string after it, as in the
ladder's pretraining (:func:`emergence_lens.models.data.pack_rows`).  Seeded: the order of the
examples and the model's dropout (none in the ladder) follow ``recipe.seed``; on one thread the
same inputs give the same weights on one machine.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emergence_lens._io import atomic_write_text
from emergence_lens.models.data import pack_rows
from emergence_lens.tasks import TaskExample

__all__ = ["FinetuneRecipe", "DEFAULT_FINETUNE", "finetune_model", "finetune_lr"]


@dataclass(frozen=True)
class FinetuneRecipe:
    """The same for every model and every ``k`` of one finetuning run."""

    steps: int = 1000
    batch_size: int = 32
    lr: float = 3e-3
    warmup: int = 20
    weight_decay: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1 or self.warmup < 0 or not self.lr > 0 or self.weight_decay < 0:
            raise ValueError(f"bad finetuning recipe {self}: steps and batch size >= 1, lr > 0, "
                             "warmup and weight decay >= 0")


DEFAULT_FINETUNE = FinetuneRecipe()


def finetune_lr(step: int, recipe: FinetuneRecipe) -> float:
    """Learning rate at ``step``: a cosine over all steps from ``recipe.lr`` down to a tenth of it,
    times a linear warmup over the first ``recipe.warmup`` steps."""
    warm = min(1.0, (step + 1) / recipe.warmup) if recipe.warmup else 1.0
    frac = min(1.0, step / max(1, recipe.steps))
    return recipe.lr * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))


def _rows(tokenizer, examples: Sequence[TaskExample], stop: str, answer_prefix: str) -> list[tuple[list[int], int]]:
    """Each example as ``(prompt ids + answer ids, prompt length)``: prompt (with ``answer_prefix``)
    and answer encoded apart, as the HF backend scores them."""
    rows = []
    for e in examples:
        q = list(tokenizer(e.prompt + answer_prefix, add_special_tokens=False)["input_ids"])
        a = list(tokenizer(e.target + stop, add_special_tokens=False)["input_ids"])
        if not q or not a:
            raise ValueError(f"example {e.example_id} of {e.task}: prompt or answer encodes to no tokens")
        rows.append((q + a, len(q)))
    return rows


def finetune_model(model_dir: str | Path, examples: Sequence[TaskExample], out: str | Path, *,
                   recipe: FinetuneRecipe = DEFAULT_FINETUNE, stop: str = "\n", answer_prefix: str = "",
                   threads: int | None = 1
                   ) -> dict[str, Any]:
    """Finetune the model in ``model_dir`` on ``examples`` and save it (weights and tokenizer) into ``out``.

    ``answer_prefix``: text between prompt and answer (as ``evaluate_examples`` puts it); the loss
    is on the answer and ``stop``.  Returns what was done: ``k`` (distinct examples), the recipe,
    the final training loss (mean of the last 20 steps), ``cpu_seconds`` (process CPU time of the
    training) and ``wall_seconds``.
    """
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    from emergence_lens.models.backends.hf import load_tokenizer

    if not examples:
        raise ValueError("no examples to finetune on")
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        tok = load_tokenizer(str(model_dir), local_files_only=True)
        rows = _rows(tok, examples, stop, answer_prefix)
        torch.manual_seed(recipe.seed)
        model = AutoModelForCausalLM.from_pretrained(str(model_dir), local_files_only=True)
        decay = [p for p in model.parameters() if p.ndim >= 2]
        no_decay = [p for p in model.parameters() if p.ndim < 2]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": recipe.weight_decay},
                                 {"params": no_decay, "weight_decay": 0.0}], lr=recipe.lr, betas=(0.9, 0.98))
        rng = np.random.default_rng([recipe.seed, len(rows)])
        need = recipe.steps * recipe.batch_size
        order = np.concatenate([rng.permutation(len(rows)) for _ in range(need // len(rows) + 1)])[:need]
        model.train()
        losses: list[float] = []
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for step in range(recipe.steps):
            batch = pack_rows([rows[i] for i in order[step * recipe.batch_size:(step + 1) * recipe.batch_size]])
            for g in opt.param_groups:
                g["lr"] = finetune_lr(step, recipe)
            logits = model(input_ids=torch.from_numpy(batch.input_ids)).logits
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                     torch.from_numpy(batch.labels).reshape(-1), ignore_index=-100)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            losses.append(float(loss.item()))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        model.eval()
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(str(out), safe_serialization=True)
        tok.save_pretrained(str(out))
    finally:
        torch.set_num_threads(previous)
    meta = {"k": len(rows), "recipe": asdict(recipe), "final_train_loss": float(np.mean(losses[-20:])),
            "cpu_seconds": cpu, "wall_seconds": wall}
    atomic_write_text(out / "finetune.json", json.dumps(meta, indent=1))
    return meta
