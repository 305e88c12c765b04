"""A ladder of decoder-only transformers trained on CPU (the arithmetic experiment's family).

Eight GPT-2-architecture sizes spanning > 100x in non-embedding parameters, one recipe (same data
stream, steps, batch, schedule), seeded, on compact arithmetic (:mod:`emergence_lens.models.data`).
Each model is saved in the Hugging Face format (``config.json`` + ``model.safetensors`` +
character ``tokenizer.json``), so the transformers backend and lm-evaluation-harness
``--model hf`` load it offline.

The default ladder (seed 0) ships inside the package (:func:`shipped_ladder`), because training it
takes longer than the whole reproduction may; ``emergence-lens train-ladder`` retrains it.  Every
member trains on one CPU thread in its own process with the numeric libraries pinned
(:mod:`emergence_lens.models.pinned`), so the same seed gives the same bytes on one machine whatever
its core count or how many members train at once.  Across CPU kinds it does not: retrained on an AMD
EPYC, the smallest member (shipped from an Intel Xeon) follows the shipped loss curve bit for bit
for 24 steps and within 2e-7 relative to step 100, then apart; its final loss came within 0.04%.
The tests check that tolerance on any CPU and same-machine bytes.

Training checkpoints every ``ckpt_every`` steps (model as safetensors, optimizer state loaded back
with ``torch.load(..., weights_only=True)``); a killed run resumes from the last checkpoint and,
because batches depend only on ``(seed, step)``, ends with the same weights as an uninterrupted
run.  A ``ladder.json`` written last marks a finished model.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emergence_lens._io import atomic_write_text
from emergence_lens.models.data import training_batch
from emergence_lens.models.pinned import PINNED_ENV, run_pinned
from emergence_lens.models.tokenizer import build_char_tokenizer

__all__ = ["ModelSize", "LadderRecipe", "DEFAULT_SIZES", "QUICK_SIZES", "DEFAULT_RECIPE",
           "QUICK_RECIPE", "train_model", "train_ladder", "non_embedding_params", "TrainingInterrupted",
           "TRAIN_ENV", "SHIPPED_SEED", "SHIPPED_SEEDS", "shipped_ladder"]


@dataclass(frozen=True)
class ModelSize:
    name: str
    n_layer: int
    d_model: int
    n_head: int


@dataclass(frozen=True)
class LadderRecipe:
    """Everything but the size: the same for every model of a ladder."""

    steps: int = 3000
    batch_size: int = 256
    seq_len: int = 20
    n_positions: int = 32
    lr: float = 3e-3
    warmup: int = 100
    weight_decay: float = 0.01
    ckpt_every: int = 250
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


DEFAULT_SIZES: tuple[ModelSize, ...] = (
    ModelSize("ladder-01", 1, 12, 1), ModelSize("ladder-02", 1, 16, 2),
    ModelSize("ladder-03", 1, 24, 2), ModelSize("ladder-04", 2, 24, 2),
    ModelSize("ladder-05", 2, 32, 2), ModelSize("ladder-06", 2, 48, 4),
    ModelSize("ladder-07", 2, 64, 4), ModelSize("ladder-08", 3, 96, 4),
)
QUICK_SIZES = DEFAULT_SIZES
DEFAULT_RECIPE = LadderRecipe()
QUICK_RECIPE = LadderRecipe(steps=150, batch_size=64, ckpt_every=50, warmup=10)
#: The seed of the ladder that ships inside the package.
SHIPPED_SEED = 0
#: Environment of a training process (:data:`emergence_lens.models.pinned.PINNED_ENV`).
TRAIN_ENV: dict[str, str] = PINNED_ENV


#: Training seeds whose ladders ship: seed 0 is the ladder every experiment evaluates in full; seeds 1
#: and 2 (same recipe, same sizes) measure how much a member moves with the seed.
SHIPPED_SEEDS: tuple[int, ...] = (0, 1, 2)


def shipped_ladder(seed: int = SHIPPED_SEED) -> Path:
    """The directory holding a shipped ladder (``ladder-01`` ... ``ladder-08``): seed 0 at the top of
    ``models/checkpoints``, seeds 1 and 2 in its ``seed-1/`` and ``seed-2/``."""
    from importlib.resources import files

    root = Path(str(files("emergence_lens.models") / "checkpoints"))
    if seed == SHIPPED_SEED:
        return root
    if seed not in SHIPPED_SEEDS:
        raise ValueError(f"no ladder with seed {seed} ships (shipped seeds: "
                         f"{', '.join(map(str, SHIPPED_SEEDS))}); train one with "
                         f"`emergence-lens train-ladder --seed {seed}`")
    return root / f"seed-{seed}"


class TrainingInterrupted(RuntimeError):
    """Raised by a ``stop_after`` hook (tests) to simulate a kill."""


def _config(size: ModelSize, recipe: LadderRecipe, vocab_size: int):
    from transformers import GPT2Config

    return GPT2Config(vocab_size=vocab_size, n_positions=recipe.n_positions, n_embd=size.d_model,
                      n_layer=size.n_layer, n_head=size.n_head, resid_pdrop=0.0, embd_pdrop=0.0,
                      attn_pdrop=0.0, bos_token_id=1, eos_token_id=1, pad_token_id=0,
                      tie_word_embeddings=True)


def non_embedding_params(model) -> int:
    """Parameters outside the token and position embeddings (and the tied output layer)."""
    return int(sum(p.numel() for n, p in model.named_parameters() if ".wte." not in n and ".wpe." not in n
                   and not n.startswith("lm_head")))


def _lr(step: int, recipe: LadderRecipe) -> float:
    if step < recipe.warmup:
        return recipe.lr * (step + 1) / recipe.warmup
    frac = (step - recipe.warmup) / max(1, recipe.steps - recipe.warmup)
    return recipe.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))


def _save_checkpoint(model, opt, step: int, losses: list[float], ckpt: Path) -> None:
    import torch

    tmp = ckpt.with_name(ckpt.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    model.save_pretrained(str(tmp), safe_serialization=True)
    torch.save({"optimizer": opt.state_dict(), "step": step}, tmp / "train_state.pt")
    atomic_write_text(tmp / "losses.json", json.dumps(losses))
    old = ckpt.with_name(ckpt.name + ".old")
    if ckpt.exists():
        if old.exists():
            shutil.rmtree(old)
        os.replace(ckpt, old)
    os.replace(tmp, ckpt)
    if old.exists():
        shutil.rmtree(old)


def train_model(size: ModelSize, recipe: LadderRecipe, out: str | Path, *,
                progress: Callable[[int, int, float], None] | None = None,
                stop_after: int | None = None, threads: int | None = 1) -> dict[str, Any]:
    """Train (or resume, or skip if finished) one model of the ladder into ``out``.

    Returns the model's ``ladder.json`` metadata.  ``threads`` (default 1, as in
    :func:`train_ladder`) is set for the training and restored afterwards.
    """
    import torch

    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        return _train(size, recipe, Path(out), progress, stop_after)
    finally:
        torch.set_num_threads(previous)


def _train(size: ModelSize, recipe: LadderRecipe, out: Path,
           progress: Callable[[int, int, float], None] | None, stop_after: int | None) -> dict[str, Any]:
    import torch
    from transformers import GPT2LMHeadModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    meta_path = out / "ladder.json"
    if meta_path.exists():
        return json.loads(meta_path.read_text())
    tok = build_char_tokenizer()
    ckpt = out / "checkpoint"
    index = int(size.name.split("-")[-1]) if size.name.split("-")[-1].isdigit() else 0
    torch.manual_seed(recipe.seed * 1000 + index)
    if (ckpt / "train_state.pt").exists():
        model = GPT2LMHeadModel.from_pretrained(str(ckpt))
        state = torch.load(ckpt / "train_state.pt", weights_only=True)
        start = int(state["step"])
        losses = json.loads((ckpt / "losses.json").read_text())
    else:
        model = GPT2LMHeadModel(_config(size, recipe, len(tok)))
        state, start, losses = None, 0, []
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": recipe.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=recipe.lr, betas=(0.9, 0.98))
    if state is not None:
        opt.load_state_dict(state["optimizer"])
    model.train()
    t0 = time.perf_counter()
    tokens = 0
    for step in range(start, recipe.steps):
        if stop_after is not None and step >= stop_after:
            raise TrainingInterrupted(f"stopped at step {step}")
        batch = training_batch(step, recipe.batch_size, recipe.seq_len, seed=recipe.seed)
        for g in opt.param_groups:
            g["lr"] = _lr(step, recipe)
        ids = torch.from_numpy(batch.input_ids)
        logits = model(input_ids=ids).logits
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 torch.from_numpy(batch.labels).reshape(-1),
                                                 ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        tokens += int(ids.numel())
        if progress:
            progress(step + 1, recipe.steps, losses[-1])
        if (step + 1) % recipe.ckpt_every == 0 and step + 1 < recipe.steps:
            _save_checkpoint(model, opt, step + 1, losses, ckpt)
    elapsed = time.perf_counter() - t0
    model.eval()
    model.save_pretrained(str(out), safe_serialization=True)
    tok.save_pretrained(str(out))
    meta = {"name": size.name, "size": asdict(size), "recipe": asdict(recipe),
            "non_embedding_params": non_embedding_params(model),
            "total_params": int(sum(p.numel() for p in model.parameters())),
            "final_loss": float(np.mean(losses[-20:])) if losses else float("nan"),
            "train_seconds_this_run": elapsed, "train_tokens_this_run": tokens,
            "tokens_per_second": tokens / elapsed if elapsed > 0 else float("nan")}
    atomic_write_text(out / "losses.json", json.dumps(losses))
    atomic_write_text(meta_path, json.dumps(meta, indent=1))
    if ckpt.exists():
        shutil.rmtree(ckpt)
    return meta


def _train_worker(size: ModelSize, recipe: LadderRecipe, out: str, queue) -> dict[str, Any]:
    """One member in a fresh process (spawned with :data:`TRAIN_ENV`), reporting to ``queue``."""

    def report(step: int, total: int, loss: float) -> None:
        if step % 10 == 0 or step == total:
            queue.put((size.name, step, loss))

    return train_model(size, recipe, out, progress=report, threads=1)


def train_ladder(out: str | Path, sizes: Sequence[ModelSize] = DEFAULT_SIZES,
                 recipe: LadderRecipe = DEFAULT_RECIPE, *, show_progress: bool = True, jobs: int = 1,
                 isolated: bool = True) -> list[dict[str, Any]]:
    """Train every size into ``out/<name>/``, ``jobs`` members at a time; resumable.

    With ``isolated`` (default) each member trains in its own spawned process under
    :data:`TRAIN_ENV` (the bytes then depend only on the seed, not on ``jobs`` or the machine's
    cores); ``isolated=False`` trains in this process (tests of the loop itself).
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TextColumn("loss {task.fields[loss]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                  disable=not show_progress) as prog:
        bars = {size.name: prog.add_task(f"train {size.name}", total=recipe.steps, loss="-") for size in sizes}
        if not isolated:
            metas = []
            for size in sizes:
                def report(step: int, total: int, loss: float, task=bars[size.name]) -> None:
                    prog.update(task, completed=step, loss=f"{loss:.3f}")

                meta = train_model(size, recipe, out / size.name, progress=report, threads=None)
                prog.update(bars[size.name], completed=recipe.steps, loss=f"{meta['final_loss']:.3f}")
                metas.append(meta)
            return metas

        def forward(message: tuple[str, int, float]) -> None:
            name, step, loss = message
            prog.update(bars[name], completed=step, loss=f"{loss:.3f}")

        # largest first, so the longest member never starts last
        order = sorted(range(len(sizes)), key=lambda i: -sizes[i].n_layer * sizes[i].d_model ** 2)
        metas = run_pinned(_train_worker, [(sizes[i], recipe, str(out / sizes[i].name)) for i in range(len(sizes))],
                           jobs=jobs, on_message=forward, order=order)
        for size, meta in zip(sizes, metas, strict=True):
            prog.update(bars[size.name], completed=recipe.steps, loss=f"{meta['final_loss']:.3f}")
    return metas
