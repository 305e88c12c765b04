"""Interleaved A/B of a whole ``audit`` between two revisions of this repository, on one
leaderboard-shaped folder of genuine lm-eval samples (``bench_samples.write_leaderboard``), or on any
folder given with ``--folder``.

Each run is a fresh process (``emergence-lens audit FOLDER --out OUT --engine local``) with the
revision's ``src`` first on ``PYTHONPATH``; the runs alternate A, B, A, B, ... so a drift of the
machine's speed falls on both alike.  Reports each side's median seconds, rows per second, the
ratio B/A, and whether both wrote the same ``audit.csv``, ``verdicts.csv``, ``rescored_curves.csv``
and ``inputs.csv`` bytes.

Run: python benchmarks/bench_ab.py --base REV [--head REV] [--rows 2560000] [--repeats 3] [--dir /tmp/bench-ab]
     [--folder DIR]
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_samples import write_leaderboard  # noqa: E402

COMPARED = ("audit.csv", "verdicts.csv", "rescored_curves.csv", "inputs.csv")


def checkout(rev: str, dest: Path) -> Path:
    """A worktree of ``rev`` at ``dest`` (made once; moved to ``rev`` when it holds another revision).
    ``rev`` is resolved in this repository first: ``HEAD`` is this checkout's, not the worktree's."""
    rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", f"{rev}^{{commit}}"], check=True,
                         capture_output=True, text=True).stdout.strip()
    if not dest.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(dest), rev], check=True,
                       capture_output=True)
    else:
        subprocess.run(["git", "-C", str(dest), "checkout", "--quiet", "--detach", rev], check=True,
                       capture_output=True)
    return dest / "src"


def audit_seconds(src: Path, folder: Path, out: Path) -> float:
    if out.exists():
        shutil.rmtree(out)
    # the console script (``emergence-lens``) where the revision has one apart from ``main``: the command
    # as a user runs it, its exit included
    code = ("import sys; import emergence_lens.cli as cli; "
            "sys.argv = ['emergence-lens', 'audit', sys.argv[1], '--out', sys.argv[2], '--engine', 'local']\n"
            "try:\n    getattr(cli, 'console', cli.main)()\nexcept SystemExit as e:\n    assert not e.code, e.code")
    env = {"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(folder), str(out)], check=True, env=env, capture_output=True)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True, help="revision A (e.g. the previous commit)")
    ap.add_argument("--head", default=None, help="revision B (default: this working tree)")
    ap.add_argument("--rows", type=int, default=2_560_000)
    ap.add_argument("--rows-per-file", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/bench-ab"))
    ap.add_argument("--folder", type=Path, default=None,
                    help="audit this folder instead of the leaderboard one (e.g. a shape bench_partition_memory.py "
                         "writes)")
    a = ap.parse_args()
    a.dir.mkdir(parents=True, exist_ok=True)
    folder = a.folder or a.dir / f"samples-{a.rows}"
    if a.folder is None and not folder.exists():
        tasks = max(1, a.rows // (a.rows_per_file * 8 * 2))
        write_leaderboard(folder, tasks, a.rows_per_file)
    rows = sum(1 for f in folder.rglob("samples_*.jsonl") for _ in open(f, "rb"))
    src = {"A": checkout(a.base, a.dir / "base"),
           "B": checkout(a.head, a.dir / "head") if a.head else ROOT / "src"}
    times: dict[str, list[float]] = {"A": [], "B": []}
    for i in range(a.repeats):
        for side in ("A", "B"):
            times[side].append(audit_seconds(src[side], folder, a.dir / f"out-{side}"))
            print(f"run {i + 1} {side}: {times[side][-1]:.2f} s", flush=True)
    same = all(filecmp.cmp(a.dir / "out-A" / f, a.dir / "out-B" / f, shallow=False) for f in COMPARED)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{rows:,} sample rows; A={a.base}: median {med['A']:.2f} s ({rows / med['A']:,.0f} rows/s); "
          f"B={a.head or 'working tree'}: median {med['B']:.2f} s ({rows / med['B']:,.0f} rows/s); "
          f"B/A = {med['B'] / med['A']:.3f}; same {', '.join(COMPARED)}: {same}")


if __name__ == "__main__":
    main()
