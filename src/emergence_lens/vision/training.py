"""One resumable, seeded training loop for the vision ladders (CNN, autoencoder, transformer).

A model directory holds, when finished, ``model.safetensors`` and ``model.json`` (size, recipe,
parameter count).  While training, every epoch ends with ``checkpoint/`` (weights as safetensors,
optimizer state and epoch reloaded with ``torch.load(..., weights_only=True)``), swapped in by a
rename, so a killed run resumes from the last finished epoch and ends with the same weights as an
uninterrupted one: the initial weights come from ``torch.manual_seed(seed * 1000 + index)`` and
the batch order of epoch ``e`` from ``numpy.random.default_rng([seed, index, e])``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emergence_lens._io import atomic_write_text

__all__ = ["Recipe", "TrainingInterrupted", "train_resumable", "load_trained", "ladder_index", "data_digest",
           "EVAL_DTYPE", "as_input"]

#: Trained (float32) models are evaluated in float64: their weights are exact in it, and what a CPU's
#: kernels may change (summation order, FMA) then moves results by ~1e-16 relative -- far below the
#: 10 significant digits the CSVs carry -- instead of ~1e-7, so evaluating the shipped weights gives
#: the same outputs on any CPU.
EVAL_DTYPE = "float64"


def data_digest(*arrays: np.ndarray) -> str:
    """SHA-256 of the arrays' dtypes, shapes and bytes: names the exact training data in ``model.json``."""
    import hashlib

    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.data)
    return h.hexdigest()


@dataclass(frozen=True)
class Recipe:
    """One recipe for every size of a ladder."""

    epochs: int = 6
    batch_size: int = 64
    lr: float = 3e-3
    seed: int = 0


class TrainingInterrupted(RuntimeError):
    """Raised when ``stop_after`` epochs are done (tests use it to simulate a kill)."""


def ladder_index(name: str) -> int:
    """The trailing number of a size name (``"ae-03"`` -> 3), 0 if none; it seeds that size."""
    tail = name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _save_weights(model: Any, path: Path) -> None:
    from safetensors.torch import save_file

    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, str(path))


def train_resumable(name: str, size: Any, build: Callable[[], Any], loss: Callable[[Any, Any, Any], Any],
                    inputs: np.ndarray, targets: np.ndarray, recipe: Recipe, out: str | os.PathLike[str], *,
                    stop_after: int | None = None) -> dict[str, Any]:
    """Train (or resume, or skip when finished) one model into ``out``.

    Args:
        name: the size's name; its trailing number seeds initialisation and batch order.
        size: a dataclass describing the size (stored in ``model.json``).
        build: makes the untrained ``torch.nn.Module``.
        loss: ``loss(model, x_batch, y_batch) -> scalar tensor``.
        inputs, targets: training arrays with the example axis first (float32 / int64 or float32).
        recipe: epochs, batch size, Adam learning rate, seed.
        out: the model directory.
        stop_after: raise :class:`TrainingInterrupted` before this epoch (after its checkpoint).

    Returns:
        the metadata written to ``model.json`` (``params`` = parameter count).
    """
    import torch
    from safetensors.torch import load_file

    out = Path(out)
    meta_path = out / "model.json"
    if meta_path.exists():
        return json.loads(meta_path.read_text())
    out.mkdir(parents=True, exist_ok=True)
    index = ladder_index(name)
    torch.manual_seed(recipe.seed * 1000 + index)
    model = build()
    opt = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    ckpt = out / "checkpoint"
    start = 0
    if (ckpt / "state.pt").exists():
        model.load_state_dict(load_file(str(ckpt / "model.safetensors")))
        state = torch.load(ckpt / "state.pt", weights_only=True)
        opt.load_state_dict(state["optimizer"])
        start = int(state["epoch"])
    x = torch.from_numpy(np.ascontiguousarray(inputs))
    y = torch.from_numpy(np.ascontiguousarray(targets))
    for epoch in range(start, recipe.epochs):
        if stop_after is not None and epoch >= stop_after:
            raise TrainingInterrupted(f"{name}: stopped before epoch {epoch}")
        order = torch.from_numpy(np.random.default_rng([recipe.seed, index, epoch]).permutation(len(x)))
        model.train()
        for b in range(0, len(x), recipe.batch_size):
            idx = order[b:b + recipe.batch_size]
            value = loss(model, x[idx], y[idx])
            opt.zero_grad(set_to_none=True)
            value.backward()
            opt.step()
        tmp = out / "checkpoint.tmp"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        _save_weights(model, tmp / "model.safetensors")
        torch.save({"optimizer": opt.state_dict(), "epoch": epoch + 1}, tmp / "state.pt")
        if ckpt.exists():
            shutil.rmtree(ckpt)
        os.replace(tmp, ckpt)
    _save_weights(model, out / "model.safetensors")
    meta = {"name": name, "size": asdict(size) if is_dataclass(size) else size, "recipe": asdict(recipe),
            "params": int(sum(p.numel() for p in model.parameters())),
            "train_data_sha256": data_digest(inputs, targets)}
    atomic_write_text(meta_path, json.dumps(meta, indent=1))
    shutil.rmtree(ckpt, ignore_errors=True)
    return meta


def load_trained(build: Callable[[], Any], out: str | os.PathLike[str], *, dtype: str = EVAL_DTYPE) -> Any:
    """The finished model in ``out`` (safetensors weights only), in eval mode, cast to ``dtype``
    (:data:`EVAL_DTYPE` by default)."""
    import torch
    from safetensors.torch import load_file

    path = Path(out) / "model.safetensors"
    if not (Path(out) / "model.json").exists():
        raise FileNotFoundError(f"{out}: no finished model (model.json missing); train it first")
    model = build()
    model.load_state_dict(load_file(str(path)))
    model.to(getattr(torch, dtype))
    model.eval()
    return model


def as_input(x: np.ndarray, model: Any) -> Any:
    """``x`` as a tensor of ``model``'s floating dtype (float32 inputs are exact in float64)."""
    import torch

    dtype = next(model.parameters()).dtype
    return torch.from_numpy(x).to(dtype)
