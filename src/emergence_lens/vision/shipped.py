"""The vision ladders that ship inside the package (paper Figs. 7-9).

``vision/checkpoints/<family>/<size>/`` holds ``model.safetensors`` and ``model.json`` (size, recipe,
parameter count, SHA-256 of the exact training data) for the LeNet, autoencoder and transformer
ladders of seed 0, trained with the full recipes of :func:`emergence_lens.experiments.vision.family_arrays`
by ``emergence-lens train-vision --out src/emergence_lens/vision/checkpoints``.  ``reproduce vision``
evaluates them instead of training: training bytes depend on the CPU (see the README), evaluating
shipped weights does not.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["VISION_FAMILIES", "SHIPPED_VISION_SEED", "shipped_vision_root"]

#: The three vision ladders, in the order their records are written.
VISION_FAMILIES: tuple[str, ...] = ("lenet", "autoencoder", "transformer")
#: The training seed of the shipped vision ladders.
SHIPPED_VISION_SEED = 0


def shipped_vision_root() -> Path:
    """The folder holding ``lenet/``, ``autoencoder/`` and ``transformer/`` of the shipped ladders."""
    from importlib.resources import files

    return Path(str(files("emergence_lens.vision") / "checkpoints"))
