"""Recognise an input file by its content, not its name.

Published evaluation dumps come named after the model (``pythia-1.4b.json``), in folders of any
shape, sometimes saved as UTF-16 by a spreadsheet.  :func:`sniff` reads the start of a file and
says what it is:

=====================  =========================================================================
format                 recognised by
=====================  =========================================================================
``lmeval_results``     a JSON object with a ``results`` object (old and current lm-eval formats)
``lmeval_samples``     JSON lines whose objects have ``doc_id`` and ``resps`` / ``filtered_resps``
``bigbench_scores``    a JSON object with a ``model`` object and a ``scores`` list
``table``              CSV / TSV (any delimiter the sniffer finds) or Parquet (Parquet with
                       ``doc_id`` and ``resps`` columns: ``lmeval_samples``, the hub's layout)
``records``            Parquet with the records schema's required columns (``evaluate`` writes it)
``inspect_log``        an Inspect AI ``.eval`` archive (a zip with ``header.json``) or a JSON log
                       (an ``eval`` object with ``task`` and ``model``)
=====================  =========================================================================

Text is UTF-8 (with or without BOM) or UTF-16 (with BOM, or detected from its NUL bytes); other
bytes are reported as "not UTF-8 or UTF-16 text" with the offset.  Everything else is "not a
recognised format", with what was seen.  Nothing here raises on bad input.
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable
from typing import Any

from emergence_lens.registry import Registry
from emergence_lens.sources.inspect_logs import is_inspect_archive, is_inspect_log
from emergence_lens.sources.location import as_location, is_remote, open_binary

__all__ = ["Sniffed", "sniff", "read_text", "DATA_SUFFIXES", "TextError", "JSON_FORMATS"]

DATA_SUFFIXES = (".json", ".jsonl", ".ndjson", ".csv", ".tsv", ".parquet", ".eval")
_HEAD = 1 << 16


class TextError(ValueError):
    """The bytes are not text in an encoding we read."""


@dataclass
class Sniffed:
    """What a file is: ``format`` (None when not recognised, with ``reason``), its text
    ``encoding`` and, for JSON documents, the parsed ``data`` (read once)."""

    path: Path
    format: str | None
    reason: str = ""
    encoding: str = "utf-8"
    data: Any = None


def _encoding(raw: bytes) -> str:
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    head = raw[:4096]
    if head and head.count(b"\x00") > len(head) // 4:  # UTF-16 without a BOM: every other byte NUL
        return "utf-16-le" if head[1:2] == b"\x00" else "utf-16-be"
    return "utf-8"


def read_text(path: Path, encoding: str | None = None) -> str:
    """The whole file as text; :class:`TextError` names the first undecodable byte."""
    raw = path.read_bytes()
    enc = encoding or _encoding(raw)
    try:
        return raw.decode(enc)
    except UnicodeDecodeError as exc:
        raise TextError(f"not UTF-8 or UTF-16 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None


#: JSON document formats, each with the test that recognises a parsed document, tried in order (an
#: Inspect log has a ``results`` object too, so it is tried before lm-eval).  A new JSON format
#: registers its test here and its reader in :data:`emergence_lens.sources.load.READERS`.
JSON_FORMATS: Registry[Callable[[Any], bool]] = Registry("JSON format")
JSON_FORMATS.register("inspect_log", is_inspect_log)
JSON_FORMATS.register("lmeval_results", lambda d: isinstance(d, dict) and isinstance(d.get("results"), dict))
JSON_FORMATS.register("bigbench_scores", lambda d: isinstance(d, dict) and isinstance(d.get("model"), dict)
                      and isinstance(d.get("scores"), list))


def _classify_json(data: Any) -> str | None:
    return next((name for name, recognises in JSON_FORMATS.items() if recognises(data)), None)


def sniff(path: str | Path) -> Sniffed:
    """What ``path`` holds (see the module docstring)."""
    p = as_location(path)
    suffix = p.suffix.lower()
    try:
        with p.open("rb") as fh:
            head = fh.read(_HEAD)
    except OSError as exc:
        return Sniffed(p, None, f"unreadable ({exc.strerror or exc})")
    if not head:
        return Sniffed(p, None, "empty file")
    if head.startswith(b"PK\x03\x04") or suffix == ".eval":
        why = is_inspect_archive(p)
        return Sniffed(p, "inspect_log", encoding="zip") if why is None else Sniffed(p, None, why)
    if head.startswith(b"PAR1") or suffix == ".parquet":
        if not head.startswith(b"PAR1"):
            return Sniffed(p, None, "not a Parquet file (no PAR1 magic)")
        try:
            import pyarrow.parquet as pq

            if is_remote(p):
                with open_binary(p) as fh:
                    names = set(pq.read_schema(fh).names)
            else:
                names = set(pq.read_schema(p).names)
        except Exception as exc:  # noqa: BLE001 - a broken footer is reported, not raised
            return Sniffed(p, None, f"unreadable Parquet file ({type(exc).__name__}: {str(exc)[:120]})")
        if {"family", "model", "scale_params", "task", "example_id"} <= names:
            return Sniffed(p, "records", encoding="parquet")  # emergence-lens records (evaluate, score)
        if "doc_id" in names and names & {"filtered_resps", "resps"}:
            # lm-eval samples as the hub's "details" datasets store them: one row per sample
            return Sniffed(p, "lmeval_samples", encoding="parquet")
        return Sniffed(p, "table")
    enc = _encoding(head)
    try:
        text_head = head.decode(enc)
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            return Sniffed(p, None, f"not UTF-8 or UTF-16 text (byte 0x{head[exc.start]:02x} at offset {exc.start})",
                           enc)
        text_head = head[:exc.start].decode(enc, errors="ignore")
    if "\x00" in text_head:
        return Sniffed(p, None, "binary data, not text", enc)
    stripped = text_head.lstrip("\ufeff \t\r\n")
    if stripped[:1] in ("{", "["):
        first = stripped.splitlines()[0] if stripped else ""
        try:
            obj = json.loads(first)
        except (json.JSONDecodeError, RecursionError):
            obj = None
        if isinstance(obj, dict) and len(stripped.splitlines()) > 0 and first.strip().endswith("}"):
            rest = stripped[len(first):].strip()
            if not rest or rest.startswith("{"):  # JSON lines (or a one-line JSON document)
                if _classify_json(obj) and not rest:
                    return Sniffed(p, _classify_json(obj), encoding=enc, data=obj)
                if obj.get("doc_id") is not None and ("filtered_resps" in obj or "resps" in obj):
                    return Sniffed(p, "lmeval_samples", encoding=enc)
                keys = ", ".join(list(map(str, obj))[:8])
                what = "JSON lines with keys" if rest else "JSON object with keys"
                return Sniffed(p, None, f"not a recognised format ({what} {keys})", enc)
        try:
            data = json.loads(read_text(p, enc))
        except TextError as exc:
            return Sniffed(p, None, str(exc), enc)
        except json.JSONDecodeError as exc:
            what = "truncated JSON" if exc.pos >= len(stripped.rstrip()) - 1 or "Expecting" in exc.msg else "invalid JSON"
            return Sniffed(p, None, f"{what} at line {exc.lineno} ({exc.msg})", enc)
        except RecursionError:
            return Sniffed(p, None, "JSON nested too deeply", enc)
        fmt = _classify_json(data)
        if fmt:
            return Sniffed(p, fmt, encoding=enc, data=data)
        if isinstance(data, dict):
            return Sniffed(p, None, f"not a recognised format (JSON object with keys "
                                    f"{', '.join(list(map(str, data))[:8])})", enc)
        return Sniffed(p, None, f"not a recognised format (JSON {type(data).__name__})", enc)
    if suffix in (".csv", ".tsv") or ("," in stripped.split("\n", 1)[0] or "\t" in stripped.split("\n", 1)[0]):
        return Sniffed(p, "table", encoding=enc)
    return Sniffed(p, None, "not a recognised format (not JSON, JSON lines, CSV or Parquet)", enc)
