"""Finished partitions on disk (``OUT/.partitions/``), so that a killed audit resumes from them.

Each finished partition is a folder named by its fingerprint — the SHA-256 of its key, every file's
path, size and modification time, the options and the package version — holding ``result.json``
(the files' outcomes and issues) and one Parquet file per table of its re-scored part.  A folder is
written under a temporary name and renamed when complete, so a kill leaves either a whole result or
none; a changed input file or option changes the fingerprint, so a stale result is never reused.
Nothing is unpickled: JSON and Parquet only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import pandas as pd

from emergence_lens.engine.partition import AuditOptions, Partition, PartitionResult
from emergence_lens.scoring import Rescored
from emergence_lens.sources.issues import SourceIssue
from emergence_lens.sources.location import stat_key
from emergence_lens.sources.samples import FileOutcome

__all__ = ["PartitionStore", "STORE_DIR"]

STORE_DIR = ".partitions"
_TABLES = ("audit_rows", "verdicts", "curves", "predictions")


def _issue(d: dict) -> SourceIssue:
    return SourceIssue(d["file"], d["line"], d["key"], d["message"], d["severity"], d["rows"])


_FINGERPRINT = re.compile(r"[0-9a-f]{32}")
_TEMPORARY = re.compile(r"\.[0-9a-f]{32}\.tmp\d+")


class PartitionStore:
    """Finished partitions under ``out/.partitions``."""

    def __init__(self, out: str | os.PathLike[str], options: AuditOptions) -> None:
        from emergence_lens import __version__

        self.root = Path(out) / STORE_DIR
        self.options = options
        self.version = __version__

    def fingerprint(self, part: Partition) -> str:
        files = []
        for j in part.jobs:
            size, mtime_ns = stat_key(j.file.path)
            files.append([str(j.file.path), size, mtime_ns])
        blob = json.dumps({"key": list(part.key), "files": files, "options": dataclasses.asdict(self.options),
                           "version": self.version}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]

    def load(self, part: Partition) -> PartitionResult | None:
        """The stored result of ``part``, or ``None`` (none, stale, or unreadable)."""
        d = self.root / self.fingerprint(part)
        meta = d / "result.json"
        if not meta.exists():
            return None
        try:
            m = json.loads(meta.read_text())
            outcomes = [FileOutcome(o["path"], o["rows_read"], o["status"], [_issue(i) for i in o["read_issues"]],
                                    [_issue(i) for i in o["record_issues"]], o["loaded"], o["unresolved"],
                                    o.get("sha256", ""))
                        for o in m["outcomes"]]
            rescored = None
            if m["rescored"]:
                rescored = Rescored(*(pd.read_parquet(d / f"{name}.parquet") for name in _TABLES))
            return PartitionResult(tuple(m["key"]), outcomes, [_issue(i) for i in m["across"]], rescored)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, part: Partition, result: PartitionResult) -> Path:
        """Store ``result`` atomically (temporary folder, then rename)."""
        self.root.mkdir(parents=True, exist_ok=True)
        final = self.root / self.fingerprint(part)
        tmp = self.root / f".{final.name}.tmp{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        meta = {"key": list(result.key), "rescored": result.rescored is not None,
                "outcomes": [{**dataclasses.asdict(o), "read_issues": [vars(i) for i in o.read_issues],
                              "record_issues": [vars(i) for i in o.record_issues]} for o in result.outcomes],
                "across": [vars(i) for i in result.across]}
        if result.rescored is not None:
            for name in _TABLES:
                getattr(result.rescored, name).to_parquet(tmp / f"{name}.parquet", index=False)
        (tmp / "result.json").write_text(json.dumps(meta, default=_jsonable))
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        return final

    def clear(self) -> None:
        """Remove the partitions this store wrote (a 32-hex fingerprint folder holding
        ``result.json``, or one of its temporary folders) and the folder itself if nothing else is
        left in it: a file of anyone else's under ``.partitions`` stays."""
        if not self.root.is_dir():
            return
        for entry in self.root.iterdir():
            if entry.is_dir() and not entry.is_symlink() and (
                    (_FINGERPRINT.fullmatch(entry.name) and (entry / "result.json").is_file())
                    or _TEMPORARY.fullmatch(entry.name)):
                shutil.rmtree(entry, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.root.rmdir()  # only when empty


def _jsonable(v: object) -> object:
    if hasattr(v, "item"):
        return v.item()  # numpy scalars
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")
