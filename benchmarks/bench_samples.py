"""Auditing lm-eval samples at scale: rows per second and peak memory of a whole ``audit`` and of
reading alone (``load_sources``).

Writes a ladder-shaped folder of genuine lm-eval 0.4.13 sample lines (the multiple-choice and
generation files of ``tests/data/lmeval``, repeated with fresh ``doc_id``s) holding ``--rows`` rows
in all (default 5,000,000: 8 models x 2 tasks), then, each in a fresh subprocess so that peak
memory is its own, times:

* the whole ``emergence-lens audit`` (read, validate, score every metric, bootstrap CIs, verdicts,
  figures, tables);
* ``load_sources`` alone (the streamed Arrow fast path, then records validation);
* the obvious alternative, the line-by-line ``json.loads`` reader with per-line reporting, on a
  ``--baseline-rows`` subset (extrapolated).

Goal (issue): >= 200,000 rows/s and peak < 2 GB.

Run: python benchmarks/bench_samples.py [--rows 5000000] [--baseline-rows 200000] [--dir /tmp/bench-samples]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LMEVAL = ROOT / "tests" / "data" / "lmeval"

CHILD = r"""
import resource, sys, time
from emergence_lens.sources import load_sources
t = time.perf_counter()
b = load_sources([sys.argv[1]])
dt = time.perf_counter() - t
rows = 0 if b.records is None else len(b.records)
print(rows, dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""

AUDIT = r"""
import resource, sys, time
from emergence_lens.cli import main
sys.argv = ["emergence-lens", "audit", sys.argv[1], "--out", sys.argv[1] + "-audit"]
t = time.perf_counter()
try:
    main()
except SystemExit as e:
    assert not e.code, e.code
dt = time.perf_counter() - t
print(0, dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""

BASELINE = r"""
import resource, sys, time
from pathlib import Path
from emergence_lens.sources.issues import IssueLog
from emergence_lens.sources.lmeval import read_lmeval_samples
t = time.perf_counter(); n = 0
for p in sorted(Path(sys.argv[1]).rglob("samples_*.jsonl")):
    n += len(read_lmeval_samples(p, {"model": "m"}, IssueLog()))
dt = time.perf_counter() - t
print(n, dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def write_ladder(dest: Path, rows: int) -> int:
    """Eight model folders, each a results file and two samples files, ``rows`` sample rows in all."""
    if dest.exists():
        shutil.rmtree(dest)
    per_file = rows // 16
    total = 0
    for d in sorted(LMEVAL.iterdir()):
        out = dest / d.name
        out.mkdir(parents=True)
        shutil.copy(next(d.glob("results_*.json")), out)
        for src in sorted(d.glob("samples_*.jsonl")):
            lines = [json.loads(x) for x in src.read_text().splitlines()]
            with open(out / src.name, "w") as f:
                buf = []
                for i in range(per_file):
                    o = lines[i % len(lines)]
                    o["doc_id"] = i
                    buf.append(json.dumps(o))
                    if len(buf) == 10_000:
                        f.write("\n".join(buf) + "\n")
                        buf = []
                if buf:
                    f.write("\n".join(buf) + "\n")
            total += per_file
    return total


def run(code: str, folder: Path) -> tuple[int, float, float]:
    res = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True, check=True)
    n, dt, mb = res.stdout.split()[-3:]
    return int(n), float(dt), float(mb)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--baseline-rows", type=int, default=200_000)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/bench-samples"))
    a = ap.parse_args()
    big = write_ladder(a.dir / "big", a.rows)
    size = sum(p.stat().st_size for p in (a.dir / "big").rglob("*")) / 1e9
    print(f"samples: {big:,} rows in 16 files ({size:.2f} GB of JSON lines)")
    _, adt, amb = run(AUDIT, a.dir / "big")
    inputs = (a.dir / "big-audit" / "inputs.csv").read_text().splitlines()
    loaded = sum(int(x.split(",")[3]) for x in inputs[1:] if x.split(",")[3].isdigit())
    assert loaded >= big, (loaded, big)
    print(f"whole audit (read, score, CIs, verdicts, figures): {adt:.1f} s, {big / adt:,.0f} rows/s, peak {amb:,.0f} MB")
    n, dt, mb = run(CHILD, a.dir / "big")
    assert n == big, (n, big)
    print(f"load_sources (Arrow fast path + records validation): {dt:.1f} s, {n / dt:,.0f} rows/s, peak {mb:,.0f} MB")
    small = write_ladder(a.dir / "small", a.baseline_rows)
    bn, bdt, bmb = run(BASELINE, a.dir / "small")
    assert bn == small
    print(f"line-by-line json reader (baseline, {bn:,} rows): {bn / bdt:,.0f} rows/s, peak {bmb:,.0f} MB")
    print(f"ratio: {(n / dt) / (bn / bdt):.1f}x")
    shutil.rmtree(a.dir)


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - t0:.0f} s")
