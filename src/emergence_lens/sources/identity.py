"""Model identity: each model's size and family, resolved in the documented order (the file, a local
checkpoint, the name, a metadata table, a scale map, the catalogue of public families), and where
each came from (``models.csv``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import pandas as pd

from emergence_lens.sources.checkpoint import checkpoint_params
from emergence_lens.sources.model_names import is_size_token, parse_model_name, resolve_catalogue
from emergence_lens.sources.scale import infer_family, model_basename, parse_scale

__all__ = ["ModelResolver", "ResolvedModel", "MODEL_COLUMNS", "pretrained_path"]

MODEL_COLUMNS = ["model", "family", "family_source", "scale_params", "scale_flops", "size_source"]


class ResolvedModel(NamedTuple):
    """A model's size, compute, family and where its size came from."""

    scale_params: float | None
    scale_flops: float | None
    family: str
    size_source: str


def pretrained_path(data: Any) -> str | None:
    config = data.get("config") if isinstance(data, dict) and isinstance(data.get("config"), dict) else {}
    args = config.get("model_args")
    if isinstance(args, dict):
        return str(args.get("pretrained")) if args.get("pretrained") else None
    if isinstance(args, str):
        for part in args.split(","):
            k, _, v = part.partition("=")
            if k.strip() == "pretrained" and v.strip():
                return v.strip()
    return None


class ModelResolver:
    """Scale and family of each model, in the documented order; remembers where each came from."""

    def __init__(self, scale_map: Mapping[str, Mapping[str, Any]], metadata: Mapping[str, Mapping[str, Any]],
                 family: str | None) -> None:
        self.scale_map = scale_map
        self.metadata = metadata
        self.family = family
        self.models: dict[str, dict[str, Any]] = {}

    def _entry(self, table: Mapping[str, Mapping[str, Any]], model: str) -> Mapping[str, Any]:
        if not table:
            return {}
        parsed = parse_model_name(model)
        for key in (model, model_basename(model), model_basename(model).lower(), parsed.hub_id,
                    model_basename(parsed.hub_id), parsed.core, parsed.core.lower()):
            if key in table:
                return table[key]
        return {}

    def resolve(self, model: str, file_scale: float | None, file_family: str | None, root: str,
                checkpoint: str | None = None, file_flops: float | None = None) -> ResolvedModel:
        key = (model, root)
        if key in self.models:
            m = self.models[key]
            return ResolvedModel(m["scale_params"], m["scale_flops"], m["family"], m["size_source"])
        meta = self._entry(self.metadata, model)
        smap = self._entry(self.scale_map, model)
        parsed = parse_model_name(model)
        match = resolve_catalogue(parsed)
        cat = match.entry if match is not None else None
        named = f"name ({parsed.how})" if parsed.how else "name"
        name_scale = parse_scale(parsed.core)
        scale, source = None, "unresolved"
        if file_scale and file_scale > 0:
            scale, source = float(file_scale), "file"
        elif checkpoint and (n := checkpoint_params(checkpoint)):
            scale, source = float(n), f"checkpoint {checkpoint}"
        elif name_scale is not None:
            scale, source = name_scale, named
        elif meta.get("scale_params"):
            scale, source = float(meta["scale_params"]), "metadata table"
        elif smap.get("scale_params"):
            scale, source = float(smap["scale_params"]), "scale map"
        elif match is not None:
            scale, source = match.entry.params, f"{match.how}: {match.entry.source}" + (
                f" ({parsed.how})" if parsed.how else "")
        flops = file_flops if file_flops and file_flops > 0 else meta.get("scale_flops")
        if flops is None and cat is not None and scale is not None and cat.train_tokens:
            flops = 6.0 * scale * cat.train_tokens
        if self.family:
            fam, fsrc = self.family, "--family"
        elif meta.get("family") or smap.get("family"):
            fam, fsrc = str(meta.get("family") or smap.get("family")), "metadata table / scale map"
        elif file_family:
            fam, fsrc = file_family, "file"
        elif match is not None:
            fam, fsrc = match.family, match.how + (f" ({parsed.how})" if parsed.how else "")
        elif name_scale is not None:
            fam, fsrc = infer_family(parsed.core), named
        else:
            fam, fsrc = root, f"input path {root!r} (names carry no family)"
        if is_size_token(fam) or not fam.strip("-_ "):  # a family is never a size token
            fam, fsrc = root, f"input path {root!r} (the name's family part was only a size)"
        self.models[key] = {"model": model, "family": fam, "family_source": fsrc, "scale_params": scale,
                            "scale_flops": flops, "size_source": source}
        return ResolvedModel(scale, flops, fam, source)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.models.values()), columns=MODEL_COLUMNS).sort_values(
            ["family", "scale_params", "model"], kind="stable", na_position="last").reset_index(drop=True)
