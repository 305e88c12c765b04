"""Microseconds per row of each step the audit's workers take on a samples file: the read (DuckDB's
parse, the compact columns and, on a thread beside them, the SHA-256 and line count), the records
(``sample_table``: the model columns and their validation) and the scoring (``score_table``), for
one partition's first ``--files`` files of ``--folder`` (``--task``: a substring of its task name),
in a fresh process per measurement with Arrow and DuckDB on one thread, as in a worker of a 2-core
machine.  Each step's time is the best of ``--best`` passes over the files (the files' reads are
timed once each: a read also hashes).  With ``--base REV`` the same measurement runs for that
revision's ``src`` and this tree's (or ``--head REV``'s), alternating A, B, A, B, ``--repeats`` times,
and each side's medians are printed.

Run: python benchmarks/bench_file_steps.py --folder DIR [--task mc] [--files 6] [--base REV] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_ab import checkout  # noqa: E402

MEASURE = r"""
import json, sys, time
import pyarrow as pa
pa.set_cpu_count(1)
pa.set_io_thread_count(1)
from emergence_lens.engine import plan_partitions
from emergence_lens.engine.partition import AuditOptions
from emergence_lens.example_scores import score_table
from emergence_lens.sources import load_sources
from emergence_lens.sources.issues import IssueLog
from emergence_lens.sources.samples import SAMPLE_EXTRAS, read_sample_file, sample_table

folder, task, files, best = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
parts = [p for p in plan_partitions(load_sources([folder], defer_samples=True).deferred.jobs) if task in p.key[1]]
if not parts:
    raise SystemExit(f"no partition of {folder} has a task with {task!r} in its name")
jobs = parts[0].jobs[:files]
specs = AuditOptions().specs()
read = 0.0
frames = []
for job in jobs:
    t = time.perf_counter()
    frame, _ = read_sample_file(job.file, job.info, job.task, job.no_results, IssueLog(), hash_bytes=True)
    read += time.perf_counter() - t
    frames.append((job, frame))
def records():
    return [sample_table(job.file, frame, job.info, job.resolved, IssueLog(), [])[1] for job, frame in frames]
steps = {"records": float("inf"), "scoring": float("inf")}
for _ in range(best):
    t = time.perf_counter()
    tables = records()
    steps["records"] = min(steps["records"], time.perf_counter() - t)
    tables = [tb.drop_columns(list(SAMPLE_EXTRAS)) for tb in tables]
    t = time.perf_counter()
    for tb in tables:
        score_table(tb, specs)
    steps["scoring"] = min(steps["scoring"], time.perf_counter() - t)
rows = sum(tb.num_rows for tb in tables)
print(json.dumps({"rows": rows, "read": read / rows * 1e6, **{k: v / rows * 1e6 for k, v in steps.items()}}))
"""


def measure(src: Path, folder: Path, task: str, files: int, best: int) -> dict[str, float]:
    env = {"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    out = subprocess.run([sys.executable, "-c", MEASURE, str(folder), task, str(files), str(best)], check=True,
                         env=env, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--folder", type=Path, required=True, help="a folder of lm-eval samples (e.g. bench_ab.py's)")
    ap.add_argument("--task", default="mc", help="the partition whose task name holds this (default: mc)")
    ap.add_argument("--files", type=int, default=6)
    ap.add_argument("--best", type=int, default=5, help="passes of the records and scoring steps (the best kept)")
    ap.add_argument("--base", default=None, help="revision A; without it only this tree is measured")
    ap.add_argument("--head", default=None, help="revision B (default: this working tree)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/bench-file-steps"))
    a = ap.parse_args()
    sides = {"B": checkout(a.head, a.dir / "head") if a.head else ROOT / "src"}
    if a.base:
        sides = {"A": checkout(a.base, a.dir / "base"), **sides}
    got: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
    for i in range(a.repeats):
        for side, src in sides.items():
            got[side].append(measure(src, a.folder, a.task, a.files, a.best))
            r = got[side][-1]
            print(f"run {i + 1} {side}: " + ", ".join(f"{k} {r[k]:.2f} us" for k in ("read", "records", "scoring")),
                  flush=True)
    rows = got["B"][0]["rows"]
    for side in sides:
        med = {k: statistics.median(r[k] for r in got[side]) for k in ("read", "records", "scoring")}
        name = {"A": a.base, "B": a.head or "working tree"}[side]
        print(f"{side}={name}: {rows:,} rows of {a.task!r}; median us per row: "
              + ", ".join(f"{k} {v:.2f}" for k, v in med.items()))


if __name__ == "__main__":
    main()
