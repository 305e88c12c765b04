"""Auditing lm-eval samples at leaderboard scale: rows per second and peak memory of a whole
``audit`` at two input sizes, partitioned (the default engine) against the in-memory path.

Writes a leaderboard-shaped folder of genuine lm-eval 0.4.13 sample lines: the 8 ladder models of
``tests/data/lmeval``, each with its multiple-choice and generation samples files repeated under
``--tasks`` task names (a leaderboard grows by tasks and models, each test set of bounded size),
``--rows-per-file`` rows per file (fresh ``doc_id``s).  Then, each in a fresh process:

* ``emergence-lens audit`` with ``--engine local`` (partitions by (family, task) over every core):
  read, validate, score every metric, bootstrap CIs, verdicts, figures, tables;
* the same audit on the in-memory path (every file read into one records table, then scored) —
  the obvious alternative, the engine of the previous release;

(the partitioned audit ``--repeats`` times on the same folder, the median reported, the peak the
largest of the runs) and checks that both wrote the same ``audit.csv``, ``verdicts.csv``,
``rescored_curves.csv``, ``predictions.csv``, ``issues.csv``, ``inputs.csv``.  Peak memory: the sum
over the process and its workers of each one's own peak resident memory (``VmHWM``, an upper bound of
their peak together), with the largest sum sampled at once (a lower bound) beside it.

Goal (issue 25): >= 200,000 rows/s and a peak < 2 GB that stays flat (the larger size's peak
<= 1.2x the smaller's).

Run: python benchmarks/bench_samples.py [--sizes 2500000,10000000] [--rows-per-file 20000] [--dir /tmp/bench-samples]
     [--repeats 3] [--skip-inmemory-above 5000000]
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LMEVAL = ROOT / "tests" / "data" / "lmeval"

PARTITIONED = r"""
import sys, time
from emergence_lens.cli import main
sys.argv = ["emergence-lens", "audit", sys.argv[1], "--out", sys.argv[2], "--engine", "local"]
t = time.perf_counter()
try:
    main()
except SystemExit as e:
    assert not e.code, e.code
