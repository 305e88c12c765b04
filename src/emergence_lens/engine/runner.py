"""Run the partitions of a deferred audit: on this machine's cores, or on a Dask cluster.

``engine="local"``: a process per core (``concurrent.futures``, forked from a fork server:
:mod:`emergence_lens.workers`); inputs under :data:`SERIAL_BYTES` run in this process (starting
workers would cost more than it saves).  ``engine="dask"``: Dask distributed — a ``LocalCluster``
with one single-threaded worker process per core by default, or the scheduler at ``scheduler``
(``tcp://host:8786``) for a real cluster, whose workers must reach the inputs (a shared file system,
or URLs on an object store).  A partition larger than a worker's share is read in runs of files by
several workers and finished as one (:func:`plan_runs`).  Either way the partitions' results are
merged in key order, so every output is the same byte for byte whatever ran them.  A finished
partition is stored (:class:`~emergence_lens.engine.store.PartitionStore`) as soon as it returns;
one that fails — an exception, a worker that dies — stops the run with :class:`PartitionFailed`
naming its files, after the others in flight are stored, and a rerun resumes from the stored ones.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from emergence_lens.engine.partition import (
    AuditOptions,
    FileScores,
    Partition,
    PartitionResult,
    finish_partition,
    read_files,
    run_partition,
    shared_models,
    split_partition,
)
from emergence_lens.engine.store import PartitionStore
from emergence_lens.workers import SERIAL_BYTES, worker_context

__all__ = ["run_audit_partitions", "PartitionFailed", "EngineSession", "ENGINES", "SERIAL_BYTES", "SPLIT_BYTES",
           "plan_runs", "task_order"]

ENGINES = ("local", "dask")

#: A partition larger than a worker's share of the input is read in runs of at most this many bytes
#: of files, one worker each (:func:`plan_runs`), then finished as one.
SPLIT_BYTES = 256 << 20


def plan_runs(parts: Sequence[Partition], todo: Sequence[int], workers: int,
              split_bytes: int = SPLIT_BYTES) -> dict[int, list[list]]:
    """How each partition to compute is read: its files in one run, or — when it is larger than
    ``split_bytes`` and than a worker's share of the input (a family of many checkpoints, one huge
    task: one worker would read it while the others idle) — in consecutive runs of at most
    ``split_bytes``, of about equal bytes and as many as a multiple of ``workers``
    (:func:`~emergence_lens.engine.partition.split_partition`), finished as one where they return.
    Partitions up to a worker's share are not split: a split partition's scores are all held where
    it is finished (and its finish's temporaries on top), so splitting more would hold them while
    the workers still read other files, and raise the peak."""
    sizes = {i: parts[i].size for i in todo}
    share = sum(sizes.values()) / max(1, workers)
    return {i: split_partition(parts[i], split_bytes, workers) if sizes[i] > max(share, split_bytes)
            else [list(parts[i].jobs)] for i in todo}


def task_order(parts: Sequence[Partition], runs: Mapping[int, Sequence[Sequence]]) -> list[tuple[int, int | None]]:
    """The order the pieces of work start in, as ``(partition, run)`` (``run`` ``None``: the whole
    partition): largest first by bytes of files, ties in partition and run order — the longest
    pieces start first and the short ones fill in at the end, so the workers finish close together
    (a partition of a worker's share and the runs of a larger one, say)."""
    tasks = []
    for i, rs in runs.items():
        if len(rs) == 1:
            tasks.append((-parts[i].size, i, -1))
        else:
            tasks += [(-sum(j.size for j in jobs), i, r) for r, jobs in enumerate(rs)]
    return [(i, None if r < 0 else r) for _, i, r in sorted(tasks)]


class PartitionFailed(RuntimeError):
    """A partition could not be computed; names its key and files.  ``died``: its worker process
    died while running it (or one of ``others``, the partitions running beside it then)."""

    def __init__(self, part: Partition, cause: BaseException, others: Sequence[Partition] = (), *,
                 died: bool = False) -> None:
        def named(p: Partition) -> str:
            files = ", ".join(p.files[:5]) + (f" (+{len(p.files) - 5} more)" if len(p.files) > 5 else "")
            return f"partition {p.key[0]}/{p.key[1]} (its files: {files})"

        if died:
            text = (f"a worker process died ({type(cause).__name__}: {cause}) while running "
                    + " or ".join(named(p) for p in [part, *others]))
        else:
            text = f"{named(part)} failed ({type(cause).__name__}: {cause})"
        super().__init__(f"{text}. Finished partitions are kept: rerun to resume.")
        self.part = part
        self.others = list(others)


class EngineSession:
    """The workers of one run, kept from the partitions to the work after them (the audit's
    figures): a process pool (``local``), a Dask client (``dask``), or nothing — this process —
    when ``parallel`` is false or one worker is asked for.  A context manager.

    ``executor``: a :class:`concurrent.futures.Executor` on those workers (``None``: in this
    process).  Starting the workers is deferred to the first use."""

    def __init__(self, engine: str = "local", *, workers: int | None = None, scheduler: str | None = None,
                 parallel: bool = True) -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
        self.engine, self.scheduler = engine, scheduler
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.parallel = engine == "dask" or (parallel and self.workers > 1)
        self._pool: cf.Executor | None = None
        self._client: Any = None
        self._cluster: Any = None

    @property
    def client(self) -> Any:
        """The Dask client (``engine="dask"``), started on first use."""
        if self._client is None:
            from emergence_lens.extras import require_extra

            require_extra("dask", "--engine dask")
            from dask.distributed import Client, LocalCluster
            if self.scheduler is None:
                self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                             dashboard_address=None)
            self._client = Client(self.scheduler or self._cluster)
        return self._client

    @property
    def executor(self) -> cf.Executor | None:
        if not self.parallel:
            return None
        if self._pool is None:
            if self.engine == "dask":
                self._pool = self.client.get_executor(pure=False)
            else:
                threads = max(1, (os.cpu_count() or 1) // self.workers)
                self._pool = cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=worker_context(),
                                                    initializer=_worker_init, initargs=(threads,))
        return self._pool

    def close(self) -> None:
        if self._pool is not None and self.engine == "local":
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = None

    def __enter__(self) -> EngineSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_audit_partitions(parts: Sequence[Partition], options: AuditOptions, *, engine: str = "local",
                         store: PartitionStore | None = None, workers: int | None = None,
                         scheduler: str | None = None,
                         progress: Callable[[PartitionResult, bool], None] | None = None,
                         serial_bytes: int = SERIAL_BYTES, session: EngineSession | None = None,
                         split_bytes: int = SPLIT_BYTES) -> list[PartitionResult]:
    """Every partition's result, in the order of ``parts``; stored ones are loaded, not recomputed.

    ``progress(result, resumed)`` is called as each partition finishes (or is loaded).  ``session``:
    workers to run on and keep afterwards (default: started here for this call and closed after it;
    ``engine``, ``workers`` and ``scheduler`` are then the session's).  ``split_bytes``: a partition
    too large for one worker is read in runs of at most this size (:func:`plan_runs`).
    """
    if session is None:
        with EngineSession(engine, workers=workers, scheduler=scheduler,
                           parallel=sum(p.size for p in parts) >= serial_bytes) as own:
            return run_audit_partitions(parts, options, store=store, progress=progress, session=own,
                                        split_bytes=split_bytes)
    results: dict[int, PartitionResult] = {}
    todo = []
    for i, p in enumerate(parts):
        got = store.load(p) if store is not None else None
        if got is not None:
            results[i] = got
            if progress:
                progress(got, True)
        else:
            todo.append(i)

    def done(i: int, r: PartitionResult) -> None:
        results[i] = r
        if store is not None:
            store.save(parts[i], r)
        if progress:
            progress(r, False)

    if todo:
        runs = plan_runs(parts, todo, session.workers, split_bytes)
        if session.engine == "dask":
            _run_dask(parts, runs, options, done, session.client)
        elif session.executor is None or (len(todo) == 1 and len(runs[todo[0]]) == 1):
            for i in todo:
                try:
                    r = run_partition(parts[i], options)
                except Exception as exc:  # noqa: BLE001 - named, then raised
                    raise PartitionFailed(parts[i], exc) from exc
                done(i, r)
        else:
            _run_processes(parts, runs, options, done, session.executor, session.workers)
    return [results[i] for i in range(len(parts))]


def _run_processes(parts: Sequence[Partition], runs: dict[int, list[list]], options: AuditOptions,
                   done: Callable[[int, PartitionResult], None], pool: cf.Executor, workers: int = 1) -> None:
    # largest first (task_order); a partition read in several runs is finished here once they are
    # all back (its examples' scores: a few dozen bytes a row)
    failure: PartitionFailed | None = None
    pending: dict[int, list[list[FileScores] | None]] = {i: [None] * len(rs) for i, rs in runs.items() if len(rs) > 1}
    shared = {i: shared_models(parts[i].jobs) for i in pending}
    with tempfile.TemporaryDirectory(prefix="emergence-lens-running-") as running:
        futures: dict[cf.Future, tuple[int, int | None]] = {}
        for i, r in task_order(parts, runs):
            if r is None:
                futures[pool.submit(run_tracked, parts[i], options, running, i)] = (i, None)
            else:
                futures[pool.submit(read_tracked, runs[i][r], options, shared[i], running, f"{i}.{r}")] = (i, r)
        while futures:
            finished, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
            for fut in finished:
                i, r = futures.pop(fut)
                try:
                    got = fut.result()
                except BrokenProcessPool as exc:  # a worker died: every pending future fails with this
                    if failure is None:
                        flights = in_flight(running)
                        named = [parts[j] for j in flights] or [parts[i]]
                        failure = PartitionFailed(named[0], exc, named[1:], died=bool(flights))
                    continue
                except Exception as exc:  # noqa: BLE001 - the partition's own error
                    failure = failure or PartitionFailed(parts[i], exc)
                    pending.pop(i, None)
                    continue
                if r is None:
                    done(i, got)
                    continue
                if i not in pending:  # another of its runs failed
                    continue
                pending[i][r] = got
                if all(run is not None for run in pending[i]):
                    try:
                        # the workers may be idle by now: the finish's bootstraps on as many threads
                        result = finish_runs(parts[i].key, pending.pop(i), options, workers)
                    except Exception as exc:  # noqa: BLE001 - named, then raised
                        failure = failure or PartitionFailed(parts[i], exc)
                        continue
                    done(i, result)
    if failure is not None:
        raise failure


def run_tracked(part: Partition, options: AuditOptions, running: str, index: int | str) -> PartitionResult:
    """:func:`run_partition` in a worker process, with a file in ``running`` while it runs: if the
    process dies (killed, out of memory), the file stays and names the partition it was running."""
    return _tracked(running, index, run_partition, part, options)


def read_tracked(jobs: list, options: AuditOptions, shared: set, running: str, tag: str) -> list[FileScores]:
    """:func:`~emergence_lens.engine.partition.read_files` of one run of a partition's files in a
    worker process, tracked as :func:`run_tracked` is (``tag``: ``"<partition index>.<run>"``)."""
    return _tracked(running, tag, read_files, jobs, options, shared)


def _tracked(running: str, tag: int | str, fn: Callable[..., Any], *args: Any) -> Any:
    flag = Path(running) / f"{tag}.running"
    flag.write_text(f"{os.getpid()}\n")
    try:
        return fn(*args)
    finally:
        flag.unlink(missing_ok=True)


def in_flight(running: str) -> list[int]:
    """Indices of the partitions whose workers left their running file (in index order, once each)."""
    return sorted({int(p.name.split(".")[0]) for p in Path(running).glob("*.running")})


def _worker_init(threads: int) -> None:
    """One worker per core: Arrow's own thread pools sized to the worker's share, not the machine."""
    import pyarrow as pa

    pa.set_cpu_count(threads)
    pa.set_io_thread_count(threads)


def _run_dask(parts: Sequence[Partition], runs: dict[int, list[list]], options: AuditOptions,
              done: Callable[[int, PartitionResult], None], client: Any) -> None:
    from dask.distributed import as_completed

    failure: PartitionFailed | None = None
    # the local engine's order (task_order) as Dask priorities: the earlier, the higher
    rank = {t: -n for n, t in enumerate(task_order(parts, runs))}
    futures, order = [], []
    reads: dict[int, dict[int, Any]] = {}
    shared = {i: shared_models(parts[i].jobs) for i, rs in runs.items() if len(rs) > 1}
    for i, r in rank:
        name = f"partition-{i}-{parts[i].key[0]}-{parts[i].key[1]}"
        if r is None:
            futures.append(client.submit(run_partition, parts[i], options, key=name, pure=False,
                                         priority=rank[i, r]))
            order.append(i)
            continue
        reads.setdefault(i, {})[r] = client.submit(read_files, runs[i][r], options, shared[i],
                                                   key=f"read-{r}-{name}", pure=False, priority=rank[i, r])
        if len(reads[i]) == len(runs[i]):  # its last run started: the finish, first of all once they are back
            futures.append(client.submit(finish_runs, parts[i].key, [reads[i][n] for n in range(len(runs[i]))],
                                         options, key=name, pure=False, priority=1))
            order.append(i)
    index = {f.key: i for f, i in zip(futures, order, strict=True)}
    for fut in as_completed(futures):
        i = index[fut.key]
        try:
            r = fut.result()
        except Exception as exc:  # noqa: BLE001 - KilledWorker when a worker dies
            failure = failure or PartitionFailed(parts[i], exc)
            continue
        done(i, r)
    if failure is not None:
        raise failure


def finish_runs(key: tuple[str, str], runs: Sequence[Sequence[FileScores]], options: AuditOptions,
                threads: int = 1) -> PartitionResult:
    """:func:`~emergence_lens.engine.partition.finish_partition` of a partition read in runs, given
    its runs' results in order (in the audit process, on ``threads`` threads, or as a Dask task)."""
    return finish_partition(key, [f for run in runs for f in run], options, threads)
