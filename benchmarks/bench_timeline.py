"""Where the wall time of one ``audit`` goes: a copy of ``src`` with marks at the steps (the command's
start, the partitions handed out, each worker's piece of work starting and ending, a split partition's
finish, the tables, the report, the exit) runs the audit of ``--folder`` as the console script does,
and the marks are printed in seconds from the start, each with its process.

The copy is patched by text: a step whose line is no longer found stops the script (it never prints
a timeline without that mark).  Nothing of ``src`` itself changes.

Run: python benchmarks/bench_timeline.py --folder DIR [--src DIR] [--pieces]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MARK = "from emergence_lens._timeline import mark; "
MODULE = '''import os, time


def mark(name):
    with open(os.environ["EMERGENCE_LENS_TIMELINE"], "a") as fh:
        fh.write(f"{os.getpid()} {time.time():.3f} {name}\\n")
'''
#: (file, a line of it, what goes before it, what goes after it): each line must be found once.
STEPS = [
    ("cli/main.py", "    app()\n", "    " + MARK + "mark('command starts')\n", ""),
    ("cli/main.py", "    run_handlers()\n", "    " + MARK + "mark('exit handlers')\n", ""),
    ("pipelines/audit.py", "            results = run_audit_partitions(",
     "            " + MARK + "mark('partitions handed out')\n", ""),
    ("pipelines/audit.py", "        table = write_audit(bundle, out",
     "        " + MARK + "mark('tables and figures')\n", ""),
    ("pipelines/run.py", "        path = write_report(out, pending=pending)\n",
     "        " + MARK + "mark('report')\n", "        mark('report written')\n"),
    ("engine/runner.py", "    flag = Path(running) / f\"{tag}.running\"\n",
     "    " + MARK + "mark('piece ' + str(tag) + ' starts')\n", ""),
    ("engine/runner.py", "        flag.unlink(missing_ok=True)\n", "", "        mark('piece ' + str(tag) + ' ends')\n"),
    ("engine/runner.py", " " * 24 + "result = finish_runs(parts[i].key, pending.pop(i), options, workers)\n",
     "                        " + MARK + "mark('split partition finish')\n",
     "                        mark('split partition finished')\n"),
]


def patched(src: Path, dest: Path) -> Path:
    """A copy of ``src`` (the folder holding ``emergence_lens``) at ``dest`` with the marks in."""
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    pkg = dest / "emergence_lens"
    (pkg / "_timeline.py").write_text(MODULE)
    for rel, line, before, after in STEPS:
        path = pkg / rel
        text = path.read_text()
        if text.count(line) != 1:
            raise SystemExit(f"{rel}: the line {line.strip()!r} is not there once; update STEPS")
        path.write_text(text.replace(line, before + line + after))
    return dest


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--folder", type=Path, required=True)
    ap.add_argument("--src", type=Path, default=ROOT / "src")
    ap.add_argument("--pieces", action="store_true", help="print every piece's start and end (default: ends)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="emergence-lens-timeline-") as tmp:
        src = patched(a.src, Path(tmp) / "src")
        marks = Path(tmp) / "marks"
        env = {**os.environ, "PYTHONPATH": str(src), "EMERGENCE_LENS_TIMELINE": str(marks)}
        code = ("import sys; from emergence_lens.cli import console; "
                "sys.argv = ['emergence-lens', 'audit', sys.argv[1], '--out', sys.argv[2], '--engine', 'local']; "
                "console()")
        err = Path(tmp) / "stderr"
        with open(err, "w") as fh:  # not a pipe: the process's end is its exit, not its children's
            start = time.time()
            status = subprocess.run([sys.executable, "-c", code, str(a.folder), str(Path(tmp) / "out")], env=env,
                                    stdout=subprocess.DEVNULL, stderr=fh).returncode
            end = time.time()
        if status:
            raise SystemExit(f"the audit exited {status}: {err.read_text()[-2000:]}")
        rows = [line.split(" ", 2) for line in marks.read_text().splitlines()]
    audit = rows[0][0]
    for pid, t, name in sorted(rows, key=lambda r: float(r[1])):
        if name.endswith(" starts") and name.startswith("piece") and not a.pieces:
            continue
        who = "audit" if pid == audit else f"worker {pid}"
        print(f"{float(t) - start:7.2f} s  {who:<13} {name}")
    print(f"{end - start:7.2f} s  {'':<13} the process is gone")


if __name__ == "__main__":
    main()
