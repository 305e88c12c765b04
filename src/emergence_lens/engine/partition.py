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

from emergence_lens.scoring import Rescored, rescore
from emergence_lens.emergence.compare import DEFAULT_THRESHOLD
from emergence_lens.sources.issues import IssueLog, SourceIssue
from emergence_lens.sources.lmeval import close_reader
from emergence_lens.sources.samples import (
    FileOutcome,
    SampleJob,
    read_sample_file,
    records_across,
    sample_table,
)

__all__ = ["AuditOptions", "Partition", "PartitionResult", "plan_partitions", "run_partition", "CLOSE_READER_BYTES"]

#: A partition whose files reach this many bytes closes the fast path's DuckDB connection once they
#: are read: DuckDB keeps memory in proportion to what it parsed (~100 MB after a 170 MB file) until
#: it is closed, and opening a new one costs ~25 ms, which small partitions would pay for little.
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
        return sum(j.file.path.stat().st_size for j in self.jobs if j.file.path.exists())


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


def run_partition(part: Partition, options: AuditOptions) -> PartitionResult:
    """Read the partition's files, form and check its records, re-score them."""
    outcomes: list[FileOutcome] = []
    kept = []
    for job in part.jobs:
        f = job.file
        read_issues, record_issues = IssueLog(), IssueLog()
        unresolved: list[dict] = []
        frame, sha256 = read_sample_file(f, job.info, job.task, job.no_results, read_issues, hash_bytes=True)
        if frame is not None:
            got = sample_table(f, frame, job.info, job.resolved, record_issues, unresolved)
            del frame
            if got is not None:
                kept.append(got)
        outcomes.append(FileOutcome(str(f.path), f.rows_read, f.status, list(read_issues), list(record_issues), 0,
                                    unresolved, sha256))
    if part.size >= CLOSE_READER_BYTES:  # what DuckDB kept of its parses is freed before scoring
        close_reader()
    across = IssueLog()
    records, loaded = records_across(kept, across)
    for o in outcomes:
        o.loaded = int(loaded.get(o.path, 0))
    rescored = None
    if records is not None and len(records) and options.metrics != ():
        rescored = rescore(records, n_boot=options.n_boot, seed=options.seed, threshold=options.threshold,
                           x_axis=options.x_axis, chance=options.chance_map, confidence=options.confidence,
                           metrics=options.metrics)
    return PartitionResult(part.key, outcomes, list(across), rescored)
