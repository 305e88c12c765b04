"""Model scale and family from what a source provides.

Order of precedence: a parameter count in the file; else a size in the model name (``70m``,
``1.4b``, ``12B``, ``7B``, ``350M`` — but not version numbers like ``-v1.1-`` or ``Qwen2.5``);
else a user mapping file (CSV/JSON with ``model, scale_params[, family]``).  Models that stay
unresolved are reported, never dropped silently.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

__all__ = ["parse_scale", "infer_family", "load_scale_map", "model_basename"]

_UNITS = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}
# A number immediately followed by a unit letter, not glued to other letters/digits on either side
# (so "v1.1", "gpt2", "Qwen2.5", "8x7b" do not match).
_SIZE = re.compile(r"(?<![A-Za-z0-9.])(\d+(?:\.\d+)?)([kKmMbBtT])(?![A-Za-z0-9])")


def model_basename(name: str) -> str:
    """``EleutherAI/pythia-1.4b`` -> ``pythia-1.4b``; strips trailing slashes and local paths."""
    return name.rstrip("/").split("/")[-1]


def parse_scale(name: str) -> float | None:
    """Parameter count from a model name, or ``None``.  The last size token wins (``t5-v1_1-3b``)."""
    matches = list(_SIZE.finditer(model_basename(name)))
    if not matches:
        return None
    num, unit = matches[-1].groups()
    return float(num) * _UNITS[unit.lower()]


def infer_family(name: str) -> str:
    """The model name without organisation, size token and revision: ``pythia-1.4b-deduped`` ->
    ``pythia-deduped``, ``Qwen2.5-7B-Instruct`` -> ``Qwen2.5-Instruct``."""
    base = model_basename(name).split("@")[0]
    base = _SIZE.sub("", base)
    base = re.sub(r"[-_]{2,}", "-", base).strip("-_")
    return base or model_basename(name)


def load_scale_map(path: str | Path) -> dict[str, dict[str, object]]:
    """``{model: {"scale_params": float, "family": str?}}`` from a CSV or JSON mapping file.

    Keys are matched against both the full model name and its basename.
    """
    p = Path(path)
    if p.suffix == ".json":
        data = json.loads(p.read_text())
        rows = [{"model": k, **(v if isinstance(v, dict) else {"scale_params": v})} for k, v in data.items()]
        df = pd.DataFrame(rows)
    else:
        df = pd.read_csv(p)
    if not {"model", "scale_params"} <= set(df.columns):
        raise ValueError(f"{p}: a scale map needs columns 'model' and 'scale_params'")
    out: dict[str, dict[str, object]] = {}
    for i, r in df.iterrows():
        try:
            scale = float(r["scale_params"])
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{p}, row {i}: scale_params {r['scale_params']!r} is not a number") from exc
        entry: dict[str, object] = {"scale_params": scale}
        if "family" in df.columns and isinstance(r.get("family"), str):
            entry["family"] = r["family"]
        out[str(r["model"])] = entry
    return out
