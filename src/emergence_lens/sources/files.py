"""The input files of a load: every file under the given paths (folders walked, URLs opened), and the
row accounting of each (``inputs.csv``): for every file ``rows_loaded + rows_reported = rows_read``,
and a mismatch is itself an issue."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from emergence_lens.sources.issues import IssueLog
from emergence_lens.sources.location import LocationError, UnopenedURL, as_location

__all__ = ["InputFile", "INPUT_COLUMNS", "expand_paths", "account_inputs"]

INPUT_COLUMNS = ["file", "format", "rows_read", "rows_loaded", "rows_reported", "status"]


@dataclass
class InputFile:
    """One file under the input paths: where it came from (``root``: the input folder or file it was
    found under), its recognised format, status, rows read and text encoding."""

    path: Path
    root: str
    format: str = ""
    status: str = "ok"
    rows_read: int = 0
    encoding: str = "utf-8"


def expand_paths(paths: Iterable[str | Path], issues: IssueLog) -> list[InputFile]:
    """Every file under ``paths`` in path order; a path that does not exist or a URL without a
    filesystem is a reported, skipped entry."""
    out: list[InputFile] = []
    for raw in paths:
        try:
            p = as_location(raw)
        except LocationError as exc:
            issues.add(str(raw), None, None, str(exc), "error")
            out.append(InputFile(UnopenedURL(raw), str(raw), status="skipped: no filesystem for this URL"))
            continue
        if not p.exists():
            issues.add(p, None, None, "path does not exist", "error")
            out.append(InputFile(p, p.name, status="skipped: path does not exist"))
            continue
        root = p.name if p.is_dir() else p.stem
        candidates = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
        for q in candidates:
            out.append(InputFile(q, root))
    return out


def account_inputs(files: list[InputFile], loaded_count: Mapping[str, int], issues: IssueLog) -> pd.DataFrame:
    """``inputs.csv``: every file, rows read / loaded / reported; a mismatch is itself an issue."""
    inputs = []
    for f in files:
        key = str(f.path)
        loaded = int(loaded_count.get(key, 0))
        reported = issues.rows_reported(key)
        status = f.status
        if loaded + reported != f.rows_read:
            issues.add(key, None, None, f"accounting: {f.rows_read} rows read, {loaded} loaded, {reported} reported "
                       "(please report this as a bug)", "error")
            status = "error: row accounting mismatch"
        elif status == "ok" and reported:
            status = f"ok, {reported} row(s) reported"
        inputs.append({"file": key, "format": f.format, "rows_read": f.rows_read, "rows_loaded": loaded,
                       "rows_reported": reported, "status": status})
    return pd.DataFrame(inputs, columns=INPUT_COLUMNS)
