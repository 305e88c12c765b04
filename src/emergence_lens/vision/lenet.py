"""A ladder of LeNet-style CNNs (paper Fig. 7), trained with one recipe, seeded, resumable.

conv5x5(1->c1) - ReLU - maxpool2 - conv5x5(c1->c2) - ReLU - maxpool2 - fc(hidden) - ReLU - fc(10).
The scale is the parameter count.  Each epoch ends with a checkpoint (weights as safetensors,
optimizer state reloaded with ``torch.load(..., weights_only=True)``); a killed run resumes from
the last finished epoch and ends with the same weights.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emergence_lens._io import atomic_write_text

__all__ = ["CNNSize", "CNNRecipe", "LENET_SIZES", "train_lenet", "predict", "CNNInterrupted"]


@dataclass(frozen=True)
class CNNSize:
    name: str
    c1: int
    c2: int
    hidden: int


@dataclass(frozen=True)
class CNNRecipe:
    epochs: int = 8
    batch_size: int = 64
    lr: float = 3e-3
    seed: int = 0


LENET_SIZES: tuple[CNNSize, ...] = (
    CNNSize("lenet-01", 1, 1, 3), CNNSize("lenet-02", 1, 2, 4), CNNSize("lenet-03", 2, 2, 6),
    CNNSize("lenet-04", 2, 3, 8), CNNSize("lenet-05", 2, 4, 12), CNNSize("lenet-06", 3, 6, 16),
    CNNSize("lenet-07", 4, 8, 32), CNNSize("lenet-08", 8, 16, 120),
)


class CNNInterrupted(RuntimeError):
    """Raised by ``stop_after`` (tests) to simulate a kill."""


def _model(size: CNNSize):
    import torch.nn as nn

    return nn.Sequential(
        nn.Conv2d(1, size.c1, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(size.c1, size.c2, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(size.c2 * 25, size.hidden), nn.ReLU(), nn.Linear(size.hidden, 10))


def train_lenet(size: CNNSize, recipe: CNNRecipe, images: np.ndarray, labels: np.ndarray,
                out: str | Path, *, stop_after: int | None = None) -> dict[str, Any]:
    """Train (or resume, or skip if finished) one CNN on ``images`` (n, 28, 28) into ``out``."""
    import torch
    from safetensors.torch import load_file, save_file

    out = Path(out)
    meta_path = out / "model.json"
    if meta_path.exists():
        return json.loads(meta_path.read_text())
    out.mkdir(parents=True, exist_ok=True)
    index = int(size.name.rsplit("-", 1)[-1]) if size.name.rsplit("-", 1)[-1].isdigit() else 0
    torch.manual_seed(recipe.seed * 1000 + index)
    model = _model(size)
    opt = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    ckpt = out / "checkpoint"
    start = 0
    if (ckpt / "state.pt").exists():
        model.load_state_dict(load_file(str(ckpt / "model.safetensors")))
        state = torch.load(ckpt / "state.pt", weights_only=True)
        opt.load_state_dict(state["optimizer"])
        start = int(state["epoch"])
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))[:, None]
    y = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    for epoch in range(start, recipe.epochs):
        if stop_after is not None and epoch >= stop_after:
            raise CNNInterrupted(f"stopped before epoch {epoch}")
        order = torch.from_numpy(np.random.default_rng([recipe.seed, index, epoch]).permutation(len(x)))
        model.train()
        for b in range(0, len(x), recipe.batch_size):
            idx = order[b:b + recipe.batch_size]
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        tmp = out / "checkpoint.tmp"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp / "model.safetensors"))
        torch.save({"optimizer": opt.state_dict(), "epoch": epoch + 1}, tmp / "state.pt")
        if ckpt.exists():
            shutil.rmtree(ckpt)
        os.replace(tmp, ckpt)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out / "model.safetensors"))
    meta = {"name": size.name, "size": asdict(size), "recipe": asdict(recipe),
            "params": int(sum(p.numel() for p in model.parameters()))}
    atomic_write_text(meta_path, json.dumps(meta, indent=1))
    shutil.rmtree(ckpt, ignore_errors=True)
    return meta


def predict(size: CNNSize, out: str | Path, images: np.ndarray) -> np.ndarray:
    """Class predictions of a trained model for ``images`` (n, 28, 28)."""
    import torch
    from safetensors.torch import load_file

    model = _model(size)
    model.load_state_dict(load_file(str(Path(out) / "model.safetensors")))
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))[:, None])
    return logits.argmax(-1).numpy()
