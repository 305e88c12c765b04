"""Atomic file writes: write to a temporary file in the target directory, then rename.

A reader never sees a half-written output, and an interrupted run leaves the previous
file (if any) intact.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_path", "atomic_write_text", "atomic_write_bytes", "atomic_write_with", "iter_jsonl", "sha256_file",
           "count_lines", "sha256_and_lines", "set_write_hook", "write_csv"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_write_hook: Callable[[Path], None] | None = None


def set_write_hook(hook: Callable[[Path], None] | None) -> Callable[[Path], None] | None:
    """Have every atomic write ask ``hook(target)`` first (it raises to refuse); returns the hook it
    replaces.  :mod:`emergence_lens.outputs` sets it for the run open in this process."""
    global _write_hook
    previous, _write_hook = _write_hook, hook
    return previous


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    On an exception the temporary file is removed and ``path`` is left untouched.  The open run's
    write hook (:func:`set_write_hook`) is asked before anything is written.
    """
    target = Path(path)
    if _write_hook is not None:
        _write_hook(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates the file 0600; give the output the mode any other new file would get
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically and return the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_with(path: str | os.PathLike[str], writer: Callable[[Path], object]) -> Path:
    """Call ``writer(tmp_path)`` and atomically move the result onto ``path``."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def write_csv(df: Any, path: str | os.PathLike[str]) -> Path:
    """Write a DataFrame as CSV atomically with a fixed float format (same data, same bytes).  Cells
    are written as they are: a data tool never rewrites the names or values it was given."""
    return atomic_write_text(path, df.to_csv(index=False, float_format="%.10g", lineterminator="\n"))


def _open_binary(path: str | os.PathLike[str]) -> IO[bytes]:
    """``path`` opened for reading bytes: a local path, or a location that opens itself (a ``UPath``
    on an object store)."""
    return path.open("rb") if hasattr(path, "open") else open(path, "rb")


def iter_jsonl(path: str | os.PathLike[str], encoding: str = "utf-8") -> Iterator[tuple[int, object]]:
    """Yield ``(line_number, value)`` for each non-blank line of a JSON Lines file (1-based line
    numbers), streamed.  A line that is not valid JSON — or not text in ``encoding`` — yields a
    :class:`json.JSONDecodeError` as the value, so each caller decides whether that is an error or
    a reported, skipped line (nothing after undecodable bytes is read)."""
    import io
    import json

    with _open_binary(path) as fh:
        reader = io.TextIOWrapper(fh, encoding=encoding, errors="strict", newline=None)
        lineno = 0
        while True:
            try:
                line = reader.readline()
            except UnicodeDecodeError as exc:
                yield lineno + 1, json.JSONDecodeError(f"not {encoding} text ({exc.reason})", "", 0)
                return
            if not line:
                return
            lineno += 1
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as exc:
                yield lineno, exc
            except RecursionError:
                yield lineno, json.JSONDecodeError("nested too deeply", line[:50], 0)


def _lines_in(blocks: Iterator[memoryview]) -> int:
    """Lines in a stream of blocks as a JSON-lines reader counts them: every newline, and a last line
    without its newline too (counted with numpy's SIMD compare, twice ``bytes.count``'s speed)."""
    import numpy as np

    lines, last = 0, 10  # 10: a newline, so an empty stream has no line
    for block in blocks:
        if len(block):
            lines += int(np.count_nonzero(np.frombuffer(block, np.uint8) == 10))
            last = block[-1]
    return lines + (last != 10)


def _blocks(path: str | os.PathLike[str], digest: Any = None) -> Iterator[memoryview]:
    """A file's bytes as views of one reused buffer, each hashed into ``digest`` (if given) first."""
    buf = bytearray(1 << 18)
    view = memoryview(buf)
    with _open_binary(path) as fh:
        while n := fh.readinto(buf):
            if digest is not None:
                digest.update(view[:n])
            yield view[:n]


def count_lines(data: str | os.PathLike[str] | bytes) -> int:
    """Lines in a file (its path) or in bytes already read, as a JSON-lines reader counts them."""
    return _lines_in(iter([memoryview(data)]) if isinstance(data, bytes) else _blocks(data))


def sha256_and_lines(path: str | os.PathLike[str]) -> tuple[str, int]:
    """Hex SHA-256 of a file and its lines (:func:`count_lines`), in one streamed pass through one
    reused buffer (each block hashed and counted while it is in cache)."""
    import hashlib

    digest = hashlib.sha256()
    lines = _lines_in(_blocks(path, digest))
    return digest.hexdigest(), lines


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file (a local path, or a location that opens itself), streamed through a
    small buffer: constant memory for any size, and each block hashed while it is in cache."""
    import hashlib

    with _open_binary(path) as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
