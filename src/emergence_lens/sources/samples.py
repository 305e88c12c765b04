"""Per-example sources: lm-eval samples files (JSON lines or Parquet) and Inspect logs' samples, read
into compact frames (:func:`read_sample_file`), then validated records (:func:`sample_table`,
:func:`records_across`); the jobs a partitioned engine reads (:class:`SampleJob`) and what each gives
back (:class:`FileOutcome`)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from emergence_lens._io import iter_jsonl, sha256_and_lines, sha256_file
from emergence_lens.records import (
    KEY_COLUMNS,
    RECORD_SCHEMA,
    RecordsError,
    records_to_pandas,
    validate_across,
    validate_records,
)
from emergence_lens.sources.files import InputFile
from emergence_lens.sources.identity import ModelResolver, ResolvedModel
from emergence_lens.sources.inspect_logs import read_inspect_log
from emergence_lens.sources.issues import IssueLog, SourceIssue
from emergence_lens.sources.lmeval import (
    SAMPLES_RE,
    FileChanged,
    LinesRead,
    _unchanged,
    plain_local_path,
    read_lmeval_samples,
    read_lmeval_samples_fast,
)
from emergence_lens.sources.location import is_remote, reader_source
from emergence_lens.sources.sniff import read_text

__all__ = ["SampleJob", "SampleRead", "FileOutcome", "DeferredSamples", "read_sample_file", "sample_table",
           "records_across", "check_across", "key_table", "ACROSS_COLUMNS", "records_file", "records_from_samples",
           "file_model", "read_samples", "sample_jobs", "sample_info", "inspect_frame", "parquet_rows", "SAMPLE_EXTRAS"]


@dataclass
class SampleJob:
    """One samples file left to read (``load_sources(defer_samples=True)``): an lm-eval samples file
    or an Inspect log's samples; the file, its task, its results information (an lm-eval folder's
    results file, the log's header), whether there was none, and its model's resolved ``(scale,
    flops, family, source)``."""

    file: InputFile
    task: str
    info: dict[str, Any]
    no_results: bool
    resolved: ResolvedModel

    @property
    def key(self) -> tuple[str, str]:
        """The partition: (family, task) — the records of one key are one group of curves."""
        return (self.resolved.family, self.task)

    @property
    def model(self) -> str:
        """The model its records name (:func:`file_model`)."""
        return file_model(self.file, self.info)

    @property
    def size(self) -> int:
        """Bytes of its file (0 when it is gone)."""
        return self.file.path.stat().st_size if self.file.path.exists() else 0


def file_model(f: InputFile, info: Mapping[str, Any]) -> str:
    """The model a samples file's records name: its results information's, else its folder's."""
    return str(info.get("model") or f.path.parent.name)


@dataclass
class FileOutcome:
    """What reading one deferred samples file gave: rows read, status, the issues of reading it and
    of forming its records (in that order of the whole audit), rows loaded, unresolved rows."""

    path: str
    rows_read: int
    status: str
    read_issues: list[SourceIssue]
    record_issues: list[SourceIssue]
    loaded: int
    unresolved: list[dict[str, Any]]
    sha256: str = ""  # of the bytes read (for run.json), computed where they were read


@dataclass
class DeferredSamples:
    """The samples files ``load_sources(defer_samples=True)`` did not read, and what it needs to
    finish the bundle once they are (:func:`complete_bundle`)."""

    jobs: list[SampleJob]
    files: list[InputFile]
    loaded_count: dict[str, int]
    mark: int  # issues before this index come before the samples' reading issues


