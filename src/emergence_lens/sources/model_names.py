"""Model names as they are published, reduced to what sizes and families are read from.

Results files, leaderboards and per-run CSVs name one model many ways.  :func:`parse_model_name`
undoes, in this order:

1. **Hugging Face cache paths**: ``.../hub/models--EleutherAI--pythia-1.4b/snapshots/<hash>`` ->
   ``EleutherAI/pythia-1.4b``; a folder per size under a family folder, ``models--llama/7B`` ->
   ``llama/7B``, read as ``llama-7B`` (a basename that is only a size takes its folder's name as
   the family: a family is never a size token).
2. **Revisions**: ``@step143000``, ``@main`` (kept in ``revision``).
3. **Version, dtype and format tokens**: ``-v1.1``, ``-v0``, ``-bf16``, ``-fp16``, ``-GGUF``,
   ``-GPTQ``, ``-AWQ``, ``-4bit``, ``-Q4_K_M``, ``-hf``, ... (kept in ``dropped``): they do not
   change the parameter count or the family.

:func:`resolve_catalogue` then looks the core name up in the catalogue, and when it is not there
tries its leading ``-`` prefixes, so a fine-tune named after its base (``gpt2-xl-alpaca``,
``pythia-1.4b-deduped``) takes the base's size and a family of its own (``gpt2-alpaca``,
``pythia-deduped``): the base's family plus the words that are not the base.  Each rule used is
written out (``how``) and lands in ``models.csv``'s ``size_source`` / ``family_source``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from emergence_lens.sources.catalogue import CatalogueEntry, catalogue

__all__ = ["ModelName", "parse_model_name", "resolve_catalogue", "CatalogueMatch", "is_size_token", "lookup_model"]

_SIZE_ONLY = re.compile(r"^\d+(?:\.\d+)?[kKmMbBtT]$")
#: Tokens that name a numeric format, a file format or a packaging, never a different model.
_FORMAT_TOKENS = frozenset({
    "bf16", "fp16", "fp32", "fp8", "float16", "float32", "bfloat16", "half", "gguf", "ggml", "gptq", "awq",
    "exl2", "int4", "int8", "4bit", "8bit", "mlx", "onnx", "safetensors", "hf", "ct2", "bnb", "nf4"})
_QUANT = re.compile(r"^(q\d(_[a-z0-9]+)*|iq\d(_[a-z0-9]+)*|w\d+a\d+)$", re.IGNORECASE)
_VERSION = re.compile(r"^v\d+(?:[._]\d+)*$", re.IGNORECASE)


def is_size_token(text: str) -> bool:
    """``7B``, ``1.4b``, ``350M``: a size and nothing else."""
    return bool(_SIZE_ONLY.match(text.strip()))


@dataclass(frozen=True)
class ModelName:
    """Attributes:
        raw: the name as given.
        hub_id: ``org/name`` (cache paths undone, revision removed), or the name alone.
        core: the basename without revision, version, dtype and format tokens (lower case kept).
        revision: what followed ``@`` (or a cache snapshot hash), if anything.
        dropped: the tokens removed from the basename.
        how: the rules applied, in words (empty when the name was used as given).
    """

    raw: str
    hub_id: str
    core: str
    revision: str | None
    dropped: tuple[str, ...]
    how: str


def parse_model_name(raw: str) -> ModelName:
    """See the module docstring."""
    name = str(raw).strip().replace("\\", "/").rstrip("/")
    how: list[str] = []
    revision = None
    if "@" in name.split("/")[-1]:
        name, _, revision = name.rpartition("@")
        how.append(f"revision @{revision} dropped")
    parts = [p for p in name.split("/") if p]
    org, base = (parts[-2] if len(parts) > 1 else None), (parts[-1] if parts else name)
    cache = next((i for i, p in enumerate(parts) if p.startswith("models--")), None)
    if cache is not None:
        pieces = parts[cache][len("models--"):].split("--")
        rest = parts[cache + 1:]
        if rest[:1] == ["snapshots"]:
            revision = revision or (rest[1] if len(rest) > 1 else None)
            rest = []
        if len(pieces) >= 2:
            org, base = pieces[0], "--".join(pieces[1:])
        elif rest:
            org, base = pieces[0], rest[0]
        else:
            org, base = None, pieces[0]
        how.append(f"hub cache path {parts[cache]}{'/' + '/'.join(parts[cache + 1:]) if parts[cache + 1:] else ''}"
                   f" -> {org + '/' if org else ''}{base}")
    if is_size_token(base) and org:
        how.append(f"size-only name {base!r} takes its folder {org!r} as the family")
        base = f"{org}-{base}"
    tokens = base.split("-")
    kept, dropped = [], []
    for i, t in enumerate(tokens):
        low = t.lower()
        if i > 0 and (low in _FORMAT_TOKENS or _QUANT.match(t) or _VERSION.match(t)):
            dropped.append(t)
        else:
            kept.append(t)
    if dropped:
        how.append(f"version/dtype/format token(s) {', '.join(dropped)} dropped")
    core = "-".join(kept) or base
    hub_id = f"{org}/{base}" if org and not base.startswith(f"{org}-") else base
    return ModelName(str(raw), hub_id, core, revision, tuple(dropped), "; ".join(how))


@dataclass(frozen=True)
class CatalogueMatch:
    entry: CatalogueEntry
    family: str
    how: str


def resolve_catalogue(parsed: ModelName) -> CatalogueMatch | None:
    """The catalogue entry of a parsed name: the core itself, else its longest leading
    ``-``-prefix in the catalogue (a fine-tune or variant of that base; family = base family +
    the remaining words)."""
    cat = catalogue()
    base = parsed.hub_id.split("/")[-1].lower().split("-")
    versioned = "-".join(t for i, t in enumerate(base) if i == 0 or not (t in _FORMAT_TOKENS or _QUANT.match(t)))
    if parsed.dropped and versioned in cat:  # the catalogue names this version itself (mistral-7b-v0.1)
        return CatalogueMatch(cat[versioned], cat[versioned].family, f"catalogue: {cat[versioned].model}")
    tokens = parsed.core.split("-")
    for k in range(len(tokens), 0, -1):
        key = "-".join(tokens[:k]).lower()
        entry = cat.get(key)
        if entry is None:
            continue
        extra = [t for t in tokens[k:] if t]
        if not extra:
            return CatalogueMatch(entry, entry.family, f"catalogue: {entry.model}")
        family = "-".join([entry.family, *extra])
        return CatalogueMatch(entry, family, f"catalogue: base {entry.model} of {parsed.core} (a variant or "
                                             f"fine-tune: size from the base, family {family})")
    return None


def lookup_model(name: str | None) -> CatalogueEntry | None:
    """The catalogue entry of a model name, or ``None``: the same resolution ``audit`` uses
    (:func:`emergence_lens.sources.model_names.resolve_catalogue`: revisions, cache paths,
    version/dtype/format tokens, and the base of a variant or fine-tune)."""
    if not name:
        return None
    match = resolve_catalogue(parse_model_name(str(name)))
    return None if match is None else match.entry
