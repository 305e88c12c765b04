"""Where one partition's memory goes: the steps of re-scoring one (family, task) partition, run one
after another in this process, with the resident memory after each and the peak within each.

Writes the shape of ``bench_partition_memory.py`` (``--models`` ladder models, one multiple-choice
and one generation task, ``--rows`` rows per file), then re-scores the ``--task`` partition the way
the audit's engine does — each samples file read (:func:`~emergence_lens.sources.samples.read_sample_file`),
formed into records (:func:`~emergence_lens.sources.samples.sample_table`) and scored
(:func:`~emergence_lens.example_scores.score_table`: its rows freed, its scores kept), the checks
across files (:func:`~emergence_lens.sources.samples.check_across`), the curves
(:func:`~emergence_lens.curves.curves_from_examples`), the emergence scores and the verdicts — reading
``VmRSS`` every 5 ms on a thread, and the seconds each step took (Arrow and DuckDB on one thread, as
in a worker of a 2-core machine).  Point ``PYTHONPATH`` at another revision's ``src`` to compare.

Run: python benchmarks/bench_partition_steps.py [--rows 125000] [--models 6] [--task mc|gen] [--dir /tmp/bench-psteps]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_partition_memory import write_partitions  # noqa: E402


def resident_mb() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


class Peak:
    """The largest resident memory seen since the last :meth:`step` (sampled every 5 ms)."""

    def __init__(self) -> None:
        self.high = resident_mb()
        self.since = time.perf_counter()
        self.running = True
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while self.running:
            self.high = max(self.high, resident_mb())
            time.sleep(0.005)

    def step(self, name: str) -> None:
        now, clock = resident_mb(), time.perf_counter()
        print(f"{name:44s} resident {now:6,d} MB   peak during it {max(self.high, now):6,d} MB   "
              f"{clock - self.since:6.3f} s", flush=True)
        self.high, self.since = now, time.perf_counter()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=125_000)
    ap.add_argument("--models", type=int, default=6)
    ap.add_argument("--task", choices=("mc", "gen"), default="mc")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/bench-psteps"))
    a = ap.parse_args()
    folder = a.dir / f"p-{a.rows}"
    write_partitions(folder, a.rows, a.models)
    import pyarrow as pa

    pa.set_cpu_count(1)  # as a worker of a 2-core machine (the engine's _worker_init): DuckDB parses on one thread

    from emergence_lens.curves import curves_from_examples, metric_specs
    from emergence_lens.emergence import emergence_table, verdict_table
    from emergence_lens.engine import plan_partitions
    from emergence_lens.engine.partition import CLOSE_READER_BYTES, shared_models
    from emergence_lens.example_scores import score_table
    from emergence_lens.sources import load_sources
    from emergence_lens.sources.issues import IssueLog
    from emergence_lens.sources.lmeval import close_reader
    from emergence_lens.sources.samples import (
        SAMPLE_EXTRAS,
        check_across,
        key_table,
        read_sample_file,
        sample_table,
    )
    from emergence_lens.workers import release_memory

    bundle = load_sources([folder], defer_samples=True)
    part = next(p for p in plan_partitions(bundle.deferred.jobs) if p.key[1].endswith(f"_{a.task}"))
    specs = metric_specs(None)
    peak = Peak()
    peak.step(f"start ({part.key[1]}, {len(part.jobs)} files)")
    kept, scored, parsed = [], {}, 0
    shared = shared_models(part.jobs)
    for job in part.jobs:  # as the engine's run_partition does
        frame, _ = read_sample_file(job.file, job.info, job.task, job.no_results, IssueLog(), hash_bytes=True)
        peak.step(f"  read {job.file.path.parent.name}")
        parsed += job.size
        if parsed >= CLOSE_READER_BYTES:
            close_reader()
            parsed = 0
            peak.step("  reader closed")
        name, table = sample_table(job.file, frame, job.info, job.resolved, IssueLog(), [])
        del frame
        release_memory()
        peak.step(f"  records of {job.file.path.parent.name}")
        if (job.resolved.family, job.model) in shared:  # as the engine: only files that share a model
            kept.append((name, key_table(table)))
        scored[name] = score_table(table.drop_columns(list(SAMPLE_EXTRAS)), specs)
        del table
        release_memory()
        peak.step("  scored, its rows freed")
    good, _ = check_across(kept, IssueLog())
    dropped = {name for name, _ in kept} - {name for name, _ in good}
    kept.clear()
    pieces = [p for name in scored if name not in dropped for p in scored[name]]
    del good, scored
    n = sum(p.n for p in pieces)
    peak.step(f"checked across files ({n:,} examples kept as scores)")
    print(f"kept per example: {sum(p.nbytes for p in pieces) / n:.1f} bytes (ids, {len(specs)} metrics' scores "
          "where they apply, weights, transform ingredients)", flush=True)
    curves = curves_from_examples(pieces, specs, n_boot=1000, keep_scores=True)
    peak.step("curves (bootstrap, per-example scores kept)")
    em = emergence_table(curves.table, curves.replicates)
    peak.step("emergence scores")
    verdict_table(curves, em)
    peak.step("verdicts (explanations, paired sharpness)")
    peak.running = False
    shutil.rmtree(a.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
