"""Seconds of a partition's finish (``finish_partition``: the checks across files, the curves, the
emergence scores and the verdicts of its examples' scores) on one thread and on several: what the
audit process does, its workers idle, once the runs of a partition too large for one worker are back.

Reads the largest partition of ``--folder`` in this process (Arrow and DuckDB on one thread, as in a
worker), then times its finish alternately with ``threads=1`` and ``threads=--threads``, ``--repeats``
times each, and checks that both give the same rows.

Run: python benchmarks/bench_finish.py --folder DIR [--threads 2] [--repeats 5]
     (DIR e.g. the many-checkpoints shape, written by bench_partition_memory.write_checkpoints(DIR, 100,
     20000))
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--folder", type=Path, required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()

    import pyarrow as pa

    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    from emergence_lens.engine import plan_partitions
    from emergence_lens.engine.partition import AuditOptions, finish_partition, read_files, shared_models
    from emergence_lens.sources import load_sources

    parts = plan_partitions(load_sources([a.folder], defer_samples=True).deferred.jobs)
    part = max(parts, key=lambda p: p.size)
    options = AuditOptions()
    t = time.perf_counter()
    files = read_files(part.jobs, options, shared_models(part.jobs))
    rows = sum(f.rows for f in files)
    print(f"partition {part.key}: {len(files)} files, {rows:,} rows, read in {time.perf_counter() - t:.1f} s")
    times: dict[int, list[float]] = {1: [], a.threads: []}
    tables: dict[int, str] = {}
    for _ in range(a.repeats):
        for threads in times:
            t = time.perf_counter()
            result = finish_partition(part.key, files, options, threads=threads)
            times[threads].append(time.perf_counter() - t)
            r = result.rescored
            tables[threads] = "".join(getattr(r, f).to_csv() for f in ("audit_rows", "verdicts", "curves",
                                                                       "predictions"))
    for threads, ts in times.items():
        print(f"threads={threads}: " + " ".join(f"{v:.3f}" for v in ts) + f" s; median {statistics.median(ts):.3f} s")
    print(f"ratio {statistics.median(times[a.threads]) / statistics.median(times[1]):.3f}; "
          f"same rows: {len(set(tables.values())) == 1}")


if __name__ == "__main__":
    main()
