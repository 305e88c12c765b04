"""What a run writes into its output folder, and nothing else: the run manifest.

Every command that writes an output folder (``audit``, ``score``, ``predict``, ``reproduce``,
``report``) runs inside :class:`OutputRun`:

* an output folder that is an input folder, or lies inside one, is refused before anything is
  read (the outputs would mix with the inputs, and the next run would read them as inputs);
* a write onto an input file of the run is refused;
* a file that exists in the folder and that emergence-lens did not write is never overwritten:
  the run stops with :class:`OutputConflict` naming it.  What emergence-lens wrote is what the
  folder's manifest (:data:`MANIFEST`) lists; a folder written before manifests existed is
  recognised by its ``run.json`` and treated as written by emergence-lens;
* a run that stops early still lists what it wrote (beside what the manifest listed before), so
  rerunning it into the same folder works;
* when the run completes, the files an earlier run listed in the manifest and this run did not
  write are removed (an audit of a table into a folder of an earlier lm-eval audit leaves no
  ``fig6_mcg_vs_brier.png`` of that audit behind), and the manifest is rewritten with exactly the
  files this run wrote.  Files the manifest never listed are never removed;
* the report embeds only the figures this run wrote (:meth:`OutputRun.wrote`).

Every write goes through :func:`emergence_lens._io.atomic_path`, which asks the open run first;
figures drawn in worker processes are claimed by the calling process before they are submitted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from emergence_lens import _io

__all__ = ["MANIFEST", "OutputConflict", "OutputRun", "check_output_folder", "current_run", "output_run", "own_files",
           "read_manifest"]

MANIFEST = "run-manifest.json"
#: What marks a folder written by emergence-lens before manifests existed.
_LEGACY_MARK = "run.json"


class OutputConflict(ValueError):
    """An output folder or file that this run must not write (one line, for the user)."""


def _local(paths: Iterable[Any]) -> list[Path]:
    out = []
    for raw in paths:
        if raw is None or "://" in str(raw):
            continue
        try:
            out.append(Path(raw).expanduser().resolve())
        except (OSError, RuntimeError):
            continue
    return out


def check_output_folder(out: str | os.PathLike[str], inputs: Iterable[Any]) -> None:
    """Raise :class:`OutputConflict` when ``out`` is an input folder or lies inside one, or is an
    input file."""
    target = Path(out).expanduser().resolve()
    for p in _local(inputs):
        if p == target and p.is_file():
            raise OutputConflict(f"--out {out}: that is an input file of this run; choose an output folder")
        if p.is_dir() and (target == p or p in target.parents):
            where = "is" if target == p else "lies inside"
            raise OutputConflict(f"--out {out} {where} the input folder {p}: outputs would mix with the inputs "
                                 "(and be read as inputs by the next run); choose a folder outside it")


def _manifest(out: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of ``out`` as read (empty when there is none or it is not a JSON object)."""
    try:
        data = json.loads((Path(out) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def read_manifest(out: str | os.PathLike[str]) -> list[str] | None:
    """The files (relative to ``out``) the manifest of ``out`` lists, or ``None`` without one."""
    files = _manifest(out).get("files")
    return [str(f) for f in files if isinstance(f, str)] if isinstance(files, list) else None


class OutputRun:
    """One run's writes into ``out`` (see the module docstring).

    Args:
        out: the output folder.
        inputs: the run's input paths (files or folders; URLs are not local and are skipped).
        command: the command, recorded in the manifest.
        partial: the run adds to an earlier run's folder (``report DIR`` rewrites its report):
            nothing is removed, and the manifest keeps the earlier files and the command that
            made the folder.
    """

    def __init__(self, out: str | os.PathLike[str], inputs: Iterable[Any] = (), command: str = "",
                 partial: bool = False) -> None:
        self.out = Path(out).expanduser().resolve()
        self.command = command
        self.partial = partial
        listed = read_manifest(self.out)
        self.previous: set[str] = set(listed or ())
        if partial:  # the folder stays the earlier command's
            earlier = _manifest(self.out).get("command")
            self.command = earlier if isinstance(earlier, str) and earlier else command
        self.legacy = listed is None and (self.out / _LEGACY_MARK).is_file()
        self.inputs = {p for p in _local(inputs) if p.is_file()}
        self.written: set[str] = set()

    def _relative(self, path: str | os.PathLike[str]) -> str | None:
        p = Path(path).resolve()
        try:
            return p.relative_to(self.out).as_posix()
        except ValueError:
            return None

    def claim(self, path: str | os.PathLike[str]) -> None:
        """Allow this run to write ``path`` (raise :class:`OutputConflict` if it must not)."""
        target = Path(path).resolve()
        if target in self.inputs:
            raise OutputConflict(f"{target}: an input of this run; not overwritten (choose another --out)")
        rel = self._relative(target)
        if rel is None or rel in self.written or rel == MANIFEST:
            return
        if target.exists() and rel not in self.previous and not self.legacy:
            raise OutputConflict(f"{target} exists and emergence-lens did not write it (it is not in "
                                 f"{MANIFEST}); not overwritten: move it or choose another --out")
        self.written.add(rel)

    def wrote(self, path: str | os.PathLike[str]) -> bool:
        """Whether ``path`` is this run's output (for a partial run: or the earlier run's)."""
        rel = self._relative(path)
        return rel is not None and (rel in self.written or (self.partial and rel in self.previous))

    def finish(self, completed: bool = True) -> list[str]:
        """Write the manifest; a completed run first removes what an earlier run listed and this
        one did not write, and lists exactly its own files.  A run that stopped early removes
        nothing and lists the earlier files too (what it wrote is still emergence-lens's, so a rerun
        may overwrite it).  Returns the files removed (relative to ``out``)."""
        removed = []
        completed = completed and not self.partial
        if completed:
            for rel in sorted(self.previous - self.written):
                p = self.out / rel
                if p.is_file() or p.is_symlink():
                    p.unlink()
                    removed.append(rel)
        listed = self.written if completed else self.written | self.previous
        if self.out.is_dir() and (listed or self.previous or (self.out / MANIFEST).exists()):
            text = json.dumps({"tool": "emergence-lens", "command": self.command, "files": sorted(listed)},
                              indent=1) + "\n"
            _io.atomic_write_text(self.out / MANIFEST, text)
        return removed


_current: list[OutputRun] = []


def current_run() -> OutputRun | None:
    """The run open in this process, if any."""
    return _current[-1] if _current else None


def own_files(directory: str | os.PathLike[str]) -> set[Path] | None:
    """The files of ``directory`` that belong to its run: what the run open on it wrote, else what
    its manifest lists; ``None`` for a folder without a manifest (written before manifests existed,
    where every file is taken as the run's)."""
    d = Path(directory).expanduser().resolve()
    run = current_run()
    if run is not None and (run.out == d or run.out in d.parents):
        names = run.written | (run.previous if run.partial else set())
        return {run.out / rel for rel in names}
    listed = read_manifest(d)
    return None if listed is None else {d / rel for rel in listed}


@contextmanager
def output_run(out: str | os.PathLike[str], inputs: Iterable[Any] = (), command: str = "",
               partial: bool = False) -> Iterator[OutputRun]:
    """Open :class:`OutputRun` for ``out``: every atomic write in this process asks it first; on a
    clean exit the manifest lists exactly this run's files (stale ones removed); after an exception it
    lists what this run wrote beside what it listed before."""
    inputs = list(inputs)
    check_output_folder(out, inputs)
    run = OutputRun(out, inputs, command, partial)
    _current.append(run)
    previous_hook = _io.set_write_hook(run.claim)
    completed = False
    try:
        yield run
        completed = True
    finally:
        _io.set_write_hook(previous_hook)
        _current.remove(run)
        run.finish(completed)