def parquet_rows(path: Path, issues: IssueLog) -> Iterator[tuple[int, Any]]:
    """``(row_number, row)`` of a Parquet file of lm-eval samples (1-based, as lines are), one row
    group at a time.  Each column is decoded on its own: a column that cannot be (a damaged page,
    bytes that are not UTF-8) is reported once per row group and the rows are read without it, so
    the fields they then lack are reported row by row, never lost silently."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(reader_source(path))
    names = pf.schema_arrow.names
    n = 0
    for rg in range(pf.num_row_groups):
        n_rows = pf.metadata.row_group(rg).num_rows
        cols: dict[str, list[Any]] = {}
        for name in names:
            try:
                values = pf.read_row_group(rg, columns=[name]).column(0).to_pylist()
                if len(values) != n_rows:
                    raise ValueError(f"{len(values)} values for {n_rows} rows")
                cols[name] = values
            except Exception as exc:  # noqa: BLE001 - one damaged column never ends the file
                issues.add(path, None, name, f"column not readable in rows {n + 1}-{n + n_rows} "
                           f"({type(exc).__name__}: {str(exc)[:100]}); those rows read without it")
        for i in range(n_rows):
            n += 1
            yield n, {k: v[i] for k, v in cols.items()}


def sample_jobs(samples: list[InputFile], issues: IssueLog) -> list[tuple[InputFile, str]]:
    """The samples files to read, in path order, with their task; older files of the same (folder,
    task) are superseded and reported."""
    latest: dict[tuple[Path, str], InputFile] = {}
    for f in samples:
        m = SAMPLES_RE.match(f.path.name)
        task = m.group("task") if m else f.path.stem
        key = (f.path.parent, task)
        if key in latest:
            old = latest[key]
            old.status = f"skipped: superseded by the later {f.path.name}"
            issues.add(old.path, None, None, f"superseded by the later {f.path.name}; not used")
        latest[key] = f
    return [(f, task) for (_, task), f in sorted(latest.items(), key=lambda kv: str(kv[1].path))]


def sample_info(f: InputFile, dir_info: Mapping[Path, dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    """The results-file information of the folder of ``f`` (model, scale, checkpoint), and whether
    there was none (the model name is then the folder's)."""
    info = dir_info.get(f.path.parent)
    if info is None:
        return {"model": f.path.parent.name, "scale_params": None, "checkpoint": None}, True
    return info, False


class SampleRead(NamedTuple):
    """One samples file read: its rows as a compact frame (Arrow table or pandas frame; ``None`` when
    it has no usable row or could not be read), and the SHA-256 of the bytes parsed (``""`` when not
    asked for), so ``run.json`` need not read the file again."""

    frame: Any
    sha256: str


def read_sample_file(f: InputFile, info: dict[str, Any], task: str, no_results: bool, issues: IssueLog,
                     hash_bytes: bool = False) -> SampleRead:
    """One samples file (see :class:`SampleRead`); problems reported; sets ``f.rows_read`` and
    ``f.status``.  ``hash_bytes``: hash the bytes parsed."""
    if f.format == "inspect_log":
        return inspect_frame(f, info, issues, hash_bytes)
    if no_results:
        issues.add(f.path, None, None, f"no lm-eval results file beside it; model name taken from the folder "
                   f"{f.path.parent.name!r}")
    counter = LinesRead()
    hexdigest = ""
    try:
        fast, tried = None, False
        if f.encoding == "utf-8" and plain_local_path(f.path):
            # hashed and its lines counted as it streams (its bytes never held whole), on a thread
            # while DuckDB parses the path (both release the GIL: a core a worker's partition leaves
            # idle hashes); the bytes read and parsed only if the file changed meanwhile
            before = os.stat(f.path)
            with ThreadPoolExecutor(1) as hasher:
                hashed = hasher.submit(sha256_and_lines, f.path) if hash_bytes else None
                try:
                    fast = read_lmeval_samples_fast(f.path, info, task, None, before,
                                                    (lambda: hashed.result()[1]) if hashed else None)
                    if hashed is not None:
                        hexdigest = hashed.result()[0]
                        if not _unchanged(before, f.path, before.st_size):  # changed while it was hashed
                            raise FileChanged(f"{f.path} changed while it was read")
                    tried = True
                except FileChanged:
                    hexdigest, fast = "", None
        if not tried and (hash_bytes or f.encoding == "utf-8"):  # other encodings: the line reader reads them
            before = None if is_remote(f.path) else os.stat(f.path)
            data = f.path.read_bytes()
            if hash_bytes:
                hexdigest = hashlib.sha256(data).hexdigest()
            if f.encoding == "utf-8":
                fast = read_lmeval_samples_fast(f.path, info, task, data, before)
            del data
        if fast is not None:
            frame, f.rows_read = fast
            pa.default_memory_pool().release_unused()  # the parser's blocks, back to the OS per file
            return SampleRead(frame, hexdigest)
        lines = parquet_rows(f.path, issues) if f.encoding == "parquet" else iter_jsonl(f.path, f.encoding)
        rows = read_lmeval_samples(f.path, info, issues, task=task, lines=lines, counter=counter)
    except Exception as exc:  # noqa: BLE001 - one unreadable file never ends the audit
        f.rows_read = counter.lines
        f.status = f"error: {type(exc).__name__}: {str(exc)[:160]}"
        issues.add(f.path, None, None, f"could not be read ({type(exc).__name__}); file skipped", "error",
                   rows=counter.lines - issues.rows_reported(f.path))
        return SampleRead(None, hexdigest)
    f.rows_read = counter.lines
    return SampleRead(pd.DataFrame(rows) if rows else None, hexdigest)


def _inspect_samples(f: InputFile) -> list[dict[str, Any]]:
    """The sample rows of an Inspect log read before (its issues, rows and scorer curves were taken
    then: a second reading reports nothing again); a JSON log decoded as it was then (UTF-16 too)."""
    data = None if f.encoding in ("zip", "utf-8") else json.loads(read_text(f.path, f.encoding))
    rows, _curves, _info, _n = read_inspect_log(f.path, IssueLog(), data=data)
    return rows


def inspect_frame(f: InputFile, info: dict[str, Any], issues: IssueLog, hash_bytes: bool = False) -> SampleRead:
    """A deferred Inspect log's sample rows (in a partition's worker), hashed for ``run.json`` when
    asked; a log that can no longer be read (changed or removed since) is reported with the rows it
    had."""
    hexdigest = ""
    try:
        if hash_bytes:
            hexdigest = sha256_file(f.path)
        rows = _inspect_samples(f)
    except Exception as exc:  # noqa: BLE001 - reported, the partition goes on
        n = int(info.get("_sample_rows", 0))
        issues.add(f.path, None, None, f"could not be read again for its samples ({type(exc).__name__}: "
                   f"{str(exc)[:120]}); {n} sample row(s) skipped", "error", rows=n)
        return SampleRead(None, hexdigest)
    return SampleRead(pd.DataFrame(rows) if rows else None, hexdigest)


def read_samples(samples: list[InputFile], dir_info: Mapping[Path, dict[str, Any]],
                  issues: IssueLog) -> list[tuple[InputFile, pd.DataFrame, dict[str, Any]]]:
    """Stream every samples file into a compact frame (one per file); older files of the same
    (folder, task) are superseded and reported."""
    out = []
    for f, task in sample_jobs(samples, issues):
        info, none = sample_info(f, dir_info)
        frame = read_sample_file(f, info, task, none, issues).frame
        if frame is not None:
            out.append((f, frame, info))
    return out


#: What a file's records carry beside the records' columns: each row's line in its file.  Its file
#: is not a column (a path repeated on every row was a third of a row's bytes): the records of each
#: file stay paired with its name (``(name, table)``) until the one table is built.
SAMPLE_EXTRAS = ("_line",)


SAMPLE_SCHEMA = pa.schema([("task", pa.string()), ("example_id", pa.string()), ("target", pa.string()),
                            ("prediction", pa.string()), ("choice_logprobs", pa.list_(pa.float64())),
                            ("correct_choice", pa.int64()), ("_line", pa.int64())])


def as_arrow(frame: Any) -> pa.Table:
    """A samples file's rows (a frame from the line-by-line reader, or the fast path's table)."""
    if isinstance(frame, pa.Table):
        return frame
    return pa.Table.from_pandas(frame[SAMPLE_SCHEMA.names], schema=SAMPLE_SCHEMA, preserve_index=False)


def records_file(f: InputFile, issues: IssueLog) -> tuple[str, pa.Table] | None:
    """A records file (Parquet with the records schema's required columns, as ``evaluate`` writes
    them) validated as it is: its own family and scale; ``None`` (reported) when it is not valid."""
    import pyarrow.parquet as pq

    t = pq.read_table(reader_source(f.path))
    f.rows_read = t.num_rows
    try:
        t = validate_records(t, source=str(f.path))
    except RecordsError as exc:
        issues.add(f.path, None if exc.row is None else exc.row + 1, exc.column,
                   f"not valid records ({exc}); this file's {f.rows_read} row(s) dropped", "error", rows=f.rows_read)
        return None
    n = t.num_rows
    t = t.append_column("_line", pa.array(np.arange(1, n + 1), pa.int64()))
    return str(f.path), t.select([*RECORD_SCHEMA.names, *SAMPLE_EXTRAS])


def sample_table(f: InputFile, frame: Any, info: dict[str, Any],
                 resolved: ResolvedModel, issues: IssueLog,
                 unresolved: list[dict[str, Any]]) -> tuple[str, pa.Table] | None:
    """One samples file's rows as validated records (Arrow, with ``_line``), given its
    model's resolved ``(scale, flops, family, source)``; ``None`` when the model has no size or the
    rows cannot form records (reported, rows accounted)."""
    model = file_model(f, info)
    n = frame.num_rows if isinstance(frame, pa.Table) else len(frame)
    scale, flops, fam, _src = resolved
    if scale is None:
        unresolved.append({"model": model, "source": str(f.path), "rows": n,
                           "reason": "no parameter count in the results file, checkpoint, name, metadata, scale "
                                     "map or catalogue"})
        issues.add(f.path, None, "model", f"model {model!r} has no known size; {n} sample row(s) held "
                   "out (give --models or --scale-map)", rows=n)
        return None
    t = as_arrow(frame)
    no_flops = flops is None or bool(np.isnan(flops))  # a missing count is null, as pandas' NaN would be

    def same(value: Any, kind: pa.DataType) -> pa.Array:  # one value n times (~80x np.full of objects)
        return pa.repeat(pa.scalar(value, kind), n)

    t = (t.append_column("family", same(fam, pa.string()))
          .append_column("model", same(model, pa.string()))
          .append_column("scale_params", same(float(scale), pa.float64()))
          .append_column("scale_flops", same(None if no_flops else float(flops), pa.float64())))
    lines = t.column("_line").to_numpy()
    try:
        t = validate_records(t, source=str(f.path))
    except RecordsError as exc:
        line = int(lines[exc.row]) if exc.row is not None and exc.row < len(lines) else None
        issues.add(f.path, line, exc.column, f"samples could not form records ({exc}); this file's {n} row(s) "
                   "dropped", "error", rows=n)
        return None
    return str(f.path), t.select([*RECORD_SCHEMA.names, *SAMPLE_EXTRAS])


#: What :func:`check_across` reads of a file's records: the key, the per-model values, the line.
ACROSS_COLUMNS = (*KEY_COLUMNS, "scale_params", "pretrain_loss", "_line")


def key_table(table: pa.Table) -> pa.Table:
    """The columns of a file's records (:func:`sample_table`) that :func:`check_across` reads, the
    repeated names dictionary-encoded (four bytes a row): all that is kept of a file's rows beside
    its scores once they are scored."""
    t = table.select(list(ACROSS_COLUMNS))
    for name in ("family", "model", "task"):
        t = t.set_column(t.schema.get_field_index(name), name, pc.dictionary_encode(t.column(name)))
    return t


def check_across(kept: list[tuple[str, pa.Table]],
                 issues: IssueLog) -> tuple[list[tuple[str, pa.Table]], dict[str, int]]:
    """The files whose records (or their :func:`key_table`) pass the checks that span files (a
    document twice, two sizes for one model), with their rows loaded per file: a file that breaks
    them is reported and dropped, and the rest checked again."""
    kept = list(kept)
    while kept:
        table = pa.concat_tables([t for _, t in kept]).unify_dictionaries()
        ends = np.cumsum([t.num_rows for _, t in kept])

        def file_at(i: int, ends: np.ndarray = ends, names: list[str] = [n for n, _ in kept]) -> str:
            return names[int(np.searchsorted(ends, i, side="right"))]

        def at(i: int, table: pa.Table = table) -> str:  # a row by its file and line, however grouped
            return f"{file_at(i)} line {table.column('_line')[i].as_py()}"

        try:
            validate_across(table, source="lm-eval samples", describe=at)
        except RecordsError as exc:
            row = exc.row if exc.row is not None else 0
            bad_file = file_at(row) if row < table.num_rows else kept[0][0]
            line = table.column("_line")[row].as_py() if exc.row is not None and row < table.num_rows else None
            n_bad = next(t.num_rows for name, t in kept if name == bad_file)
            issues.add(bad_file, line, exc.column, f"samples could not form records with the other files "
                       f"({exc.message}); this file's {n_bad} row(s) dropped", "error", rows=n_bad)
            kept = [(name, t) for name, t in kept if name != bad_file]
            continue
        loaded: dict[str, int] = {}
        for name, t in kept:
            loaded[name] = loaded.get(name, 0) + t.num_rows
        return kept, loaded
    return [], {}


def records_across(kept: list[tuple[str, pa.Table]], issues: IssueLog) -> tuple[pd.DataFrame | None, dict[str, int]]:
    """The one records table from every file's validated records, checked for what spans files
    (:func:`check_across`): a file that breaks it is reported and dropped.  ``kept`` is emptied (its
    tables' buffers are released as the records are built)."""
    good, loaded = check_across(kept, issues)
    kept.clear()
    if not good:
        return None, {}
    table = pa.concat_tables([t for _, t in good])
    good.clear()
    records = records_to_pandas(table.drop_columns(list(SAMPLE_EXTRAS)))
    del table
    pa.default_memory_pool().release_unused()
    return records, loaded


def records_from_samples(frames: list[tuple[InputFile, Any, dict[str, Any]]], resolver: ModelResolver, issues: IssueLog,
             unresolved: list[dict[str, Any]],
             ready: list[tuple[str, pa.Table]] | None = None) -> tuple[pd.DataFrame | None, dict[str, int]]:
    """Validated records from the samples files, kept columnar (Arrow) until the one final table: each
    file is validated on its own (a file whose rows cannot form records is reported with the first
    problem and dropped, the others kept), then the whole for what spans files (a document twice,
    two sizes for one model)."""
    kept: list[tuple[str, pa.Table]] = list(ready or [])
    frames.reverse()
    while frames:  # each file's raw rows are released as soon as its records are built
        f, frame, info = frames.pop()
        model = file_model(f, info)
        resolved = resolver.resolve(model, info.get("scale_params"), None, f.root, info.get("checkpoint"))
        got = sample_table(f, frame, info, resolved, issues, unresolved)
        if got is not None:
            kept.append(got)
    return records_across(kept, issues)
