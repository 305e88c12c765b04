"""How the local engine's worker processes start — kept apart from the engine so that the CLI can
start them before it imports the heavy modules (this module needs only the standard library).

``forkserver`` where the platform has it: one server process imports :data:`PRELOAD` once and forks
each worker from it, so workers start warm (no per-worker import of pandas, matplotlib, scipy) and
no thread of the calling process is ever forked.  Elsewhere ``spawn``: every worker imports for
itself.  :func:`prestart_workers` starts the server early, so its imports overlap the caller's.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["PRELOAD", "SERIAL_BYTES", "worker_context", "prestart_workers", "input_bytes", "release_memory"]

#: What a worker process imports before it is forked (once, in the fork server).
PRELOAD = ["emergence_lens.engine.partition", "emergence_lens.report.html", "emergence_lens.report.audit_figures",
           "emergence_lens.report.figures", "duckdb", "duckdb.filesystem"]
#: Below this many bytes of samples files, the local engine runs in the calling process.
SERIAL_BYTES = 64 * 2 ** 20


def worker_context() -> mp.context.BaseContext:
    """The multiprocessing context the local engine's workers are started with."""
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def prestart_workers() -> None:
    """Start the fork server now (idempotent; nothing under ``spawn``)."""
    if worker_context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def input_bytes(paths: Iterable[str | os.PathLike[str]]) -> int:
    """Bytes of the files at ``paths`` (folders walked): whether workers will be worth starting."""
    total = 0
    for raw in paths:
        if isinstance(raw, str) and "://" in raw:  # a URL: listed by the loader, not here
            continue
        p = Path(raw)
        try:
            files = p.rglob("*") if p.is_dir() else [p]
            total += sum(f.stat().st_size for f in files if f.is_file())
        except OSError:
            continue
    return total


def release_memory() -> None:
    """Give the memory this process has freed back to the system: Arrow's pool's unused blocks, and
    glibc's free heap pages (``malloc_trim``, where the C library has it): a worker that scores file
    after file keeps only what it still holds, not the holes its freed temporaries left."""
    import ctypes
    import ctypes.util

    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    global _trim
    if _trim is None:
        name = ctypes.util.find_library("c")
        libc = ctypes.CDLL(name) if name else None
        _trim = getattr(libc, "malloc_trim", False) if libc is not None else False
    if _trim:
        _trim(0)


_trim: Any = None
