"""A ladder of one-hidden-layer autoencoders (paper Fig. 8): the hidden width is the scale.

``x_hat = mu + W2 tanh(W1 (x - mu) + b1) + b2`` for flattened 32x32x3 images, ``h`` hidden units
and ``mu`` the training set's mean image (a stored buffer), trained on squared error with one
recipe per ladder (:func:`emergence_lens.vision.training.train_resumable`: seeded, a checkpoint
per epoch, resumable).  :func:`reconstruction_errors` gives the per-image MSE that the
records keep in ``reconstruction_mse``; both the paper's metrics come from it:
``mse`` (continuous) and ``Reconstruction_c = mean 1[MSE < c]`` (discontinuous).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emergence_lens.vision.training import Recipe, as_input, load_trained, train_resumable

__all__ = ["AESize", "AE_SIZES", "train_autoencoder", "reconstruct", "reconstruction_errors"]


@dataclass(frozen=True)
class AESize:
    name: str
    hidden: int


#: Hidden widths 1..256 (x256); parameters ~9k..1.6M for 32x32x3 inputs.
AE_SIZES: tuple[AESize, ...] = tuple(AESize(f"ae-{i + 1:02d}", w) for i, w in enumerate((1, 2, 4, 8, 16, 32, 64, 256)))


def _model(size: AESize, dim: int, mean: np.ndarray | None = None):
    import torch
    import torch.nn as nn

    class Autoencoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", torch.zeros(dim) if mean is None else torch.from_numpy(mean))
            self.encode = nn.Linear(dim, size.hidden)
            self.decode = nn.Linear(size.hidden, dim)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.decode(torch.tanh(self.encode(x - self.mean))) + self.mean

    return Autoencoder()


def _loss(model: Any, x: Any, y: Any) -> Any:
    import torch

    return torch.nn.functional.mse_loss(model(x), y)


def _flat(images: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(images, dtype=np.float32).reshape(len(images), -1))


def train_autoencoder(size: AESize, recipe: Recipe, images: np.ndarray, out: str | Path, *,
                      stop_after: int | None = None) -> dict[str, Any]:
    """Train (or resume, or skip if finished) one autoencoder on ``images`` (n, ...) into ``out``."""
    x = _flat(images)
    mean = x.mean(axis=0)
    return train_resumable(size.name, size, lambda: _model(size, x.shape[1], mean), _loss, x, x, recipe, out,
                           stop_after=stop_after)


def reconstruct(size: AESize, out: str | Path, images: np.ndarray, *, batch: int = 4096) -> np.ndarray:
    """Reconstructions of ``images`` by the trained model in ``out``, shaped like ``images``."""
    import torch

    x = _flat(images)
    model = load_trained(lambda: _model(size, x.shape[1]), out)
    with torch.no_grad():
        parts = [model(as_input(x[i:i + batch], model)).numpy() for i in range(0, len(x), batch)]
    return np.concatenate(parts).reshape(np.shape(images)) if parts else np.zeros(np.shape(images), np.float32)


def reconstruction_errors(size: AESize, out: str | Path, images: np.ndarray) -> np.ndarray:
    """Per-image MSE of the trained model in ``out`` (:func:`emergence_lens.metrics.mse`)."""
    from emergence_lens.metrics import mse

    return mse(images, reconstruct(size, out, images))
