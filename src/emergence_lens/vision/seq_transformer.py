"""A ladder of small decoder-only transformers that classify sequences of character images
(paper Fig. 9, Omniglot).

Each of the ``L`` images in a sequence is embedded by one convolution (``k`` filters of 7x7,
stride 3) and a linear map to ``d`` dimensions; learned position embeddings are added; causal
self-attention layers (pre-norm) follow, and a linear head predicts the class at every position.
The scale is the parameter count; one recipe per ladder, seeded and resumable
(:func:`emergence_lens.vision.training.train_resumable`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emergence_lens.vision.training import Recipe, as_input, load_trained, train_resumable

__all__ = ["SeqSize", "SEQ_SIZES", "train_seq_transformer", "predict_sequences"]


@dataclass(frozen=True)
class SeqSize:
    name: str
    filters: int
    d_model: int
    layers: int
    heads: int


SEQ_SIZES: tuple[SeqSize, ...] = (
    SeqSize("seq-01", 1, 4, 1, 1), SeqSize("seq-02", 1, 6, 1, 1), SeqSize("seq-03", 2, 6, 1, 1),
    SeqSize("seq-04", 2, 8, 1, 2), SeqSize("seq-05", 2, 12, 1, 2), SeqSize("seq-06", 3, 16, 1, 2),
    SeqSize("seq-07", 4, 24, 2, 2), SeqSize("seq-08", 8, 48, 2, 4),
)


def _model(size: SeqSize, n_classes: int, length: int, side: int):
    import torch
    import torch.nn as nn

    conv_out = (side - 7) // 3 + 1

    class SeqClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, size.filters, 7, stride=3)
            self.embed = nn.Linear(size.filters * conv_out * conv_out, size.d_model)
            self.pos = nn.Parameter(torch.zeros(length, size.d_model))
            layer = nn.TransformerEncoderLayer(size.d_model, size.heads, dim_feedforward=4 * size.d_model,
                                               dropout=0.0, batch_first=True, norm_first=True)
            self.blocks = nn.TransformerEncoder(layer, size.layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(size.d_model)
            self.head = nn.Linear(size.d_model, n_classes)
            self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(length), persistent=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (batch, L, side, side)
            b, n = x.shape[:2]
            h = torch.relu(self.conv(x.reshape(b * n, 1, side, side))).reshape(b, n, -1)
            h = self.embed(h) + self.pos[:n]
            h = self.blocks(h, mask=self.mask[:n, :n], is_causal=True)
            return self.head(self.norm(h))  # (batch, L, classes)

    return SeqClassifier()


def _loss(model: Any, x: Any, y: Any) -> Any:
    import torch

    logits = model(x)
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def _check(images: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(images, dtype=np.float32)
    if x.ndim != 4 or x.shape[2] != x.shape[3]:
        raise ValueError(f"sequences must be (n, L, side, side), got {x.shape}")
    return x


def train_seq_transformer(size: SeqSize, recipe: Recipe, sequences: np.ndarray, labels: np.ndarray, n_classes: int,
                          out: str | Path, *, stop_after: int | None = None) -> dict[str, Any]:
    """Train (or resume, or skip if finished) on ``sequences`` (n, L, side, side) with ``labels`` (n, L)."""
    x = _check(sequences)
    y = np.asarray(labels, dtype=np.int64)
    if y.shape != x.shape[:2]:
        raise ValueError(f"labels {y.shape} do not match sequences {x.shape[:2]}")
    return train_resumable(size.name, size, lambda: _model(size, n_classes, x.shape[1], x.shape[2]), _loss, x, y,
                           recipe, out, stop_after=stop_after)


def predict_sequences(size: SeqSize, out: str | Path, sequences: np.ndarray, n_classes: int, *,
                      batch: int = 1024) -> np.ndarray:
    """Predicted class at every position, ``(n, L)``."""
    import torch

    x = _check(sequences)
    model = load_trained(lambda: _model(size, n_classes, x.shape[1], x.shape[2]), out)
    with torch.no_grad():
        parts = [model(as_input(x[i:i + batch], model)).argmax(-1).numpy() for i in range(0, len(x), batch)]
    return np.concatenate(parts) if parts else np.zeros(x.shape[:2], dtype=np.int64)
