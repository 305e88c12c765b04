"""Provenance of a run: what was run, on what, by which version, how long it took (``run.json``).

Every command that writes an output folder (``reproduce``, ``audit``, ``score``) records it, and the
HTML report shows it, so a figure can always be traced back to its inputs byte for byte.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from emergence_lens import __version__
from emergence_lens._io import atomic_write_text, sha256_file
from emergence_lens.sources.location import LocationError, as_location, is_remote

__all__ = ["RUN_FILE", "sha256_file", "write_run_info", "read_run_info"]

RUN_FILE = "run.json"


def _files(paths: Iterable[str | os.PathLike[str]]) -> list[Any]:
    out: list[Any] = []
    for raw in paths:
        try:
            p = as_location(raw)
        except LocationError:  # no filesystem for this URL: inputs.csv and issues.csv say so
            continue
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.is_file()))
        elif p.is_file():
            out.append(p)
    return out


def _key(p: Any) -> str:
    """How a file is matched with a digest computed elsewhere: its resolved path, or its URL."""
    return str(p) if is_remote(p) else str(p.resolve())


def write_run_info(out: str | os.PathLike[str], *, command: str, argv: Sequence[str] | None = None,
                   seed: int | None = None, inputs: Iterable[str | os.PathLike[str]] = (),
                   started: float, finished: float, extra: dict[str, Any] | None = None,
                   digests: Mapping[str, str] | None = None) -> Path:
    """Write ``out/run.json``: version, command line, seed, start time, seconds taken, Python and
    platform, and every input file with its size and SHA-256 (folders are expanded).

    ``digests``: SHA-256s already computed where the files were read (path -> hex; the audit's
    workers hash each samples file from the bytes they parse), so those are not read again."""
    files = _files(inputs)
    known = {_key(as_location(k)): v for k, v in (digests or {}).items() if v}
    info = {
        "tool": "emergence-lens",
        "version": __version__,
        "command": command,
        "argv": list(sys.argv if argv is None else argv),
        "seed": seed,
        "started_utc": datetime.fromtimestamp(started, tz=timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(finished - started, 2),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "inputs": [{"path": str(p), "bytes": p.stat().st_size, "sha256": known.get(_key(p)) or sha256_file(p)}
                   for p in files],
        **(extra or {}),
    }
    return atomic_write_text(Path(out) / RUN_FILE, json.dumps(info, indent=1) + "\n")


def read_run_info(directory: str | os.PathLike[str]) -> dict[str, Any] | None:
    """``directory/run.json`` as a dict, or ``None`` when absent or unreadable."""
    p = Path(directory) / RUN_FILE
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
