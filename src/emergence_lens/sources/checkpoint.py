"""Parameter count of a local checkpoint without loading its weights.

lm-eval's ``config.model_args`` names the checkpoint it ran (``pretrained=/path/to/model``).
When that folder is on this machine, its safetensors headers give every tensor's shape: the
parameter count is the sum of their sizes, read from the first bytes of each file (an 8-byte
little-endian header length, then a JSON header), never the weights.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

__all__ = ["checkpoint_params"]


def _header_params(path: Path) -> int:
    with open(path, "rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        if n <= 0 or n > 100 * 1024 * 1024:
            raise ValueError(f"{path}: implausible safetensors header length {n}")
        header = json.loads(fh.read(n))
    return sum(math.prod(v["shape"]) for k, v in header.items() if k != "__metadata__" and isinstance(v, dict))


def checkpoint_params(folder: str | Path) -> int | None:
    """Parameters of the safetensors checkpoint in ``folder`` (sharded or not), or ``None`` when
    there is none or its headers cannot be read."""
    p = Path(folder)
    try:
        if not p.is_dir():
            return None
        files = sorted(p.glob("*.safetensors"))
        if not files:
            return None
        return sum(_header_params(f) for f in files)
    except (OSError, ValueError, KeyError, TypeError, struct.error):
        return None