print(time.perf_counter() - t)
"""

INMEMORY = r"""
import sys, time
from emergence_lens.pipelines.audit import write_audit
from emergence_lens.sources import load_sources
t = time.perf_counter()
bundle = load_sources([sys.argv[1]])
write_audit(bundle, sys.argv[2])
print(time.perf_counter() - t)
"""

COMPARED = ("audit.csv", "verdicts.csv", "rescored_curves.csv", "predictions.csv", "issues.csv", "inputs.csv")


def write_samples(src: Path, dest: Path, rows: int) -> None:
    """``rows`` lines of the lm-eval samples file ``src`` (its lines in turn), each with a fresh
    ``doc_id`` (0, 1, ...), written to ``dest``."""
    lines = [json.loads(x) for x in src.read_text().splitlines()]
    with open(dest, "w") as fh:
        for i in range(rows):
            o = lines[i % len(lines)]
            o["doc_id"] = i
            fh.write(json.dumps(o) + "\n")


def write_leaderboard(dest: Path, tasks: int, rows_per_file: int) -> int:
    """8 model folders, each a results file and ``2 x tasks`` samples files of ``rows_per_file`` rows."""
    if dest.exists():
        shutil.rmtree(dest)
    total = 0
    for d in sorted(LMEVAL.iterdir()):
        out = dest / d.name
        out.mkdir(parents=True)
        shutil.copy(next(d.glob("results_*.json")), out)
        for src in sorted(d.glob("samples_*.jsonl")):
            first = src.name.replace("samples_ladder_", "samples_t000_ladder_")
            write_samples(src, out / first, rows_per_file)
            for t in range(1, tasks):
                shutil.copyfile(out / first, out / src.name.replace("samples_ladder_", f"samples_t{t:03d}_ladder_"))
            total += rows_per_file * tasks
    return total


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants, from ``/proc/PID/task/TID/children`` (no scan of every process)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as fh:
                    todo += [int(x) for x in fh.read().split()]
        except OSError:  # gone meanwhile
            pass
    return out


def _memory(pid: int) -> tuple[int, int]:
    """``(resident now, resident peak so far)`` of a process in bytes (``VmRSS``, ``VmHWM``)."""
    now = high = 0
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    now = int(line.split()[1]) * 1024
                elif line.startswith("VmHWM:"):
                    high = int(line.split()[1]) * 1024
    except OSError:
        pass
    return now, high


def run(code: str, folder: Path, out: Path) -> tuple[float, float, float]:
    """Seconds, and the peak memory of the process and all its workers two ways: the sum over the
    processes of each one's own peak resident memory (``VmHWM``: every peak counted, as if all had
    happened at once — an upper bound of the true peak), and the largest sum of their resident
    memory sampled at once (a lower bound).  Read from /proc every 0.2 s: each process's peak is
    kept by the kernel between samples, so a sparse, cheap sampler misses nothing but the last 0.2 s
    of a process (psutil's ``children(recursive=True)`` every 20 ms, as before, scanned every process
    of the machine 50 times a second and took ~2-3% from the audit it measured)."""
    proc = subprocess.Popen([sys.executable, "-c", code, str(folder), str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    highs: dict[int, int] = {}
    sampled = 0
    while proc.poll() is None:
        total = 0
        for pid in process_tree(proc.pid):
            now, high = _memory(pid)
            total += now
            highs[pid] = max(highs.get(pid, 0), high)
        sampled = max(sampled, total)
        time.sleep(0.2)
    out_text, err = proc.communicate()
    if proc.returncode:
        raise RuntimeError(err[-2000:])
    return float(out_text.split()[-1]), sum(highs.values()) / 2 ** 20, sampled / 2 ** 20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="2500000,10000000", help="total sample rows, comma-separated")
    ap.add_argument("--rows-per-file", type=int, default=20_000)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/bench-samples"))
    ap.add_argument("--repeats", type=int, default=3, help="partitioned runs per size (the median is reported)")
    ap.add_argument("--skip-inmemory-above", type=int, default=5_000_000,
                    help="run the in-memory path only up to this many rows (it holds them all)")
    a = ap.parse_args()
    peaks = []
    for size in (int(s) for s in a.sizes.split(",")):
        tasks = max(1, round(size / (16 * a.rows_per_file)))
        folder = a.dir / f"lb-{size}"
        rows = write_leaderboard(folder, tasks, a.rows_per_file)
        os.sync()  # the folder's dirty pages written back now, not during the timed audit
        gb = sum(p.stat().st_size for p in folder.rglob("*")) / 1e9
        print(f"\n{rows:,} rows: 8 models x {2 * tasks} tasks x {a.rows_per_file:,} rows ({gb:.2f} GB of JSON lines)")
        runs = []
        for _ in range(a.repeats):  # the machine's speed drifts: the median of a few runs
            shutil.rmtree(a.dir / f"out-part-{size}", ignore_errors=True)
            runs.append(run(PARTITIONED, folder, a.dir / f"out-part-{size}"))
        dt = sorted(t for t, _, _ in runs)[len(runs) // 2]
        peaks.append(max(m for _, m, _ in runs))
        mb = peaks[-1]
        inputs = (a.dir / f"out-part-{size}" / "inputs.csv").read_text().splitlines()[1:]
        loaded = sum(int(x.split(",")[3]) for x in inputs if Path(x.split(",")[0]).name.startswith("samples_"))
        assert loaded == rows, (loaded, rows)  # every sample row loaded
        print(f"partitioned audit (--engine local): {dt:.1f} s, {rows / dt:,.0f} rows/s, peak {mb:,.0f} MB "
              f"(sum of each process's peak; {max(x for _, _, x in runs):,.0f} MB sampled at once)"
              + (f"; median of {len(runs)} runs: " + ", ".join(f"{t:.1f} s" for t, _, _ in runs)
                 if len(runs) > 1 else ""))
        if rows <= a.skip_inmemory_above:
            idt, imb, isampled = run(INMEMORY, folder, a.dir / f"out-mem-{size}")
            print(f"in-memory audit (previous engine):  {idt:.1f} s, {rows / idt:,.0f} rows/s, peak {imb:,.0f} MB "
                  f"({isampled:,.0f} MB sampled)")
            print(f"ratio: {idt / dt:.2f}x faster, {imb / mb:.2f}x less memory")
            same = [f for f in COMPARED if filecmp.cmp(a.dir / f"out-part-{size}" / f, a.dir / f"out-mem-{size}" / f,
                                                       shallow=False)]
            differ = ", ".join(sorted(set(COMPARED) - set(same)))
            print(f"identical outputs: {len(same)} of {len(COMPARED)}" + (f" (differ: {differ})" if differ else ""))
            shutil.rmtree(a.dir / f"out-mem-{size}")
        shutil.rmtree(folder)
        shutil.rmtree(a.dir / f"out-part-{size}")
    if len(peaks) > 1:
        print(f"\npeak growth from the smallest to the largest size: {peaks[-1] / peaks[0]:.2f}x (goal <= 1.2x)")
    shutil.rmtree(a.dir, ignore_errors=True)


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - t0:.0f} s")
