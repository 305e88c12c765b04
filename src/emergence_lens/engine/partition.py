"""Partitions of the audit: one per (family, task), the unit that bounds memory and runs anywhere.

Every curve of the audit's per-example part belongs to one (family, task) and is seeded by its own
key (:func:`~emergence_lens.emergence.curve_seed`), so re-scoring the partitions one by one and
concatenating their parts in key order gives the same tables as re-scoring everything at once
(:class:`~emergence_lens.pipelines.audit.Rescored`).  A worker holds one partition's rows: peak memory depends
on the largest (family, task), not on the number of files or rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from emergence_lens.curves import metric_specs
from emergence_lens.emergence.compare import DEFAULT_THRESHOLD
from emergence_lens.example_scores import ModelScores, score_table
from emergence_lens.metrics import MetricSpec
from emergence_lens.scoring import Rescored, rescore_examples
from emergence_lens.sources.issues import IssueLog, SourceIssue
from emergence_lens.sources.lmeval import close_reader
from emergence_lens.sources.samples import (
    SAMPLE_EXTRAS,
    FileOutcome,
    SampleJob,
    check_across,
    key_table,
    read_sample_file,
    sample_table,
)
from emergence_lens.workers import release_memory

__all__ = ["AuditOptions", "Partition", "PartitionResult", "plan_partitions", "run_partition", "CLOSE_READER_BYTES",
           "shared_models", "FileScores", "read_files", "finish_partition", "split_partition"]

#: The fast path's DuckDB connection is closed each time its files have parsed this many bytes since
#: it was opened, before the file that reached them is scored: DuckDB keeps memory (~90 MB after a
#: 276 MB file, ``bench_partition_steps.py``) until it is closed, and opening a new one costs ~25 ms,
#: which small files would pay for little.
CLOSE_READER_BYTES = 256 << 20


@dataclass(frozen=True)
class AuditOptions:
    """The options a partition's result depends on (part of its fingerprint)."""

    n_boot: int = 1000
    seed: int = 0
    threshold: float = DEFAULT_THRESHOLD
    x_axis: str = "params"
    chance: tuple[tuple[str, float], ...] = ()
    confidence: float = 0.95
    #: Only these metrics are re-scored (``None``: every one that applies; empty: none).
    metrics: tuple[str, ...] | None = None

    @property
    def chance_map(self) -> Mapping[str, float] | None:
        return dict(self.chance) or None

    def specs(self) -> list[MetricSpec] | None:
        """The metrics to re-score (:func:`~emergence_lens.curves.metric_specs`); ``None``: none."""
        return None if self.metrics == () else metric_specs(self.metrics)


@dataclass
class Partition:
    """The samples files of one (family, task), in path order."""

    key: tuple[str, str]
    jobs: list[SampleJob] = field(default_factory=list)

    @property
    def files(self) -> list[str]:
        return [str(j.file.path) for j in self.jobs]

    @property
    def size(self) -> int:
        """Bytes of its files (to balance and report)."""
        return sum(j.size for j in self.jobs)


@dataclass
class PartitionResult:
    """A partition's re-scored part (``None``: no usable records), its files' outcomes and the
    issues of checks that span its files."""

    key: tuple[str, str]
    outcomes: list[FileOutcome]
    across: list[SourceIssue]
    rescored: Rescored | None

    @property
    def rows_read(self) -> int:
        return sum(o.rows_read for o in self.outcomes)


def plan_partitions(jobs: Sequence[SampleJob]) -> list[Partition]:
    """Group the jobs by (family, task), partitions in key order, files in path order."""
    parts: dict[tuple[str, str], Partition] = {}
    for j in jobs:
        parts.setdefault(j.key, Partition(j.key)).jobs.append(j)
    return [parts[k] for k in sorted(parts)]


def shared_models(jobs: Sequence[SampleJob]) -> set[tuple[str, str]]:
    """The (family, model) pairs more than one of ``jobs`` holds.  The checks across files (a
    document twice, two sizes for one model: :func:`check_across`) compare rows of one (family,
    model) in different files, and each file's records were checked on their own: a file whose
    model no other file has can break none of them, so only these files' keys are kept for it."""
    seen: dict[tuple[str, str], int] = {}
    for j in jobs:
        key = (j.resolved.family, j.model)
        seen[key] = seen.get(key, 0) + 1
    return {k for k, n in seen.items() if n > 1}


@dataclass
class FileScores:
    """One samples file of a partition, read and scored (:func:`read_files`): its outcome, the rows
    its records kept, the columns the checks across files read (only when another file holds its
    model, :func:`shared_models`; ``None`` otherwise) and its examples' scores (``None``: no records
    were formed)."""

    outcome: FileOutcome
    rows: int = 0
    keys: pa.Table | None = None
    pieces: list[ModelScores] | None = None


