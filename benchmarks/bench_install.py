"""Install size and time of the light core against ``[all]``, from the built wheel, in fresh venvs; the
CLI's start-up time; and `theory` + `audit` on the test data run from the installed wheel (not the
source tree), so a data file the wheel left out would show here.

Run: python benchmarks/bench_install.py [--dir /tmp/bench-install] [--skip-all]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sh(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    res = subprocess.run(list(args), capture_output=True, text=True, cwd=cwd)
    if res.returncode:
        raise SystemExit(f"failed: {' '.join(args)}\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    return res


def size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6


def venv(d: Path, requirement: list[str]) -> tuple[float, float]:
    if d.exists():
        shutil.rmtree(d)
    sh(sys.executable, "-m", "venv", str(d))
    base = size_mb(d)
    t = time.perf_counter()
    sh(str(d / "bin" / "pip"), "install", "-q", *requirement)
    return time.perf_counter() - t, size_mb(d) - base


def startup(d: Path, n: int = 5) -> float:
    best = float("inf")
    for _ in range(n):
        t = time.perf_counter()
        sh(str(d / "bin" / "emergence-lens"), "--version")
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", type=Path, default=Path("/tmp/bench-install"))
    ap.add_argument("--skip-all", action="store_true")
    a = ap.parse_args()
    a.dir.mkdir(parents=True, exist_ok=True)
    sh(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(a.dir), str(ROOT))
    whl = max(a.dir.glob("emergence_lens-*.whl"), key=lambda p: p.stat().st_mtime)
    print(f"wheel: {whl.name} ({whl.stat().st_size / 1e3:.0f} kB)")

    core = a.dir / "core"
    t, mb = venv(core, [str(whl)])
    has_torch = subprocess.run([str(core / "bin" / "python"), "-c", "import torch"], capture_output=True).returncode == 0
    print(f"core (pip install emergence-lens): {t:.0f} s, {mb:,.0f} MB of site-packages; torch importable: {has_torch}")
    print(f"  CLI start-up (emergence-lens --version, best of 5): {startup(core) * 1000:.0f} ms")
    work = a.dir / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    t0 = time.perf_counter()
    sh(str(core / "bin" / "emergence-lens"), "theory", "--out", str(work / "theory"))
    t1 = time.perf_counter()
    sh(str(core / "bin" / "emergence-lens"), "audit", str(ROOT / "tests" / "data" / "lmeval_wild"), "--out",
       str(work / "audit"), cwd=work)
    t2 = time.perf_counter()
    n = sum(1 for _ in open(work / "audit" / "verdicts.csv")) - 1
    print(f"  from the wheel: theory {t1 - t0:.1f} s; audit of tests/data/lmeval_wild {t2 - t1:.1f} s "
          f"({n} verdict rows, report.html {(work / 'audit' / 'report.html').stat().st_size / 1e3:.0f} kB)")
    t2 = time.perf_counter()
    sh(str(core / "bin" / "emergence-lens"), "reproduce", "--quick", "--out", str(work / "repro"))
    t3 = time.perf_counter()
    sh(str(core / "bin" / "emergence-lens"), "score", str(work / "repro" / "simulated" / "records.parquet"), "--out",
       str(work / "score"))
    t4 = time.perf_counter()
    skipped = [ln for ln in (work / "repro" / "summary.md").read_text().splitlines() if ln.startswith("Skipped")]
    print(f"  from the wheel: reproduce --quick {t3 - t2:.1f} s (ran theory, simulated; {len(skipped)} skipped: "
          f"{' | '.join(skipped)}); score of its simulated records {t4 - t3:.1f} s")
    res = subprocess.run([str(core / "bin" / "emergence-lens"), "reproduce", "arithmetic", "--quick", "--out",
                          str(work / "r")], capture_output=True, text=True)
    print(f"  reproduce arithmetic without the extra: exit {res.returncode}: {' '.join(res.stderr.split())}")

    if not a.skip_all:
        full = a.dir / "all"
        t, mb = venv(full, ["torch==2.13.0", f"{whl}[all]"])
        print(f"[all] (pip install torch==2.13.0 'emergence-lens[all]'): {t:.0f} s, {mb:,.0f} MB of site-packages")
        print(f"  CLI start-up (best of 5): {startup(full) * 1000:.0f} ms")
    shutil.rmtree(a.dir)


if __name__ == "__main__":
    main()
