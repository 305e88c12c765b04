"""Audit memory when a partition itself grows: few (family, task) partitions, many rows each.

Writes genuine lm-eval 0.4.13 sample lines (the multiple-choice and generation files of the first
``--models`` ladder models of ``tests/data/lmeval``, fresh ``doc_id``s) with ``--rows`` rows per file,
so the audit has exactly two partitions (one multiple-choice task, one generation task) whatever the
size, then runs ``emergence-lens audit`` on it in a fresh process and reports its seconds, rows per
second and peak memory two ways:

* **PSS summed over the process tree** (the audit, its fork server and workers; shared pages counted
  once, split between the processes sharing them), read from ``/proc/PID/smaps_rollup`` every 0.1 s:
  the largest sum seen (a lower bound of the true peak: PSS has no high-water mark);
* the sum of each process's own peak resident memory (``VmHWM``: an upper bound, shared pages
  counted in every process and every peak as if at once).

With ``--checkpoints N`` it writes the many-checkpoints shape instead (``write_checkpoints``: N models
of one family, one multiple-choice task, ``--rows`` rows each: one partition of N x rows rows).

Run: python benchmarks/bench_partition_memory.py [--rows 125000,250000] [--models 6] [--dir /tmp/bench-pmem]
     python benchmarks/bench_partition_memory.py --checkpoints 100 --rows 20000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LMEVAL = ROOT / "tests" / "data" / "lmeval"
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_samples import PARTITIONED, process_tree, write_samples  # noqa: E402


def write_partitions(dest: Path, rows: int, models: int) -> int:
    """``models`` model folders, each its results file and one multiple-choice and one generation
    samples file of ``rows`` rows; returns the rows written."""
    if dest.exists():
        shutil.rmtree(dest)
    total = 0
    for d in sorted(LMEVAL.iterdir())[:models]:
        out = dest / d.name
        out.mkdir(parents=True)
        shutil.copy(next(d.glob("results_*.json")), out)
        for src in sorted(d.glob("samples_*.jsonl")):
            write_samples(src, out / src.name, rows)
            total += rows
    return total


def write_checkpoints(dest: Path, checkpoints: int, rows: int) -> int:
    """The many-checkpoints shape: ``checkpoints`` model folders of one family, each a results file
    naming its own model and size (``config.model_num_parameters``, all distinct) and one
    multiple-choice samples file of ``rows`` rows (the ladder models' lines in turn), so the audit has
    one (family, task) partition of ``checkpoints x rows`` rows; returns the rows written."""
    if dest.exists():
        shutil.rmtree(dest)
    ladders = sorted(LMEVAL.iterdir())
    made: dict[Path, Path] = {}
    for i in range(checkpoints):
        src = ladders[i % len(ladders)]
        out = dest / f"ckpt-{i:03d}"
        out.mkdir(parents=True)
        results = json.loads(next(src.glob("results_*.json")).read_text())
        name = f"bench/ckpt-{i:03d}"
        results["model_name"] = results["config"]["model_args"]["pretrained"] = name
        results["config"]["model_num_parameters"] = int(1e6 * 1.05 ** i)
        (out / next(src.glob("results_*.json")).name).write_text(json.dumps(results))
        mc = next(src.glob("samples_*_mc_*.jsonl"))
        if src not in made:  # one file of ``rows`` lines per ladder model, copied to its checkpoints
            write_samples(mc, out / mc.name, rows)
            made[src] = out / mc.name
        else:
            shutil.copyfile(made[src], out / mc.name)
    return checkpoints * rows


def _field(path: str, name: str) -> int:
    """A ``kB`` field of a /proc file, in bytes (0 when the process is gone)."""
    try:
        with open(path) as fh:
            for line in fh:
                if line.startswith(name):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run(folder: Path, out: Path) -> tuple[float, float, float, dict[str, float]]:
    """Seconds, the largest PSS sum over the tree (MB), the sum of each process's VmHWM (MB), and each
    process's PSS at the moment of that largest sum (MB, by role: the audit, its workers, the rest)."""
    proc = subprocess.Popen([sys.executable, "-c", PARTITIONED, str(folder), str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    pss_peak, highs, at_peak = 0, {}, {}
    while proc.poll() is None:
        pids = process_tree(proc.pid)
        now = {p: _field(f"/proc/{p}/smaps_rollup", "Pss:") for p in pids}
        if sum(now.values()) > pss_peak:
            pss_peak, at_peak = sum(now.values()), {_role(p, proc.pid): v for p, v in now.items()}
        for p in pids:
            highs[p] = max(highs.get(p, 0), _field(f"/proc/{p}/status", "VmHWM:"))
        time.sleep(0.1)
    text, err = proc.communicate()
    if proc.returncode:
        raise RuntimeError(err[-2000:])
    return (float(text.split()[-1]), pss_peak / 2 ** 20, sum(highs.values()) / 2 ** 20,
            {k: v / 2 ** 20 for k, v in sorted(at_peak.items(), key=lambda kv: -kv[1])})


def _role(pid: int, audit: int) -> str:
    """``audit`` for the audit's own process; ``fork server`` for its child that forks the workers;
    ``worker PID`` for a process forked from that; ``process PID`` for anything else."""
    if pid == audit:
        return "audit"
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return f"process {pid}"
    if ppid != audit:
        return f"worker {pid}"
    return "fork server" if b"forkserver" in cmd else f"process {pid}"


def measure(folder: Path, rows: int, shape: str) -> float:
    """Audit ``folder`` (then remove it and the output) and print the line of its numbers; returns
    the peak PSS in MB."""
    os.sync()
    gb = sum(p.stat().st_size for p in folder.rglob("*")) / 1e9
    out = folder.with_name(f"out-{folder.name}")
    shutil.rmtree(out, ignore_errors=True)
    dt, pss, hwm, parts = run(folder, out)
    print(f"{rows:,} rows: {shape} ({gb:.2f} GB): {dt:.1f} s, {rows / dt:,.0f} rows/s, peak PSS summed over the "
          f"process tree {pss:,.0f} MB (sum of each process's VmHWM {hwm:,.0f} MB)", flush=True)
    print("  at that peak: " + ", ".join(f"{k} {v:,.0f} MB" for k, v in parts.items()), flush=True)
    shutil.rmtree(folder)
    shutil.rmtree(out)
    return pss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default="125000,250000", help="rows per samples file, comma-separated")
    ap.add_argument("--models", type=int, default=6)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/bench-pmem"))
    ap.add_argument("--checkpoints", type=int, default=0,
                    help="instead: this many checkpoints x 1 multiple-choice task x --rows rows (one partition)")
    a = ap.parse_args()
    if a.checkpoints:
        per_file = int(a.rows.split(",")[0])
        folder = a.dir / "checkpoints"
        rows = write_checkpoints(folder, a.checkpoints, per_file)
        measure(folder, rows, f"{a.checkpoints} checkpoints x 1 task x {per_file:,} rows, one partition")
        shutil.rmtree(a.dir, ignore_errors=True)
        return
    peaks = []
    for per_file in (int(r) for r in a.rows.split(",")):
        folder = a.dir / f"p-{per_file}"
        rows = write_partitions(folder, per_file, a.models)
        peaks.append(measure(folder, rows, f"{a.models} models x 2 tasks x {per_file:,} rows, two partitions"))
    if len(peaks) > 1:
        print(f"peak growth from the smallest to the largest size: {peaks[-1] / peaks[0]:.2f}x")
    shutil.rmtree(a.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