def read_files(jobs: Sequence[SampleJob], options: AuditOptions,
               shared: set[tuple[str, str]]) -> list[FileScores]:
    """Read ``jobs`` (some or all files of one partition) in order: each file's records formed and
    scored at once (:func:`score_table`), its rows freed before the next file.  ``shared``: the
    partition's :func:`shared_models` (of all its files, however they are split)."""
    specs = options.specs()
    out: list[FileScores] = []
    parsed = 0  # bytes read since the reader was last closed
    for job in jobs:
        f = job.file
        read_issues, record_issues = IssueLog(), IssueLog()
        unresolved: list[dict] = []
        rows, keys, pieces = 0, None, None
        frame, sha256 = read_sample_file(f, job.info, job.task, job.no_results, read_issues, hash_bytes=True)
        parsed += job.size
        if parsed >= CLOSE_READER_BYTES:  # what DuckDB kept of its parses is freed before the file is scored
            close_reader()
            parsed = 0
        if frame is not None:
            got = sample_table(f, frame, job.info, job.resolved, record_issues, unresolved)
            del frame
            release_memory()  # the parse's and the checks' temporaries, before the file is scored
            if got is not None:
                name, table = got
                del got
                rows = table.num_rows
                if (job.resolved.family, job.model) in shared:  # only these can break a check across files
                    keys = key_table(table)
                pieces = score_table(table.drop_columns(list(SAMPLE_EXTRAS)), specs) if specs is not None else []
                del table
                release_memory()  # the file's rows, freed: back to the system before the next file
        outcome = FileOutcome(str(f.path), f.rows_read, f.status, list(read_issues), list(record_issues), 0,
                              unresolved, sha256)
        out.append(FileScores(outcome, rows, keys, pieces))
    return out


def finish_partition(key: tuple[str, str], files: Sequence[FileScores], options: AuditOptions,
                     threads: int = 1) -> PartitionResult:
    """A partition's result from its files read and scored (:func:`read_files`, in the partition's
    file order, read in one piece or several): the checks across files, then the curves, emergence
    scores and verdicts of the examples of the files that pass them (the verdicts' bootstraps on
    ``threads`` threads: the same result on any number)."""
    specs = options.specs()
    kept = [(f.outcome.path, f.keys) for f in files if f.keys is not None]
    across = IssueLog()
    good, _ = check_across(kept, across)
    dropped = {name for name, _ in kept} - {name for name, _ in good}
    del good, kept
    outcomes = []
    for f in files:
        o = f.outcome
        outcomes.append(FileOutcome(o.path, o.rows_read, o.status, o.read_issues, o.record_issues,
                                    0 if o.path in dropped or f.pieces is None else f.rows, o.unresolved, o.sha256))
    pieces = [p for f in files if f.pieces is not None and f.outcome.path not in dropped for p in f.pieces]
    rescored = None
    if pieces and specs is not None:
        rescored = rescore_examples(pieces, specs, n_boot=options.n_boot, seed=options.seed,
                                    threshold=options.threshold, x_axis=options.x_axis, chance=options.chance_map,
                                    confidence=options.confidence, threads=threads)
    return PartitionResult(key, outcomes, list(across), rescored)


def split_partition(part: Partition, max_bytes: int, workers: int = 1) -> list[list[SampleJob]]:
    """The partition's files in consecutive runs of about equal bytes, each at most ``max_bytes``
    (a larger file is a run of its own), as many as that takes rounded up to a multiple of
    ``workers``: each run read by its own worker (:func:`read_files`), their results finished as one
    (:func:`finish_partition`) — the same result, per-worker memory bounded, and the workers, given
    the runs largest first, end together (runs filled to ``max_bytes`` would leave a short last one,
    or one more than an even share, while the finish waits for it).  A file goes to the run its
    middle byte falls in when the partition's bytes are cut in equal parts."""
    sizes = [job.size for job in part.jobs]
    total = sum(sizes)
    if not sizes or total <= max_bytes:
        return [list(part.jobs)]
    step = max(1, workers)
    n = -(-total // max(1, max_bytes))
    n = -(-n // step) * step
    for _ in range(8):  # more runs while a cut leaves one over max_bytes (a file's bytes straddle a cut)
        cut = _even_cut(sizes, n)
        if all(len(r) == 1 or sum(sizes[i] for i in r) <= max_bytes for r in cut) or n >= len(sizes):
            break
        n += step
    runs: list[list[SampleJob]] = []
    for run in cut:  # still over max_bytes (files of very unequal sizes): filled up to it instead
        filled = 0
        for k, i in enumerate(run):
            if k == 0 or filled + sizes[i] > max_bytes:
                runs.append([])
                filled = 0
            runs[-1].append(part.jobs[i])
            filled += sizes[i]
    return runs


def _even_cut(sizes: Sequence[int], n: int) -> list[list[int]]:
    """Indices of files of ``sizes`` in consecutive runs: each file in the run of its middle byte
    when their total is cut into ``n`` equal parts (runs left empty are dropped)."""
    total = sum(sizes)
    cut: list[list[int]] = []
    index, start = -1, 0
    for i, size in enumerate(sizes):
        at = min(n - 1, (2 * start + size) * n // (2 * total))
        if at != index:
            cut.append([])
            index = at
        cut[-1].append(i)
        start += size
    return cut


def run_partition(part: Partition, options: AuditOptions) -> PartitionResult:
    """Read the partition's files, form and check their records, re-score them.

    Each file's records are scored as soon as they are formed (:func:`score_table`) and only
    numbers are kept of them: its examples' scores, ids and transform ingredients, and, where
    another file holds its model, the columns the checks across files read (:func:`key_table`).
    Peak memory is one file's rows plus a few dozen bytes per row of the partition; the result
    equals re-scoring all the records at once (:func:`~emergence_lens.scoring.rescore`)."""
    return finish_partition(part.key, read_files(part.jobs, options, shared_models(part.jobs)), options)
