"""Where input files live: a local path, or an object-store / remote URL that fsspec can open.

Every reader takes a *location*: a :class:`pathlib.Path` for a local file, or a
`universal-pathlib <https://github.com/fsspec/universal_pathlib>`_ ``UPath`` for a URL such as
``s3://bucket/runs``, ``gs://...``, ``az://...``, ``hf://...``, ``https://...`` — the same
``pathlib`` API (``rglob``, ``read_bytes``, ``open``, ``stat``, ``name``, ``parent``) over the
fsspec filesystem of that scheme.  A location prints as the string the user gave
(``s3://bucket/runs/x.jsonl``), so ``inputs.csv``, ``issues.csv`` and ``run.json`` name it.  It pickles
with its protocol and options, so a Dask worker on another machine opens the same object with its
own credentials (the usual ``AWS_*`` / ``GOOGLE_*`` environment or config files).

The filesystem package of a scheme is the user's to install (``pip install 'emergence-lens[s3]'`` for
``s3://``; ``gcsfs``, ``adlfs``, ... for the others); :func:`as_location` names it when it is missing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import IO, Any

__all__ = ["Location", "LocationError", "UnopenedURL", "as_location", "is_remote", "is_url", "open_binary",
           "reader_source", "stat_key"]

#: A local ``pathlib.Path`` or a ``upath.UPath``.
Location = Any

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")

#: The package each common scheme needs (fsspec's own message names it too; this one adds the extra).
_PACKAGES = {"s3": "s3fs (pip install 'emergence-lens[s3]')", "s3a": "s3fs (pip install 'emergence-lens[s3]')",
             "gs": "gcsfs", "gcs": "gcsfs", "az": "adlfs", "abfs": "adlfs", "abfss": "adlfs",
             "http": "aiohttp", "https": "aiohttp", "hf": "huggingface_hub"}


class LocationError(ValueError):
    """A URL whose scheme no installed filesystem handles (the message names the package)."""


class UnopenedURL(str):
    """A URL that could not be opened, kept as written (``inputs.csv`` names it; a ``Path`` would
    fold its ``//``)."""

    @property
    def name(self) -> str:
        return self.rstrip("/").rsplit("/", 1)[-1]

    @property
    def suffix(self) -> str:
        name = self.name
        return name[name.rindex("."):] if "." in name.lstrip(".") else ""


def is_url(raw: str | os.PathLike[str]) -> bool:
    """``raw`` is written as a URL (``scheme://...``), not a local path."""
    return isinstance(raw, str) and _URL.match(raw) is not None


def as_location(raw: str | os.PathLike[str]) -> Location:
    """``raw`` as a location: a ``Path`` for a local path (``file://`` URLs included), a ``UPath``
    for any other URL; an existing ``Path``/``UPath`` is returned as it is."""
    if not isinstance(raw, str):
        return raw if is_remote(raw) or isinstance(raw, Path) else Path(raw)
    if not is_url(raw):
        return Path(raw)
    scheme = raw.split("://", 1)[0].lower()
    if scheme in ("file", "local"):
        from urllib.parse import unquote, urlsplit

        return Path(unquote(urlsplit(raw).path))
    try:
        from upath import UPath

        p = UPath(raw)
        p.fs  # noqa: B018 - the filesystem is made here, so a missing package is named now, not at first read
        return p
    except (ImportError, ValueError) as exc:
        need = _PACKAGES.get(scheme, f"the fsspec filesystem for {scheme!r}")
        raise LocationError(f"cannot open {scheme}:// URLs here ({type(exc).__name__}: {exc}); "
                            f"install {need}") from None


def is_remote(p: Any) -> bool:
    """``p`` is a location on a remote filesystem (not a local file)."""
    if isinstance(p, (Path, str)):  # local paths never import universal-pathlib
        return False
    try:
        from upath import UPath
    except ImportError:  # pragma: no cover - a core dependency
        return False
    return isinstance(p, UPath) and not isinstance(p, Path)


def open_binary(p: Location) -> IO[bytes]:
    """``p`` opened for reading bytes (a seekable file object: zip and Parquet readers take it)."""
    return p.open("rb")


def reader_source(p: Location) -> Any:
    """What a reader that takes a path or a file object (``zipfile``, ``pyarrow.parquet``) is given:
    the local path itself, or the remote file opened (seekable)."""
    return open_binary(p) if is_remote(p) else p


def stat_key(p: Location) -> tuple[int, int]:
    """``(size, modification time in ns)`` of the file at ``p``: what a stored partition is keyed by
    (object stores give the object's last-modified time)."""
    st = p.stat()
    mtime = getattr(st, "st_mtime_ns", None)
    return int(st.st_size), int(mtime if mtime is not None else float(st.st_mtime) * 1e9)
