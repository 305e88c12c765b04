"""A ladder of LeNet-style CNNs (paper Fig. 7), trained with one recipe, seeded, resumable.

conv5x5(1->c1) - ReLU - maxpool2 - conv5x5(c1->c2) - ReLU - maxpool2 - fc(hidden) - ReLU - fc(10).
The scale is the parameter count; training goes through :func:`emergence_lens.vision.training.train_resumable`
(a checkpoint per epoch; a killed run resumes to the same weights).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emergence_lens.vision.training import Recipe, as_input, load_trained, train_resumable

__all__ = ["CNNSize", "LENET_SIZES", "train_lenet", "predict"]


@dataclass(frozen=True)
class CNNSize:
    name: str
    c1: int
    c2: int
    hidden: int


LENET_SIZES: tuple[CNNSize, ...] = (
    CNNSize("lenet-01", 1, 1, 3), CNNSize("lenet-02", 1, 2, 4), CNNSize("lenet-03", 2, 2, 6),
    CNNSize("lenet-04", 2, 3, 8), CNNSize("lenet-05", 2, 4, 12), CNNSize("lenet-06", 3, 6, 16),
    CNNSize("lenet-07", 4, 8, 32), CNNSize("lenet-08", 8, 16, 120),
)


def _model(size: CNNSize):
    import torch.nn as nn

    return nn.Sequential(
        nn.Conv2d(1, size.c1, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(size.c1, size.c2, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(size.c2 * 25, size.hidden), nn.ReLU(), nn.Linear(size.hidden, 10))


def _loss(model: Any, x: Any, y: Any) -> Any:
    import torch

    return torch.nn.functional.cross_entropy(model(x), y)


def _images(images: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(images, dtype=np.float32)[:, None]


def train_lenet(size: CNNSize, recipe: Recipe, images: np.ndarray, labels: np.ndarray,
                out: str | Path, *, stop_after: int | None = None) -> dict[str, Any]:
    """Train (or resume, or skip if finished) one CNN on ``images`` (n, 28, 28) into ``out``."""
    return train_resumable(size.name, size, lambda: _model(size), _loss, _images(images),
                           np.asarray(labels, dtype=np.int64), recipe, out, stop_after=stop_after)


def predict(size: CNNSize, out: str | Path, images: np.ndarray) -> np.ndarray:
    """Class predictions of a trained model for ``images`` (n, 28, 28)."""
    import torch

    model = load_trained(lambda: _model(size), out)
    with torch.no_grad():
        logits = model(as_input(_images(images), model))
    return logits.argmax(-1).numpy()
